import { AppsV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { CanaryAnalyzer, CheckResult } from '../analysis/types.js';
import {
  Cluster,
  type CustomResource,
  type KubernetesRequestObserver,
  DESTINATION_RULES,
  GRPC_ROUTES,
  HTTP_ROUTES,
  ROLLOUTS,
  type RolloutObject,
  VIRTUAL_SERVICES,
} from '../kube/cluster.js';
import { boundedApiClient, LIST_TIMEOUT_MS } from '../kube/bounded-client.js';
import { ResilientWatch, type KubeObject, type WatchSource } from '../kube/watch.js';
import type { Decision } from '../rollout/types.js';
import { CachedCluster } from './cached-cluster.js';
import { ReferenceIndex, type ReferenceKind } from './index-by-reference.js';
import { priorityOf } from './pending-command.js';
import { type Dequeued, PRIORITY, WorkQueue } from './queue.js';
import { reconcile } from './reconcile.js';
import { customSource, deploymentSource } from './watch-sources.js';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  analyzer: CanaryAnalyzer;
  logger: Logger;
  /** Namespaces to watch; empty = all. */
  namespaces?: string[];
  defaultPrometheus?: string;
  /** Addresses besides defaultPrometheus that Rollouts may send Prometheus credentials from Secrets to. */
  prometheusCredentialsAddresses?: readonly string[];
  workers?: number;
  now?: () => Date;
  resyncMs?: number;
  onDecision?: (rollout: RolloutObject, decision: Decision, check: CheckResult | undefined) => void;
  /** Told about every Kubernetes request a reconcile pass makes (metrics). */
  onKubernetesRequest?: KubernetesRequestObserver;
  /** Told when a Rollout is gone from the API (its metrics are dropped). */
  onRolloutDeleted?: (namespace: string, name: string) => void;
  /** Told when a reconcile pass ended (metrics): its lane, time waiting for a worker, and duration. */
  onPass?: (pass: {
    key: string;
    lane: PriorityName;
    startedAt: Date;
    queuedSeconds: number;
    seconds: number;
    outcome: 'ok' | 'error';
  }) => void;
}

export type PriorityName = keyof typeof PRIORITY;
export const priorityName = (p: number) =>
  (Object.keys(PRIORITY) as PriorityName[]).find((name) => PRIORITY[name] === p)!;

/**
 * Watches Rollouts and everything they point at, and runs one reconcile pass per Rollout key at a time.
 * A pass never relies on the event that woke it: it reads the current world (controller-runtime's contract).
 */
export class Controller {
  private readonly cluster: CachedCluster;
  /** The API itself, for discovery of the versions the cluster serves. */
  private readonly api: Cluster;
  private readonly queue: WorkQueue;
  private readonly index = new ReferenceIndex();
  private readonly watches: ResilientWatch[] = [];
  private ready = false;

  constructor(private readonly options: ControllerOptions) {
    this.api = new Cluster(options.kubeConfig, options.onKubernetesRequest);
    this.cluster = new CachedCluster(this.api);
    const deps = {
      cluster: this.cluster,
      analyzer: options.analyzer,
      logger: options.logger,
      now: options.now ?? (() => new Date()),
      defaultPrometheus: options.defaultPrometheus,
      prometheusCredentialsAddresses: options.prometheusCredentialsAddresses,
      onDecision: options.onDecision,
    };
    this.queue = new WorkQueue(
      (key, signal, dequeued) => {
        const [namespace, name] = key.split('/') as [string, string];
        return this.timed(key, dequeued, () => reconcile(deps, namespace, name, signal));
      },
      {
        concurrency: options.workers ?? 16,
        onError: (key, error, retryInMs) =>
          options.logger.error('reconcile failed; retrying', {
            key,
            retryInMs,
            error: error instanceof Error ? error.message : String(error),
          }),
      },
    );
  }

  /** True once every watch delivered its first good list (a refused or failed list does not count). */
  isReady(): boolean {
    return this.ready && this.watches.every((w) => w.hasSynced());
  }

  /** What readiness still waits for, in words (undefined when ready). */
  notReadyReason(): string | undefined {
    if (this.isReady()) return undefined;
    const waiting = this.watches.map((w) => w.waitingFor()).filter((w) => w !== undefined);
    return waiting.length ? `waiting for ${waiting.join('; ')}` : 'the controller has not started';
  }

  async start(): Promise<void> {
    const namespaces = this.options.namespaces?.length ? this.options.namespaces : [undefined];
    const custom = boundedApiClient(this.options.kubeConfig, CustomObjectsApi, LIST_TIMEOUT_MS);
    const apps = boundedApiClient(this.options.kubeConfig, AppsV1Api, LIST_TIMEOUT_MS);
    const sources: [WatchSource, ReferenceKind | 'Rollout', (type: string, object: KubeObject) => void][] =
      [];
    // Watch each kind at the version the cluster serves (Istio before 1.22: v1beta1), as the reads do.
    const served = new Map<CustomResource, CustomResource>();
    for (const r of [VIRTUAL_SERVICES, DESTINATION_RULES, HTTP_ROUTES, GRPC_ROUTES]) {
      served.set(r, await this.api.served(r));
    }
    const at = (r: CustomResource) => served.get(r) ?? r;
    // Gateway API routes are watched where their CRDs are installed: a watch of a kind the cluster does not serve
    // would never deliver its first list, and the controller would never become ready.
    const gatewayKinds = {
      HTTPRoute: await this.api.isServed(HTTP_ROUTES),
      GRPCRoute: await this.api.isServed(GRPC_ROUTES),
    };
    for (const ns of namespaces) {
      const onReferenced = (kind: ReferenceKind) => (type: string, object: KubeObject) =>
        this.onReferenced(kind, type, object);
      sources.push(
        [
          customSource(ROLLOUTS, custom, ns),
          'Rollout',
          (type, object) => this.onRollout(type, object as RolloutObject),
        ],
        [deploymentSource(apps, ns), 'Deployment', onReferenced('Deployment')],
        [
          customSource(VIRTUAL_SERVICES, custom, ns, at(VIRTUAL_SERVICES).version),
          'VirtualService',
          onReferenced('VirtualService'),
        ],
        [
          customSource(DESTINATION_RULES, custom, ns, at(DESTINATION_RULES).version),
          'DestinationRule',
          onReferenced('DestinationRule'),
        ],
      );
      if (gatewayKinds.HTTPRoute)
        sources.push([
          customSource(HTTP_ROUTES, custom, ns, at(HTTP_ROUTES).version),
          'HTTPRoute',
          onReferenced('HTTPRoute'),
        ]);
      if (gatewayKinds.GRPCRoute)
        sources.push([
          customSource(GRPC_ROUTES, custom, ns, at(GRPC_ROUTES).version),
          'GRPCRoute',
          onReferenced('GRPCRoute'),
        ]);
    }
    const watchesOf: Partial<Record<ReferenceKind | 'Rollout', ResilientWatch[]>> = {};
    for (const [source, kind, handler] of sources) {
      const watch = new ResilientWatch(this.options.kubeConfig, source, handler, {
        logger: this.options.logger,
        resyncMs: this.options.resyncMs ?? 5 * 60_000,
        onRequest: (verb, code) =>
          this.options.onKubernetesRequest?.({ verb, resource: source.path.split('/').at(-1)!, code }),
      });
      this.watches.push(watch);
      (watchesOf[kind] ??= []).push(watch);
    }
    for (const [kind, watches] of Object.entries(watchesOf)) {
      this.cluster.caches[kind as keyof typeof watchesOf].syncedWhen(() =>
        watches.every((w) => w.hasSynced()),
      );
    }
    await Promise.all(this.watches.map((w) => w.start()));
    this.ready = true;
    this.options.logger.info('controller started', {
      namespaces: this.options.namespaces?.length ? this.options.namespaces : 'all',
    });
  }

  /** Stops watching and waits for the passes under way to finish (clean shutdown on SIGTERM). */
  async stop(): Promise<void> {
    this.ready = false;
    for (const watch of this.watches) watch.stop();
    await this.queue.stop();
  }

  /** Logs each pass's start and end (debug), so the passes of two controllers can be told apart in time. */
  private async timed<T>(key: string, dequeued: Dequeued, pass: () => Promise<T>): Promise<T> {
    const startedAt = new Date();
    let outcome: 'ok' | 'error' = 'error';
    try {
      const result = await pass();
      outcome = 'ok';
      return result;
    } finally {
      const finishedAt = new Date();
      const seconds = (finishedAt.getTime() - startedAt.getTime()) / 1000;
      this.options.logger.debug('reconcile pass', {
        key,
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        outcome,
      });
      this.options.onPass?.({
        key,
        lane: priorityName(dequeued.priority),
        startedAt,
        queuedSeconds: dequeued.waitedMs / 1000,
        seconds,
        outcome,
      });
    }
  }

  private onRollout(type: string, rollout: RolloutObject): void {
    const key = `${rollout.metadata.namespace}/${rollout.metadata.name}`;
    const news = this.cluster.onWatchEvent('Rollout', type, rollout);
    if (type === 'DELETED') {
      this.index.delete(key);
      this.queue.forget(key);
      this.options.onRolloutDeleted?.(rollout.metadata.namespace, rollout.metadata.name);
      return;
    }
    this.index.set(key, rollout.spec);
    if (news) this.queue.add(key, priorityOf(rollout));
  }

  private onReferenced(kind: ReferenceKind, type: string, object: KubeObject): void {
    if (!this.cluster.onWatchEvent(kind, type, object)) return;
    for (const key of this.index.rolloutsFor(kind, object)) this.queue.add(key);
  }
}
