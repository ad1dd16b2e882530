// An in-memory ClusterAccess for unit tests of the reconcile pass: objects in maps, merge patches applied as
// the API server applies them (RFC 7386), 409 on a stale resourceVersion, every call recorded in order, and
// faults injected on chosen calls. Deployments become ready at once unless named in `unready`.
// Integration tests run against the sandbox API server instead (test/controller/fixture.ts).
import {
  ApiException,
  type V1Deployment,
  type V1Namespace,
  type V1Secret,
  type V1Service,
} from '@kubernetes/client-node';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import type { ClusterAccess } from '../../src/controller/cluster-access.js';
import type { CustomResource, RolloutObject } from '../../src/kube/cluster.js';

export interface Call {
  /** 1-based position among all calls that reached the cluster (to fail "the Nth call"). */
  n?: number;
  method: keyof ClusterAccess;
  /** `plural/name` of the object the call is about. */
  object: string;
  body?: unknown;
}

type Json = Record<string, unknown>;

/** A controller process that died: no later call reaches the cluster. */
export class Crashed extends Error {
  override readonly name = 'Crashed';
}

export const apiError = (code: number, message = `HTTP ${code}`) =>
  new ApiException(code, message, JSON.stringify({ message }), {});

function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Json =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [key, value] of Object.entries(patch as Json)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value);
  }
  return out;
}

interface Fault {
  when: (call: Call) => boolean;
  /** Runs instead of the call (throw to fail it) or, with `after`, once the call succeeded. */
  run: (call: Call) => void;
  after: boolean;
}

export class FakeCluster implements ClusterAccess {
  readonly calls: Call[] = [];
  readonly objects = new Map<string, Json>();
  readonly events: { name?: string; type: string; reason: string; message: string }[] = [];
  /** Deployments whose pods never become ready. */
  readonly unready = new Set<string>();
  private faults: Fault[] = [];
  private crashed = false;
  private resourceVersion = 1;

  constructor(readonly namespace: string) {}

  private key(plural: string, name: string): string {
    return `${plural}/${name}`;
  }

  /** Creates or replaces an object as a user would (kubectl apply), with a new resourceVersion. */
  put(plural: string, object: Json): void {
    const metadata = (object.metadata ?? {}) as Json;
    const name = metadata.name as string;
    const previous = this.objects.get(this.key(plural, name));
    const generation = ((previous?.metadata as Json | undefined)?.generation as number | undefined) ?? 0;
    this.store(plural, {
      ...object,
      metadata: { namespace: this.namespace, uid: `uid-${name}`, ...metadata, generation: generation + 1 },
    });
  }

  get<T = Json>(plural: string, name: string): T | undefined {
    const object = this.objects.get(this.key(plural, name));
    return object === undefined ? undefined : (structuredClone(object) as T);
  }

  /** Fails (or runs `run` instead of) the next call matching `when`; `times` calls in all. */
  failOn(when: (call: Call) => boolean, error: Error = apiError(500), times = 1): void {
    let left = times;
    this.faults.push({
      when: (call) => left > 0 && when(call),
      run: () => {
        left -= 1;
        throw error;
      },
      after: false,
    });
  }

  /** Runs `run` just before the next call matching `when` (a concurrent writer, say). */
  before(when: (call: Call) => boolean, run: (call: Call) => void): void {
    let done = false;
    this.faults.push({
      when: (call) => !done && when(call),
      run: (call) => ((done = true), run(call)),
      after: false,
    });
  }

  /** The controller dies right after the next call matching `when` succeeded: later calls throw Crashed. */
  crashAfter(when: (call: Call) => boolean): void {
    let done = false;
    this.faults.push({
      when: (call) => !done && when(call),
      run: () => {
        done = true;
        this.crashed = true;
      },
      after: true,
    });
  }

  /** A new controller process. */
  restart(): void {
    this.crashed = false;
  }

  private call<T>(call: Call, run: () => T): Promise<T> {
    if (this.crashed)
      return Promise.reject(new Crashed(`controller died before ${call.method} ${call.object}`));
    call.n = this.calls.length + 1;
    this.calls.push(call);
    try {
      for (const fault of this.faults.filter((f) => !f.after && f.when(call))) fault.run(call);
      const result = run();
      for (const fault of this.faults.filter((f) => f.after && f.when(call))) fault.run(call);
      return Promise.resolve(structuredClone(result));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  private store(plural: string, object: Json): Json {
    const metadata = object.metadata as Json;
    const stored = { ...object, metadata: { ...metadata, resourceVersion: String(++this.resourceVersion) } };
    if (plural === 'deployments') this.settle(stored as V1Deployment);
    this.objects.set(this.key(plural, metadata.name as string), stored);
    return stored;
  }

  /** The Deployment controller and kubelet in one step: all pods updated and ready, unless held unready. */
  private settle(deployment: V1Deployment): void {
    const replicas = deployment.spec?.replicas ?? 1;
    const ready = this.unready.has(deployment.metadata!.name!) ? 0 : replicas;
    deployment.status = {
      observedGeneration: deployment.metadata?.generation ?? 1,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: ready,
      availableReplicas: ready,
    };
  }

  /** Re-reads the `unready` set into the Deployments' status (pods that crashed or recovered). */
  resettle(): void {
    for (const [key, object] of this.objects) {
      if (key.startsWith('deployments/')) this.settle(object as V1Deployment);
    }
  }

  private patch(plural: string, name: string, body: object, resourceVersion?: string): Json {
    const current = this.objects.get(this.key(plural, name));
    if (!current) throw apiError(404, `${plural} "${name}" not found`);
    const metadata = current.metadata as Json;
    if (resourceVersion !== undefined && resourceVersion !== metadata.resourceVersion) {
      throw apiError(409, `the object has been modified; please apply your changes to the latest version`);
    }
    const patched = applyMergePatch(current, body) as Json;
    const specChanged = JSON.stringify(patched.spec) !== JSON.stringify(current.spec);
    const generation = (metadata.generation as number) + (specChanged ? 1 : 0);
    const next = { ...patched, metadata: { ...(patched.metadata as Json), generation } };
    return this.store(plural, next);
  }

  getRollout(_namespace: string, name: string): Promise<RolloutObject | undefined> {
    return this.call({ method: 'getRollout', object: `rollouts/${name}` }, () =>
      this.objects.get(this.key('rollouts', name)),
    ) as Promise<RolloutObject | undefined>;
  }

  patchRolloutStatus(
    _namespace: string,
    name: string,
    status: Record<string, unknown>,
    resourceVersion: string | undefined,
  ): Promise<RolloutObject> {
    return this.call({ method: 'patchRolloutStatus', object: `rollouts/${name}`, body: status }, () =>
      this.patch('rollouts', name, { status }, resourceVersion),
    ) as unknown as Promise<RolloutObject>;
  }

  patchRolloutMetadata(
    _namespace: string,
    name: string,
    metadata: Record<string, unknown>,
  ): Promise<RolloutObject> {
    const { resourceVersion, ...rest } = metadata as { resourceVersion?: string };
    return this.call({ method: 'patchRolloutMetadata', object: `rollouts/${name}`, body: metadata }, () =>
      this.patch('rollouts', name, { metadata: rest }, resourceVersion),
    ) as unknown as Promise<RolloutObject>;
  }

  getDeployment(_namespace: string, name: string): Promise<V1Deployment | undefined> {
    return this.call({ method: 'getDeployment', object: `deployments/${name}` }, () =>
      this.objects.get(this.key('deployments', name)),
    ) as Promise<V1Deployment | undefined>;
  }

  createDeployment(_namespace: string, body: V1Deployment): Promise<V1Deployment> {
    const name = body.metadata!.name!;
    return this.call({ method: 'createDeployment', object: `deployments/${name}`, body }, () => {
      if (this.objects.has(this.key('deployments', name))) throw apiError(409, 'already exists');
      return this.store('deployments', {
        ...(body as Json),
        metadata: { ...body.metadata, generation: 1 },
      });
    }) as Promise<V1Deployment>;
  }

  patchDeployment(_namespace: string, name: string, body: object): Promise<V1Deployment> {
    const resourceVersion = (body as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    return this.call({ method: 'patchDeployment', object: `deployments/${name}`, body }, () =>
      this.patch('deployments', name, body, resourceVersion),
    ) as unknown as Promise<V1Deployment>;
  }

  getCustom(resource: CustomResource, _namespace: string, name: string): Promise<Json | undefined> {
    return this.call({ method: 'getCustom', object: `${resource.plural}/${name}` }, () =>
      this.objects.get(this.key(resource.plural, name)),
    );
  }

  async patchCustom(resource: CustomResource, _namespace: string, name: string, body: object): Promise<void> {
    const resourceVersion = (body as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    await this.call({ method: 'patchCustom', object: `${resource.plural}/${name}`, body }, () =>
      this.patch(resource.plural, name, body, resourceVersion),
    );
  }

  /** RFC 6902 as the API server applies it: a failed `test` is 422, a stale resourceVersion in the result 409. */
  async jsonPatchCustom(
    resource: CustomResource,
    _namespace: string,
    name: string,
    operations: object[],
  ): Promise<void> {
    const object = `${resource.plural}/${name}`;
    await this.call({ method: 'jsonPatchCustom', object, body: operations }, () => {
      const current = this.objects.get(this.key(resource.plural, name));
      if (!current) throw apiError(404, `${object} not found`);
      let patched: Json;
      try {
        patched = fastJsonPatch.applyPatch(
          structuredClone(current),
          operations as Operation[],
          true,
          false,
        ).newDocument;
      } catch (error) {
        throw apiError(422, String(error));
      }
      const { resourceVersion } = patched.metadata as Json;
      if (resourceVersion !== (current.metadata as Json).resourceVersion) {
        throw apiError(409, 'the object has been modified; please apply your changes to the latest version');
      }
      const specChanged = JSON.stringify(patched.spec) !== JSON.stringify(current.spec);
      const generation = ((current.metadata as Json).generation as number) + (specChanged ? 1 : 0);
      return this.store(resource.plural, {
        ...patched,
        metadata: { ...(patched.metadata as Json), generation },
      });
    });
  }

  getService(_namespace: string, name: string): Promise<V1Service | undefined> {
    return this.call({ method: 'getService', object: `services/${name}` }, () =>
      this.objects.get(this.key('services', name)),
    ) as Promise<V1Service | undefined>;
  }

  createService(_namespace: string, body: V1Service): Promise<V1Service> {
    const name = body.metadata!.name!;
    return this.call({ method: 'createService', object: `services/${name}`, body }, () => {
      if (this.objects.has(this.key('services', name))) throw apiError(409, 'already exists');
      return this.store('services', { ...(body as Json), metadata: { ...body.metadata, generation: 1 } });
    }) as Promise<V1Service>;
  }

  getSecret(_namespace: string, name: string): Promise<V1Secret | undefined> {
    return this.call({ method: 'getSecret', object: `secrets/${name}` }, () =>
      this.objects.get(this.key('secrets', name)),
    ) as Promise<V1Secret | undefined>;
  }

  getNamespace(name: string): Promise<V1Namespace | undefined> {
    return this.call({ method: 'getNamespace', object: `namespaces/${name}` }, () =>
      this.objects.get(this.key('namespaces', name)),
    ) as Promise<V1Namespace | undefined>;
  }

  async createEvent(
    _namespace: string,
    _rollout: RolloutObject,
    event: { name?: string; type: string; reason: string; message: string },
  ): Promise<void> {
    await this.call({ method: 'createEvent', object: `events/${event.name ?? ''}`, body: event }, () => {
      if (event.name !== undefined && this.events.some((e) => e.name === event.name)) {
        throw apiError(409, `events "${event.name}" already exists`);
      }
      this.events.push({ ...event });
    });
  }
}
