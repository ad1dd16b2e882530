import pRetry, { AbortError } from 'p-retry';

export interface PostOptions {
  headers?: Record<string, string>;
  /** Per attempt. */
  timeoutMs: number;
  /** Attempts after the first one. */
  retries: number;
  minBackoffMs: number;
}

/** An answer or failure of a receiver, as a real Error (p-retry needs Errors). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    /** HTTP status; undefined for network errors and timeouts. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** Worth another attempt: throttling, server errors, network errors and timeouts; never other 4xx. */
const transient = (error: DeliveryError) =>
  error.status === undefined || error.status === 429 || error.status >= 500;

/** POSTs JSON to `url`, retrying with exponential backoff on 429, 5xx and network errors. */
export async function postJson(url: string, body: unknown, options: PostOptions): Promise<void> {
  await pRetry(
    async () => {
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...options.headers },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (error) {
        const why = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : String(error);
        throw new DeliveryError(`no answer from the receiver: ${why}`);
      }
      // Drain the body so the connection is released.
      const text = await response.text().catch(() => '');
      if (response.ok) return;
      const error = new DeliveryError(
        `receiver answered ${response.status}: ${text.slice(0, 200)}`,
        response.status,
      );
      throw transient(error) ? error : new AbortError(error);
    },
    { retries: options.retries, minTimeout: options.minBackoffMs, factor: 2, unref: true },
  );
}
