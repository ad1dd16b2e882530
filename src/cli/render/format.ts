import { formatDuration } from '../../api/duration.js';

const STABLE_CELL = '░';
const CANARY_CELL = '█';

/**
 * The traffic split as one bar, the same in `stepwise status` and the demo: stable's share on the left (░),
 * the canary's share filled on the right (█), next to the word "canary". A weight strictly between 0 and
 * 100 always shows at least one cell of each, so 5% never looks like 0%.
 */
export function weightBar(canaryWeight: number, width = 20): string {
  const weight = Math.min(100, Math.max(0, Number.isFinite(canaryWeight) ? canaryWeight : 0));
  let canary = Math.round((weight / 100) * width);
  if (weight > 0 && weight < 100) canary = Math.min(width - 1, Math.max(1, canary));
  return STABLE_CELL.repeat(width - canary) + CANARY_CELL.repeat(canary);
}

/** "stable  95% ░░░…█ 5% canary". */
export function formatTraffic(canaryWeight: number | undefined, width = 20): string {
  const canary = canaryWeight ?? 0;
  return `stable ${String(100 - canary).padStart(3)}% ${weightBar(canary, width)} ${canary}% canary`;
}

export function percent(share: number): string {
  return `${Number((share * 100).toPrecision(3))}%`;
}

export function number(value: number): string {
  return Number.isInteger(value) || Math.abs(value) >= 100
    ? value.toFixed(0)
    : String(Number(value.toPrecision(3)));
}

/** How long ago an instant was, as kubectl prints ages: 45s, 3m20s, 2h5m. */
export function age(since: string | undefined, now: Date): string {
  if (!since) return '-';
  const ms = now.getTime() - Date.parse(since);
  return Number.isFinite(ms) ? formatDuration(Math.max(ms, 0)) : '-';
}

/** Left-aligned columns separated by three spaces, as `kubectl get` prints them. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}
