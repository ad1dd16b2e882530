import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CRD_PATH, crdYaml } from '../../src/api/crd-file.js';
import { rolloutCrd } from '../../src/api/crd.js';

type Node = Record<string, unknown>;

function walk(node: unknown, visit: (n: Node, path: string) => void, path = ''): void {
  if (Array.isArray(node)) node.forEach((item, i) => walk(item, visit, `${path}[${i}]`));
  else if (node && typeof node === 'object') {
    visit(node as Node, path);
    for (const [key, value] of Object.entries(node)) walk(value, visit, `${path}.${key}`);
  }
}

describe('the Rollout CRD', () => {
  it('checked in under charts/stepwise/crds is exactly what the schema generates (run `npm run gen:crd`)', () => {
    expect(readFileSync(CRD_PATH, 'utf8')).toBe(crdYaml());
  });

  it('is a structural schema: every node typed, no additionalProperties beside properties, no $ref', () => {
    const version = (rolloutCrd().spec as Node).versions as Node[];
    const schema = (version[0]!.schema as Node).openAPIV3Schema;
    walk(schema, (n, path) => {
      if ('properties' in n) {
        expect(n.additionalProperties, path).toBeUndefined();
        expect(n.type, path).toBe('object');
      }
      expect(n.$ref, path).toBeUndefined();
      expect(n.anyOf, path).toBeUndefined();
    });
  });

  it('bounds every string, list and map of the spec, so the API server refuses an oversize field', () => {
    const version = (rolloutCrd().spec as Node).versions as Node[];
    const spec = (((version[0]!.schema as Node).openAPIV3Schema as Node).properties as Node).spec;
    const unbounded: string[] = [];
    walk(spec, (n, path) => {
      if (n.type === 'string' && n.maxLength === undefined && n.enum === undefined) unbounded.push(path);
      if (n.type === 'array' && n.maxItems === undefined) unbounded.push(path);
      if (n.type === 'object' && n.additionalProperties && n.maxProperties === undefined)
        unbounded.push(path);
    });
    expect(unbounded).toEqual([]);
  });

  it('has printer columns, a status subresource and the defaults of DESIGN §2', () => {
    const parsed = parse(readFileSync(CRD_PATH, 'utf8')) as Node;
    const v = ((parsed.spec as Node).versions as Node[])[0]!;
    expect((v.additionalPrinterColumns as Node[]).map((c) => c.name)).toEqual([
      'Phase',
      'Step',
      'Weight',
      'Stable',
      'Canary',
      'Age',
    ]);
    expect(v.subresources).toEqual({ status: {} });
    const spec = ((v.schema as Node).openAPIV3Schema as Node & { properties: Node }).properties
      .spec as Node & {
      properties: Record<string, Node & { properties: Record<string, Node> }>;
    };
    expect(spec.properties.steps!.default).toEqual([
      { weight: 5 },
      { weight: 25 },
      { weight: 50 },
      { weight: 100 },
    ]);
    const analysis = spec.properties.analysis!.properties;
    expect(analysis.interval!.default).toBe('10s');
    expect(analysis.minRequests!.default).toBe(50);
    expect(analysis.onInconclusive!.enum).toEqual(['hold', 'rollback']);
    expect(spec.properties.progressDeadline!.default).toBe('10m');
  });

  it('lets a step be a weight, a mirror or a header route, exactly one, as validate does', () => {
    const version = (rolloutCrd().spec as Node).versions as Node[];
    const root = (version[0]!.schema as Node).openAPIV3Schema as Node & { properties: Node };
    const steps = ((root.properties.spec as Node).properties as Node).steps as Node;
    const step = steps.items as Node & { properties: Node };
    expect(Object.keys(step.properties)).toEqual(['weight', 'mirror', 'headerRoute', 'pause', 'duration']);
    expect(step.required).toBeUndefined();
    expect(step['x-kubernetes-validations']).toEqual([
      {
        rule: '(has(self.weight) ? 1 : 0) + (has(self.mirror) ? 1 : 0) + (has(self.headerRoute) ? 1 : 0) == 1',
        message: 'set exactly one of weight, mirror and headerRoute',
      },
    ]);
  });
});
