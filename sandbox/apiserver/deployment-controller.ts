import { createHash } from 'node:crypto';
import type { ResourceType } from './resources.js';
import type { ObjectStore } from './store.js';
import { timestamp } from './store.js';
import type { KubeObject } from './types.js';

/** A simulated pod of a Deployment, as the mesh sees it. */
export interface SandboxPod {
  name: string;
  /** The first container's image. */
  image: string;
  images: string[];
  /** Hash of the pod template the pod was created from. */
  templateHash: string;
  ready: boolean;
}

interface SimulatedPod extends SandboxPod {
  readyAt: number;
}

interface DeploymentSpec {
  replicas?: number;
  template?: { spec?: { containers?: Array<{ image?: string }> } };
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastUpdateTime: string;
  lastTransitionTime: string;
}

/** JSON with object keys sorted, so equal templates hash equally whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A short hash of a pod template, like the pod-template-hash label of ReplicaSets. */
export function templateHash(template: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(template ?? {}))
    .digest('hex')
    .slice(0, 10);
}

/**
 * Plays the Deployment and ReplicaSet controllers for the sandbox. Pods are simulated in memory (not
 * Pod objects in the store): each becomes ready `readyDelay(image)` ms after it is created, and a
 * template change rolls them over one at a time (maxSurge 1, maxUnavailable 0). Status is written
 * like the real controller's, zero counts omitted.
 */
export class DeploymentController {
  private readonly pods = new Map<string, SimulatedPod[]>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly queued = new Set<string>();
  private unsubscribe: (() => void) | undefined;
  private podCounter = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly type: ResourceType,
    private readonly readyDelay: (image: string) => number,
  ) {}

  start(): void {
    this.unsubscribe = this.store.subscribe((event) => {
      if (event.resourceType !== this.type) return;
      const key = `${event.object.metadata.namespace ?? ''}/${event.object.metadata.name ?? ''}`;
      this.enqueue(key);
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queued.clear();
  }

  /** The simulated pods of one Deployment; empty when it does not exist or has 0 replicas. */
  podsOf(namespace: string, deployment: string): SandboxPod[] {
    return (this.pods.get(`${namespace}/${deployment}`) ?? []).map(({ readyAt: _r, ...pod }) => ({
      ...pod,
      images: [...pod.images],
    }));
  }

  private enqueue(key: string): void {
    if (this.queued.has(key) || !this.unsubscribe) return;
    this.queued.add(key);
    // Batched after the write that triggered it, so the write's own watch events go out first.
    setImmediate(() => {
      this.queued.delete(key);
      if (this.unsubscribe) this.reconcile(key);
    });
  }

  private reconcile(key: string): void {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    const deployment = this.store.getObject(this.type, namespace, name);
    if (!deployment) {
      this.pods.delete(key);
      return;
    }
    const pods = this.rollPods(name, deployment, this.pods.get(key) ?? []);
    this.pods.set(key, pods);
    this.writeStatus(namespace, name, deployment, pods);
    const nextReady = Math.min(...pods.filter((p) => !p.ready).map((p) => p.readyAt));
    if (Number.isFinite(nextReady)) {
      const timer = setTimeout(() => this.reconcile(key), Math.max(0, nextReady - Date.now()));
      timer.unref();
      this.timers.set(key, timer);
    }
  }

  private rollPods(name: string, deployment: KubeObject, previous: SimulatedPod[]): SimulatedPod[] {
    const spec = (deployment.spec ?? {}) as DeploymentSpec;
    const desired = spec.replicas ?? 1;
    const hash = templateHash(spec.template);
    const images = (spec.template?.spec?.containers ?? []).map((c) => c.image ?? '');
    const now = Date.now();
    let pods = previous.map((p) => (!p.ready && p.readyAt <= now ? { ...p, ready: true } : p));
    if (desired <= 0) return [];

    const isNew = (p: SimulatedPod): boolean => p.templateHash === hash;
    // Scale down new pods beyond the desired count, not-ready ones first.
    let extraNew = pods.filter(isNew).length - desired;
    for (const p of [...pods].filter(isNew).sort((a, b) => Number(a.ready) - Number(b.ready))) {
      if (extraNew-- <= 0) break;
      pods = pods.filter((q) => q !== p);
    }
    // Old pods that are not ready serve nothing: removing them costs no availability.
    pods = pods.filter((p) => isNew(p) || p.ready);
    // maxUnavailable 0: an old ready pod goes only while the ready count stays at or above desired.
    let ready = pods.filter((p) => p.ready).length;
    for (const p of pods.filter((q) => !isNew(q))) {
      if (ready <= desired) break;
      pods = pods.filter((q) => q !== p);
      ready--;
    }
    const hasOld = pods.some((p) => !isNew(p));
    // maxSurge 1 during a rollover; a plain scale-up creates all missing pods at once.
    const limit = hasOld ? desired + 1 : desired;
    while (pods.filter(isNew).length < desired && pods.length < limit) {
      const delays = (images.length > 0 ? images : ['']).map((image) => this.readyDelay(image));
      const delay = Math.max(...delays);
      const pod: SimulatedPod = {
        name: `${name}-${hash.slice(0, 8)}-${(++this.podCounter).toString(36).padStart(5, '0')}`,
        image: images[0] ?? '',
        images,
        templateHash: hash,
        ready: delay <= 0,
        readyAt: now + delay,
      };
      pods.push(pod);
    }
    return pods;
  }

  private writeStatus(namespace: string, name: string, deployment: KubeObject, pods: SimulatedPod[]): void {
    const spec = (deployment.spec ?? {}) as DeploymentSpec;
    const desired = spec.replicas ?? 1;
    const hash = templateHash(spec.template);
    const replicas = pods.length;
    const updated = pods.filter((p) => p.templateHash === hash).length;
    const ready = pods.filter((p) => p.ready).length;
    const previous = (deployment.status ?? {}) as { conditions?: Condition[] };
    const complete = updated === desired && replicas === desired && ready === desired;
    const conditions = [
      this.condition(
        previous.conditions,
        'Available',
        ready >= desired,
        ready >= desired ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
        ready >= desired
          ? 'Deployment has minimum availability.'
          : 'Deployment does not have minimum availability.',
      ),
      this.condition(
        previous.conditions,
        'Progressing',
        true,
        complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
        complete
          ? `ReplicaSet "${name}-${hash}" has successfully progressed.`
          : `ReplicaSet "${name}-${hash}" is progressing.`,
      ),
    ];
    // The real API omits zero counts (omitempty); clients must read them as `?? 0`.
    const counts: Record<string, number> = {
      replicas,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: Math.max(0, replicas - ready),
    };
    const status: Record<string, unknown> = { observedGeneration: deployment.metadata.generation ?? 1 };
    for (const [field, value] of Object.entries(counts)) if (value > 0) status[field] = value;
    status.conditions = conditions;
    this.store.updateObject(this.type, namespace, name, { ...deployment, status }, 'status');
  }

  private condition(
    previous: Condition[] | undefined,
    type: string,
    isTrue: boolean,
    reason: string,
    message: string,
  ): Condition {
    const status = isTrue ? 'True' : 'False';
    const old = previous?.find((c) => c.type === type);
    const now = timestamp();
    if (old && old.status === status && old.reason === reason && old.message === message) return old;
    return {
      type,
      status,
      reason,
      message,
      lastUpdateTime: now,
      lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
    };
  }
}
