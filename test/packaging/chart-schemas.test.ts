import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type HelmLookup, obtainHelm, renderChart } from './helm.js';
import { schemaProblems } from './kube-schemas.js';

const FULL_VALUES = join(import.meta.dirname, 'full-values.yaml');

describe('Helm chart against the Kubernetes schemas', () => {
  let lookup: HelmLookup;
  beforeAll(() => {
    lookup = obtainHelm();
  }, 180_000);

  it('renders only valid manifests, CRD included, with the default values and with every option on', (ctx) => {
    if ('missing' in lookup) return ctx.skip(lookup.missing);
    for (const manifests of [
      renderChart(lookup.helm),
      renderChart(lookup.helm, { valuesFiles: [FULL_VALUES] }),
    ]) {
      expect(
        manifests.filter((m) => m.kind === 'CustomResourceDefinition').map((m) => m.metadata.name),
      ).toEqual(['rollouts.stepwise.dev']);
      expect(manifests.flatMap(schemaProblems)).toEqual([]);
    }
  });

  it('reports a field of the wrong type with its path', () => {
    const broken = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: { replicas: 'two' },
    };
    expect(schemaProblems(broken)).toEqual([expect.stringMatching(/^Deployment x: .*replicas/)]);
    expect(schemaProblems({ ...broken, kind: 'Gadget' })).toEqual(['Gadget x: no schema for apps/v1 Gadget']);
  });
});
