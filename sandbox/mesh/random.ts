/** A seeded source of randomness, so a simulated run can be replayed exactly. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal. */
  normal(): number;
  /** Poisson-distributed count with the given mean. */
  poisson(mean: number): number;
}

export function seededRandom(seed: number): Random {
  // mulberry32 (public-domain 32-bit generator): small, fast and good enough for traffic simulation.
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spareNormal: number | undefined;
  const normal = (): number => {
    if (spareNormal !== undefined) {
      const value = spareNormal;
      spareNormal = undefined;
      return value;
    }
    // Box-Muller transform; 1 - next() keeps the logarithm's argument in (0, 1].
    const radius = Math.sqrt(-2 * Math.log(1 - next()));
    const angle = 2 * Math.PI * next();
    spareNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
  const poisson = (mean: number): number => {
    if (!(mean > 0)) return 0;
    if (mean > 30) {
      // Normal approximation: Knuth's product method needs ~mean draws and underflows for large means.
      return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal()));
    }
    // Knuth's multiplication method.
    const limit = Math.exp(-mean);
    let count = 0;
    let product = next();
    while (product > limit) {
      count++;
      product *= next();
    }
    return count;
  };
  return { next, normal, poisson };
}

/** An item drawn with probability weight / total. */
export function pickByWeight<T>(items: T[], total: number, weightOf: (item: T) => number, random: Random): T {
  let remaining = random.next() * total;
  for (const item of items) {
    remaining -= weightOf(item);
    if (remaining < 0) return item;
  }
  // Floating-point leftovers: the last item with a weight.
  return [...items].reverse().find((item) => weightOf(item) > 0) ?? (items[0] as T);
}
