// `stepwise validate` judges what the cluster will get: YAML read as kubectl reads it (sigs.k8s.io/yaml, go-yaml
// v2, YAML 1.1), kind: List walked, directories read like `kubectl apply -f DIR`, near misses reported.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LineCounter } from 'yaml';
import { validateManifests } from '../../src/cli/commands/validate.js';
import { checkManifests } from '../../src/cli/manifest-problems.js';
import { parseManifestDocuments } from '../../src/cli/manifest-yaml.js';

const rollout = (name: string, extra = '') => `apiVersion: stepwise.dev/v1alpha1
kind: Rollout
metadata:
  name: ${name}
spec:
  targetRef: { name: ${name} }
  trafficRouting:
    istio:
      virtualService: { name: ${name} }
      destinationRule: { name: ${name} }
${extra}`;

describe('validate reads YAML as kubectl does', () => {
  it('accepts merge keys and YAML 1.1 booleans (yes, off), as sigs.k8s.io/yaml does', () => {
    const text = `${rollout(
      'shop',
      `  analysis:
    <<: &checks { interval: 15s, stepDuration: 1m }
    comparison: { enabled: off }
  steps:
    - { weight: 25, pause: yes }
    - { weight: 100 }
`,
    )}`;
    expect(checkManifests('shop.yaml', text)).toEqual({ problems: [], skipped: [], rollouts: 1 });
    const [doc] = parseManifestDocuments(text, new LineCounter());
    const spec = (doc?.toJS() as { spec: { analysis: object; steps: object[] } }).spec;
    expect(spec.analysis).toEqual({ interval: '15s', stepDuration: '1m', comparison: { enabled: false } });
    expect(spec.steps[0]).toEqual({ weight: 25, pause: true });
  });

  it('keeps timestamps and sexagesimal-looking values as strings, as go-yaml v2 does', () => {
    const [doc] = parseManifestDocuments('date: 2001-12-14\ntime: 12:30\noctal: 0755\n', new LineCounter());
    expect(doc?.toJS()).toEqual({ date: '2001-12-14', time: '12:30', octal: 493 });
  });

  it('names the file and stops on an alias bomb', () => {
    let bomb = 'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]\n';
    let previous = 'a';
    for (const name of 'bcdefghi') {
      bomb += `${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]\n`;
      previous = name;
    }
    const report = checkManifests('bomb.yaml', bomb);
    expect(report.problems).toEqual([
      'bomb.yaml:1: YAML: Excessive alias count indicates a resource exhaustion attack',
    ]);
  });

  it('walks kind: List and reports each item at its own line and path', () => {
    const list = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: { name: shop }
  - apiVersion: stepwise.dev/v1alpha1
    kind: Rollout
    metadata: { name: shop }
    spec:
      targetRef: { name: shop }
      trafficRouting:
        istio:
          virtualService: { name: shop }
          destinationRule: { name: shop }
      steps: [{ weight: 150 }]
`;
    expect(checkManifests('list.yaml', list)).toEqual({
      problems: [
        'list.yaml:16: items[1].spec.steps[0].weight: 150 is above the maximum 100; use a smaller value',
      ],
      skipped: [],
      rollouts: 1,
    });
  });
});

describe('validate reports what it does not check', () => {
  it('reports a Rollout of another group and a near-miss kind as skipped', () => {
    const text = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: { name: argo }
---
apiVersion: apps/v1
kind: Rollouts
metadata: { name: typo }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: shop }
`;
    expect(checkManifests('other.yaml', text)).toEqual({
      problems: [],
      skipped: [
        'other.yaml:2: skipped kind Rollout of argoproj.io/v1alpha1: not a Stepwise Rollout (stepwise.dev/v1alpha1), not checked',
        'other.yaml:6: skipped kind Rollouts of apps/v1: not checked; a Stepwise Rollout has apiVersion: stepwise.dev/v1alpha1 and kind: Rollout',
      ],
      rollouts: 0,
    });
  });

  it('refuses a mistyped apiVersion and a misspelt kind of stepwise.dev, naming the field', () => {
    const text = `${rollout('one').replace('stepwise.dev/', 'stepwse.dev/')}---\n${rollout('two').replace(
      'kind: Rollout',
      'kind: Rolout',
    )}`;
    const noGroup = rollout('three').replace('stepwise.dev/', '');
    expect(checkManifests('group.yaml', noGroup).problems).toEqual([
      'group.yaml:1: apiVersion: "v1alpha1" is not a version of stepwise.dev; set it to stepwise.dev/v1alpha1',
    ]);
    expect(checkManifests('typo.yaml', text).problems).toEqual([
      'typo.yaml:1: apiVersion: "stepwse.dev/v1alpha1" is not a version of stepwise.dev; set it to stepwise.dev/v1alpha1',
      'typo.yaml:13: kind: "Rolout" is not a kind of stepwise.dev; set it to Rollout',
    ]);
  });
});

describe('validate over files and directories', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('fails a file that holds no Stepwise Rollout, naming the file', async () => {
    dir = mkdtempSync(join(tmpdir(), 'stepwise-validate-'));
    const file = join(dir, 'argo.yaml');
    writeFileSync(file, 'apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: { name: argo }\n');
    const result = await validateManifests([file], false);
    expect(result.problems).toEqual([
      `${file}: holds no Stepwise Rollout (apiVersion: stepwise.dev/v1alpha1, kind: Rollout); check its apiVersion and kind, or leave the file out`,
    ]);
    expect(result.skipped).toHaveLength(1);
  });

  it('reads the .yaml, .yml and .json files of a directory, subdirectories with -R', async () => {
    dir = mkdtempSync(join(tmpdir(), 'stepwise-validate-'));
    writeFileSync(join(dir, 'rollout.yaml'), rollout('shop'));
    writeFileSync(
      join(dir, 'service.json'),
      '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "shop"}}',
    );
    writeFileSync(join(dir, 'notes.txt'), 'kind: Rollout\nthis is: [not yaml\n');
    mkdirSync(join(dir, 'staging'));
    writeFileSync(join(dir, 'staging', 'rollout.yml'), rollout('shop', '  steps: [{ weight: 0 }]\n'));
    expect(await validateManifests([dir], false)).toMatchObject({ problems: [], skipped: [] });
    const recursive = await validateManifests([dir], true);
    expect(recursive.problems).toEqual([
      `${join(dir, 'staging', 'rollout.yml')}:11: spec.steps[0].weight: 0 is below the minimum 1; use a larger value`,
    ]);
    const staging = join(dir, 'staging');
    writeFileSync(join(staging, 'rollout.yml'), 'apiVersion: v1\nkind: Service\nmetadata: { name: shop }\n');
    expect((await validateManifests([staging], false)).problems).toEqual([
      `${staging}: holds no Stepwise Rollout (apiVersion: stepwise.dev/v1alpha1, kind: Rollout); check its apiVersion and kind, or leave the directory out`,
    ]);
    rmSync(join(staging, 'rollout.yml'));
    expect((await validateManifests([staging], false)).problems).toEqual([
      `${staging}: holds no .json, .yaml or .yml file (give -R to read its subdirectories)`,
    ]);
  });
});

describe('validate where go-yaml v2 and the YAML merge spec disagree', () => {
  it('refuses a key written before a << merge that sets it too, since kubectl takes the merged value', () => {
    const text = rollout('shop', '  analysis:\n    interval: 30s\n    <<: { interval: 15s }\n');
    expect(checkManifests('merge.yaml', text).problems).toEqual([
      'merge.yaml:12: YAML: interval is set before a << merge that sets it too; kubectl takes the merged value, other YAML readers this one: put the << line first',
    ]);
    const listed = rollout(
      'shop',
      '  analysis:\n    interval: 30s\n    <<: [{ stepDuration: 1m }, { interval: 15s }]\n',
    );
    expect(checkManifests('merge.yaml', listed).problems).toHaveLength(1);
    const first = rollout('shop', '  analysis:\n    <<: { interval: 15s }\n    interval: 30s\n');
    expect(checkManifests('merge.yaml', first).problems).toEqual([]);
  });
});
