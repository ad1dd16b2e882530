import { behaviourFromImageTag, type BehaviourOf } from './behaviour.js';
import type { MeshConfig } from './config.js';
import type { SimulatedRequest } from './matching.js';
import type { IstioLabels } from './metrics.js';
import { createMeshMetrics, type MeshMetrics, type MeshMetricsKind } from './mesh-metrics.js';
import { seededRandom, type Random } from './random.js';
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
}

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
  private compiledFrom: MeshConfig | undefined;
  private table: CompiledVirtualService[] = [];
  private readonly lastWeights = new Map<string, string>();
  private readonly weightRecords: WeightRecord[] = [];
  private readonly counts = new Map<string, RequestStat>();

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

  stats(): RequestStat[] {
    return [...this.counts.values()].map((stat) => ({ ...stat }));
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
      const outcome = this.route(virtualService, withHeaders ? tagged : plain);
      this.report(virtualService, outcome, withHeaders);
    }
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
    const endpoint = pickByWeight(
      destination.endpoints,
      destination.totalReplicas,
      (e) => e.readyReplicas,
      this.random,
    );
    const delayed = fault?.delay !== undefined && this.random.next() < fault.delay.share;
    return {
      route,
      destination,
      endpoint,
      responseCode: this.random.next() < endpoint.errorRate ? 500 : 200,
      sourceFlags: delayed ? 'DI' : '-',
      durationMs: endpoint.latency(),
      sourceExtraMs: delayed ? (fault?.delay?.ms ?? 0) : 0,
    };
  }

  private report(virtualService: CompiledVirtualService, outcome: Outcome, withHeaders: boolean): void {
    const service = outcome.destination?.service ?? virtualService.service;
    const code = String(outcome.responseCode);
    const { endpoint } = outcome;
    // Everything the labels depend on: the source namespace, the service, the serving Deployment, code and flags.
    const series = `${virtualService.namespace}|${service.fqdn}|${endpoint?.namespace}/${endpoint?.workload}|${code}`;
    if (endpoint) {
      this.metrics.record(
        `destination|${series}|-`,
        () => istioLabels('destination', virtualService.namespace, service, endpoint, code, '-'),
        outcome.durationMs,
      );
    }
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

function pickByWeight<T>(items: T[], total: number, weightOf: (item: T) => number, random: Random): T {
  let remaining = random.next() * total;
  for (const item of items) {
    remaining -= weightOf(item);
    if (remaining < 0) return item;
  }
  // Floating-point leftovers: the last item with a weight.
  return [...items].reverse().find((item) => weightOf(item) > 0) ?? (items[0] as T);
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
