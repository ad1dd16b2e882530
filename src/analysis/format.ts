// Numbers in check messages: short, exact enough to act on, no float noise ("4.83%", "1520 ms").

/** 0.0483 -> "4.83%", 0.01 -> "1%", 0.001234 -> "0.123%". */
export function formatPercent(ratio: number): string {
  return `${trimmed(ratio * 100, 3)}%`;
}

/** 1520.4 -> "1520 ms", 12.345 -> "12.3 ms". */
export function formatMs(ms: number): string {
  return `${Math.abs(ms) >= 100 ? Math.round(ms) : trimmed(ms, 3)} ms`;
}

/** Plain value of a custom metric: 3.2 -> "3.2", 0.123456 -> "0.1235", 12345.6 -> "12346". */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return String(Math.abs(value) >= 1000 ? Math.round(value) : trimmed(value, 4));
}

function trimmed(value: number, significantDigits: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(significantDigits));
}
