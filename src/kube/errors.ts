import { ApiException } from '@kubernetes/client-node';

/** HTTP status of a failed Kubernetes call (ApiException or a watch error), undefined for network errors. */
export function httpStatus(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  const e = error as { statusCode?: unknown; code?: unknown } | undefined;
  // Only HTTP statuses: a DOMException (e.g. a TimeoutError) carries a legacy numeric `code` too (23).
  for (const value of [e?.statusCode, e?.code]) {
    if (typeof value === 'number' && value >= 100 && value <= 599) return value;
  }
  return undefined;
}

/** The API server's own message: for 4xx, client-node keeps the Status body as a JSON string. */
export function apiMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body: unknown = typeof error.body === 'string' ? safeParse(error.body) : error.body;
    const message = (body as { message?: unknown } | undefined)?.message;
    return typeof message === 'string' ? `${error.code}: ${message}` : `HTTP ${error.code}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const isNotFound = (error: unknown) => httpStatus(error) === 404;
export const isConflict = (error: unknown) => httpStatus(error) === 409;

/** Worth retrying: throttling, server errors and network failures; never 4xx answers about the request itself. */
export function isTransient(error: unknown): boolean {
  const status = httpStatus(error);
  return status === undefined || status === 429 || status >= 500;
}

/** Retry-After of a 429, in milliseconds. */
export function retryAfterMs(error: unknown): number | undefined {
  if (!(error instanceof ApiException)) return undefined;
  const headers = error.headers as Record<string, string> | undefined;
  const value = Number(headers?.['retry-after'] ?? headers?.['Retry-After']);
  return Number.isFinite(value) && value > 0 ? value * 1000 : undefined;
}
