// `stepwise validate` checks a Rollout against the routing objects in the files given, offline, with the checks the
// controller runs (its observation of the routing objects, read from the files instead of the cluster).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { validateManifests } from '../../src/cli/commands/validate.js';
import {
  destinationRule,
  documents,
  EXPECTED,
  istioSpec,
  loadCases,
  type Case,
  type HostSplit,
} from '../traffic/virtualservice-fixture-cases.js';
import { stepwise } from './stepwise-process.js';

const ROLLOUTS = fileURLToPath(new URL('../../rollouts', import.meta.url));

const rollout = `apiVersion: stepwise.dev/v1alpha1
kind: Rollout
metadata:
  name: reviews
  namespace: shop
spec:
  targetRef: { name: reviews }
  trafficRouting:
    istio:
      virtualService: { name: reviews }
      destinationRule: { name: reviews }
`;

const virtualService = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: shop
spec:
  hosts: [reviews]
  http:
  - name: primary
    route:
    - destination: { host: reviews, subset: stable }
      weight: 100
    - destination: { host: reviews, subset: canary }
      weight: 0
`;

const destinationRuleFor = (host: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
  namespace: shop
spec:
  host: ${host}
  subsets:
  - name: stable
    labels: { stepwise.dev/track: stable }
  - name: canary
    labels: { stepwise.dev/track: canary }
`;

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A repository folder: one file per object, as people keep them. */
function repo(files: Record<string, string>): string {
  dir = mkdtempSync(join(tmpdir(), 'stepwise-validate-routing-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('stepwise validate against the routing objects in the files', () => {
  it('exits 1 at the DestinationRule host line when it is for another host than the VirtualService route', async () => {
    const folder = repo({
      'rollout.yaml': rollout,
      'virtualservice.yaml': virtualService,
      'destinationrule.yaml': destinationRuleFor('ratings'),
    });
    const run = await stepwise(['validate', folder]);
    expect(run.stdout).toBe(
      `${join(folder, 'destinationrule.yaml')}:7: spec.host: DestinationRule reviews is for host ratings, but the ` +
        'managed route sends traffic to reviews (reviews.shop.svc.cluster.local); Istio applies its subsets only to ' +
        'its own host, so requests to subset stable would fail with 503: set its spec.host to reviews, or name the ' +
        'DestinationRule of that host\n',
    );
    expect(run.code).toBe(1);
  }, 60_000);

  it('exits 0 on a Rollout whose VirtualService and DestinationRule are right, a wildcard host included', async () => {
    const folder = repo({
      'rollout.yaml': rollout,
      'virtualservice.yaml': virtualService,
      'destinationrule.yaml': destinationRuleFor('"*.shop.svc.cluster.local"'),
    });
    const run = await stepwise(['validate', folder]);
    expect(run).toMatchObject({ code: 0, stdout: '', stderr: '' });
  }, 60_000);

  it('says in one line that a routing object not in the files was not checked, and passes', async () => {
    const folder = repo({ 'rollout.yaml': rollout, 'virtualservice.yaml': virtualService });
    expect(await validateManifests([folder], false)).toEqual({
      problems: [],
      skipped: [],
      notes: [
        `${join(folder, 'rollout.yaml')}:11: spec.trafficRouting.istio.destinationRule.name: DestinationRule reviews ` +
          '(namespace shop) is not in the files given, so the Rollout was not checked against it',
      ],
    });
  });

  it('matches objects without a namespace in the namespace given by -n', async () => {
    const unnamespaced = (text: string) => text.replace('  namespace: shop\n', '');
    const folder = repo({
      'rollout.yaml': unnamespaced(rollout),
      'routing.yaml': `${unnamespaced(virtualService)}---\n${destinationRuleFor('reviews.shop.svc.cluster.local')}`,
    });
    // The DestinationRule names namespace shop: only with -n shop is it the Rollout's.
    expect((await validateManifests([folder], false)).notes).toEqual([
      expect.stringMatching(/DestinationRule reviews \(namespace default\) is not in the files given/),
    ]);
    const inShop = await validateManifests([folder], false, undefined, 'shop');
    expect(inShop).toEqual({ problems: [], skipped: [], notes: [] });
  });

  it('points at the subset of the DestinationRule that selects the wrong pods', async () => {
    const folder = repo({
      'rollout.yaml': rollout,
      'routing.yaml': `${virtualService}---\n${destinationRuleFor('reviews').replace('track: canary', 'track: stable')}`,
    });
    const { problems } = await validateManifests([folder], false);
    expect(problems).toEqual([
      expect.stringMatching(
        /routing\.yaml:27: spec\.subsets\[1\]\.labels: DestinationRule reviews subset "canary" selects \{stepwise\.dev\/track: stable\}/,
      ),
    ]);
  });

  it('indents the subset to add under the line of the DestinationRule subsets that lack it', async () => {
    const withoutCanary = destinationRuleFor('reviews').replace(
      '  - name: canary\n    labels: { stepwise.dev/track: canary }\n',
      '',
    );
    const folder = repo({
      'rollout.yaml': rollout,
      'routing.yaml': `${virtualService}---\n${withoutCanary}`,
    });
    expect((await validateManifests([folder], false)).problems).toEqual([
      `${join(folder, 'routing.yaml')}:23: spec.subsets: DestinationRule reviews has no subset "canary"; add to ` +
        'its subsets:\n    - name: canary\n      labels: {stepwise.dev/track: canary}',
    ]);
  });

  it('checks a Gateway API Rollout against its HTTPRoute and a track Service of its own, file by file', async () => {
    const folder = repo({
      'rollout.yaml': readFileSync(join(ROLLOUTS, 'product-service-httproute/rollout.yaml'), 'utf8'),
      'httproute.yaml': readFileSync(
        join(ROLLOUTS, 'product-service-httproute/httproute.yaml'),
        'utf8',
      ).replace(
        'name: product-service-canary\n      port: 80\n      weight: 0',
        'name: other\n      port: 80',
      ),
      'services.yaml':
        'apiVersion: v1\nkind: Service\nmetadata: { name: product-service-stable }\nspec:\n' +
        '  selector: { app: product-service }\n  ports: [{ port: 80 }]\n',
    });
    const files = ['rollout.yaml', 'httproute.yaml', 'services.yaml'].map((f) => join(folder, f));
    const result = await validateManifests(files, false);
    expect(result.problems).toEqual([
      expect.stringMatching(
        /services\.yaml:5: spec\.selector: Service product-service-stable selects \{app: product-service\}, so it would send stable traffic to pods of either track; add stepwise\.dev\/track: stable/,
      ),
      expect.stringMatching(
        /httproute\.yaml:23: spec\.rules\[1\]: HTTPRoute product-service rules\[1\] "primary" has no backendRef to Service product-service-canary/,
      ),
      expect.stringMatching(/httproute\.yaml:23: spec\.rules\[1\]: .* also sends traffic to Service other/),
    ]);
    // The files without a Rollout hold what the Rollout was checked against: they are not refused as empty.
    expect(result.problems.join('\n')).not.toMatch(/holds no Stepwise Rollout/);
    expect(result.notes).toEqual([
      expect.stringMatching(
        /rollout\.yaml:\d+: spec\.trafficRouting\.gatewayAPI\.canaryService: Service product-service-canary \(namespace default\) is not in the files given: not checked/,
      ),
    ]);
  });

  it.each([
    'product-service',
    'product-service-host-split',
    'product-service-httproute',
    'product-service-grpcroute',
    'product-service-ambient',
    'product-service-linkerd',
    'product-service-cilium',
  ])('passes the %s example of rollouts/, checked against the routing objects beside it', async (example) => {
    const result = await validateManifests([join(ROLLOUTS, example)], false);
    expect(result.problems).toEqual([]);
    // Only Services Stepwise creates itself are left unchecked.
    expect(result.notes.filter((note) => !/: Service \S+-(stable|canary) .*not checked/.test(note))).toEqual(
      [],
    );
  });

  /** The ambient example with no waypoint label on its Service, plus `extra` files. */
  const ambientWithoutServiceLabel = (extra: Record<string, string> = {}) => {
    const example = (file: string) => readFileSync(join(ROLLOUTS, 'product-service-ambient', file), 'utf8');
    return repo({
      ...extra,
      'rollout.yaml': example('rollout.yaml'),
      'httproute.yaml': example('httproute.yaml'),
      'deployment.yaml': example('deployment.yaml').replace(
        /\n {2}labels:\n {4}istio\.io\/use-waypoint: waypoint/,
        '',
      ),
    });
  };

  it('notes, without failing, an ambient Rollout whose Service in the files uses no waypoint', async () => {
    const result = await validateManifests([ambientWithoutServiceLabel()], false);
    expect(result.problems).toEqual([]);
    expect(result.notes).toContainEqual(
      expect.stringMatching(
        /rollout\.yaml:\d+: spec\.analysis\.metricsProvider: Service "product-service" uses no waypoint .*istioctl waypoint apply -n default --enroll-namespace.* \(unless the cluster binds it to a waypoint by its namespace's label\)$/,
      ),
    );
  });

  it('passes an ambient Rollout whose Service has no waypoint label when its Namespace in the files names one', async () => {
    const folder = ambientWithoutServiceLabel({
      'namespace.yaml':
        'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n  labels:\n    istio.io/use-waypoint: waypoint\n',
    });
    const result = await validateManifests([folder], false);
    expect(result.problems).toEqual([]);
    expect(result.notes.filter((note) => note.includes('waypoint'))).toEqual([]);
  });

  it('passes the other examples of rollouts/, saying which routing objects they do not carry', async () => {
    for (const example of ['custom-metric', 'manual-gate', 'prometheus-auth']) {
      const result = await validateManifests([join(ROLLOUTS, example)], false);
      expect(result.problems, example).toEqual([]);
      expect(result.notes, example).toEqual([
        expect.stringMatching(
          /virtualService\.name: VirtualService \S+ \(namespace default\) is not in the files given/,
        ),
        expect.stringMatching(
          /destinationRule\.name: DestinationRule \S+ \(namespace default\) is not in the files given/,
        ),
      ]);
    }
  });

  it('notes, without failing, routes that send to no track yet: the controller waits for them (adoption)', async () => {
    const folder = repo({
      'rollout.yaml': rollout,
      'routing.yaml': `${virtualService.replace(/, subset: (stable|canary)/g, '')}---\n${destinationRuleFor('reviews')}`,
    });
    const result = await validateManifests([folder], false);
    expect(result.problems).toEqual([]);
    expect(result.notes).toEqual([
      expect.stringMatching(
        /routing\.yaml:8: spec\.http: VirtualService reviews has no http route with destinations to both subset stable and subset canary; .* Stepwise prepares reviews-stable and waits: AwaitingRouting\)$/,
      ),
    ]);
  });
});

/** The case's Rollout, VirtualService and DestinationRule as the router's test builds them, written as files. */
function caseFolder(c: Case, hostSplit?: HostSplit): { folder: string; namespace: string } {
  const docs = documents(c.file);
  const vs = docs.find((d) => d.kind === 'VirtualService' && d.metadata?.name === c.rollout.vs)!;
  const namespace = c.rollout.namespace ?? vs.metadata?.namespace ?? 'default';
  const spec = istioSpec(c.rollout, {}, hostSplit);
  const objects = [
    {
      apiVersion: 'stepwise.dev/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'app', namespace },
      spec: { targetRef: { name: 'app' }, trafficRouting: { istio: spec } },
    },
    { ...vs, metadata: { ...vs.metadata, namespace } },
    ...(spec.destinationRule
      ? [
          {
            apiVersion: 'networking.istio.io/v1',
            kind: 'DestinationRule',
            ...destinationRule(docs, vs, spec.destinationRule),
          },
        ]
      : []),
  ];
  return { folder: repo({ 'manifests.yaml': objects.map((o) => stringify(o)).join('---\n') }), namespace };
}

const cases = loadCases();

describe.skipIf(cases.length === 0)(
  'validate on the real VirtualService shapes of ../shared/fixtures',
  () => {
    for (const c of cases) {
      const expected = EXPECTED[c.id]!;
      const hostSplit = expected !== 'managed' && !Array.isArray(expected) ? expected.hostSplit : undefined;
      const refused = Array.isArray(expected)
        ? expected
        : expected !== 'managed' && 'refused' in expected
          ? expected.refused
          : undefined;
      it(`${c.id}: ${refused ? 'refuses it, naming the unsupported part, as the router does' : 'passes, as the router manages it'}`, async () => {
        const { folder, namespace } = caseFolder(c, hostSplit);
        const result = await validateManifests([folder], false, undefined, namespace);
        // The controller waits for routes that send to neither track (adoption); anything else it refuses.
        const waits = result.notes.filter((note) => note.endsWith('waits: AwaitingRouting)'));
        const refusals = [...result.problems, ...waits];
        if (!refused) {
          expect(refusals).toEqual([]);
          return;
        }
        expect(refusals.length).toBeGreaterThan(0);
        for (const line of refusals) {
          expect(line).toMatch(
            /^\S+manifests\.yaml:\d+: (spec\.|items)\S*: (VirtualService|DestinationRule) \S+ /,
          );
        }
        const text = refusals.join('\n');
        for (const pattern of refused) expect(text).toMatch(pattern);
      });
    }
  },
);
