import { afterEach, describe, expect, it, vi } from 'vitest';
import { AbortArrived, PRIORITY, WorkQueue } from '../../src/controller/queue.js';
import { currentRequestLane } from '../../src/kube/request-lane.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the per-key work queue', () => {
  afterEach(() => vi.useRealTimers());

  it('runs one pass per key at a time, and once more when the key changed during a pass', async () => {
    const log: string[] = [];
    let release!: () => void;
    const queue = new WorkQueue(async (key) => {
      log.push(`start ${key}`);
      if (log.length === 1) await new Promise<void>((r) => (release = r));
      log.push(`end ${key}`);
    });
    queue.add('a');
    await tick();
    queue.add('a'); // arrives during the pass
    queue.add('a'); // de-duplicated with the one before
    await tick();
    expect(log).toEqual(['start a']);
    release();
    await vi.waitFor(() => expect(log).toEqual(['start a', 'end a', 'start a', 'end a']));
    await queue.stop();
  });

  it('runs different keys in parallel up to its concurrency', async () => {
    let running = 0;
    let peak = 0;
    const queue = new WorkQueue(
      async () => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20));
        running -= 1;
      },
      { concurrency: 2 },
    );
    for (const key of ['a', 'b', 'c', 'd']) queue.add(key);
    await vi.waitFor(() => expect(running).toBe(0));
    await vi.waitFor(() => expect(peak).toBe(2));
    await queue.stop();
  });

  it('wakes a key when its pass asked to, keeping the earliest wake-up', async () => {
    vi.useFakeTimers();
    const passes: number[] = [];
    const queue = new WorkQueue(async () => {
      passes.push(Date.now());
      return passes.length === 1 ? { requeueAfterMs: 5_000 } : undefined;
    });
    const start = Date.now();
    queue.add('a');
    await vi.advanceTimersByTimeAsync(0);
    queue.addAfter('a', 60_000); // a later wake-up does not replace the earlier one
    await vi.advanceTimersByTimeAsync(5_000);
    expect(passes.map((t) => t - start)).toEqual([0, 5_000]);
    await queue.stop();
  });

  it('retries a failing key with growing backoff and reports each failure', async () => {
    vi.useFakeTimers();
    const failures: number[] = [];
    let calls = 0;
    const queue = new WorkQueue(
      async () => {
        calls += 1;
        if (calls <= 3) throw new Error('API down');
      },
      { baseBackoffMs: 100, onError: (_key, _error, retryInMs) => failures.push(retryInMs) },
    );
    queue.add('a');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(failures).toEqual([100, 200, 400]);
    expect(calls).toBe(4);
    await queue.stop();
  });

  it('stops taking work and waits for the pass under way', async () => {
    let finished = false;
    const queue = new WorkQueue(async () => {
      await new Promise((r) => setTimeout(r, 30));
      finished = true;
    });
    queue.add('a');
    await tick();
    await queue.stop();
    expect(finished).toBe(true);
    queue.add('b');
    await tick();
  });

  it('runs an abort queued behind routine re-checks first, then other commands, then changes', async () => {
    vi.useFakeTimers();
    const order: string[] = [];
    let release!: () => void;
    const queue = new WorkQueue(
      async (key) => {
        order.push(key);
        if (key === 'busy') await new Promise<void>((r) => (release = r));
      },
      { concurrency: 1, commandWorkers: 0 },
    );
    queue.add('busy');
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 5; i++) queue.addAfter(`recheck-${i}`, 10);
    await vi.advanceTimersByTimeAsync(10);
    queue.add('edited');
    queue.add('promoted', PRIORITY.command);
    queue.add('aborted', PRIORITY.abort);
    queue.add('recheck-3', PRIORITY.abort); // a command for a key already waiting moves it up
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual([
      'busy',
      'aborted',
      'recheck-3',
      'promoted',
      'edited',
      'recheck-0',
      'recheck-1',
      'recheck-2',
      'recheck-4',
    ]);
    await queue.stop();
  });

  it('wakes a key whose pass said a check is due then in the check lane, ahead of changes but behind commands', async () => {
    vi.useFakeTimers();
    const order: string[] = [];
    let release!: () => void;
    const queue = new WorkQueue(
      async (key, _signal, dequeued) => {
        order.push(`${key} ${dequeued.priority}`);
        if (key === 'busy') await new Promise<void>((r) => (release = r));
        // Its first pass asks to be woken for a check in 10 ms; the wake-up after that is routine again.
        if (key === 'checked' && order.filter((o) => o.startsWith('checked')).length === 1) {
          return { requeueAfterMs: 10, requeueLane: PRIORITY.check };
        }
        return key === 'checked' ? { requeueAfterMs: 10 } : undefined;
      },
      { concurrency: 1, commandWorkers: 0 },
    );
    queue.add('checked');
    await vi.advanceTimersByTimeAsync(0);
    queue.add('busy');
    await vi.advanceTimersByTimeAsync(0);
    queue.addAfter('recheck', 5);
    await vi.advanceTimersByTimeAsync(10);
    queue.add('released');
    queue.add('promoted', PRIORITY.command);
    release();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(10);
    expect(order).toEqual([
      `checked ${PRIORITY.change}`,
      `busy ${PRIORITY.change}`,
      `promoted ${PRIORITY.command}`,
      `checked ${PRIORITY.check}`,
      `released ${PRIORITY.change}`,
      `recheck ${PRIORITY.routine}`,
      `checked ${PRIORITY.routine}`,
    ]);
    await queue.stop();
  });

  it('cancels the pass under way when an abort for its key arrives, and runs the abort right after', async () => {
    const seen: { key: string; reason?: unknown }[] = [];
    const queue = new WorkQueue(async (key, signal) => {
      const pass = { key } as { key: string; reason?: unknown };
      seen.push(pass);
      if (seen.length > 1) return;
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      pass.reason = signal.reason;
    });
    queue.add('a');
    await tick();
    queue.add('a', PRIORITY.command); // another command waits for the pass
    queue.add('a', PRIORITY.routine);
    await tick();
    expect(seen).toEqual([{ key: 'a' }]);
    queue.add('a', PRIORITY.abort);
    await vi.waitFor(() => expect(seen).toHaveLength(2));
    expect(seen[0]!.reason).toBeInstanceOf(AbortArrived);
    await queue.stop();
  });

  it('holds every re-check behind one timer, and wakes each key at its own time', async () => {
    vi.useFakeTimers();
    const woken: string[] = [];
    const queue = new WorkQueue(async (key) => {
      woken.push(key);
    });
    for (let i = 0; i < 1_000; i++) queue.addAfter(`r-${i}`, 60_000 - i * 10);
    queue.addAfter('r-0', 5); // brought forward
    queue.addAfter('r-1', 10);
    queue.forget('r-1'); // deleted Rollout: never woken
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(5);
    expect(woken).toEqual(['r-0']);
    await vi.advanceTimersByTimeAsync(60_000 - 999 * 10 - 5);
    expect(woken).toEqual(['r-0', 'r-999']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(woken).toHaveLength(999);
    expect(woken).not.toContain('r-1');
    await queue.stop();
  });

  it("sends a pass's Kubernetes requests in the lane its Rollout was queued in, and says how long it waited", async () => {
    const lanes: Record<string, { lane: number; waitedMs: number }> = {};
    let release!: () => void;
    const busy = new Promise<void>((r) => (release = r));
    const queue = new WorkQueue(
      async (key, _signal, { waitedMs }) => {
        if (key === 'busy') await busy;
        // Read after an await, as a request deep in the pass would be.
        await tick();
        lanes[key] = { lane: currentRequestLane(), waitedMs };
      },
      { concurrency: 1, commandWorkers: 0 },
    );
    queue.add('busy', PRIORITY.routine);
    await tick();
    queue.add('recheck', PRIORITY.routine);
    queue.add('aborted', PRIORITY.abort);
    await new Promise((r) => setTimeout(r, 30));
    release();
    await vi.waitFor(() => expect(Object.keys(lanes)).toHaveLength(3));
    expect(lanes.aborted!.lane).toBe(PRIORITY.abort);
    expect(lanes.recheck!.lane).toBe(PRIORITY.routine);
    expect(lanes.aborted!.waitedMs).toBeGreaterThanOrEqual(25);
    await queue.stop();
  });

  it('starts an abort at once while every worker is busy with a check, on the worker kept for commands', async () => {
    const started: string[] = [];
    let release!: () => void;
    const checking = new Promise<void>((r) => (release = r));
    const queue = new WorkQueue(
      async (key) => {
        started.push(key);
        if (key.startsWith('checking')) await checking;
      },
      { concurrency: 2 },
    );
    queue.add('checking-a', PRIORITY.routine);
    queue.add('checking-b', PRIORITY.routine);
    queue.add('recheck', PRIORITY.routine);
    await tick();
    queue.add('aborted', PRIORITY.abort);
    await tick();
    // The routine re-check still waits for a worker; the abort did not.
    expect(started).toEqual(['checking-a', 'checking-b', 'aborted']);
    release();
    await vi.waitFor(() => expect(started).toContain('recheck'));
    await queue.stop();
  });
});
