// Whether a track's pods are up, and the progress deadline every waiting phase is held to.
import type { Pass } from './pass.js';
import { progressDeadlineMs } from './plan.js';
import type { WorkloadObservation } from './types.js';

export function isReady(
  w: WorkloadObservation | undefined,
  replicas: number,
  revision: string | undefined,
): boolean {
  return (
    !!w && w.revision === revision && w.rolledOut && w.replicas === replicas && w.readyReplicas >= replicas
  );
}

export function readiness(name: string, w: WorkloadObservation | undefined, replicas: number): string {
  return `waiting for ${name}: ${w?.readyReplicas ?? 0}/${replicas} ready`;
}

/** True when the progress deadline passed; otherwise schedules a look at the deadline. */
export function deadlinePassed(p: Pass): boolean {
  return p.nowMs >= deadlineMs(p);
}

/** When the wait that began at `status.waitingSince` runs out (and a pass is scheduled for then). */
export function deadlineMs(p: Pass): number {
  const since = Date.parse(p.status.waitingSince ?? p.nowIso);
  const deadline = since + progressDeadlineMs(p.spec);
  if (p.nowMs < deadline) p.wakeAt(deadline);
  return deadline;
}
