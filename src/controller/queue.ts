import { inRequestLane } from '../kube/request-lane.js';
import { WakeUps } from './wake-ups.js';

/**
 * A per-key work queue (the controller-runtime contract): a key is processed by one worker at a time,
 * adding a key that is already queued is a no-op, adding one that is being processed runs it once more
 * afterwards, and timers wake a key later. A failing key is retried with exponential backoff.
 * Keys wait in priority lanes: an abort ahead of other commands, commands ahead of due analysis checks, checks
 * ahead of changes seen by the watches, and those ahead of routine re-checks (timers, retries), so that an abort
 * never waits behind a burst of re-checks, and a check of live traffic never waits behind a burst of releases
 * (1,000 started at once are minutes of writes at the client's limit). Within a lane, first come first served. An abort for a key whose pass is under way
 * aborts that pass's signal, so the pass gives up what it waits for (a check) and the abort runs next.
 * A pass's Kubernetes requests wait at the client's rate limit in its lane too (kube/request-lane.ts).
 * Commands also have a worker of their own beyond `concurrency`: an abort that arrives while every worker is
 * busy with a check starts at once instead of waiting for one of them to finish.
 */
export const PRIORITY = { abort: 0, command: 1, check: 2, change: 3, routine: 4 } as const;
export type Priority = (typeof PRIORITY)[keyof typeof PRIORITY];

/** What a pass was queued as: its lane, and how long it waited for a worker. */
export interface Dequeued {
  priority: Priority;
  waitedMs: number;
}

/** `signal` aborts when an abort for the key arrives during the pass; its reason is an AbortArrived. */
export type Worker = (
  key: string,
  signal: AbortSignal,
  dequeued: Dequeued,
) => Promise<{ requeueAfterMs?: number; requeueLane?: Priority } | void>;

/** Why a pass's signal aborted: an abort for its Rollout is waiting. */
export class AbortArrived extends Error {
  constructor(readonly key: string) {
    super(`an abort of ${key} arrived during the pass`);
    this.name = 'AbortArrived';
  }
}

export interface QueueOptions {
  concurrency?: number;
  /** Workers beyond `concurrency` that only aborts and other commands may take (default 1). */
  commandWorkers?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (key: string, error: unknown, retryInMs: number) => void;
}

export class WorkQueue {
  /** One lane per priority; a Set keeps insertion order and removes a key in O(1) when it moves up. */
  private readonly lanes: Set<string>[] = Object.values(PRIORITY).map(() => new Set<string>());
  private readonly queued = new Map<string, { priority: Priority; since: number }>();
  private readonly dirty = new Map<string, Priority>();
  /** Keys whose pass is under way, with the controller that cancels it. */
  private readonly active = new Map<string, AbortController>();
  private readonly wakeUps = new WakeUps((key) => {
    const lane = this.wakeLanes.get(key) ?? PRIORITY.routine;
    this.wakeLanes.delete(key);
    this.add(key, lane);
  });
  /** The lane of each wake-up that is not routine (a due check). */
  private readonly wakeLanes = new Map<string, Priority>();
  private readonly failures = new Map<string, number>();
  private running = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly worker: Worker,
    private readonly options: QueueOptions = {},
  ) {}

  add(key: string, priority: Priority = PRIORITY.change): void {
    if (this.stopped) return;
    this.clearTimer(key);
    const pass = this.active.get(key);
    if (pass) {
      this.dirty.set(key, Math.min(priority, this.dirty.get(key) ?? priority) as Priority);
      if (priority === PRIORITY.abort && !pass.signal.aborted) pass.abort(new AbortArrived(key));
      return;
    }
    const queuedAt = this.queued.get(key)?.priority;
    if (queuedAt !== undefined && queuedAt <= priority) return;
    if (queuedAt !== undefined) this.lanes[queuedAt]!.delete(key);
    this.queued.set(key, { priority, since: Date.now() });
    this.lanes[priority]!.add(key);
    this.pump();
  }

  /** Wake the key after `ms` in `lane` (routine by default), unless an earlier wake-up is already set. */
  addAfter(key: string, ms: number, lane: Priority = PRIORITY.routine): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key, Math.min(lane, PRIORITY.change) as Priority);
    const at = Date.now() + ms;
    const existing = this.wakeUps.at(key);
    if (existing !== undefined && existing <= at) return;
    this.wakeUps.set(key, at);
    if (lane === PRIORITY.routine) this.wakeLanes.delete(key);
    else this.wakeLanes.set(key, lane);
  }

  forget(key: string): void {
    this.clearTimer(key);
    this.failures.delete(key);
  }

  /** Stop taking work; resolves when the passes under way have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUps.clear();
    this.wakeLanes.clear();
    for (const lane of this.lanes) lane.clear();
    this.queued.clear();
    if (this.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private clearTimer(key: string): void {
    this.wakeUps.cancel(key);
    this.wakeLanes.delete(key);
  }

  private pump(): void {
    const concurrency = this.options.concurrency ?? 4;
    const forCommands = this.options.commandWorkers ?? 1;
    while (!this.stopped) {
      const lane = this.lanes.findIndex((l) => l.size > 0);
      if (lane < 0) return;
      if (this.running >= (lane <= PRIORITY.command ? concurrency + forCommands : concurrency)) return;
      const key = this.takeFirst(this.lanes[lane]!);
      const { priority, since } = this.queued.get(key)!;
      this.queued.delete(key);
      const pass = new AbortController();
      this.active.set(key, pass);
      this.running += 1;
      void this.process(key, pass.signal, { priority, waitedMs: Date.now() - since });
    }
  }

  private takeFirst(lane: Set<string>): string {
    const first = lane.values().next().value!;
    lane.delete(first);
    return first;
  }

  private async process(key: string, signal: AbortSignal, dequeued: Dequeued): Promise<void> {
    try {
      const result = await inRequestLane(dequeued.priority, () => this.worker(key, signal, dequeued));
      this.failures.delete(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs, result.requeueLane);
    } catch (error) {
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      const base = this.options.baseBackoffMs ?? 500;
      const retryInMs = Math.min(base * 2 ** (failures - 1), this.options.maxBackoffMs ?? 60_000);
      this.options.onError?.(key, error, retryInMs);
      this.addAfter(key, retryInMs);
    } finally {
      this.active.delete(key);
      this.running -= 1;
      const again = this.dirty.get(key);
      if (again !== undefined) {
        this.dirty.delete(key);
        this.add(key, again);
      }
      this.pump();
      if (this.running === 0) {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
    }
  }
}
