import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/analysis/comparison/random.js';
import { rolloutSpecSchema, type RolloutSpecInput } from '../../src/api/schema.js';
import { simulate } from '../../src/simulate/simulate.js';
import {
  armBehaviours,
  DEFAULT_TRAFFIC,
  drawSecond,
  type RouteNow,
  type TrafficModel,
} from '../../src/simulate/traffic.js';

const routing: Pick<RolloutSpecInput, 'targetRef' | 'trafficRouting'> = {
  targetRef: { name: 'app' },
  trafficRouting: { istio: { virtualService: { name: 'app' }, destinationRule: { name: 'app' } } },
};

/** `seconds` of traffic through the route, summed: users' requests per track, copies, the canary pods' counts. */
function drawMany(route: RouteNow, model: TrafficModel, seconds = 600) {
  const random = seededRandom(5);
  const behaviours = armBehaviours(model);
  const arms = {
    stable: { behaviour: behaviours.stable, pods: [1, 1, 1, 1] },
    canary: { behaviour: behaviours.canary, pods: [1, 1] },
  };
  const total = {
    stableUsers: 0,
    canaryUsers: 0,
    canaryUsersFailed: 0,
    copies: 0,
    copiesFailed: 0,
    canaryPods: 0,
  };
  for (let t = 0; t < seconds; t++) {
    const second = drawSecond(random, model, route, arms);
    total.stableUsers += second.stable.callers.requests;
    total.canaryUsers += second.canary.callers.requests;
    total.canaryUsersFailed += second.canary.callers.errors;
    total.copies += second.mirrored.requests;
    total.copiesFailed += second.mirrored.errors;
    total.canaryPods += second.canary.pods.reduce((sum, pod) => sum + pod.requests, 0);
  }
  return total;
}

describe('the simulated route with a mirror or a header route', () => {
  it('copies every user request to the canary at mirror 100%, sends it no user, and never retries a copy', () => {
    const model = { ...DEFAULT_TRAFFIC, canaryErrorRate: 0.05, retries: 2 };
    const total = drawMany({ weight: 0, mirrorPercent: 100 }, model);
    expect(total.canaryUsers).toBe(0);
    expect(total.copies).toBe(total.stableUsers);
    // The canary's sidecars count each copy once: a failed copy is not retried.
    expect(total.canaryPods).toBe(total.copies);
    // 60,000 copies at 5%: about 3,000 failed (standard deviation 53).
    expect(total.copiesFailed).toBeGreaterThan(2_800);
    expect(total.copiesFailed).toBeLessThan(3_200);
  });

  it('copies about half the requests at mirror 50%', () => {
    const total = drawMany({ weight: 0, mirrorPercent: 50 }, DEFAULT_TRAFFIC);
    // Binomial(~60,000, 0.5): the standard deviation is about 120.
    expect(total.copies / total.stableUsers).toBeGreaterThan(0.49);
    expect(total.copies / total.stableUsers).toBeLessThan(0.51);
    expect(total.canaryUsers).toBe(0);
  });

  it('sends the requests that match the header route to the canary and splits the others by the weight', () => {
    const model = { ...DEFAULT_TRAFFIC, headerShare: 0.02 };
    const pinned = drawMany({ weight: 0, headerRoute: true }, model);
    // 2% of ~60,000: about 1,200 (standard deviation 34).
    expect(pinned.canaryUsers).toBeGreaterThan(1_080);
    expect(pinned.canaryUsers).toBeLessThan(1_320);
    expect(pinned.copies).toBe(0);
    const withWeight = drawMany({ weight: 10, headerRoute: true }, model);
    // 2% pinned plus 10% of the other 98%: 11.8%.
    const share = withWeight.canaryUsers / (withWeight.canaryUsers + withWeight.stableUsers);
    expect(share).toBeGreaterThan(0.113);
    expect(share).toBeLessThan(0.123);
    // Without the header route in place, the header does nothing.
    expect(drawMany({ weight: 0 }, model).canaryUsers).toBe(0);
  });
});

describe('stepwise simulate with a mirror step', () => {
  const mirrorFirst = rolloutSpecSchema.parse({
    ...routing,
    steps: [{ mirror: { percent: 100 } }, { weight: 5 }, { weight: 25 }, { weight: 50 }, { weight: 100 }],
  });

  it('rolls back a 5%-error canary during its mirror step, before a single user request reaches it', () => {
    const bad = simulate(mirrorFirst, {
      traffic: { ...DEFAULT_TRAFFIC, canaryErrorRate: 0.05 },
      runs: 100,
      seed: 3,
    });
    expect(bad.rolledBack).toBe(100);
    expect(bad.rolledBackBeforeUserRequests).toBe(100);
    expect(bad.failedUserRequests).toEqual({ mean: 0, p95: 0 });
    expect(bad.userCanaryRequests.mean).toBe(0);
    // It was judged on copies that failed at the canary.
    expect(bad.failedCanaryRequests.mean).toBeGreaterThan(0);
    expect(bad.secondsToRollback!.max).toBeLessThanOrEqual(60);
  });

  it('promotes a good canary, held back by no more than the mirror step’s one minute', () => {
    const options = { traffic: DEFAULT_TRAFFIC, runs: 100, seed: 4 };
    const good = simulate(mirrorFirst, options);
    const weightsOnly = simulate(rolloutSpecSchema.parse(routing), options);
    expect(good.promoted).toBeGreaterThanOrEqual(97);
    expect(good.secondsToPromote!.p50).toBeLessThanOrEqual(weightsOnly.secondsToPromote!.p50 + 60);
    // Users reached it only from the first weighted step on.
    expect(good.userCanaryRequests.mean).toBeLessThan(good.canaryRequests.mean);
  });

  it('counts the failed requests of a weights-only rollout as the users’ own', () => {
    const summary = simulate(rolloutSpecSchema.parse(routing), {
      traffic: { ...DEFAULT_TRAFFIC, canaryErrorRate: 0.05 },
      runs: 50,
      seed: 6,
    });
    expect(summary.failedUserRequests).toEqual(summary.failedCanaryRequests);
    expect(summary.failedUserRequests.mean).toBeGreaterThan(0);
    expect(summary.rolledBackBeforeUserRequests).toBe(0);
  });

  it('sends the testers of a header route step to the canary before any weight, and counts their failures as users’', () => {
    const headerFirst = rolloutSpecSchema.parse({
      ...routing,
      steps: [
        { headerRoute: { match: [{ headers: [{ name: 'x-canary', value: 'true' }] }] } },
        { weight: 5 },
        { weight: 100 },
      ],
    });
    const summary = simulate(headerFirst, {
      traffic: { ...DEFAULT_TRAFFIC, canaryErrorRate: 0.05, headerShare: 0.05 },
      runs: 30,
      seed: 8,
    });
    expect(summary.rolledBack).toBe(30);
    // Testers are users: 5 rps of them reach the canary from the first second.
    expect(summary.rolledBackBeforeUserRequests).toBe(0);
    expect(summary.failedUserRequests.mean).toBeGreaterThan(0);
    expect(summary.failedUserRequests).toEqual(summary.failedCanaryRequests);
  });
});
