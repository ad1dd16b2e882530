import type { ResourceType } from './resources.js';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  [field: string]: unknown;
}

/** Any object as stored and served: JSON with the usual type and object metadata. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change in the store, as kept in the watch history. */
export interface StoreEvent {
  type: WatchEventType;
  resourceType: ResourceType;
  /** The object after the change (for DELETED: its last state, at the deletion's resourceVersion). */
  object: KubeObject;
  /** The object before the change, for MODIFIED; lets a filtered watch see objects leave its selection. */
  previous?: KubeObject;
  resourceVersion: number;
}
