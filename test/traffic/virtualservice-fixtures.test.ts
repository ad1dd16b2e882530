// Every real VirtualService shape of ../shared/fixtures/virtualservices (Istio, Argo Rollouts and Flagger sources)
// through the Istio router: either it manages the shape, changing only the two weights of each managed route, or it
// refuses it with a message naming the part that is not supported. Read at test time, never copied.
import { describe, expect, it } from 'vitest';
import { createIstioRouter, type IstioSpec } from '../../src/traffic/istio.js';
import { FakeIstioApi } from './fake-istio-api.js';
import {
  destinationRule,
  documents,
  EXPECTED,
  istioSpec,
  loadCases,
  trackOf,
  type Case,
  type HostSplit,
  type Json,
} from './virtualservice-fixture-cases.js';

/** Paths of the leaves that differ between two JSON values. */
function changedPaths(before: unknown, after: unknown, path = ''): string[] {
  if (typeof before !== 'object' || typeof after !== 'object' || before === null || after === null) {
    return Object.is(before, after) ? [] : [path];
  }
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].flatMap((key) => {
    const next = Array.isArray(before) ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
    return changedPaths((before as Json)[key], (after as Json)[key], next);
  });
}

function splitsBoth(route: Json, spec: IstioSpec): boolean {
  const tracks = ((route.route ?? []) as Json[]).map((d) => trackOf(d, spec));
  return tracks.includes('stable') && tracks.includes('canary');
}

async function run(c: Case, extra: Json = {}, hostSplit?: HostSplit) {
  const docs = documents(c.file);
  const vs = docs.find((d) => d.kind === 'VirtualService' && d.metadata?.name === c.rollout.vs);
  if (!vs) throw new Error(`${c.file} has no VirtualService ${c.rollout.vs}`);
  const namespace = c.rollout.namespace ?? vs.metadata?.namespace ?? 'default';
  const spec = istioSpec(c.rollout, extra, hostSplit);
  const api = new FakeIstioApi();
  api.putVirtualService(namespace, vs);
  if (spec.destinationRule)
    api.putDestinationRule(namespace, destinationRule(docs, vs, spec.destinationRule));
  const router = createIstioRouter({ api, namespace, istioSpec: spec });
  const stored = () => api.virtualServices.get(`${namespace}/${c.rollout.vs}`) as Json;
  return { api, router, spec, stored, original: stored() };
}

/** Sets a weight the shape does not have yet and checks that only the managed weights changed. */
async function expectManaged(c: Case, extra: Json = {}, hostSplit?: HostSplit): Promise<string[]> {
  const { api, router, spec, stored, original } = await run(c, extra, hostSplit);
  const inspected = await router.inspect();
  expect(inspected, JSON.stringify(inspected)).toMatchObject({ ok: true });
  const weight = inspected.ok && inspected.canaryWeight === 37 ? 38 : 37;
  await router.setRoute({ weight });
  expect(api.patches).toHaveLength(1);
  const after = stored();
  const changed = changedPaths(original, after).filter((p) => p !== 'metadata.resourceVersion');
  for (const path of changed) {
    const found = /^spec\.(http|tls|tcp)\[(\d+)\]\.route\[(\d+)\]\.weight$/.exec(path);
    expect(found, `only weights change, not ${path}`).not.toBeNull();
    const [, kind, route, destination] = found!;
    const d = after.spec[kind!][Number(route)].route[Number(destination)];
    const track = trackOf(d, spec);
    expect(track, `${path} is a track's destination`).toBeDefined();
    expect(d.weight, path).toBe(track === 'canary' ? weight : 100 - weight);
  }
  // No split left behind: every managed http route and every tls/tcp split moved together.
  const named = spec.virtualService.routes;
  for (const kind of ['http', 'tls', 'tcp'] as const) {
    ((after.spec[kind] ?? []) as Json[]).forEach((route, i) => {
      const managed = kind === 'http' && named ? named.includes(route.name) : splitsBoth(route, spec);
      if (!managed) return;
      const weights = (route.route as Json[]).map((d) =>
        trackOf(d, spec) === 'canary' ? weight : 100 - weight,
      );
      expect(
        (route.route as Json[]).map((d) => d.weight),
        `${kind}[${i}]`,
      ).toEqual(weights);
    });
  }
  expect(await router.inspect()).toMatchObject({ ok: true, canaryWeight: weight, inSync: true });
  return changed;
}

async function expectRefused(c: Case, patterns: RegExp[], hostSplit?: HostSplit): Promise<void> {
  const { router, api } = await run(c, {}, hostSplit);
  const inspected = await router.inspect();
  expect(inspected.ok).toBe(false);
  if (inspected.ok) return;
  const text = inspected.problems.map((p) => `${p.path}: ${p.message}`).join('\n');
  for (const pattern of patterns) expect(text).toMatch(pattern);
  for (const problem of inspected.problems) {
    expect(problem.path).toMatch(/^spec\.trafficRouting\.istio\./);
    expect(problem.message).toMatch(/^(VirtualService|DestinationRule) \S+ /);
  }
  // The weight writer re-checks the VirtualService (the DestinationRule is judged by inspect alone).
  if (inspected.problems.some((p) => p.path.includes('.virtualService'))) {
    await expect(router.setRoute({ weight: 37 })).rejects.toThrow();
  }
  expect(api.patches).toHaveLength(0);
}

const cases = loadCases();

describe.skipIf(cases.length === 0)(
  'the real VirtualService shapes of ../shared/fixtures/virtualservices',
  () => {
    it('has an expectation for every shape, and every shape in the folder', () => {
      expect(cases.map((c) => c.id).sort()).toEqual(Object.keys(EXPECTED).sort());
    });

    for (const c of cases) {
      const expected = EXPECTED[c.id]!;
      if (expected === 'managed') {
        it(`${c.id}: manages it, changing only the two managed weights`, async () => {
          const changed = await expectManaged(c);
          expect(changed.length).toBeGreaterThan(0);
        });
      } else if (Array.isArray(expected)) {
        it(`${c.id}: refuses it, naming the unsupported part`, () => expectRefused(c, expected));
      } else if ('refused' in expected) {
        it(`${c.id}: refuses it as a host split, naming the unsupported part`, () =>
          expectRefused(c, expected.refused, expected.hostSplit));
      } else {
        it(`${c.id}: manages it as a host split, changing only the two weights of each managed route`, async () => {
          const changed = await expectManaged(c, {}, expected.hostSplit);
          expect(changed.length).toBeGreaterThan(0);
        });
      }
    }

    it('D1-mixed-http-tls-tcp: moves the listed tls and tcp routes together with the http ones', async () => {
      const d1 = cases.find((c) => c.id === 'D1-mixed-http-tls-tcp')!;
      const changed = await expectManaged(d1, {
        tlsRoutes: [{ port: 3000 }, { port: 3001 }],
        tcpRoutes: [{ port: 3000 }, { port: 3001 }],
      });
      expect(new Set(changed.map((p) => p.replace(/\.route.*/, '')))).toEqual(
        new Set(['spec.http[0]', 'spec.http[1]', 'spec.tls[0]', 'spec.tls[1]', 'spec.tcp[0]', 'spec.tcp[1]']),
      );
    });

    it('27-argo-mixed-http-tls-tcp: a host split moves its http, tls and tcp routes together', async () => {
      const c27 = cases.find((c) => c.id === '27-argo-mixed-http-tls-tcp')!;
      const expected = EXPECTED[c27.id] as { hostSplit: HostSplit };
      const changed = await expectManaged(c27, {}, expected.hostSplit);
      expect(new Set(changed.map((p) => p.replace(/\.route.*/, '')))).toEqual(
        new Set(['spec.http[0]', 'spec.http[1]', 'spec.tls[0]', 'spec.tls[1]', 'spec.tcp[0]', 'spec.tcp[1]']),
      );
    });
  },
);
