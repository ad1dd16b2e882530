import { createHash } from 'node:crypto';
import {
  createPrometheusClient,
  DEFAULT_MAX_RESPONSE_BYTES,
  noValue,
  type NoValue,
  type PrometheusClientOptions,
  type QueryValue,
  type SeriesValues,
} from '../prometheus.js';
import type { PrometheusTarget } from '../types.js';
import type { WorkloadBatch, WorkloadRead } from './workload-read.js';

// Reads of the same shape (same query but for the workload), to the same Prometheus with the same credentials, at
// the same evaluation instant, that arrive within a few milliseconds are sent as one query per chunk of workloads
// and the answer is split back by the workload label. The workloads read under a shape in the last minute are
// asked along (Rollouts of a namespace checked on the same interval grid come back at the same instants), and the
// answer is kept for a minute, so the checks of a namespace that the work queue runs a few at a time still cost
// one query per shape and instant. A failed query fails every read that waited for it, as it would have alone.
// A read takes either every series of its workload (the comparison's counters) or its one number (the thresholds').

export interface SeriesBatcherOptions extends Omit<PrometheusClientOptions, 'signal'> {
  /** How long the first read of a batch waits for others (default 5 ms). */
  windowMs?: number;
  /** Workloads per query (default 50); more are split into several queries. */
  maxWorkloads?: number;
  /**
   * Longest regex of workload names in one query (default 1,500 characters): a query names it up to twice (errors by
   * HTTP and gRPC status), and its URL stays under the 8 KiB that proxies in front of Prometheus commonly accept.
   */
  maxRegexChars?: number;
  /** How long answers, and the workloads read under a shape, are kept (default 60 s). */
  rememberMs?: number;
}

export interface SeriesBatcher {
  /** The read's series at `at`, batched when it can be. Never throws; an aborted read gets its abort as no value. */
  read(
    target: PrometheusTarget,
    at: Date,
    read: WorkloadRead,
    signal?: AbortSignal,
  ): Promise<SeriesValues | NoValue>;
  /** The read's one number at `at` (as `PrometheusClient.query` gives it), batched when it can be. Never throws. */
  readValue(
    target: PrometheusTarget,
    at: Date,
    read: WorkloadRead,
    signal?: AbortSignal,
  ): Promise<QueryValue>;
}

type Value = SeriesValues | QueryValue;

/** Whether a read takes its workload's series or its one number. */
type Answer = 'series' | 'value';

/** What a read of each kind gets for a workload the batched answer has no series of: what it would get alone. */
const ABSENT: Record<Answer, Value> = { series: {}, value: noValue('empty', 'no data (empty result)') };

/**
 * Largest answer to one batched query. A workload's own answer is refused beyond MAX_SERIES series (about 150 KB), so
 * 16 MiB is reached only when the workloads of a chunk would each fail alone.
 */
const MAX_BATCH_RESPONSE_BYTES = 16 * 1024 * 1024;

interface Waiter {
  resolve(value: Value): void;
  signal?: AbortSignal;
}

interface OpenBatch {
  answer: Answer;
  target: PrometheusTarget;
  at: Date;
  batch: WorkloadBatch;
  waiters: Map<string, Waiter[]>;
}

/** Drops the entries last read before `oldest`; a map kept in the order of last reads stops at the first newer one. */
const dropOlderThan = (map: Map<string, number>, oldest: number) => {
  for (const [key, at] of map) {
    if (at >= oldest) return;
    map.delete(key);
  }
};

export function createSeriesBatcher(options: SeriesBatcherOptions = {}): SeriesBatcher {
  const windowMs = options.windowMs ?? 5;
  const maxWorkloads = options.maxWorkloads ?? 50;
  const maxRegexChars = options.maxRegexChars ?? 1500;
  const rememberMs = options.rememberMs ?? 60_000;
  const open = new Map<string, OpenBatch>();
  /** Answers per batch key and workload, kept in the order they came. */
  const answers = new Map<string, { at: number; values: Map<string, Value> }>();
  /** The workloads read under each shape (target and query key), with when they were last read, oldest first. */
  const seen = new Map<string, Map<string, number>>();
  /** When `seen` was last swept: once per a twelfth of rememberMs, not at every flush (thousands a minute). */
  let sweptAt = 0;
  /** Per batch key, the checks waiting for each workload of a query under way (a later read joins them). */
  const inFlight = new Map<string, Map<string, Waiter[]>>();

  const forget = (now: number) => {
    for (const [key, answer] of answers) {
      if (answer.at >= now - rememberMs) break;
      answers.delete(key);
    }
    if (now - sweptAt < rememberMs / 12) return;
    sweptAt = now;
    for (const [shape, workloads] of seen) {
      dropOlderThan(workloads, now - rememberMs);
      if (workloads.size === 0) seen.delete(shape);
    }
  };

  const send = async (pending: OpenBatch, chunk: string[]) => {
    const { batch, at } = pending;
    const key = batchKey(pending.answer, pending.target, at, batch);
    const stop = new AbortController();
    const waiters = new Map(chunk.map((workload) => [workload, pending.waiters.get(workload) ?? []]));
    const flying = inFlight.get(key) ?? new Map<string, Waiter[]>();
    for (const [workload, list] of waiters) flying.set(workload, list);
    inFlight.set(key, flying);
    // The query is dropped only once every check waiting for it has left (the others are not cancelled).
    const left = () => {
      if ([...waiters.values()].flat().every((waiter) => waiter.signal?.aborted)) {
        stop.abort(new Error('every check waiting for the query was aborted'));
      }
    };
    for (const waiter of [...waiters.values()].flat()) {
      waiter.signal?.addEventListener('abort', left, { once: true });
    }
    const client = createPrometheusClient(pending.target, {
      ...options,
      signal: stop.signal,
      // Each workload may answer as much as it could alone, up to MAX_BATCH_RESPONSE_BYTES for all.
      maxResponseBytes: Math.min(
        (options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES) * chunk.length,
        MAX_BATCH_RESPONSE_BYTES,
      ),
    });
    const promql = batch.promqlFor(chunk);
    const result: Map<string, Value> | NoValue =
      pending.answer === 'value'
        ? await client.queryBy(promql, at, batch.label)
        : await client.querySeriesBy(promql, at, batch.label);
    for (const workload of chunk) flying.delete(workload);
    if (flying.size === 0) inFlight.delete(key);
    const kept = answers.get(key)?.values ?? new Map<string, Value>();
    for (const [workload, list] of waiters) {
      const value: Value = result instanceof Map ? (result.get(workload) ?? ABSENT[pending.answer]) : result;
      if (result instanceof Map) kept.set(workload, value);
      for (const waiter of list) {
        waiter.signal?.removeEventListener('abort', left);
        waiter.resolve(value);
      }
    }
    if (result instanceof Map) {
      answers.delete(key);
      answers.set(key, { at: Date.now(), values: kept });
    }
  };

  const flush = (key: string) => {
    const pending = open.get(key)!;
    open.delete(key);
    const now = Date.now();
    forget(now);
    const members = [...pending.waiters.keys()].sort();
    const known = answers.get(key)?.values;
    const flying = inFlight.get(key);
    const peers = [...(seen.get(shapeKey(pending.answer, pending.target, pending.batch))?.keys() ?? [])]
      .filter((workload) => !pending.waiters.has(workload) && !known?.has(workload) && !flying?.has(workload))
      .sort();
    // Chunks with no read waiting are not sent: the peers ride along with the reads, never on their own.
    for (const chunk of chunks([...members, ...peers], maxWorkloads, maxRegexChars)) {
      if (!chunk.some((workload) => pending.waiters.has(workload))) continue;
      void send(pending, chunk);
    }
  };

  const request = (
    answer: Answer,
    target: PrometheusTarget,
    at: Date,
    read: WorkloadRead,
    signal?: AbortSignal,
  ): Promise<Value> => {
    if (!read.batch) {
      const client = createPrometheusClient(target, { ...options, signal });
      return answer === 'value' ? client.query(read.promql, at) : client.querySeries(read.promql, at);
    }
    const { batch } = read;
    const shape = shapeKey(answer, target, batch);
    const workloads = seen.get(shape) ?? new Map<string, number>();
    // Moved to the end: the map stays in the order of last reads.
    workloads.delete(batch.workload);
    workloads.set(batch.workload, Date.now());
    seen.set(shape, workloads);
    const key = batchKey(answer, target, at, batch);
    const known = answers.get(key)?.values.get(batch.workload);
    if (known !== undefined) return Promise.resolve(known);
    if (signal?.aborted) return Promise.resolve(aborted(signal));
    return new Promise<Value>((resolve) => {
      const waiter: Waiter = { resolve, ...(signal && { signal }) };
      // An aborted check stops waiting at once; the query goes on for the others.
      signal?.addEventListener('abort', () => resolve(aborted(signal)), { once: true });
      const flying = inFlight.get(key)?.get(batch.workload);
      if (flying) {
        flying.push(waiter);
        return;
      }
      let pending = open.get(key);
      if (!pending) {
        pending = { answer, target, at, batch, waiters: new Map() };
        open.set(key, pending);
        setTimeout(() => flush(key), windowMs).unref?.();
      }
      const list = pending.waiters.get(batch.workload) ?? [];
      list.push(waiter);
      pending.waiters.set(batch.workload, list);
    });
  };

  return {
    read: (target, at, read, signal) =>
      request('series', target, at, read, signal) as Promise<SeriesValues | NoValue>,
    readValue: (target, at, read, signal) =>
      request('value', target, at, read, signal) as Promise<QueryValue>,
  };
}

/** The abort as the check's own query would have reported it (prometheus.ts: an aborted request is unreachable). */
function aborted(signal: AbortSignal): NoValue {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'the request was aborted';
  return noValue('unreachable', reason);
}

/** Prometheus and credentials: reads with other headers (another tenant's token) never share a query. */
function targetKey(target: PrometheusTarget): string {
  const headers = Object.entries(target.headers ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return `${target.address}\n${createHash('sha256').update(JSON.stringify(headers)).digest('hex')}`;
}

/** Digests of recent shapes: the checks of a namespace ask for the same few shapes at every instant. */
const recentShapeKeys = new Map<string, string>();
const MAX_RECENT_SHAPE_KEYS = 4096;

/**
 * A digest: a shape's text is its whole query, and thousands of keys are kept for a minute. The memo is keyed by
 * the target's digest, never its headers: a bearer token does not outlive the checks that sent it.
 */
const shapeKey = (answer: Answer, target: PrometheusTarget, batch: WorkloadBatch) => {
  const text = `${answer}\n${targetKey(target)}\n${batch.label}\n${batch.key}`;
  let key = recentShapeKeys.get(text);
  if (key === undefined) {
    if (recentShapeKeys.size >= MAX_RECENT_SHAPE_KEYS) recentShapeKeys.clear();
    key = createHash('sha256').update(text).digest('base64');
    recentShapeKeys.set(text, key);
  }
  return key;
};

const batchKey = (answer: Answer, target: PrometheusTarget, at: Date, batch: WorkloadBatch) =>
  `${shapeKey(answer, target, batch)}\n${at.getTime()}`;

/** `workloads` in order, cut into runs of at most `most` names whose regex stays within `maxChars`. */
export function chunks(workloads: readonly string[], most: number, maxChars: number): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let chars = 0;
  for (const workload of workloads) {
    const length = workload.length * 2 + 1;
    if (current.length > 0 && (current.length >= most || chars + length > maxChars)) {
      out.push(current);
      current = [];
      chars = 0;
    }
    current.push(workload);
    chars += length;
  }
  if (current.length > 0) out.push(current);
  return out;
}
