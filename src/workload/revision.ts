import { createHash } from 'node:crypto';
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import canonicalizeModule from 'canonicalize';
import { STEPWISE_PREFIX, TRACK_LABEL } from './labels.js';

type Canonicalize = (input: unknown) => string | undefined;
// canonicalize is CommonJS with an ESM-style .d.ts: the default import is the function itself at run time.
const imported = canonicalizeModule as unknown as Canonicalize | { default: Canonicalize };
const canonicalize: Canonicalize = typeof imported === 'function' ? imported : imported.default;

/**
 * The user's pod template without what Stepwise adds to it (the track label, `stepwise.dev/*`
 * annotations), as plain JSON. Empty label/annotation maps and the `creationTimestamp: null` the API
 * server puts in templates are dropped too, so a template reads the same before and after a round trip.
 */
export function withoutStepwiseAdditions(template: V1PodTemplateSpec): V1PodTemplateSpec {
  // A JSON round trip turns client-node model objects (Dates, undefined fields) into plain JSON.
  const plain = JSON.parse(JSON.stringify(template ?? {})) as V1PodTemplateSpec;
  const metadata = plain.metadata;
  if (metadata === undefined) return plain;
  delete metadata.creationTimestamp;
  if (metadata.labels) {
    delete metadata.labels[TRACK_LABEL];
    if (Object.keys(metadata.labels).length === 0) delete metadata.labels;
  }
  if (metadata.annotations) {
    for (const key of Object.keys(metadata.annotations)) {
      if (key.startsWith(STEPWISE_PREFIX)) delete metadata.annotations[key];
    }
    if (Object.keys(metadata.annotations).length === 0) delete metadata.annotations;
  }
  if (Object.keys(metadata).length === 0) delete plain.metadata;
  return plain;
}

/**
 * The revision of a pod template: sha256 of its RFC 8785 canonical JSON (key order does not matter),
 * Stepwise's own additions removed, first 10 hex characters. Stored in status, so it must never change
 * for the same template across controller versions.
 */
export function revisionOf(template: V1PodTemplateSpec): string {
  const json = canonicalize(withoutStepwiseAdditions(template));
  if (json === undefined) throw new TypeError('revisionOf: the pod template is not JSON');
  return createHash('sha256').update(json).digest('hex').slice(0, 10);
}
