/** Uniform numbers in [0, 1). */
export type Random = () => number;

/** Seeded generator for reproducible simulations: mulberry32 (Tommy Ettinger, public-domain 32-bit state mixer). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t = (t + Math.imul(t ^ (t >>> 7), t | 61)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal by Box-Muller (Box & Muller 1958). */
export function sampleNormal(random: Random): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Gamma(shape, 1) by Marsaglia & Tsang (2000, ACM TOMS 26:363); shape < 1 via the u^(1/shape) boost. */
export function sampleGamma(random: Random, shape: number): number {
  if (shape < 1) return sampleGamma(random, shape + 1) * Math.pow(1 - random(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = sampleNormal(random);
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    if (Math.log(1 - random()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Inversion is exact and takes O(mean) steps: used below this mean, exact splitting above it. */
const INVERSION_LIMIT = 30;

/**
 * Binomial(n, p), exact. Small means by sequential inversion (Kachitvichyanukul & Schmeiser 1988, BINV); large ones by
 * splitting on a beta order statistic (Knuth, TAOCP vol. 2, §3.4.1), which recurses O(log n) times.
 */
export function sampleBinomial(random: Random, n: number, p: number): number {
  if (!(n >= 1) || !(p > 0)) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - sampleBinomial(random, n, 1 - p);
  if (n * p < INVERSION_LIMIT) {
    const q = 1 - p;
    const s = p / q;
    const a = (n + 1) * s;
    let r = Math.pow(q, n);
    let u = random();
    let x = 0;
    while (u > r && r > 0 && x < n) {
      u -= r;
      x += 1;
      r *= a / x - s;
    }
    return x;
  }
  const a = 1 + Math.floor(n / 2);
  const b = n + 1 - a;
  const ga = sampleGamma(random, a);
  const y = ga / (ga + sampleGamma(random, b));
  return y >= p ? sampleBinomial(random, a - 1, p / y) : a + sampleBinomial(random, b - 1, (p - y) / (1 - y));
}

/** Poisson(mean), exact: inversion for small means, Knuth's gamma splitting (TAOCP vol. 2, §3.4.1) for large ones. */
export function samplePoisson(random: Random, mean: number): number {
  if (!(mean > 0)) return 0;
  if (mean < INVERSION_LIMIT) {
    let term = Math.exp(-mean);
    let cdf = term;
    const u = random();
    let x = 0;
    while (u > cdf && term > 0) {
      x += 1;
      term *= mean / x;
      cdf += term;
    }
    return x;
  }
  const m = Math.floor((7 / 8) * mean);
  const g = sampleGamma(random, m);
  return g < mean ? m + samplePoisson(random, mean - g) : sampleBinomial(random, m - 1, mean / g);
}
