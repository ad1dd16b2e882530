// `trigger --wait`: follows a revision until the controller has judged it. Everything is judged relative to
// the revision of the new pod template, so the Succeeded of an earlier release is never taken for this one.
import type { RolloutStatus } from '../api/status.js';

export type ReleaseVerdict = { done: false } | { done: true; succeeded: boolean; summary: string };

const WAITING: ReleaseVerdict = { done: false };

/** Where the release of `revision` stands, from the Rollout's status alone. */
export function judgeRelease(status: RolloutStatus, revision: string): ReleaseVerdict {
  const phase = status.phase;
  const whyNow = [status.reason, status.message].filter(Boolean).join(': ');
  if ((phase === 'Succeeded' || phase === 'Healthy') && status.stableRevision === revision) {
    return {
      done: true,
      succeeded: true,
      summary: `revision ${revision} is stable and serves 100% of the traffic`,
    };
  }
  if ((phase === 'RolledBack' || phase === 'Aborted') && status.rolledBackRevision === revision) {
    // The status message ends by naming the revision again; lastRollback keeps the sentence without it.
    const last = status.lastRollback?.revision === revision ? status.lastRollback : undefined;
    const why = last ? `${last.reason}: ${last.message}` : whyNow;
    const retry = phase === 'RolledBack' ? '; fix the release, or run `stepwise retry` to try it again' : '';
    return {
      done: true,
      succeeded: false,
      summary: `revision ${revision} ${phase === 'Aborted' ? 'was aborted' : 'was rolled back'}: ${why}${retry}`,
    };
  }
  // InvalidSpec never moves by itself; other failures are judged once they concern this revision.
  if (phase === 'Failed' && (status.reason === 'InvalidSpec' || status.canaryRevision === revision)) {
    return { done: true, succeeded: false, summary: `the rollout failed: ${whyNow}` };
  }
  return WAITING;
}

export interface FollowOptions {
  revision: string;
  read: () => Promise<RolloutStatus>;
  /** Called with each new progress line (the caller prints it). */
  print: (line: string) => void;
  describe: (status: RolloutStatus) => string;
  timeoutMs: number;
  pollMs?: number;
}

export type FollowResult =
  | { outcome: 'succeeded'; summary: string }
  | { outcome: 'failed'; summary: string }
  | { outcome: 'timeout'; last: RolloutStatus };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function followRelease(options: FollowOptions): Promise<FollowResult> {
  const deadline = Date.now() + options.timeoutMs;
  let previous = '';
  let last: RolloutStatus = {};
  for (;;) {
    last = await options.read();
    const line = options.describe(last);
    if (line !== previous) options.print(line);
    previous = line;
    const verdict = judgeRelease(last, options.revision);
    if (verdict.done)
      return { outcome: verdict.succeeded ? 'succeeded' : 'failed', summary: verdict.summary };
    const left = deadline - Date.now();
    if (left <= 0) return { outcome: 'timeout', last };
    await sleep(Math.min(options.pollMs ?? 500, left));
  }
}
