// Mirror and headerRoute steps end to end on the sandbox (real controller process, real Prometheus, the mesh routing
// and mirroring by the route object as Istio and Gateway API do). A bad release is rolled back during its mirror
// step without a single user request reaching the canary; after every outcome (promoted, rolled back, aborted, the
// Rollout deleted) the route object is field for field what the user wrote, but for the two managed weights.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PodBehaviour } from '../../sandbox/mesh/index.js';
import { APP, IMAGE, prometheusInstalled, readExample, settled, startE2E, type E2E } from './harness.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// Healthy pods never fail here, so every failed user request would be the canary's. No request carries the
// example's x-canary header: users reach the canary only by the weights. A share of them are testers carrying
// `x-tester: yes`, which only a headerRoute step's route matches (the user's routes do not look at it).
const behaviour = (image: string): PodBehaviour => ({
  errorRate: image.includes('bad-errors') ? 0.05 : 0,
  latencyMs: { p50: 50, p99: 200 },
});
const TESTER_HEADER = { 'x-tester': 'yes' };
const MESH = { headerRequests: { share: 0.3, headers: TESTER_HEADER }, behaviour };
const ANALYSIS = {
  interval: '1s',
  stepDuration: '4s',
  minRequests: 20,
  comparison: { enabled: false },
  thresholds: { maxErrorRate: 0.01, maxP99LatencyMs: 500 },
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls the route object every 100 ms until `probe` holds. */
async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

const TESTERS = {
  match: [{ headers: Object.entries(TESTER_HEADER).map(([name, value]) => ({ name, value })) }],
};

const MODES = [
  {
    example: 'product-service',
    resource: { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' },
    kind: 'VirtualService',
    managed: (spec: Json) => spec.http[1] as Json,
    weights: (spec: Json) => spec.http[1].route as Json[],
    mirrored: (spec: Json) => spec.http.some((r: Json) => r.mirror !== undefined),
    headerRouted: (spec: Json) => spec.http.some((r: Json) => String(r.name).startsWith('stepwise-')),
  },
  {
    example: 'product-service-httproute',
    resource: { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' },
    kind: 'HTTPRoute',
    managed: (spec: Json) => spec.rules[1] as Json,
    weights: (spec: Json) => spec.rules[1].backendRefs as Json[],
    mirrored: (spec: Json) =>
      spec.rules.some((r: Json) => (r.filters ?? []).some((f: Json) => f.type === 'RequestMirror')),
    headerRouted: (spec: Json) => spec.rules.some((r: Json) => String(r.name).startsWith('stepwise-')),
  },
];

/** Both examples' managed route: spec.http[1] of the VirtualService, spec.rules[1] of the HTTPRoute. */
const MANAGED_INDEX = 1;
const STEPS = [{ mirror: { percent: 100 } }, { weight: 50 }, { headerRoute: TESTERS }, { weight: 100 }];

for (const mode of MODES) {
  describe.skipIf(!prometheusInstalled)(`mirror and headerRoute steps on ${mode.example}, end to end`, () => {
    let e2e: E2E;
    const custom = () => e2e.stack.kubeConfig.makeApiClient(CustomObjectsApi);
    const route = async () =>
      (
        (await custom().getNamespacedCustomObject({
          ...mode.resource,
          namespace: e2e.namespace,
          name: APP,
        })) as Json
      ).spec as Json;
    /** The route object without the two managed weights. */
    const withoutWeights = (spec: Json) => {
      const copy = structuredClone(spec);
      for (const ref of mode.weights(copy)) delete ref.weight;
      return copy;
    };
    const asWritten = () => withoutWeights(readExample(mode.example, mode.kind).spec as Json);
    /** The route object is the user's again: no mirror, no header route, all traffic on stable. */
    const expectAsWritten = async () => {
      const spec = await route();
      expect(withoutWeights(spec)).toStrictEqual(asWritten());
      expect(mode.weights(spec).map((r) => r.weight)).toEqual([100, 0]);
    };
    /** User requests the canary Deployment answered, and those that failed, by the mesh's count. */
    const canaryUserRequests = () => {
      const stats = e2e.stack.mesh.stats().filter((s) => s.workload === `${APP}-canary`);
      return {
        requests: stats.reduce((sum, s) => sum + s.requests, 0),
        failed: stats.filter((s) => s.responseCode >= 400).reduce((sum, s) => sum + s.requests, 0),
      };
    };

    /**
     * User requests the managed route carried, and those that failed other than by stable. The example's own `x-canary` route sends
     * testers to the canary Service whatever Stepwise does (503 while it has no ready pod), so it is left out.
     */
    const managedRouteRequests = () => {
      const stats = e2e.stack.mesh.stats().filter((s) => s.routeIndex === MANAGED_INDEX);
      return {
        requests: stats.reduce((sum, s) => sum + s.requests, 0),
        // Stable's own 0.1% of errors are not the canary's doing.
        failed: stats
          .filter((s) => s.responseCode >= 400 && s.workload !== `${APP}-stable`)
          .reduce((sum, s) => sum + s.requests, 0),
      };
    };

    /** Waits until the Rollout is at its headerRoute step `step` and the route object carries the header route. */
    const headerRouteAt = async (step: number) => {
      await e2e.waitFor(
        'the header route step',
        (s) => s.currentStep === step && s.headerRoute === true,
        60_000,
      );
      await eventually(
        'the header route on the route object',
        async () => mode.headerRouted(await route()),
        10_000,
      );
    };

    /** Users' requests so far, testers (with the header) and the others, by whether the canary answered them. */
    const answered = () => {
      const count = (withHeaders: boolean, canary: boolean) =>
        e2e.stack.mesh
          .stats()
          .filter((s) => s.withHeaders === withHeaders && (s.workload === `${APP}-canary`) === canary)
          .reduce((sum, s) => sum + s.requests, 0);
      return {
        testers: { canary: count(true, true), others: count(true, false) },
        others: { canary: count(false, true), others: count(false, false) },
      };
    };
    type Answered = ReturnType<typeof answered>;
    const since = (from: Answered, to: Answered): Answered => ({
      testers: {
        canary: to.testers.canary - from.testers.canary,
        others: to.testers.others - from.testers.others,
      },
      others: {
        canary: to.others.canary - from.others.canary,
        others: to.others.others - from.others.others,
      },
    });

    /**
     * Releases `image` behind a one-minute mirror step (long enough that the thresholds see the errors in it, however
     * the first checks' noise falls) and waits until the release has settled.
     */
    const releaseWithMirrorStep = async (image: string) => {
      await e2e.patchRolloutSpec({
        steps: [{ mirror: { percent: 100 }, duration: '60s' }, { weight: 100 }],
      });
      const { canaryRevision } = await e2e.status();
      await e2e.release(image);
      return e2e.waitFor('the rollback', (s) => settled(s) && s.canaryRevision !== canaryRevision, 120_000);
    };

    beforeAll(async () => {
      e2e = await startE2E({
        example: mode.example,
        mesh: MESH,
        analysis: ANALYSIS,
        steps: STEPS,
      });
      await e2e.adopted();
    }, 90_000);

    afterAll(async () => {
      await e2e?.close();
    });

    it('rolls a 5%-error release back during its mirror step: no user request ever reached the canary', async () => {
      const before = canaryUserRequests();
      const usersBefore = managedRouteRequests();
      const status = await releaseWithMirrorStep(`${IMAGE}:1.2.0-bad-errors`);
      expect(status, status.message).toMatchObject({
        phase: 'RolledBack',
        reason: 'ErrorRate',
        currentStep: 1,
      });
      expect(status.message).toContain('step 1/2 (mirror 100%)');
      // The canary was judged on copies: it served them, and users saw none of its answers.
      const copies = e2e.stack.mesh
        .mirrorStats()
        .filter((s) => s.workload === `${APP}-canary`)
        .reduce((sum, s) => sum + s.requests, 0);
      expect(copies).toBeGreaterThanOrEqual(ANALYSIS.minRequests);
      expect(canaryUserRequests()).toEqual(before);
      const users = managedRouteRequests();
      expect(users.requests).toBeGreaterThan(usersBefore.requests);
      expect(users.failed - usersBefore.failed).toBe(0);
      await expectAsWritten();
    }, 150_000);

    it('promotes a good release through the mirror and header route steps, then leaves the route as written', async () => {
      await e2e.patchRolloutSpec({ steps: STEPS });
      await e2e.release(`${IMAGE}:1.1.0`);
      const mirroring = await e2e.waitFor('the mirror step', (s) => s.mirrorPercent === 100, 60_000);
      expect(mirroring).toMatchObject({ phase: 'Progressing', currentStep: 1, canaryWeight: 0 });
      await eventually('the mirror on the route', async () => mode.mirrored(await route()), 10_000);
      const atMirror = await route();
      expect(mode.weights(atMirror).map((r) => r.weight)).toEqual([100, 0]);
      await headerRouteAt(3);
      expect(mode.mirrored(await route())).toBe(false);
      const status = await e2e.waitFor('promotion', settled, 120_000);
      expect(status.phase, status.message).toBe('Succeeded');
      await e2e.meshRoutesCanaryWeight(0);
      await expectAsWritten();
    }, 150_000);

    it('answers testers with the header from the canary during a headerRoute step, the others by the weight (0)', async () => {
      await e2e.patchRolloutSpec({ steps: [{ headerRoute: TESTERS, duration: '8s' }, { weight: 100 }] });
      const { canaryRevision } = await e2e.status();
      await e2e.release(`${IMAGE}:1.5.0`);
      await headerRouteAt(1);
      // The mesh reads the route a few times a second: count from its first tester request answered by the canary.
      const first = answered();
      await eventually(
        'the mesh to route by the header route',
        async () => answered().testers.canary > first.testers.canary,
        10_000,
      );
      const from = answered();
      await sleep(3_000);
      const during = since(from, answered());
      expect(during.testers.canary).toBeGreaterThan(0);
      expect(during.testers.others).toBe(0);
      expect(during.others.canary).toBe(0);
      expect(during.others.others).toBeGreaterThan(0);
      const status = await e2e.waitFor(
        'promotion',
        (s) => settled(s) && s.canaryRevision !== canaryRevision,
        120_000,
      );
      expect(status.phase, status.message).toBe('Succeeded');
      await e2e.meshRoutesCanaryWeight(0);
      await expectAsWritten();
    }, 150_000);

    it('rolls back a 5%-error release made right after a promotion during its mirror step', async () => {
      // The promoted canary's last user requests are still in the first scrape after this step's start, as its
      // callers report them; the copies, which no caller reports, are what must be judged.
      const status = await releaseWithMirrorStep(`${IMAGE}:1.6.0-bad-errors`);
      expect(status, status.message).toMatchObject({
        phase: 'RolledBack',
        reason: 'ErrorRate',
        currentStep: 1,
      });
      await expectAsWritten();
    }, 150_000);

    it('aborts during the mirror step: the mirror is gone and the route is as written', async () => {
      await e2e.patchRolloutSpec({ steps: [{ mirror: { percent: 100 }, duration: '10m' }, { weight: 100 }] });
      await e2e.release(`${IMAGE}:1.3.0`);
      await e2e.waitFor('the mirror step', (s) => s.mirrorPercent === 100, 60_000);
      await eventually('the mirror on the route', async () => mode.mirrored(await route()), 10_000);
      const abort = await e2e.cli(['abort', APP, '-o', 'json']);
      expect(abort.code, `${abort.stdout}${abort.stderr} ${JSON.stringify(await e2e.status())}`).toBe(0);
      expect(await e2e.status()).toMatchObject({ phase: 'Aborted', canaryWeight: 0 });
      await expectAsWritten();
    }, 90_000);

    it('deleting the Rollout during the mirror step removes the mirror, leaving the route as written', async () => {
      await e2e.release(`${IMAGE}:1.4.0`);
      await e2e.waitFor('the mirror step', (s) => s.mirrorPercent === 100, 60_000);
      await eventually('the mirror on the route', async () => mode.mirrored(await route()), 10_000);
      await custom().deleteNamespacedCustomObject({
        group: 'stepwise.dev',
        version: 'v1alpha1',
        plural: 'rollouts',
        namespace: e2e.namespace,
        name: APP,
      });
      await eventually('the mirror to go', async () => !mode.mirrored(await route()), 20_000);
      await expectAsWritten();
    }, 60_000);
  });
}
