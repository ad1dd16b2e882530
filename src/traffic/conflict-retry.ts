import pRetry from 'p-retry';

/** Conflict retries; defaults suit a real API server (4 retries from 50 ms, doubling, jittered). */
export interface ConflictRetry {
  retries?: number;
  minTimeout?: number;
}

function isConflict(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 409;
}

/** Runs `attempt` again after a 409; each attempt re-reads, so a retry carries the other writer's change along. */
export function retryOnConflict(attempt: () => Promise<void>, retry: ConflictRetry = {}): Promise<void> {
  return pRetry(attempt, {
    retries: retry.retries ?? 4,
    minTimeout: retry.minTimeout ?? 50,
    randomize: true,
    shouldRetry: ({ error }) => isConflict(error),
  });
}
