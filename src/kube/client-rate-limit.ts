// Client-side throttling like client-go's: every request takes a token from one bucket per API server
// connection (burst at once, refilled at qps). client-go defaults to 5 QPS / burst 10; Argo Rollouts' controller
// to 40 / 80 (--qps, --burst), which a single controller of thousands of Rollouts needs at a restart.
import { RateLimiter } from '../server/token-bucket.js';

export const DEFAULT_QPS = 40;
export const DEFAULT_BURST = 80;

export class ClientRateLimiter {
  private readonly bucket: RateLimiter;

  constructor(
    private readonly qps = DEFAULT_QPS,
    burst = DEFAULT_BURST,
    now: () => number = Date.now,
  ) {
    this.bucket = new RateLimiter(burst, qps, now);
  }

  /** Resolves once a token is taken: at once within the burst, else when the bucket has refilled one. */
  async wait(): Promise<void> {
    while (!this.bucket.take('api')) {
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(1000 / this.qps)));
    }
  }
}
