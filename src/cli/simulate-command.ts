import type { Command } from 'commander';
import { parseDuration } from '../api/duration.js';
import { InvalidRolloutFile, loadRolloutSpec } from '../simulate/load.js';
import { simulate, type SimulationSummary } from '../simulate/simulate.js';
import { DEFAULT_TRAFFIC, type TrafficModel } from '../simulate/traffic.js';

interface SimulateFlags {
  rps: string;
  stableErrorRate: string;
  canaryErrorRate?: string;
  stableP99Ms: string;
  canaryLatencyFactor: string;
  scrapeInterval: string;
  headerShare: string;
  runs: string;
  seed: string;
  json?: boolean;
}

function number(flag: string, text: string, check: (n: number) => boolean, fix: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || !check(value)) {
    throw new Error(`--${flag} ${JSON.stringify(text)} is not valid; ${fix}`);
  }
  return value;
}

function trafficFrom(flags: SimulateFlags): TrafficModel {
  const rate = (flag: string, text: string) =>
    number(flag, text, (n) => n >= 0 && n <= 1, 'use a share between 0 and 1, e.g. 0.001');
  const stableErrorRate = rate('stable-error-rate', flags.stableErrorRate);
  const scrapeMs = parseDuration(flags.scrapeInterval);
  if (scrapeMs === undefined || scrapeMs < 1000 || scrapeMs % 1000 !== 0) {
    throw new Error(
      `--scrape-interval ${JSON.stringify(flags.scrapeInterval)} is not valid; use whole seconds such as 1s, 15s or 1m`,
    );
  }
  return {
    rps: number('rps', flags.rps, (n) => n > 0, 'use a positive number of requests per second, e.g. 100'),
    stableErrorRate,
    canaryErrorRate:
      flags.canaryErrorRate === undefined
        ? stableErrorRate
        : rate('canary-error-rate', flags.canaryErrorRate),
    stableP99Ms: number(
      'stable-p99-ms',
      flags.stableP99Ms,
      (n) => n > 0,
      'use a positive latency in ms, e.g. 200',
    ),
    canaryLatencyFactor: number(
      'canary-latency-factor',
      flags.canaryLatencyFactor,
      (n) => n > 0,
      'use a positive factor, e.g. 1.5',
    ),
    scrapeIntervalSeconds: scrapeMs / 1000,
    headerShare: number(
      'header-share',
      flags.headerShare,
      (n) => n >= 0 && n <= 1,
      'use a share between 0 and 1 of the requests that match the header route, e.g. 0.01',
    ),
  };
}

const seconds = (s: number) => `${s} s`;

export function formatSummary(summary: SimulationSummary): string {
  const share = (n: number) => `${n} (${((100 * n) / summary.runs).toFixed(1)}%)`;
  const lines = [
    `runs            ${summary.runs}`,
    `promoted        ${share(summary.promoted)}`,
    `rolled back     ${share(summary.rolledBack)}`,
    `undecided       ${share(summary.undecided)}`,
  ];
  const times = (label: string, p: SimulationSummary['secondsToDecision']) => {
    if (p) lines.push(`${label} p50 ${seconds(p.p50)}, p95 ${seconds(p.p95)}, max ${seconds(p.max)}`);
  };
  times('to decision    ', summary.secondsToDecision);
  times('to rollback    ', summary.secondsToRollback);
  times('to promotion   ', summary.secondsToPromote);
  const copies = summary.canaryRequests.mean - summary.userCanaryRequests.mean;
  const mirrored = copies > 0 ? ` (${copies.toFixed(0)} of them mirrored copies)` : '';
  lines.push(
    `failed canary requests  mean ${summary.failedCanaryRequests.mean.toFixed(2)}, p95 ${summary.failedCanaryRequests.p95}`,
    `failed user requests    mean ${summary.failedUserRequests.mean.toFixed(2)}, p95 ${summary.failedUserRequests.p95}`,
    `canary requests         mean ${summary.canaryRequests.mean.toFixed(0)}${mirrored}`,
  );
  if (summary.rolledBack > 0) {
    lines.push(
      `rolled back before any user request reached the canary  ${share(summary.rolledBackBeforeUserRequests)}`,
    );
  }
  if (summary.rollbackReasons.length > 0) {
    lines.push('rollback reasons (N = a number):');
    for (const { reason, runs } of summary.rollbackReasons) lines.push(`  ${runs}× ${reason}`);
  }
  return lines.join('\n');
}

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description(
      'run the real decision logic of a Rollout against simulated traffic on a virtual clock (no cluster)',
    )
    .argument('<rollout.yaml>', 'file with the Rollout manifest')
    .option('--rps <n>', 'requests per second over stable and canary', String(DEFAULT_TRAFFIC.rps))
    .option(
      '--stable-error-rate <share>',
      'share of stable requests answered 5xx',
      String(DEFAULT_TRAFFIC.stableErrorRate),
    )
    .option('--canary-error-rate <share>', 'share of canary requests answered 5xx (default: as stable)')
    .option('--stable-p99-ms <ms>', "stable's P99 latency", String(DEFAULT_TRAFFIC.stableP99Ms))
    .option('--canary-latency-factor <x>', "canary latencies are stable's times this", '1')
    .option('--scrape-interval <duration>', 'Prometheus scrape interval', '1s')
    .option(
      '--header-share <share>',
      "share of requests carrying what a headerRoute step matches (testers' header or cookie)",
      '0',
    )
    .option('--runs <n>', 'rollouts to simulate', '100')
    .option('--seed <n>', 'random seed; the same seed gives the same result', '1')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  stepwise simulate rollout.yaml --canary-error-rate 0.01 --runs 1000\n\n' +
        'Canary pods are ready at once; custom analysis.metrics are not simulated.',
    )
    .action((file: string, flags: SimulateFlags) => runSimulate(file, flags));
}

async function runSimulate(file: string, flags: SimulateFlags): Promise<void> {
  let spec;
  try {
    spec = await loadRolloutSpec(file);
  } catch (error) {
    if (error instanceof InvalidRolloutFile) {
      for (const line of error.lines) console.error(line);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
  const traffic = trafficFrom(flags);
  const runs = number('runs', flags.runs, (n) => Number.isInteger(n) && n >= 1, 'use a whole number >= 1');
  const seed = number('seed', flags.seed, Number.isInteger, 'use a whole number');
  // Custom PromQL metrics have no simulated counterpart; judging them as missing would hold every step.
  const simulated = { ...spec, analysis: { ...spec.analysis, metrics: [] } };
  const summary = simulate(simulated, { traffic, runs, seed });
  console.log(flags.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
}
