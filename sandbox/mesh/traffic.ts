import { behaviourFromImageTag, type BehaviourOf } from './behaviour.js';
import type { MeshConfig } from './config.js';
import type { SimulatedRequest } from './matching.js';
import { shadowCopies, type MirrorStat } from './mirror.js';
import type { IstioLabels } from './metrics.js';
import { createMeshMetrics, type MeshMetrics, type MeshMetricsKind } from './mesh-metrics.js';
import { pickByWeight, seededRandom, type Random } from './random.js';
import {
  compileRoutingTable,
  type CompiledRoute,
  type CompiledVirtualService,
  type Endpoint,
  type RouteDestination,
  type ServiceRef,
} from './routing-table.js';

/** A share of the requests that carry extra headers, e.g. QA traffic pinned to the canary. */
export interface HeaderRequests {
  share: number;
  headers: Record<string, string>;
}

export interface TrafficOptions {
  /** Requests per second sent to each VirtualService. Default 50. */
  rps?: number;
  /** Default: 10% of requests carry `x-canary: "true"`. `{ share: 0, headers: {} }` turns it off. */
  headerRequests?: HeaderRequests;
  /** How the pods of an image answer. Default: behaviourFromImageTag. */
  behaviour?: BehaviourOf;
  /** Seed of the random generator: the same seed and config give the same traffic. Default 1. */
  seed?: number;
  /** Path of every simulated request. Default `/`. */
  uri?: string;
  /** Namespace for objects whose metadata has none. Default `default`. */
  defaultNamespace?: string;
  /** Whose metric families the mesh exports (mesh-metrics.ts). Default `istio`. */
  metrics?: MeshMetricsKind;
  /** How the client sidecar retries a failed request. Default: Istio's (DEFAULT_RETRIES). */
  retries?: RetryPolicy;
}

/**
 * Istio's retries of a request that failed at a pod: up to `attempts` retries (VirtualService `retries.attempts`),
 * each on another pod of the destination when it has one, for the response codes in `retryOn`.
 */
export interface RetryPolicy {
  attempts: number;
  retryOn: readonly number[];
}

/**
 * Istio's default: 2 retries (NumRetries) on another host each (the previous_hosts predicate), on connection failures
 * and, up to Istio 1.23, on 503 (DefaultPolicy in istio/istio pilot/pkg/networking/core/route/retry/retry.go; 1.24
 * dropped 503 from the default, EXCLUDE_503_FROM_DEFAULT_RETRY). Connection failures are not simulated, and the
 * sandbox's failing pods answer 500, which neither version retries unless `retryOn` names it.
 */
export const DEFAULT_RETRIES: RetryPolicy = { attempts: 2, retryOn: [503] };

/** A set of weights a route was used with, from the moment the mesh first routed by it. */
export interface WeightRecord {
  /** `<namespace>/<name>` of the VirtualService. */
  virtualService: string;
  routeIndex: number;
  routeName: string | undefined;
  weights: { host: string; subset: string | undefined; weight: number }[];
  firstSeenAt: Date;
}

/** How many requests ended one way. */
export interface RequestStat {
  virtualService: string;
  /** Index in `spec.http` of the route that matched; -1 when none did. */
  routeIndex: number;
  /** The destination subset ('' when the route names none or no route matched). */
  subset: string;
  /** The Deployment that served the request, or `unknown` when none did. */
  workload: string;
  responseCode: number;
  responseFlags: string;
  /** Whether the request carried the `headerRequests` headers. */
  withHeaders: boolean;
  requests: number;
}

/** The callers' view of their requests. */
export interface UserRequests {
  requests: number;
  /** Answered with a 4xx or 5xx. */
  failed: number;
}

const SOURCE_WORKLOAD = 'loadgenerator';
const UNKNOWN = 'unknown';

interface Outcome {
  route: CompiledRoute | undefined;
  destination: RouteDestination | undefined;
  /** The pod's Deployment; undefined when the client sidecar answered on its own (no route, no upstream, fault). */
  endpoint: Endpoint | undefined;
  responseCode: number;
  /** Flags of the client sidecar's report. */
  sourceFlags: string;
  durationMs: number;
  /** Extra time the client sidecar added (injected delay). */
  sourceExtraMs: number;
}

/**
 * Routes simulated requests the way the client's Envoy sidecar does and records the metrics of both ends (in the
 * families of `options.metrics`). Pure of timers: the caller decides when and how much traffic flows.
 */
export class MeshTraffic {
  readonly metrics: MeshMetrics;
  private readonly random: Random;
  private readonly rps: number;
  private readonly headerRequests: HeaderRequests;
  private readonly behaviour: BehaviourOf;
  private readonly uri: string;
  private readonly defaultNamespace: string;
  private readonly retries: RetryPolicy;
  private compiledFrom: MeshConfig | undefined;
  private table: CompiledVirtualService[] = [];
  private readonly lastWeights = new Map<string, string>();
  private readonly weightRecords: WeightRecord[] = [];
  private readonly counts = new Map<string, RequestStat>();
  private readonly mirrorCounts = new Map<string, MirrorStat>();

  constructor(options: TrafficOptions = {}) {
    this.metrics = createMeshMetrics(options.metrics);
    this.rps = options.rps ?? 50;
    if (!(this.rps >= 0)) throw new Error(`rps must be a number >= 0 (got ${options.rps}); e.g. rps: 50`);
    this.headerRequests = options.headerRequests ?? { share: 0.1, headers: { 'x-canary': 'true' } };
    if (!(this.headerRequests.share >= 0 && this.headerRequests.share <= 1)) {
      throw new Error(
        `headerRequests.share must be between 0 and 1 (got ${this.headerRequests.share}); e.g. 0.1 for 10%`,
      );
    }
    this.behaviour = options.behaviour ?? behaviourFromImageTag;
    this.random = seededRandom(options.seed ?? 1);
    this.uri = options.uri ?? '/';
    this.defaultNamespace = options.defaultNamespace ?? 'default';
    this.retries = options.retries ?? DEFAULT_RETRIES;
    if (!(Number.isInteger(this.retries.attempts) && this.retries.attempts >= 0)) {
      throw new Error(
        `retries.attempts must be a whole number >= 0 (got ${this.retries.attempts}); e.g. 2, Istio's default`,
      );
    }
  }

  /** Sends the traffic of `elapsedMs`: a Poisson number of requests (mean rps × elapsed) per VirtualService. */
  advance(config: MeshConfig, elapsedMs: number, now = new Date()): void {
    const table = this.compile(config, now);
    const mean = (this.rps * elapsedMs) / 1000;
    for (const virtualService of table) this.sendTo(virtualService, this.random.poisson(mean));
  }

  /** Sends exactly `requests` requests to each VirtualService. */
  send(config: MeshConfig, requests: number, now = new Date()): void {
    for (const virtualService of this.compile(config, now)) this.sendTo(virtualService, requests);
  }

  weightHistory(): WeightRecord[] {
    return this.weightRecords.map((record) => ({
      ...record,
      weights: record.weights.map((weight) => ({ ...weight })),
      firstSeenAt: new Date(record.firstSeenAt),
    }));
  }

  /** The users' requests, by the answer they got; copies sent to mirrors are not among them (see mirrorStats). */
  stats(): RequestStat[] {
    return [...this.counts.values()].map((stat) => ({ ...stat }));
  }

  /** What callers saw: all their requests, and those answered with an error (4xx or 5xx, after the mesh's handling). */
  userRequests(): UserRequests {
    let requests = 0;
    let failed = 0;
    for (const stat of this.counts.values()) {
      requests += stat.requests;
      if (stat.responseCode >= 400) failed += stat.requests;
    }
    return { requests, failed };
  }

  /** Copies of the users' requests that mirror policies sent, by how their target answered (answers nobody saw). */
  mirrorStats(): MirrorStat[] {
    return [...this.mirrorCounts.values()].map((stat) => ({ ...stat }));
  }

  private compile(config: MeshConfig, now: Date): CompiledVirtualService[] {
    if (config !== this.compiledFrom) {
      this.table = compileRoutingTable(config, this.behaviour, this.random, this.defaultNamespace);
      this.compiledFrom = config;
    }
    for (const virtualService of this.table) {
      for (const route of virtualService.routes) {
        const key = `${virtualService.key}#${route.index}`;
        if (this.lastWeights.get(key) === route.weightsKey) continue;
        this.lastWeights.set(key, route.weightsKey);
        this.weightRecords.push({
          virtualService: virtualService.key,
          routeIndex: route.index,
          routeName: route.name,
          weights: route.destinations.map((d) => ({
            host: d.service.fqdn,
            subset: d.subset,
            weight: d.weight,
          })),
          firstSeenAt: now,
        });
      }
    }
    return this.table;
  }

  private sendTo(virtualService: CompiledVirtualService, requests: number): void {
    if (requests <= 0) return;
    const base = {
      method: 'GET',
      uri: this.uri,
      sourceLabels: { app: SOURCE_WORKLOAD },
      sourceNamespace: virtualService.namespace,
    };
    const plain: SimulatedRequest = { ...base, headers: {} };
    const tagged: SimulatedRequest = { ...base, headers: lowerCaseKeys(this.headerRequests.headers) };
    for (let i = 0; i < requests; i++) {
      const withHeaders = this.headerRequests.share > 0 && this.random.next() < this.headerRequests.share;
      const outcome = this.request(virtualService, withHeaders ? tagged : plain, withHeaders);
      // Envoy shadows the request once, as the caller sent it, whatever its retries (shadow_policies in the router).
      if (outcome.route && outcome.endpoint) this.mirror(virtualService, outcome.route, withHeaders);
    }
  }

  /**
   * One request and Istio's retries of it: the server sidecar of every pod tried reports its attempt
   * (reporter="destination"), the client sidecar the request once, with the last attempt's code and the time of all.
   */
  private request(
    virtualService: CompiledVirtualService,
    request: SimulatedRequest,
    withHeaders: boolean,
  ): Outcome {
    let outcome = this.route(virtualService, request);
    let elapsedMs = 0;
    for (let retry = 0; ; retry++) {
      if (outcome.endpoint) this.reportAttempt(virtualService, outcome);
      elapsedMs += outcome.durationMs;
      const retried =
        outcome.endpoint !== undefined &&
        retry < this.retries.attempts &&
        this.retries.retryOn.includes(outcome.responseCode);
      if (!retried) break;
      outcome = this.attempt(outcome, outcome.endpoint);
    }
    const final = { ...outcome, durationMs: elapsedMs };
    this.report(virtualService, final, withHeaders);
    return final;
  }

  private route(virtualService: CompiledVirtualService, request: SimulatedRequest): Outcome {
    const local = (
      route: CompiledRoute | undefined,
      destination: RouteDestination | undefined,
      code: number,
      flags: string,
    ): Outcome => ({
      route,
      destination,
      endpoint: undefined,
      responseCode: code,
      sourceFlags: flags,
      // The client sidecar answers by itself within a millisecond.
      durationMs: 0.2 + this.random.next(),
      sourceExtraMs: 0,
    });
    const route = virtualService.routes.find((candidate) => candidate.matches(request));
    if (!route || route.totalWeight <= 0) return local(route, undefined, 404, 'NR');
    const fault = route.fault;
    const destination = pickByWeight(route.destinations, route.totalWeight, (d) => d.weight, this.random);
    if (fault?.abort && this.random.next() < fault.abort.share) {
      return local(route, destination, fault.abort.httpStatus, 'FI');
    }
    if (destination.subsetMissing) return local(route, destination, 503, 'NC');
    if (destination.totalReplicas <= 0) return local(route, destination, 503, 'UH');
    const delayed = fault?.delay !== undefined && this.random.next() < fault.delay.share;
    return this.attempt({
      route,
      destination,
      endpoint: undefined,
      responseCode: 0,
      sourceFlags: delayed ? 'DI' : '-',
      durationMs: 0,
      sourceExtraMs: delayed ? (fault?.delay?.ms ?? 0) : 0,
    });
  }

  /**
   * One attempt of a routed request at a ready pod of its destination, picked uniformly; a retry leaves out the pod
   * that `previous` failed on when there is another one (Envoy's previous_hosts predicate).
   */
  private attempt(routed: Outcome, previous?: Endpoint): Outcome {
    const destination = routed.destination!;
    const weightOf = (e: Endpoint) => e.readyReplicas - (e === previous ? 1 : 0);
    const others = destination.totalReplicas - (previous ? 1 : 0);
    const endpoint =
      others > 0
        ? pickByWeight(destination.endpoints, others, weightOf, this.random)
        : (previous ?? destination.endpoints[0]!);
    return {
      ...routed,
      endpoint,
      responseCode: this.random.next() < endpoint.errorRate ? 500 : 200,
      durationMs: endpoint.latency(),
    };
  }

  /** The server sidecar's report of one attempt at a pod. */
  private reportAttempt(virtualService: CompiledVirtualService, outcome: Outcome): void {
    const { service, code } = seriesOf(virtualService, outcome);
    this.recordAtDestination(virtualService.namespace, service, outcome.endpoint!, code, outcome.durationMs);
  }

  /** The server sidecar's report of one request it served (reporter="destination"). */
  private recordAtDestination(
    sourceNamespace: string,
    service: ServiceRef,
    endpoint: Endpoint,
    code: string,
    durationMs: number,
  ): void {
    this.metrics.record(
      `destination|${sourceNamespace}|${service.fqdn}|${endpoint.namespace}/${endpoint.workload}|${code}|-`,
      () => istioLabels('destination', sourceNamespace, service, endpoint, code, '-'),
      durationMs,
    );
  }

  /** Copies of a forwarded request to its route's mirrors: reported by the target's sidecar alone, answers dropped. */
  private mirror(virtualService: CompiledVirtualService, route: CompiledRoute, withHeaders: boolean): void {
    for (const copy of shadowCopies(route.mirrors, this.random)) {
      const { endpoint } = copy;
      if (endpoint) {
        const service = copy.mirror.destination.service;
        this.recordAtDestination(
          virtualService.namespace,
          service,
          endpoint,
          String(copy.responseCode),
          copy.durationMs,
        );
      }
      const stat: Omit<MirrorStat, 'requests'> = {
        virtualService: virtualService.key,
        routeIndex: route.index,
        workload: endpoint?.workload ?? UNKNOWN,
        responseCode: copy.responseCode,
        withHeaders,
      };
      const key = `${stat.virtualService}|${stat.routeIndex}|${stat.workload}|${stat.responseCode}|${withHeaders}`;
      const existing = this.mirrorCounts.get(key);
      if (existing) existing.requests++;
      else this.mirrorCounts.set(key, { ...stat, requests: 1 });
    }
  }

  /** The client sidecar's report of the request, after its retries, and the request's tally. */
  private report(virtualService: CompiledVirtualService, outcome: Outcome, withHeaders: boolean): void {
    const { service, code, series } = seriesOf(virtualService, outcome);
    const { endpoint } = outcome;
    this.metrics.record(
      `source|${series}|${outcome.sourceFlags}`,
      () => istioLabels('source', virtualService.namespace, service, endpoint, code, outcome.sourceFlags),
      outcome.durationMs + outcome.sourceExtraMs,
    );

    const stat: Omit<RequestStat, 'requests'> = {
      virtualService: virtualService.key,
      routeIndex: outcome.route?.index ?? -1,
      subset: outcome.destination?.subset ?? '',
      workload: endpoint?.workload ?? UNKNOWN,
      responseCode: outcome.responseCode,
      responseFlags: outcome.sourceFlags,
      withHeaders,
    };
    const key = `${stat.virtualService}|${stat.routeIndex}|${stat.subset}|${stat.workload}|${code}|${stat.responseFlags}|${withHeaders}`;
    const existing = this.counts.get(key);
    if (existing) existing.requests++;
    else this.counts.set(key, { ...stat, requests: 1 });
  }
}

/** Everything the labels depend on: the source namespace, the service, the serving Deployment and the code. */
function seriesOf(virtualService: CompiledVirtualService, outcome: Outcome) {
  const service = outcome.destination?.service ?? virtualService.service;
  const code = String(outcome.responseCode);
  const { endpoint } = outcome;
  const series = `${virtualService.namespace}|${service.fqdn}|${endpoint?.namespace}/${endpoint?.workload}|${code}`;
  return { service, code, series };
}

function istioLabels(
  reporter: 'source' | 'destination',
  sourceNamespace: string,
  service: ServiceRef,
  endpoint: Endpoint | undefined,
  responseCode: string,
  responseFlags: string,
): IstioLabels {
  return {
    reporter,
    source_workload: SOURCE_WORKLOAD,
    source_workload_namespace: sourceNamespace,
    source_app: SOURCE_WORKLOAD,
    source_version: UNKNOWN,
    source_canonical_service: SOURCE_WORKLOAD,
    source_canonical_revision: 'latest',
    destination_workload: endpoint?.workload ?? UNKNOWN,
    destination_workload_namespace: endpoint?.namespace ?? UNKNOWN,
    destination_app: endpoint?.app ?? UNKNOWN,
    destination_version: endpoint?.version ?? UNKNOWN,
    destination_service: service.fqdn,
    destination_service_name: service.name,
    destination_service_namespace: service.namespace,
    destination_canonical_service: endpoint?.app ?? UNKNOWN,
    destination_canonical_revision: endpoint?.canonicalRevision ?? UNKNOWN,
    request_protocol: 'http',
    response_code: responseCode,
    response_flags: responseFlags,
    // Only the server sidecar knows the connection was mTLS; the client reports `unknown`.
    connection_security_policy: reporter === 'destination' ? 'mutual_tls' : UNKNOWN,
  };
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
