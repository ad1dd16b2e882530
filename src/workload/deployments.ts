import type { V1Deployment, V1OwnerReference, V1PodTemplateSpec } from '@kubernetes/client-node';
import { REVISION_ANNOTATION, TRACK_LABEL, managedLabels, workloadName, type Track } from './labels.js';
import { mergePatchBetween } from '../kube/merge-patch.js';
import { revisionOf, withoutStepwiseAdditions } from './revision.js';

/** The Rollout that owns the track Deployments (garbage-collected with it). */
export interface RolloutOwner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

/** What the controller needs to know about one track's Deployment. */
export interface WorkloadObservation {
  /** Hash of the pod template the track runs (see revisionOf). */
  revision: string;
  /** The pod template without Stepwise's additions: what promotion copies to stable. */
  template: V1PodTemplateSpec;
  /** Desired replicas (spec.replicas; Kubernetes defaults it to 1). */
  replicas: number;
  readyReplicas: number;
  /** The Deployment controller has seen the latest spec and every pod is updated, ready and available. */
  rolledOut: boolean;
}

/** The user's pod template with the track label Stepwise adds (the DestinationRule subsets select it). */
export function trackTemplate(template: V1PodTemplateSpec, track: Track): V1PodTemplateSpec {
  const plain = withoutStepwiseAdditions(template);
  return {
    ...plain,
    metadata: { ...plain.metadata, labels: { ...plain.metadata?.labels, [TRACK_LABEL]: track } },
  };
}

function checkReplicas(field: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${field} must be a whole number of replicas, 0 or more; got ${value}`);
  }
}

/**
 * The `<app>-stable` / `<app>-canary` Deployment for a target Deployment `<app>`: the target's pod
 * template and strategy, the track label in the template and the selector, owned by the Rollout.
 */
export function trackDeployment(options: {
  target: V1Deployment;
  track: Track;
  replicas: number;
  owner: RolloutOwner;
}): V1Deployment {
  const { target, track, replicas, owner } = options;
  const app = target.metadata?.name;
  if (!app) throw new TypeError('trackDeployment: the target Deployment has no metadata.name');
  const template = target.spec?.template;
  if (!template) throw new TypeError(`trackDeployment: Deployment ${app} has no spec.template`);
  checkReplicas('replicas', replicas);
  const selector = target.spec?.selector ?? {};
  const ownerReference: V1OwnerReference = { ...owner, controller: true, blockOwnerDeletion: true };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: workloadName(app, track),
      ...(target.metadata?.namespace !== undefined && { namespace: target.metadata.namespace }),
      labels: managedLabels(track),
      annotations: { [REVISION_ANNOTATION]: revisionOf(template) },
      ownerReferences: [ownerReference],
    },
    spec: {
      replicas,
      selector: { ...selector, matchLabels: { ...selector.matchLabels, [TRACK_LABEL]: track } },
      template: trackTemplate(template, track),
      ...(target.spec?.strategy !== undefined && { strategy: structuredClone(target.spec.strategy) }),
      // minReadySeconds decides when a pod counts as available, so the tracks become ready like the target would.
      ...(target.spec?.minReadySeconds !== undefined && { minReadySeconds: target.spec.minReadySeconds }),
    },
  };
}

/** Reads a track Deployment: which revision it runs and whether all its pods are up. */
export function observeWorkload(deployment: V1Deployment): WorkloadObservation {
  const template = withoutStepwiseAdditions(deployment.spec?.template ?? {});
  const replicas = deployment.spec?.replicas ?? 1;
  const status = deployment.status ?? {};
  const readyReplicas = status.readyReplicas ?? 0;
  // Like `kubectl rollout status`, plus: no old pods left (status.replicas counts them), since old
  // pods carry the same track label and would still receive the track's traffic.
  const rolledOut =
    (status.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0) &&
    (status.replicas ?? 0) === replicas &&
    (status.updatedReplicas ?? 0) === replicas &&
    readyReplicas === replicas &&
    (status.availableReplicas ?? 0) === replicas;
  return { revision: revisionOf(template), template, replicas, readyReplicas, rolledOut };
}

/** Canary pods for a weight: the weight's share of the total, rounded up, at least one. */
export function canaryReplicas(total: number, weight: number): number {
  checkReplicas('total replicas', total);
  if (!Number.isFinite(weight) || weight < 0 || weight > 100) {
    throw new RangeError(`canary weight must be between 0 and 100; got ${weight}`);
  }
  return Math.max(1, Math.ceil((total * weight) / 100));
}

/**
 * Merge patch that puts `template` (a user template, e.g. the target's or the canary's) on a track
 * Deployment read as `current`. Keys the new template no longer has are deleted, and the patch carries
 * the resourceVersion read so a concurrent edit fails with 409 instead of being overwritten.
 */
export function templatePatch(current: V1Deployment, template: V1PodTemplateSpec, track: Track): object {
  const desired = trackTemplate(template, track);
  const existing = trackTemplate(current.spec?.template ?? {}, track);
  const resourceVersion = current.metadata?.resourceVersion;
  return {
    metadata: {
      ...(resourceVersion !== undefined && { resourceVersion }),
      annotations: { [REVISION_ANNOTATION]: revisionOf(template) },
    },
    spec: { template: mergePatchBetween(existing, desired) },
  };
}

/** Merge patch that scales a track Deployment. Absolute, so repeating it is harmless. */
export function scalePatch(replicas: number): object {
  checkReplicas('replicas', replicas);
  return { spec: { replicas } };
}
