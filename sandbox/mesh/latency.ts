import type { Random } from './random.js';

/** z-score of the 99th percentile of the standard normal distribution. */
const Z_99 = 2.3263478740408408;

/** Draws request durations from a log-normal distribution with the given median and 99th percentile. */
export type LatencySampler = () => number;

/**
 * Fits a log-normal to p50 and p99: ln(X) ~ N(mu, sigma) with mu = ln(p50) and sigma = ln(p99 / p50) / z(0.99).
 */
export function logNormalLatency(latencyMs: { p50: number; p99: number }, random: Random): LatencySampler {
  if (!(latencyMs.p50 > 0) || !(latencyMs.p99 > 0)) {
    throw new Error(
      `behaviour latencyMs needs positive p50 and p99 (got p50=${latencyMs.p50}, p99=${latencyMs.p99}); return e.g. { p50: 50, p99: 200 }`,
    );
  }
  const mu = Math.log(latencyMs.p50);
  const sigma = Math.max(0, Math.log(latencyMs.p99 / latencyMs.p50) / Z_99);
  return () => Math.exp(mu + sigma * random.normal());
}
