import { z } from 'zod';
import { GROUP, KIND, PLURAL, rolloutSpecSchema, VERSION } from './schema.js';

type Schema = Record<string, unknown>;

/**
 * Turns zod's OpenAPI 3.0 output into a Kubernetes structural schema: no `additionalProperties: false`
 * next to `properties` (forbidden by apiextensions/v1; the API server prunes unknown fields instead).
 */
function structural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(structural);
  if (node === null || typeof node !== 'object') return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema') continue;
    if (key === 'additionalProperties' && value === false) continue;
    out[key] = structural(value);
  }
  return out;
}

export function rolloutSpecOpenApi(): Schema {
  return structural(z.toJSONSchema(rolloutSpecSchema, { target: 'openapi-3.0', io: 'input' })) as Schema;
}

/** The CustomResourceDefinition of Rollout, generated from the one schema in schema.ts. */
export function rolloutCrd(): Schema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'stepwise' } },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: 'rollout', shortNames: ['sw'] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Step', type: 'integer', jsonPath: '.status.currentStep' },
            { name: 'Weight', type: 'integer', jsonPath: '.status.canaryWeight' },
            { name: 'Stable', type: 'string', jsonPath: '.status.stableRevision' },
            { name: 'Canary', type: 'string', jsonPath: '.status.canaryRevision' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: rolloutSpecOpenApi(),
                status: {
                  type: 'object',
                  description: 'Observed state of the rollout; written by the controller only.',
                  'x-kubernetes-preserve-unknown-fields': true,
                },
              },
            },
          },
        },
      ],
    },
  };
}
