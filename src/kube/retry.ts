import pRetry, { AbortError } from 'p-retry';
import { isTransient, retryAfterMs } from './errors.js';

/** Retries a Kubernetes call on throttling, server errors and network failures only (never 404/409/422). */
export function withRetry<T>(call: () => Promise<T>, retries = 3): Promise<T> {
  return pRetry(
    async () => {
      try {
        return await call();
      } catch (error) {
        if (!isTransient(error)) throw new AbortError(error instanceof Error ? error : String(error));
        const wait = retryAfterMs(error);
        if (wait) await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 5_000)));
        throw error instanceof Error ? error : new Error(String(error));
      }
    },
    { retries, minTimeout: 200, maxTimeout: 2_000 },
  );
}
