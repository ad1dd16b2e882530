import { createHash } from 'node:crypto';
import pRetry from 'p-retry';
import { PrometheusDriver, type PrometheusConnectionOptions, type QueryResult } from 'prometheus-query';
import type { PrometheusTarget } from './types.js';

// One PromQL instant query -> one number, or the reason there is none. No data is not good data
// (DESIGN §3.5): empty results, NaN, ±Inf, several series and errors all become a NoValue.

export type NoValueKind =
  /** The query matched no series. */
  | 'empty'
  | 'nan'
  | 'infinite'
  /** The query returned several series: it must aggregate to one. */
  | 'multiple-series'
  /** A matrix or string result, or a value that is not a number. */
  | 'not-a-number'
  /** A number the measurement cannot take: a negative count, a share of requests outside [0, 1]. */
  | 'out-of-domain'
  /** The query could not be built (e.g. an unknown placeholder). */
  | 'invalid-query'
  /** Prometheus answered with an error (bad query, auth, 5xx after retries). */
  | 'error'
  /** Network error or timeout, after retries. */
  | 'unreachable';

export interface NoValue {
  readonly kind: NoValueKind;
  /** What went wrong, in words: "no data (empty result)". */
  readonly reason: string;
}

export type QueryValue = number | NoValue;

export function noValue(kind: NoValueKind, reason: string): NoValue {
  return { kind, reason };
}

export function isNoValue(value: QueryValue | SeriesValues | undefined): value is NoValue {
  // Series values are numbers, so an object with a string `kind` is always a NoValue.
  return typeof value === 'object' && value !== null && typeof value.kind === 'string';
}

/** The subset of a winston logger the analysis uses; pass `logger.child({...})` to add context. */
export interface AnalysisLogger {
  debug(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
}

export interface RetryPolicy {
  /** Attempts after the first one. */
  retries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
  /** No retry starts after this long since the first attempt. */
  maxRetryTimeMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  retries: 2,
  minTimeoutMs: 250,
  maxTimeoutMs: 1000,
  maxRetryTimeMs: 2500,
};

/**
 * Largest answer read, decompressed. Stepwise's own queries return at most a series per pod (500 series are about
 * 150 KB) and custom ones a single series; a 48 MB answer (a query that does not aggregate, or a hostile server)
 * once took the controller to 1.8 GB. A check runs up to 24 queries at once, so each must stay small.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/** Series kept from one answer; each one's label set may end up in status.analysis.comparison. */
export const MAX_SERIES = 500;

/** Longer label sets are kept as a digest: the key only has to match the same series at the next check. */
const MAX_SERIES_KEY_CHARS = 128;

/** Text from the answer (Prometheus's error message) quoted in reasons is cut here: it reaches status. */
const MAX_QUOTED_CHARS = 200;

export interface PrometheusClientOptions {
  logger?: AnalysisLogger;
  retry?: Partial<RetryPolicy>;
  /** Per HTTP request. */
  timeoutMs?: number;
  /** Answers larger than this are refused while they are read (default 1 MiB). */
  maxResponseBytes?: number;
  /** Aborts every request under way and every retry not yet started (the check's time budget). */
  signal?: AbortSignal;
  /**
   * Told the outcome of every HTTP query sent (each retry too; a read answered from a batch's shared answer sends
   * none): `ok`, or the NoValueKind (`empty`, `error`, `unreachable`...).
   */
  onQuery?: (outcome: 'ok' | NoValueKind) => void;
}

/** Each series of an instant vector by its label set (`{pod="a"}`); an empty vector is `{}`. */
export type SeriesValues = Record<string, number>;

export interface PrometheusClient {
  /** Evaluates `promql` at `at`. Never throws. */
  query(promql: string, at: Date): Promise<QueryValue>;
  /** Evaluates `promql` at `at` and keeps every series (NaN and ±Inf samples are left out). Never throws. */
  querySeries(promql: string, at: Date): Promise<SeriesValues | NoValue>;
  /**
   * Evaluates `promql` at `at` and splits its series by the value of `label` (which is left out of their keys): what
   * `querySeries` would give for each value alone, up to MAX_SERIES series each. Never throws.
   */
  querySeriesBy(
    promql: string,
    at: Date,
    label: string,
  ): Promise<Map<string, SeriesValues | NoValue> | NoValue>;
  /** Evaluates `promql` at `at` and splits it by `label` as querySeriesBy: what `query` would give for each value alone. */
  queryBy(promql: string, at: Date, label: string): Promise<Map<string, QueryValue> | NoValue>;
}

/** prometheus-query rejects with plain objects; this is the real Error p-retry and logs need. */
export class PrometheusQueryError extends Error {
  constructor(
    message: string,
    readonly kind: 'unreachable' | 'error',
    /** Worth another attempt: network errors, timeouts, HTTP 5xx and 429. */
    readonly transient: boolean,
    readonly httpStatus?: number,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'PrometheusQueryError';
  }
}

export function createPrometheusClient(
  target: PrometheusTarget,
  options: PrometheusClientOptions = {},
): PrometheusClient {
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const driver = new PrometheusDriver({
    endpoint: target.address,
    headers: { ...target.headers },
    timeout: options.timeoutMs ?? 5000,
    // prometheus-query passes only some axios options through; the interceptor sets the rest on each request.
    requestInterceptor: {
      onFulfilled: (config) => {
        config.maxContentLength = maxResponseBytes;
        if (options.signal) config.signal = options.signal;
        return config;
      },
    },
    responseInterceptor: {
      onFulfilled: (response) => restoreInfinities(checkQueryAnswer(response)),
      onRejected: keepHttpStatus,
    },
  });
  const failureOf = (error: unknown) =>
    toQueryError(error, { maxResponseBytes, aborted: abortReason(options.signal) });

  const run = async (promql: string, at: Date): Promise<QueryResult | NoValue> => {
    try {
      return await pRetry(
        async () => {
          try {
            return await driver.instantQuery(promql, at);
          } catch (error) {
            // Every request sent is counted, retries too; a query answered counts when its answer is read.
            const failure = failureOf(error);
            options.onQuery?.(failure.kind);
            throw failure;
          }
        },
        {
          retries: retry.retries,
          minTimeout: retry.minTimeoutMs,
          maxTimeout: retry.maxTimeoutMs,
          maxRetryTime: retry.maxRetryTimeMs,
          unref: true,
          ...(options.signal ? { signal: options.signal } : {}),
          shouldRetry: ({ error }) => error instanceof PrometheusQueryError && error.transient,
          onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
            options.logger?.debug('Prometheus query attempt failed', {
              address: target.address,
              query: promql,
              attempt: attemptNumber,
              retriesLeft,
              error: error.message,
            });
          },
        },
      );
    } catch (error) {
      const failure = failureOf(error);
      options.logger?.warn('Prometheus query failed', {
        address: target.address,
        query: promql,
        error: failure.message,
        ...(failure.cause !== undefined ? { cause: String(failure.cause) } : {}),
      });
      return noValue(failure.kind, failure.message);
    }
  };

  const counted = <T extends QueryValue | SeriesValues>(value: T): T => {
    options.onQuery?.(isNoValue(value) ? value.kind : 'ok');
    return value;
  };

  return {
    async query(promql, at) {
      const result = await run(promql, at);
      return 'resultType' in result ? counted(singleValue(result)) : result;
    },
    async querySeries(promql, at) {
      const result = await run(promql, at);
      return 'resultType' in result ? counted(seriesValues(result)) : result;
    },
    async querySeriesBy(promql, at, label) {
      const result = await run(promql, at);
      if (!('resultType' in result)) return result;
      options.onQuery?.('ok');
      return seriesValuesBy(result, label);
    },
    async queryBy(promql, at, label) {
      const result = await run(promql, at);
      if (!('resultType' in result)) return result;
      options.onQuery?.('ok');
      if (result.resultType !== 'vector') return notAVector(result);
      const groups = groupedBy(result.result as VectorSeries[], label);
      return new Map(
        [...groups].map(([value, series]) => [
          value,
          singleValue({ resultType: 'vector', result: series } as QueryResult),
        ]),
      );
    },
  };
}

type VectorSeries = { metric?: { labels?: object }; value?: { value?: unknown } };

/** Every series of an instant vector, grouped by the value of `label` and keyed without it. */
export function seriesValuesBy(
  result: QueryResult,
  label: string,
): Map<string, SeriesValues | NoValue> | NoValue {
  if (result.resultType !== 'vector') return notAVector(result);
  const groups = groupedBy(result.result as VectorSeries[], label);
  return new Map([...groups].map(([value, series]) => [value, finiteSeries(series)]));
}

/** The series by the value of `label`, each without it. */
function groupedBy(all: VectorSeries[], label: string): Map<string, VectorSeries[]> {
  const groups = new Map<string, VectorSeries[]>();
  for (const series of all) {
    const { [label]: value = '', ...rest } = (series.metric?.labels ?? {}) as Record<string, string>;
    const group = groups.get(value) ?? [];
    group.push({ ...series, metric: { labels: rest } });
    groups.set(value, group);
  }
  return groups;
}

/** Every finite sample of an instant vector, keyed by its labels in a stable order. */
export function seriesValues(result: QueryResult): SeriesValues | NoValue {
  if (result.resultType !== 'vector') return notAVector(result);
  return finiteSeries(result.result as VectorSeries[]);
}

const notAVector = (result: QueryResult) =>
  noValue('not-a-number', `expected an instant vector, got a ${String(result.resultType)} result`);

function finiteSeries(all: VectorSeries[]): SeriesValues | NoValue {
  if (all.length > MAX_SERIES) {
    return noValue(
      'error',
      `Prometheus returned ${all.length} series, more than the ${MAX_SERIES} a comparison keeps; check that the address serves this mesh's metrics`,
    );
  }
  const values: SeriesValues = {};
  for (const series of all) {
    const value = series.value?.value;
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    values[labelKey((series.metric?.labels ?? {}) as Record<string, string>)] = value;
  }
  return values;
}

function labelKey(labels: Record<string, string>): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`);
  const key = `{${pairs.join(',')}}`;
  if (key.length <= MAX_SERIES_KEY_CHARS) return key;
  return `sha256:${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

/** The one number of an instant query result, or why there is none. */
export function singleValue(result: QueryResult): QueryValue {
  let value: unknown;
  switch (result.resultType) {
    case 'vector': {
      const series = result.result as { value?: { value?: unknown } }[];
      if (series.length === 0) return noValue('empty', 'no data (empty result)');
      if (series.length > 1) {
        return noValue(
          'multiple-series',
          `expected one series, got ${series.length} (aggregate the query, e.g. with sum)`,
        );
      }
      value = series[0]?.value?.value;
      break;
    }
    case 'scalar': {
      // prometheus-query leaves scalars as the raw [time, "value"] pair.
      const raw = (result.result as unknown as unknown[])[1];
      value = typeof raw === 'string' ? Number(raw) : raw;
      break;
    }
    default:
      return noValue('not-a-number', `expected a single number, got a ${String(result.resultType)} result`);
  }
  if (typeof value !== 'number') return noValue('not-a-number', `not a number: ${JSON.stringify(value)}`);
  if (Number.isNaN(value)) return noValue('nan', 'no data (NaN)');
  if (!Number.isFinite(value)) return noValue('infinite', `no data (${value > 0 ? '+Inf' : '-Inf'})`);
  return value;
}

type ResponseInterceptor = NonNullable<PrometheusConnectionOptions['responseInterceptor']>;
type Response = Parameters<ResponseInterceptor['onFulfilled']>[0];

/** Foreign text, cut to a length that fits in a status message. */
function quoted(text: string): string {
  return text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}…` : text;
}

const RESULT_TYPES = new Set(['vector', 'matrix', 'scalar', 'string']);
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isSample = (value: unknown) => Array.isArray(value) && value.length === 2;

/** What is wrong with a 2xx answer's `data`, or undefined when prometheus-query can read it. */
function resultProblem(data: unknown): string | undefined {
  if (!isObject(data) || typeof data.resultType !== 'string') return 'no data.resultType';
  if (!RESULT_TYPES.has(data.resultType))
    return `the unknown result type ${quoted(JSON.stringify(data.resultType))}`;
  const { resultType, result } = data;
  if (resultType === 'scalar' || resultType === 'string')
    return isSample(result) ? undefined : 'a malformed sample';
  if (!Array.isArray(result)) return `a ${resultType} result that is not a list`;
  for (const series of result) {
    if (!isObject(series) || (series.metric !== undefined && !isObject(series.metric)))
      return 'a malformed series';
    const samples = resultType === 'vector' ? [series.value] : series.values;
    if (!Array.isArray(samples) || !samples.every(isSample)) return 'a malformed sample';
    if (series.metric && Object.values(series.metric).some((label) => typeof label !== 'string')) {
      return 'a label value that is not a string';
    }
  }
  return undefined;
}

/**
 * prometheus-query trusts the shape of a 2xx answer and fails with a TypeError ("Cannot read properties of undefined
 * (reading 'resultType')") on anything else, e.g. a web page or another API at the address. Say what came instead.
 */
function checkQueryAnswer(response: Response): Response {
  const body = response.data as unknown;
  const where = `Prometheus answered HTTP ${response.status}`;
  if (isObject(body) && body.status === 'error') {
    throw new PrometheusQueryError(
      `${where} with an error: ${quoted(String(body.error ?? body.errorType ?? 'no message'))}`,
      'error',
      false,
      response.status,
    );
  }
  const problem = isObject(body)
    ? body.status === 'success'
      ? resultProblem(body.data)
      : 'a body without status "success"'
    : 'a body that is not JSON';
  if (problem) {
    throw new PrometheusQueryError(
      `${where} with ${problem} instead of a query result; check that the address is the Prometheus base URL (e.g. http://prometheus.istio-system:9090)`,
      'error',
      false,
      response.status,
    );
  }
  return response;
}

// prometheus-query reads sample values with parseFloat, which turns "+Inf" into NaN; JavaScript's own
// spelling survives it, so an infinite P99 is reported as such rather than as NaN.
const restoreInfinities = (response: Response): Response => {
  const data = (response.data as { data?: { resultType?: string; result?: unknown } } | undefined)?.data;
  const spell = (sample: unknown) => {
    if (Array.isArray(sample) && (sample[1] === '+Inf' || sample[1] === '-Inf')) {
      sample[1] = sample[1] === '+Inf' ? 'Infinity' : '-Infinity';
    }
  };
  if (data?.resultType === 'scalar') spell(data.result);
  if (data?.resultType === 'vector' && Array.isArray(data.result)) {
    for (const series of data.result as { value?: unknown }[]) spell(series.value);
  }
  return response;
};

// A proxy in front of Prometheus may answer 502/503 with a non-JSON body, which prometheus-query
// reports without the HTTP status; give it a Prometheus-shaped body so the status (and retry) survive.
function keepHttpStatus(error: unknown): never {
  const response = (error as { response?: { status?: number; statusText?: string; data?: unknown } })
    .response;
  if (
    response &&
    (typeof response.data !== 'object' || response.data === null || !('status' in response.data))
  ) {
    response.data = { status: 'error', error: response.statusText || 'response without a Prometheus body' };
  }
  throw error;
}

interface DriverRejection {
  errorType?: string;
  error?: string;
  code?: string;
  httpStatus?: number;
  prometheus?: { errorType?: string; error?: string };
  /** What the driver caught: an axios error, or the PrometheusQueryError an interceptor threw. */
  original?: unknown;
}

function abortReason(signal: AbortSignal | undefined): string | undefined {
  if (!signal?.aborted) return undefined;
  return signal.reason instanceof Error ? signal.reason.message : 'the request was aborted';
}

interface FailureContext {
  maxResponseBytes: number;
  /** Why the signal aborted the request (the check's time budget ran out), if it did. */
  aborted: string | undefined;
}

function toQueryError(rejection: unknown, context: FailureContext): PrometheusQueryError {
  if (rejection instanceof PrometheusQueryError) return rejection;
  // Aborted requests, and p-retry's own rejection once the signal fired, all mean the same thing.
  if (context.aborted !== undefined) return new PrometheusQueryError(context.aborted, 'unreachable', false);
  if (rejection instanceof Error) {
    // Not one of the driver's rejections: a bug or an answer nobody foresaw. The log gets the details, status a sentence.
    return new PrometheusQueryError(
      'the query could not be sent or its answer could not be read; the controller log has the details',
      'error',
      false,
      undefined,
      rejection,
    );
  }
  const r = (
    typeof rejection === 'object' && rejection !== null ? rejection : { error: String(rejection) }
  ) as DriverRejection;
  if (r.original instanceof PrometheusQueryError) return r.original;
  const detail = quoted(r.error || r.code || 'unknown error');
  if (r.code === 'ERR_BAD_RESPONSE' && /maxContentLength/.test(r.error ?? '')) {
    const mib = Math.round((context.maxResponseBytes / 1024 / 1024) * 10) / 10;
    return new PrometheusQueryError(
      `Prometheus answered more than ${mib} MiB; aggregate the query (e.g. with sum) so that it returns one series`,
      'error',
      false,
    );
  }
  switch (r.errorType) {
    case 'network_error':
    case 'timeout_error':
      return new PrometheusQueryError(`Prometheus unreachable: ${detail}`, 'unreachable', true);
    case 'ssl_error':
      return new PrometheusQueryError(`Prometheus unreachable: ${detail}`, 'unreachable', false);
    case 'http_error': {
      const status = r.httpStatus ?? 0;
      const transient = status >= 500 || status === 429;
      const promType = r.prometheus?.errorType;
      const message =
        promType === 'bad_data'
          ? `Prometheus rejected the query (bad_data): ${detail}`
          : `Prometheus error: HTTP ${status}${promType ? ` ${quoted(promType)}` : ''}: ${detail}`;
      return new PrometheusQueryError(message, 'error', transient, status);
    }
    default:
      return new PrometheusQueryError(`Prometheus error: ${detail}`, 'error', false);
  }
}
