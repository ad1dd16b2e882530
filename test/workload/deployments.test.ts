import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  canaryReplicas,
  observeWorkload,
  scalePatch,
  templatePatch,
  trackDeployment,
} from '../../src/workload/deployments.js';
import {
  MANAGED_BY,
  MANAGED_BY_LABEL,
  REVISION_ANNOTATION,
  TRACK_LABEL,
  workloadName,
} from '../../src/workload/labels.js';
import { revisionOf } from '../../src/workload/revision.js';
import { applyMergePatch } from '../traffic/merge-patch.js';
import { productService } from './fixtures.js';

const owner = { apiVersion: 'stepwise.dev/v1alpha1', kind: 'Rollout', name: 'product-service', uid: 'uid-1' };

/** A track Deployment as the API server would report it after its pods came up. */
function running(deployment: V1Deployment, ready: Partial<Record<string, number>> = {}): V1Deployment {
  const replicas = deployment.spec?.replicas ?? 1;
  return {
    ...structuredClone(deployment),
    metadata: { ...deployment.metadata, generation: 2, resourceVersion: '900' },
    status: {
      observedGeneration: 2,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      ...ready,
    },
  };
}

describe('trackDeployment', () => {
  const target = productService();
  const canary = trackDeployment({ target, track: 'canary', replicas: 2, owner });

  it('names the track Deployments the way Istio metrics report them', () => {
    expect(workloadName('product-service', 'stable')).toBe('product-service-stable');
    expect(canary.metadata?.name).toBe('product-service-canary');
    expect(canary.metadata?.namespace).toBe('production');
  });

  it("runs the target's pod template with the track label in template and selector", () => {
    expect(canary.spec?.selector).toEqual({
      matchLabels: { app: 'product-service', [TRACK_LABEL]: 'canary' },
    });
    expect(canary.spec?.template.metadata?.labels).toEqual({
      app: 'product-service',
      [TRACK_LABEL]: 'canary',
    });
    expect(canary.spec?.template.metadata?.annotations).toEqual({ 'prometheus.io/scrape': 'true' });
    expect(canary.spec?.template.spec).toStrictEqual(target.spec?.template.spec);
    expect(canary.spec?.replicas).toBe(2);
  });

  it('keeps the target strategy and minReadySeconds', () => {
    expect(canary.spec?.strategy).toEqual(target.spec?.strategy);
    expect(canary.spec?.minReadySeconds).toBe(5);
  });

  it('is labelled as ours, annotated with its revision and owned by the Rollout', () => {
    // The target's own labels (here Helm's managed-by) are not copied: our Deployment is not Helm's.
    expect(canary.metadata?.labels).toEqual({ [MANAGED_BY_LABEL]: MANAGED_BY, [TRACK_LABEL]: 'canary' });
    expect(canary.metadata?.annotations).toEqual({
      [REVISION_ANNOTATION]: revisionOf(target.spec!.template),
    });
    expect(canary.metadata?.ownerReferences).toEqual([
      { ...owner, controller: true, blockOwnerDeletion: true },
    ]);
  });

  it('gives stable and canary selectors that never select each other', () => {
    const stable = trackDeployment({ target, track: 'stable', replicas: 3, owner });
    expect(stable.spec?.selector.matchLabels?.[TRACK_LABEL]).toBe('stable');
    expect(stable.spec?.template.metadata?.labels?.[TRACK_LABEL]).toBe('stable');
  });

  it('does not change the target object', () => {
    expect(target).toStrictEqual(productService());
  });

  it('refuses a negative or fractional replica count', () => {
    expect(() => trackDeployment({ target, track: 'stable', replicas: -1, owner })).toThrow(/replicas/);
    expect(() => trackDeployment({ target, track: 'stable', replicas: 1.5, owner })).toThrow(/replicas/);
  });
});

describe('observeWorkload', () => {
  const target = productService();
  const canary = trackDeployment({ target, track: 'canary', replicas: 3, owner });

  it("reports the target's revision and template without Stepwise's additions", () => {
    const observed = observeWorkload(running(canary));
    expect(observed.revision).toBe(revisionOf(target.spec!.template));
    expect(observed.template.metadata?.labels).toEqual({ app: 'product-service' });
    expect(observed).toMatchObject({ replicas: 3, readyReplicas: 3, rolledOut: true });
  });

  it('is not rolled out while pods are not ready, not available, not updated or old ones remain', () => {
    for (const status of [
      { readyReplicas: 2 },
      { availableReplicas: 2 },
      { updatedReplicas: 2 },
      { replicas: 4 },
      { observedGeneration: 1 },
    ]) {
      expect(observeWorkload(running(canary, status)).rolledOut, JSON.stringify(status)).toBe(false);
    }
    expect(observeWorkload(running(canary, { readyReplicas: 1 })).readyReplicas).toBe(1);
  });

  it('counts a fresh Deployment without status as not rolled out, and zero replicas as rolled out', () => {
    expect(observeWorkload(canary).rolledOut).toBe(false);
    const scaledDown = {
      ...canary,
      spec: { ...canary.spec!, replicas: 0 },
      status: { observedGeneration: 0 },
    };
    expect(observeWorkload(scaledDown).rolledOut).toBe(true);
  });
});

describe('canaryReplicas', () => {
  it.each([
    [10, 5, 1],
    [10, 25, 3],
    [10, 50, 5],
    [10, 100, 10],
    [3, 50, 2],
    [100, 7, 7],
    [1, 5, 1],
    [0, 50, 1],
  ])('%i replicas at weight %i → %i canary pods', (total, weight, expected) => {
    expect(canaryReplicas(total, weight)).toBe(expected);
  });

  it('refuses weights outside 0..100', () => {
    expect(() => canaryReplicas(10, 101)).toThrow(/weight/);
  });
});

describe('templatePatch', () => {
  const target = productService();
  const stable = running(trackDeployment({ target, track: 'stable', replicas: 3, owner }));

  it('puts a new template on a track, deleting what the new template no longer has', () => {
    const next = structuredClone(target.spec!.template);
    next.spec!.containers[0]!.image = 'registry.example.com/product-service:1.5.0';
    delete next.metadata!.annotations;
    next.spec!.nodeSelector = { pool: 'general' };
    const patch = templatePatch(stable, next, 'stable') as { metadata: Record<string, unknown> };
    expect(patch.metadata).toEqual({
      resourceVersion: '900',
      annotations: { [REVISION_ANNOTATION]: revisionOf(next) },
    });

    const patched = applyMergePatch(stable, patch) as V1Deployment;
    expect(observeWorkload(patched).revision).toBe(revisionOf(next));
    expect(patched.spec?.template.metadata?.annotations).toBeUndefined();
    expect(patched.spec?.template.metadata?.labels).toEqual({
      app: 'product-service',
      [TRACK_LABEL]: 'stable',
    });
    expect(patched.spec?.template.spec?.nodeSelector).toEqual({ pool: 'general' });
    expect(patched.spec?.replicas).toBe(3);
    expect(patched.spec?.selector).toEqual(stable.spec?.selector);
  });

  it('changes nothing in the template when it already runs that template', () => {
    const patch = templatePatch(stable, target.spec!.template, 'stable') as { spec: { template: object } };
    expect(patch.spec.template).toEqual({});
  });
});

describe('scalePatch', () => {
  it('sets only spec.replicas', () => {
    expect(scalePatch(4)).toEqual({ spec: { replicas: 4 } });
    expect(() => scalePatch(-1)).toThrow(/replicas/);
  });
});
