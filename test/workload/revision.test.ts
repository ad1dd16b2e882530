import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { TRACK_LABEL } from '../../src/workload/labels.js';
import { revisionOf, withoutStepwiseAdditions } from '../../src/workload/revision.js';
import { productService } from './fixtures.js';

const template = (): V1PodTemplateSpec => productService().spec!.template;

/** The same object with every key order reversed, at every depth. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reversed(v)]),
  );
}

describe('revisionOf', () => {
  it('hashes a known template to the same value as every earlier controller version', () => {
    // Computed once (sha256 of the sorted compact JSON, checked with Python): a change here means every running rollout would see a "new" revision.
    expect(revisionOf(template())).toBe('e5fa1319f6');
  });

  it('is 10 lowercase hex characters', () => {
    expect(revisionOf(template())).toMatch(/^[0-9a-f]{10}$/);
  });

  it('does not depend on key order', () => {
    const original = template();
    const shuffled = reversed(original) as V1PodTemplateSpec;
    expect(JSON.stringify(shuffled)).not.toBe(JSON.stringify(original));
    expect(revisionOf(shuffled)).toBe(revisionOf(original));
  });

  it("ignores Stepwise's own track label and stepwise.dev annotations", () => {
    const ours = template();
    ours.metadata!.labels![TRACK_LABEL] = 'canary';
    ours.metadata!.annotations!['stepwise.dev/revision'] = 'abc';
    expect(revisionOf(ours)).toBe(revisionOf(template()));
  });

  it('changes when the user changes the template', () => {
    const image = template();
    image.spec!.containers[0]!.image = 'registry.example.com/product-service:1.4.3';
    const label = template();
    label.metadata!.labels!.tier = 'backend';
    const otherAnnotation = template();
    otherAnnotation.metadata!.annotations!['kubectl.kubernetes.io/restartedAt'] = '2026-01-01T00:00:00Z';
    const revisions = new Set([template(), image, label, otherAnnotation].map(revisionOf));
    expect(revisions.size).toBe(4);
  });

  it('treats an empty label map, a missing one and creationTimestamp: null alike', () => {
    const bare: V1PodTemplateSpec = { spec: { containers: [{ name: 'app', image: 'a:1' }] } };
    const padded = {
      metadata: { creationTimestamp: null, labels: { [TRACK_LABEL]: 'stable' }, annotations: {} },
      spec: { containers: [{ name: 'app', image: 'a:1' }] },
    } as unknown as V1PodTemplateSpec;
    expect(withoutStepwiseAdditions(padded)).toEqual(bare);
    expect(revisionOf(padded)).toBe(revisionOf(bare));
  });
});
