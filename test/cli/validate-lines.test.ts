import { describe, expect, it } from 'vitest';
import { manifestProblems, pathKeys } from '../../src/cli/manifest-problems.js';

const manifests = `# a Service first: other kinds are skipped
apiVersion: v1
kind: Service
metadata:
  name: product-service
spec:
  bogus: true
---
apiVersion: stepwise.dev/v1alpha1
kind: Rollout
metadata:
  name: product-service
spec:
  targetRef:
    name: product-service
  trafficRouting:
    istio:
      virtualService: { name: product-service }
      destinationRule: { name: product-service }
  analysis:
    interval: soon
    colour: blue
---
apiVersion: stepwise.dev/v1alpha1
kind: Rollout
metadata:
  name: steps
spec:
  targetRef: { name: steps }
  trafficRouting:
    istio:
      virtualService: { name: steps }
      destinationRule: { name: steps }
  steps:
    - weight: 50
    - weight: 25
---
apiVersion: stepwise.dev/v1alpha1
kind: Rollout
metadata:
  name: fine
spec:
  targetRef: { name: fine }
  trafficRouting:
    istio:
      virtualService: { name: fine }
      destinationRule: { name: fine }
`;

describe('stepwise validate', () => {
  it('reports file:line: path: message at the line of each field, Rollouts only', () => {
    expect(manifestProblems('rollouts.yaml', manifests)).toEqual([
      'rollouts.yaml:21: spec.analysis.interval: "soon" is not a duration; use a positive duration such as 500ms, 15s, 1m or 1h30m',
      'rollouts.yaml:22: spec.analysis.colour: is not a known field; remove it or check its spelling',
      "rollouts.yaml:36: spec.steps[1].weight: 25 is not above the previous step's 50; weights must increase from step to step",
    ]);
  });

  // The timeout is a hang guard, not a speed goal: `{{` and 6,000 spaces took the old placeholder regex 56 s,
  // 4 KB of it, within the length limit, 15 s. How fast validate refuses it is measured in bench/hostile-input.ts.
  it(
    'refuses a Rollout whose custom query once froze the controller, naming the field',
    { timeout: 5_000 },
    () => {
      const rollout = (query: string) =>
        `apiVersion: stepwise.dev/v1alpha1\nkind: Rollout\nmetadata: { name: x }\nspec:\n  targetRef: { name: x }\n` +
        `  trafficRouting: { istio: { virtualService: { name: x }, destinationRule: { name: x } } }\n` +
        `  analysis:\n    metrics:\n      - name: m\n        max: 1\n        query: ${JSON.stringify(query)}\n`;
      expect(manifestProblems('m.yaml', rollout('{{' + ' '.repeat(6_000)))).toEqual([
        'm.yaml:11: spec.analysis.metrics[0].query: is longer than 4096 characters; shorten it',
      ]);
      expect(manifestProblems('m.yaml', rollout('{{' + ' '.repeat(4_000)))).toEqual([]);
    },
  );

  it('points a missing field at its parent', () => {
    const text =
      'apiVersion: stepwise.dev/v1alpha1\nkind: Rollout\nmetadata:\n  name: x\nspec:\n  targetRef:\n    kind: Deployment\n';
    const lines = manifestProblems('-', text);
    expect(lines).toContain('-:6: spec.targetRef.name: is required; add it (string)');
    expect(lines.some((l) => l.startsWith('-:5: spec.trafficRouting: is required'))).toBe(true);
  });

  it('reports YAML syntax errors with their line', () => {
    const lines = manifestProblems('bad.yaml', 'kind: Rollout\nspec: [\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatch(/^bad\.yaml:\d+: YAML: /);
  });

  it('accepts a valid Rollout and skips other kinds, even a Rollout of another group', () => {
    const argo = 'apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: a}\nspec: {}\n';
    expect(manifestProblems('a.yaml', argo)).toEqual([]);
    expect(manifestProblems('m.yaml', manifests.split('---').slice(3).join(''))).toEqual([]);
  });

  it('splits field paths into keys and indexes', () => {
    expect(pathKeys('spec.steps[2].weight')).toEqual(['spec', 'steps', 2, 'weight']);
    expect(pathKeys('apiVersion')).toEqual(['apiVersion']);
  });
});
