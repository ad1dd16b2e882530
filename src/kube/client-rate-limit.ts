// Client-side throttling like client-go's: every request takes a token from one bucket per API server
// connection (burst at once, refilled at qps). client-go defaults to 5 QPS / burst 10, kube-controller-manager
// to 20 / 30 (--kube-api-qps, --kube-api-burst), Argo Rollouts' controller to 40 / 80 (--qps, --burst), which a
// single controller of thousands of Rollouts needs at a restart.
// Unlike client-go's limiter, waiting requests leave in the order of their lane, then of arrival: when routine
// writes have drained the bucket, a command's request takes the next token (the idea of the API server's
// priority and fairness, applied to the one client).
import { RateLimiter } from '../server/token-bucket.js';
import { currentRequestLane, type RequestLane } from './request-lane.js';

export const DEFAULT_QPS = 40;
export const DEFAULT_BURST = 80;

export interface ClientRateLimit {
  qps: number;
  burst: number;
}

/** Told how long each request that had to wait waited, and in which lane (metrics). */
export type RateLimitObserver = (lane: RequestLane, seconds: number) => void;

/** A clear error for a limit that could never let a request through, naming the flag that set it. */
export function checkClientRateLimit({ qps, burst }: ClientRateLimit): ClientRateLimit {
  if (!Number.isFinite(qps) || qps <= 0)
    throw new Error(`--kube-api-qps must be a number above 0 (requests per second), got ${qps}`);
  if (!Number.isInteger(burst) || burst < 1)
    throw new Error(`--kube-api-burst must be a whole number of at least 1, got ${burst}`);
  return { qps, burst };
}

export class ClientRateLimiter {
  private readonly bucket: RateLimiter;
  /** Waiting requests by lane, first come first served within one. */
  private readonly waiting = new Map<RequestLane, (() => void)[]>();
  private waiters = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly qps = DEFAULT_QPS,
    burst = DEFAULT_BURST,
    private readonly now: () => number = Date.now,
    private readonly onWaited?: RateLimitObserver,
  ) {
    this.bucket = new RateLimiter(burst, qps, now);
  }

  /**
   * Resolves once a token is taken: at once within the burst when nobody waits, else when the bucket has
   * refilled one and no request of a lower lane, or of the same lane and earlier, is still waiting.
   */
  wait(lane: RequestLane = currentRequestLane()): Promise<void> {
    if (this.waiters === 0 && this.bucket.take('api')) return Promise.resolve();
    const since = this.now();
    return new Promise((resolve) => {
      const queue = this.waiting.get(lane) ?? [];
      if (queue.length === 0) this.waiting.set(lane, queue);
      queue.push(() => {
        this.onWaited?.(lane, (this.now() - since) / 1000);
        resolve();
      });
      this.waiters += 1;
      this.refillLater();
    });
  }

  private refillLater(): void {
    this.timer ??= setTimeout(
      () => {
        this.timer = undefined;
        this.release();
      },
      Math.ceil(1000 / this.qps),
    );
  }

  private release(): void {
    while (this.waiters > 0 && this.bucket.take('api')) {
      const lane = Math.min(...this.waiting.keys());
      const queue = this.waiting.get(lane)!;
      const next = queue.shift()!;
      if (queue.length === 0) this.waiting.delete(lane);
      this.waiters -= 1;
      next();
    }
    if (this.waiters > 0) this.refillLater();
  }
}
