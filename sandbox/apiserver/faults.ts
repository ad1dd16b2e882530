import { ApiError } from './errors.js';
import type { ObjectStore } from './store.js';
import type { WatchHub } from './watch.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** What the router learned about a request, used to match faults. */
export interface RequestInfo {
  verb: Verb;
  /** Plural resource name, e.g. `deployments`, `rollouts`. */
  resource: string;
  namespace: string;
  name?: string;
  subresource?: string;
}

/** Which requests a fault applies to; an omitted field matches anything, `subresource: ''` only the main resource. */
export interface FaultMatch {
  verb?: Verb | Verb[];
  resource?: string;
  name?: string;
  namespace?: string;
  subresource?: string;
}

export type FailureCode = 403 | 404 | 409 | 410 | 429 | 500;

export interface FailureOptions {
  /** Sent as the `Retry-After` header with 429 (default 1). */
  retryAfterSeconds?: number;
}

interface Failure {
  remaining: number;
  code: FailureCode;
  match: FaultMatch;
  options: FailureOptions;
}

interface Stall {
  remaining: number;
  match: FaultMatch;
}

interface Latency {
  ms: number;
  match: FaultMatch;
}

function matchesRequest(match: FaultMatch, info: RequestInfo): boolean {
  const verbs = match.verb === undefined ? undefined : Array.isArray(match.verb) ? match.verb : [match.verb];
  return (
    (verbs === undefined || verbs.includes(info.verb)) &&
    (match.resource === undefined || match.resource === info.resource) &&
    (match.name === undefined || match.name === info.name) &&
    (match.namespace === undefined || match.namespace === info.namespace) &&
    (match.subresource === undefined || match.subresource === (info.subresource ?? ''))
  );
}

function injectedError(code: FailureCode, info: RequestInfo, options: FailureOptions): ApiError {
  const what = `${info.verb} ${info.resource}${info.name ? ` "${info.name}"` : ''}`;
  switch (code) {
    case 403:
      // The message kube-apiserver's RBAC authorizer gives a ServiceAccount without the permission.
      return new ApiError(
        403,
        'Forbidden',
        `${info.resource} is forbidden: User "system:serviceaccount:stepwise-system:stepwise" cannot ${info.verb} resource "${info.resource}" (injected fault)`,
        { kind: info.resource },
      );
    case 404:
      // What kube-apiserver answers for a resource it does not serve (a CRD not installed).
      return new ApiError(
        404,
        'NotFound',
        `the server could not find the requested resource (injected fault on ${what})`,
      );
    case 409:
      return new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${info.resource} "${info.name ?? ''}": the object has been modified; please apply your changes to the latest version and try again (injected fault)`,
        { name: info.name, kind: info.resource },
      );
    case 410:
      return new ApiError(410, 'Expired', `too old resource version (injected fault on ${what})`);
    case 429: {
      const seconds = options.retryAfterSeconds ?? 1;
      return new ApiError(
        429,
        'TooManyRequests',
        `the server has received too many requests and has asked us to try again later (injected fault on ${what})`,
        { retryAfterSeconds: seconds },
        { 'Retry-After': String(seconds) },
      );
    }
    case 500:
      return new ApiError(
        500,
        'InternalError',
        `an error on the server has prevented the request from succeeding (injected fault on ${what})`,
      );
  }
}

/** Failures tests inject into the sandbox API; every fault returns a function that removes it. */
export class Faults {
  private failures: Failure[] = [];
  private latencies: Latency[] = [];
  private stalls: Stall[] = [];
  private undoHistory: Array<() => void> = [];

  constructor(
    private readonly store: ObjectStore,
    private readonly watches: WatchHub,
  ) {}

  /**
   * The next `count` requests matching `match` fail with `code` before doing anything:
   * 403 Forbidden (as RBAC answers), 404 (a CRD not installed), 409 Conflict, 410 Expired (a watch gets an ERROR event), 429 with `Retry-After`, or 500.
   */
  failNext(
    count: number,
    code: FailureCode,
    match: FaultMatch = {},
    options: FailureOptions = {},
  ): () => void {
    if (!Number.isInteger(count) || count < 1) {
      throw new Error(`faults.failNext: count must be a positive integer, got ${count}`);
    }
    const failure: Failure = { remaining: count, code, match, options };
    this.failures.push(failure);
    return () => {
      this.failures = this.failures.filter((f) => f !== failure);
    };
  }

  /**
   * The next `count` matching requests are accepted and never answered (no status line, no bytes), as by
   * an API server that hangs; only the client's own timeout ends them (or the server closing).
   */
  stallNext(count: number, match: FaultMatch = {}): () => void {
    if (!Number.isInteger(count) || count < 1) {
      throw new Error(`faults.stallNext: count must be a positive integer, got ${count}`);
    }
    const stall: Stall = { remaining: count, match };
    this.stalls.push(stall);
    return () => {
      this.stalls = this.stalls.filter((s) => s !== stall);
    };
  }

  /** Delays every matching request by `ms` before it is handled. */
  addLatency(ms: number, match: FaultMatch = {}): () => void {
    const latency: Latency = { ms, match };
    this.latencies.push(latency);
    return () => {
      this.latencies = this.latencies.filter((l) => l !== latency);
    };
  }

  /**
   * Ends the open watch streams (of one resource, or all) as a server restart would; clients reconnect.
   * With `abrupt`, the connections are reset instead. Returns how many streams were dropped.
   */
  dropWatches(options: { resource?: string; abrupt?: boolean } = {}): number {
    return this.watches.drop(options.resource, options.abrupt ?? false);
  }

  /** Every resourceVersion before now becomes too old: watches resuming from one get 410 and must relist. */
  forgetHistory(): () => void {
    const undo = this.store.forgetHistory();
    this.undoHistory.push(undo);
    return undo;
  }

  reset(): void {
    this.failures = [];
    this.latencies = [];
    this.stalls = [];
    for (const undo of this.undoHistory.reverse()) undo();
    this.undoHistory = [];
  }

  /** The injected failure for this request, if any (consumes one of its count). */
  takeFailure(info: RequestInfo): ApiError | undefined {
    const failure = this.failures.find((f) => f.remaining > 0 && matchesRequest(f.match, info));
    if (!failure) return undefined;
    failure.remaining--;
    if (failure.remaining === 0) this.failures = this.failures.filter((f) => f !== failure);
    return injectedError(failure.code, info, failure.options);
  }

  /** Whether this request is to hang unanswered (consumes one of its count). */
  takeStall(info: RequestInfo): boolean {
    const stall = this.stalls.find((s) => s.remaining > 0 && matchesRequest(s.match, info));
    if (!stall) return false;
    stall.remaining--;
    if (stall.remaining === 0) this.stalls = this.stalls.filter((s) => s !== stall);
    return true;
  }

  latencyFor(info: RequestInfo): number {
    return this.latencies.filter((l) => matchesRequest(l.match, info)).reduce((sum, l) => sum + l.ms, 0);
  }
}
