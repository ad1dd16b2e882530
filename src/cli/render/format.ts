import { formatDuration } from '../../api/duration.js';

/** `[██████░░░░░░░░░░░░░░]`: the canary's share of the managed route. */
export function weightBar(weight: number, width = 20): string {
  const filled = Math.round((Math.min(Math.max(weight, 0), 100) / 100) * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
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
