import { formatDuration } from '../../api/duration.js';
import type { ReleaseRecord } from '../../api/status.js';
import { age, table } from './format.js';

const duration = (r: ReleaseRecord) =>
  r.startedAt ? formatDuration(Math.max(Date.parse(r.finishedAt) - Date.parse(r.startedAt), 0)) : '-';

/** The images without the container name when there is one container: `reg/app:1.2`, else `app=reg/app:1.2, ...`. */
const images = (r: ReleaseRecord) =>
  r.images.length === 1 ? r.images[0]!.replace(/^[^=]*=/, '') : r.images.join(', ');

/** `stepwise history`: the finished releases, newest first, as `kubectl rollout history` lists revisions. */
export function renderHistory(history: ReleaseRecord[] | undefined, now: Date): string {
  if (!history?.length) return 'No finished releases yet.';
  const rows = [['REVISION', 'TEMPLATE', 'IMAGE', 'OUTCOME', 'DURATION', 'FINISHED', 'REASON']];
  for (const r of history) {
    rows.push([
      String(r.number),
      r.revision,
      images(r),
      r.outcome,
      duration(r),
      `${age(r.finishedAt, now)} ago`,
      `${r.reason}: ${r.message}`,
    ]);
  }
  return table(rows);
}

/** The latest releases for `stepwise status`, one line each. */
export function historyLines(history: ReleaseRecord[] | undefined, now: Date, count = 3): string[] {
  if (!history?.length) return [];
  return [
    'History:',
    ...history
      .slice(0, count)
      .map(
        (r) =>
          `  revision ${r.number}  ${images(r)}  ${r.outcome} (${r.reason}) after ${duration(r)}, ${age(r.finishedAt, now)} ago`,
      ),
  ];
}
