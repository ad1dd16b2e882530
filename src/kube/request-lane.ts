// Which lane a Kubernetes request waits in at the client's rate limit. A reconcile pass runs inside the lane its
// Rollout was queued in (controller/queue.ts), and every request it sends inherits it through AsyncLocalStorage,
// so an abort's route write never waits behind the routine re-checks' writes that drained the bucket.
import { AsyncLocalStorage } from 'node:async_hooks';

/** Lower goes first. */
export type RequestLane = number;

/** Requests sent outside any pass (watch lists, the leader Lease): few, and the Lease must not wait. */
export const OUTSIDE_PASS: RequestLane = -1;

const lanes = new AsyncLocalStorage<RequestLane>();

/** Runs `work` with every request it sends (however deep, however late) in `lane`. */
export function inRequestLane<T>(lane: RequestLane, work: () => T): T {
  return lanes.run(lane, work);
}

export function currentRequestLane(): RequestLane {
  return lanes.getStore() ?? OUTSIDE_PASS;
}
