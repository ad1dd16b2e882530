/**
 * ln(sum_i w_i * exp(x_i)) without overflow: shift by the largest term first (the standard
 * log-sum-exp identity, e.g. Press et al., Numerical Recipes 3rd ed., §16.1.2).
 * Terms with weight 0 or x = -Infinity contribute nothing; an empty or all-zero sum gives -Infinity.
 */
export function logSumExp(logs: readonly number[], weights?: readonly number[]): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logs.length; i++) {
    const x = logs[i] ?? Number.NEGATIVE_INFINITY;
    if ((weights?.[i] ?? 1) > 0 && x > max) max = x;
  }
  if (max === Number.NEGATIVE_INFINITY || Number.isNaN(max)) return max;
  let sum = 0;
  for (let i = 0; i < logs.length; i++) {
    const w = weights?.[i] ?? 1;
    if (w > 0) sum += w * Math.exp((logs[i] ?? Number.NEGATIVE_INFINITY) - max);
  }
  return max + Math.log(sum);
}

/** exp(x) kept JSON-safe: an e-value too large for a double becomes the largest double, not Infinity (JSON null). */
export function boundedExp(x: number): number {
  return Math.min(Math.exp(x), Number.MAX_VALUE);
}
