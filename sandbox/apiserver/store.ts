import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { alreadyExists, badRequest, conflict, gone, invalid, notFound } from './errors.js';
import { groupVersion, ResourceRegistry } from './resources.js';
import type { ResourceRef, ResourceType } from './resources.js';
import { matches, parseSelectors } from './selectors.js';
import type { Selectors } from './selectors.js';
import type { KubeObject, StoreEvent } from './types.js';

export interface DeleteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  /** `Orphan` keeps dependents (their owner reference is removed); anything else deletes them in the background. */
  propagationPolicy?: string;
}

export type StoreListener = (event: StoreEvent) => void;

/** Kubernetes timestamps have second precision. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 7).padEnd(5, 'x');
}

/** Top-level fields other than type, metadata and status: a change there bumps `metadata.generation`. */
function specPart(obj: KubeObject): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, metadata: _m, status: _s, ...rest } = obj;
  return rest;
}

/** The few checks the real API makes that the sandbox's users rely on. */
function validate(type: ResourceType, obj: KubeObject): void {
  if (type.kind === 'Deployment' || type.kind === 'Scale') {
    const replicas = (obj.spec as { replicas?: unknown } | undefined)?.replicas;
    if (
      replicas !== undefined &&
      (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
    ) {
      throw invalid(
        type,
        obj.metadata.name ?? '',
        `spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be a non-negative integer`,
      );
    }
  }
  if (type.kind === 'Lease') {
    // Lease times are MicroTime: kube-apiserver cannot decode a time without its six fractional digits.
    const spec = (obj.spec ?? {}) as Record<string, unknown>;
    for (const field of ['acquireTime', 'renewTime']) {
      const value = spec[field];
      if (value !== undefined && value !== null && !MICRO_TIME.test(String(value))) {
        throw badRequest(
          `Lease in version "v1" cannot be handled as a Lease: spec.${field} ${JSON.stringify(value)} is not a MicroTime (RFC 3339 with 6 fractional digits, e.g. 2026-01-02T15:04:05.000000Z)`,
        );
      }
    }
  }
}

/**
 * deletionTimestamp is set only by DELETE: an update cannot set it (422, field is immutable) and cannot remove
 * or change it (kube-apiserver's rest.BeforeUpdate restores it), and once deletion started no finalizer may
 * be added (ValidateNoNewFinalizers).
 */
function keepDeletionFields(type: ResourceType, next: KubeObject, current: KubeObject): void {
  const meta = next.metadata;
  if (!current.metadata.deletionTimestamp && meta.deletionTimestamp !== undefined) {
    throw invalid(
      type,
      meta.name ?? '',
      `metadata.deletionTimestamp: Invalid value: ${JSON.stringify(meta.deletionTimestamp)}: field is immutable`,
    );
  }
  for (const field of ['deletionTimestamp', 'deletionGracePeriodSeconds'] as const) {
    if (current.metadata[field] === undefined) delete meta[field];
    else meta[field] = current.metadata[field] as never;
  }
  if (!current.metadata.deletionTimestamp) return;
  const before = new Set(current.metadata.finalizers ?? []);
  const added = [...new Set(meta.finalizers ?? [])].filter((f) => !before.has(f)).sort();
  if (added.length) {
    throw invalid(
      type,
      meta.name ?? '',
      `metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
    );
  }
}

const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

function withoutResourceVersion(obj: KubeObject): KubeObject {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/**
 * All objects of the sandbox, one global resourceVersion counter, and the bounded event history
 * that watches resume from. Every write goes through here, whether it came over HTTP or in-process.
 */
export class ObjectStore {
  private readonly objects = new Map<ResourceType, Map<string, KubeObject>>();
  private revision = 0;
  private history: StoreEvent[] = [];
  /** The newest resourceVersion whose events were dropped from the history. */
  private compactedRevision = 0;
  /** Set by the forget-history fault: watches from before it get 410 although the events are kept. */
  private forgottenRevision = 0;
  private readonly listeners = new Set<StoreListener>();
  /** UIDs of objects deleted with propagationPolicy Orphan whose finalizers still hold them. */
  private readonly orphaning = new Set<string>();

  constructor(
    readonly registry: ResourceRegistry = new ResourceRegistry(),
    private readonly watchHistory = 1000,
  ) {}

  // ---- in-process API for tests and the simulated mesh: resource types named by apiVersion + kind/resource

  get(ref: ResourceRef, namespace: string, name: string): KubeObject | undefined {
    const type = this.registry.resolve(ref);
    return this.getObject(type, namespace, name);
  }

  list(
    ref: ResourceRef,
    namespace?: string,
    selectors: { labelSelector?: string; fieldSelector?: string } = {},
  ): KubeObject[] {
    const type = this.registry.resolve(ref);
    return this.listObjects(type, namespace, parseSelectors(selectors.labelSelector, selectors.fieldSelector))
      .items;
  }

  /** Creates `obj` (its apiVersion and kind pick the type; namespace defaults to `default`). */
  create(obj: KubeObject): KubeObject {
    const type = this.registry.resolve({ apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '' });
    return this.createObject(type, obj.metadata.namespace ?? 'default', obj);
  }

  /** Replaces `obj` (or only its `.status` with `subresource: 'status'`), with the same conflict rules as PUT. */
  update(obj: KubeObject, options: { subresource?: 'status' } = {}): KubeObject {
    const type = this.registry.resolve({ apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '' });
    const namespace = type.namespaced ? (obj.metadata.namespace ?? 'default') : '';
    return this.updateObject(type, namespace, obj.metadata.name ?? '', obj, options.subresource);
  }

  delete(ref: ResourceRef, namespace: string, name: string, options: DeleteOptions = {}): KubeObject {
    const type = this.registry.resolve(ref);
    return this.deleteObject(type, namespace, name, options);
  }

  /** Called synchronously after every write; returns the unsubscribe function. */
  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  resourceVersion(): string {
    return String(this.revision);
  }

  // ---- typed API used by the HTTP handlers and the Deployment controller

  getObject(type: ResourceType, namespace: string, name: string): KubeObject | undefined {
    const obj = this.bucket(type).get(keyOf(type.namespaced ? namespace : '', name));
    return obj && structuredClone(obj);
  }

  /** Current objects (all namespaces when `namespace` is empty) and the resourceVersion they are current at. */
  listObjects(
    type: ResourceType,
    namespace?: string,
    selectors: Selectors = { labels: [], fields: [] },
  ): { items: KubeObject[]; resourceVersion: string } {
    const items = [...this.bucket(type).values()]
      .filter((obj) => !namespace || !type.namespaced || obj.metadata.namespace === namespace)
      .filter((obj) => matches(selectors, obj))
      .sort((a, b) =>
        keyOf(a.metadata.namespace ?? '', a.metadata.name ?? '').localeCompare(
          keyOf(b.metadata.namespace ?? '', b.metadata.name ?? ''),
        ),
      )
      .map((obj) => structuredClone(obj));
    return { items, resourceVersion: this.resourceVersion() };
  }

  createObject(type: ResourceType, namespace: string, input: KubeObject): KubeObject {
    const obj = structuredClone(input);
    obj.metadata ??= {};
    const meta = obj.metadata;
    if (type.namespaced) {
      if (meta.namespace && meta.namespace !== namespace) {
        throw badRequest(
          `the namespace of the provided object (${meta.namespace}) does not match the namespace sent on the request (${namespace})`,
        );
      }
      meta.namespace = namespace;
    } else {
      delete meta.namespace;
    }
    if (!meta.name) {
      if (!meta.generateName) {
        throw invalid(type, '', 'metadata.name: Required value: name or generateName is required');
      }
      meta.name = `${meta.generateName}${randomSuffix()}`;
    }
    const key = keyOf(meta.namespace ?? '', meta.name);
    const bucket = this.bucket(type);
    if (bucket.has(key)) throw alreadyExists(type, meta.name);
    if (meta.resourceVersion) {
      throw invalid(type, meta.name, 'metadata.resourceVersion: Invalid value: must be unset on create');
    }
    validate(type, obj);
    // Only DELETE starts a deletion.
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    // Status is the controller's to write: creating through the main resource starts it empty.
    if (type.hasStatus) delete obj.status;
    obj.apiVersion = groupVersion(type.group, type.versions[0] ?? '');
    obj.kind = type.kind;
    meta.uid = randomUUID();
    meta.creationTimestamp = timestamp();
    meta.generation = 1;
    meta.resourceVersion = String(++this.revision);
    bucket.set(key, obj);
    this.record({ type: 'ADDED', resourceType: type, object: obj, resourceVersion: this.revision });
    return structuredClone(obj);
  }

  updateObject(
    type: ResourceType,
    namespace: string,
    name: string,
    input: KubeObject,
    subresource?: 'status',
  ): KubeObject {
    const ns = type.namespaced ? namespace : '';
    const bucket = this.bucket(type);
    const current = bucket.get(keyOf(ns, name));
    if (!current) throw notFound(type, name);
    const given = input.metadata ?? {};
    if (given.name !== undefined && given.name !== name) {
      throw badRequest(`the name of the object (${given.name}) does not match the name on the URL (${name})`);
    }
    if (type.namespaced && given.namespace && given.namespace !== ns) {
      throw badRequest(
        `the namespace of the provided object (${given.namespace}) does not match the namespace sent on the request (${ns})`,
      );
    }
    if (given.resourceVersion && given.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(type, name);
    }
    if (given.uid && given.uid !== current.metadata.uid) {
      throw conflict(
        type,
        name,
        `Precondition failed: UID in object meta: ${given.uid}, UID of the existing object: ${current.metadata.uid}`,
      );
    }

    let next: KubeObject;
    if (subresource === 'status') {
      next = structuredClone(current);
      if (input.status === undefined) delete next.status;
      else next.status = structuredClone(input.status);
    } else {
      next = structuredClone(input);
      next.metadata = {
        ...next.metadata,
        name,
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
        generation: current.metadata.generation,
      };
      if (type.namespaced) next.metadata.namespace = ns;
      else delete next.metadata.namespace;
      if (type.hasStatus) {
        if (current.status === undefined) delete next.status;
        else next.status = structuredClone(current.status);
      }
    }
    next.apiVersion = current.apiVersion;
    next.kind = current.kind;
    keepDeletionFields(type, next, current);
    validate(type, next);
    if (!isDeepStrictEqual(specPart(next), specPart(current))) {
      next.metadata.generation = (current.metadata.generation ?? 0) + 1;
    }
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    // A write that changes nothing is a no-op, as in Kubernetes: same resourceVersion, no watch event.
    if (isDeepStrictEqual(withoutResourceVersion(next), withoutResourceVersion(current))) {
      return structuredClone(current);
    }
    if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) {
      // The write that removes the last finalizer of an object being deleted completes its deletion.
      return this.remove(type, next, false);
    }
    return this.replace(type, next, current);
  }

  deleteObject(type: ResourceType, namespace: string, name: string, options: DeleteOptions = {}): KubeObject {
    const ns = type.namespaced ? namespace : '';
    const bucket = this.bucket(type);
    const current = bucket.get(keyOf(ns, name));
    if (!current) throw notFound(type, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== current.metadata.uid) {
      throw conflict(
        type,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(
        type,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
      );
    }
    const orphan = options.propagationPolicy === 'Orphan';
    if (current.metadata.finalizers?.length) {
      // Finalizers block removal: the object only gets its deletionTimestamp (once) and stays, and the DELETE
      // answers 200 with it; the write that removes the last finalizer deletes it (kube-apiserver's
      // registry Store.Delete / updateForGracefulDeletionAndFinalizers). Dependents stay until then.
      if (current.metadata.deletionTimestamp) return structuredClone(current);
      const next = structuredClone(current);
      next.metadata.deletionTimestamp = timestamp();
      next.metadata.deletionGracePeriodSeconds = 0;
      if (orphan) this.orphaning.add(next.metadata.uid ?? '');
      return this.replace(type, next, current);
    }
    return this.remove(type, current, orphan);
  }

  /** Stores `next` in place of `current` at a new resourceVersion and tells watchers (MODIFIED). */
  private replace(type: ResourceType, next: KubeObject, current: KubeObject): KubeObject {
    const ns = type.namespaced ? (current.metadata.namespace ?? '') : '';
    next.metadata.resourceVersion = String(++this.revision);
    this.bucket(type).set(keyOf(ns, current.metadata.name ?? ''), next);
    this.record({
      type: 'MODIFIED',
      resourceType: type,
      object: next,
      previous: current,
      resourceVersion: this.revision,
    });
    return structuredClone(next);
  }

  /** Takes the object out of the store and lets the garbage collector handle its dependents. */
  private remove(type: ResourceType, current: KubeObject, orphan: boolean): KubeObject {
    const ns = type.namespaced ? (current.metadata.namespace ?? '') : '';
    this.bucket(type).delete(keyOf(ns, current.metadata.name ?? ''));
    const last = structuredClone(current);
    last.metadata.resourceVersion = String(++this.revision);
    this.record({ type: 'DELETED', resourceType: type, object: last, resourceVersion: this.revision });
    // Background garbage collection, like the default propagation policy of kubectl and client libraries.
    const uid = last.metadata.uid ?? '';
    const orphaned = orphan || this.orphaning.delete(uid);
    setImmediate(() => this.collectGarbage(type, last, orphaned));
    return structuredClone(last);
  }

  /** Events after `resourceVersion`, or 410 Gone when the history no longer reaches back that far. */
  eventsSince(resourceVersion: number): StoreEvent[] {
    const oldest = Math.max(this.compactedRevision, this.forgottenRevision);
    if (resourceVersion < oldest) {
      throw gone(`too old resource version: ${resourceVersion} (${oldest + 1})`);
    }
    return this.history.filter((e) => e.resourceVersion > resourceVersion);
  }

  /** Makes every resourceVersion before now too old to watch from; the returned function undoes it. */
  forgetHistory(): () => void {
    const before = this.forgottenRevision;
    this.forgottenRevision = this.revision;
    return () => {
      this.forgottenRevision = before;
    };
  }

  private bucket(type: ResourceType): Map<string, KubeObject> {
    let bucket = this.objects.get(type);
    if (!bucket) {
      bucket = new Map();
      this.objects.set(type, bucket);
    }
    return bucket;
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    while (this.history.length > this.watchHistory) {
      this.compactedRevision = this.history.shift()?.resourceVersion ?? this.compactedRevision;
    }
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A failing listener must not fail the write that already happened.
      }
    }
  }

  private allObjects(): Array<{ type: ResourceType; obj: KubeObject }> {
    return [...this.objects.entries()].flatMap(([type, bucket]) =>
      [...bucket.values()].map((obj) => ({ type, obj })),
    );
  }

  /** Deletes dependents whose owners are all gone (or only drops the reference when orphaning). */
  private collectGarbage(ownerType: ResourceType, owner: KubeObject, orphan: boolean): void {
    const uid = owner.metadata.uid;
    const all = this.allObjects();
    const liveUids = new Set(all.map(({ obj }) => obj.metadata.uid));
    for (const { type, obj } of all) {
      const meta = obj.metadata;
      const inNamespace =
        ownerType.kind === 'Namespace' && type.namespaced && meta.namespace === owner.metadata.name;
      const refs = meta.ownerReferences ?? [];
      const owned = refs.some((ref) => ref.uid === uid);
      if (!inNamespace && !owned) continue;
      const name = meta.name ?? '';
      const namespace = meta.namespace ?? '';
      if (!this.bucket(type).has(keyOf(type.namespaced ? namespace : '', name))) continue;
      const otherLiveOwners = refs.filter((ref) => ref.uid !== uid && liveUids.has(ref.uid));
      if (inNamespace || (!orphan && otherLiveOwners.length === 0)) {
        this.deleteObject(type, namespace, name);
      } else {
        const next = structuredClone(obj);
        next.metadata.ownerReferences = refs.filter((ref) => ref.uid !== uid);
        if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
        this.updateObject(type, namespace, name, next);
      }
    }
  }
}
