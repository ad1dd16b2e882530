// Every phase of a rollout stays guarded between checks: canary pods that go away after the weight was set,
// a promotion that never completes, a spec that turns invalid mid-rollout.
import { describe, expect, it } from 'vitest';
import { baseSpec, type Checker, scriptedChecker, World } from './world.js';

const settled = (w: World) => ['Succeeded', 'RolledBack', 'Aborted'].includes(w.status.phase ?? '');

function healthyWorld(spec = baseSpec): World {
  const w = new World(spec, 'app:v1');
  w.runUntil((x) => x.status.phase === 'Healthy');
  return w;
}

describe('canary readiness in every pass', () => {
  it('rolls back when canary pods go unready after the weight was set, once progressDeadline passed', () => {
    const w = healthyWorld({ ...baseSpec, progressDeadline: '2m' });
    w.release('app:v2');
    w.runUntil((x) => x.status.currentStep === 2 && x.vsWeight === 25 && !!x.status.stepStartedAt);
    w.canary!.readyAt = Infinity; // the canary's pods crash
    const crashedAt = w.now;
    w.runUntil(settled);
    expect(w.status).toMatchObject({ phase: 'RolledBack', reason: 'ProgressDeadlineExceeded' });
    expect(w.status.message).toContain('step 2/4 (weight 25%): canary pods not ready');
    expect(w.now - crashedAt).toBeGreaterThanOrEqual(120_000);
    expect(w.now - crashedAt).toBeLessThan(125_000);
    expect(w.weights.filter((x) => x.at > crashedAt).map((x) => x.weight)).toEqual([0]); // no step passed
    expect(w.announcements.filter((a) => a.reason === 'CanaryUnready')).toHaveLength(1);
  });

  it('says so in status meanwhile, holds the step, and continues once the pods are ready again', () => {
    const w = healthyWorld({ ...baseSpec, progressDeadline: '5m' });
    w.release('app:v2');
    w.runUntil((x) => x.status.currentStep === 1 && !!x.status.stepStartedAt);
    w.canary!.readyAt = Infinity;
    w.runFor(90_000); // longer than the step's minute
    expect(w.status).toMatchObject({ phase: 'Progressing', currentStep: 1, canaryWeight: 5 });
    expect(w.status.message).toMatch(
      /canary pods not ready \(0\/1\).*rolling back at .* unless they recover/,
    );
    w.canary!.readyAt = w.now;
    w.runUntil(settled);
    expect(w.status.phase).toBe('Succeeded');
  });

  it('rolls back a canary held at a gate whose pods went unready', () => {
    const w = healthyWorld({
      ...baseSpec,
      progressDeadline: '1m',
      steps: [{ weight: 10, pause: true }, { weight: 100 }],
    });
    w.release('app:v2');
    w.runUntil((x) => x.status.phase === 'Paused');
    w.canary!.readyAt = Infinity;
    w.runUntil(settled);
    expect(w.status).toMatchObject({ phase: 'RolledBack', reason: 'ProgressDeadlineExceeded' });
  });
});

const twoSteps = { ...baseSpec, progressDeadline: '2m', steps: [{ weight: 50 }, { weight: 100 }] };

/** At the last step with the canary ready; stable pods with `app:v2` then take `stableReadyMs` to be ready. */
function atLastStep(stableReadyMs: number): World {
  const w = healthyWorld(twoSteps);
  w.release('app:v2');
  w.runUntil((x) => x.status.currentStep === 2 && x.vsWeight === 100 && !!x.status.stepStartedAt);
  w.readyDelayFor = (image) => (image === 'app:v2' ? stableReadyMs : 1_000);
  return w;
}

describe('promotion', () => {
  /** The canary's weight never left it while stable was not ready on the revision it serves. */
  function expectTrafficOnlyOnReadyStable(w: World, revision: string): void {
    const zero = w.weights.at(-1)!;
    expect(zero.weight).toBe(0);
    expect(w.stable!.image).toBe(revision);
    expect(zero.at).toBeGreaterThanOrEqual(w.stable!.readyAt);
  }

  it('says what it waits for and when it gives up', () => {
    const w = atLastStep(Infinity);
    w.runUntil((x) => x.status.phase === 'Promoting');
    w.runFor(10_000);
    expect(w.status.message).toMatch(
      /promoting revision app:v2 \(image app:v2\): rolling back at .* unless ready by then; waiting for the stable Deployment: 0\/4 ready with revision app:v2$/,
    );
  });

  it('rolls back after progressDeadline when stable never gets ready, keeping the canary serving until stable is back', () => {
    const w = atLastStep(Infinity);
    w.runUntil((x) => x.status.phase === 'Promoting');
    const promotingAt = w.now;
    w.runUntil((x) => x.status.phase === 'RolledBack');
    expect(w.status.reason).toBe('ProgressDeadlineExceeded');
    expect(w.now - promotingAt).toBeGreaterThanOrEqual(120_000);
    expect(w.status.message).toMatch(
      /^promotion of revision app:v2 \(image app:v2\): the stable Deployment was not ready within progressDeadline 2m \(0\/4 ready\); waiting for the stable Deployment to go back to revision app:v1 \(image app:v1\)/,
    );
    const rolledBack = w.announcements.find((a) => a.reason === 'ProgressDeadlineExceeded')!;
    expect(rolledBack.message).toContain('the canary keeps its 100% until it is ready');
    expect(w.vsWeight).toBe(100); // stable is not ready on app:v1 yet
    w.runUntil((x) => x.vsWeight === 0);
    expectTrafficOnlyOnReadyStable(w, 'app:v1');
    w.runFor(5_000);
    expect(w.canary!.replicas).toBe(0);
    expect(w.status).toMatchObject({
      phase: 'RolledBack',
      stableRevision: 'app:v1',
      rolledBackRevision: 'app:v2',
    });
    expect(w.status.previousStable).toBeUndefined();
  });

  it('accepts abort: stable goes back to its template first, then all traffic moves to it', () => {
    const w = atLastStep(60_000);
    w.runUntil((x) => x.status.phase === 'Promoting');
    w.runFor(5_000);
    w.sendCommand('abort', 'a-1');
    w.pass();
    expect(w.status).toMatchObject({ phase: 'Aborted', lastCommand: { id: 'a-1', accepted: true } });
    expect(w.vsWeight).toBe(100);
    expect(w.stable!.image).toBe('app:v1');
    w.runUntil((x) => x.vsWeight === 0);
    expectTrafficOnlyOnReadyStable(w, 'app:v1');
    w.runFor(60_000);
    expect(w.status).toMatchObject({ phase: 'Aborted', stableRevision: 'app:v1' });
    expect(w.stable!.image).toBe('app:v1'); // the aborted revision is not promoted after all
  });
});

describe('canary readiness during and after a promotion', () => {
  /** Promoting, at 100% on the canary; stable is updating to app:v2 and has 3 of 4 pods (old ones) ready meanwhile. */
  function promotingWithStableUpdating(): World {
    const w = atLastStep(60_000);
    w.runUntil((x) => x.status.phase === 'Promoting' && x.stable?.image === 'app:v2');
    w.stable!.readyMeanwhile = 3;
    return w;
  }

  it("moves the canary's share to stable's ready pods when every canary pod goes unready during the promotion", () => {
    const w = promotingWithStableUpdating();
    w.runFor(5_000);
    expect(w.vsWeight).toBe(100);
    w.canary!.readyAt = Infinity; // the canary's pods crash
    w.pass();
    expect(w.vsWeight).toBe(0);
    expect(w.status.phase).toBe('Promoting');
    expect(w.announcements.filter((a) => a.reason === 'CanaryUnready')).toHaveLength(1);
    expect(w.announcements.find((a) => a.reason === 'CanaryUnready')!.message).toContain(
      'canary pods not ready (0/4) while the canary had 100% of the traffic: it goes to the 3 ready pods of the stable Deployment',
    );
    w.runUntil((x) => x.status.phase === 'Succeeded');
    expect(w.weights.filter((x) => x.weight > 0 && x.phase === 'Promoting')).toEqual([]);
  });

  it('keeps the share on a canary with some ready pods, and says so in status', () => {
    const w = promotingWithStableUpdating();
    w.canary!.readyAt = Infinity;
    w.canary!.readyMeanwhile = 2;
    w.pass();
    expect(w.vsWeight).toBe(100);
    expect(w.status.message).toContain('canary pods not ready (2/4): its ready pods keep its 100%');
  });

  it("after an abort, moves the canary's share to stable once no canary pod is ready", () => {
    const w = promotingWithStableUpdating();
    w.readyDelayFor = () => Infinity; // stable never gets back to ready on app:v1
    w.sendCommand('abort', 'a-1');
    w.pass();
    expect(w.status.phase).toBe('Aborted');
    w.stable!.readyMeanwhile = 3;
    w.runFor(5_000);
    expect(w.vsWeight).toBe(100);
    w.canary!.readyAt = Infinity;
    w.pass();
    expect(w.vsWeight).toBe(0);
  });
});

describe('putting stable back after an abandoned promotion', () => {
  function abortedWithStableStuck(): World {
    const w = atLastStep(Infinity);
    w.readyDelayFor = () => Infinity; // neither revision gets ready on stable again
    w.runUntil((x) => x.status.phase === 'Promoting');
    w.runFor(5_000);
    w.sendCommand('abort', 'a-1');
    w.pass();
    expect(w.status.phase).toBe('Aborted');
    return w;
  }

  it('is held to progressDeadline: past it a Warning says so (again every progressDeadline), and the canary keeps serving', () => {
    const w = abortedWithStableStuck();
    const abortedAt = w.now;
    expect(w.status.message).toMatch(/a warning at .* unless ready by then/);
    w.runUntil((x) => x.announcements.some((a) => a.reason === 'StableNotRestored'));
    expect(w.now - abortedAt).toBeGreaterThanOrEqual(120_000);
    expect(w.now - abortedAt).toBeLessThan(125_000);
    const warning = w.announcements.find((a) => a.reason === 'StableNotRestored')!;
    expect(warning).toMatchObject({ type: 'Warning' });
    expect(warning.message).toContain(
      'the stable Deployment is not back at revision app:v1 (image app:v1) (0/4 ready) 2m after the promotion was abandoned (progressDeadline 2m); the canary keeps its 100% until it is ready: see `kubectl describe deployment product-service-stable`',
    );
    expect(w.status.message).toContain('not back within progressDeadline 2m');
    expect(w.vsWeight).toBe(100);
    w.runFor(125_000);
    expect(w.announcements.filter((a) => a.reason === 'StableNotRestored')).toHaveLength(2);
    expect(w.status).toMatchObject({ phase: 'Aborted' });
    w.stable!.readyAt = w.now;
    w.runUntil((x) => x.vsWeight === 0);
    expect(w.status.previousStable).toBeUndefined();
  });

  it('refuses retry meanwhile, which would put all traffic on a stable that is not ready', () => {
    const w = abortedWithStableStuck();
    w.sendCommand('retry', 'r-1');
    w.pass();
    expect(w.status.lastCommand).toMatchObject({ id: 'r-1', accepted: false });
    expect(w.status.lastCommand?.message).toContain(
      'the stable Deployment is still going back to revision app:v1 (image app:v1) after the abandoned promotion; retry once it is ready',
    );
    expect(w.status.phase).toBe('Aborted');
    expect(w.vsWeight).toBe(100);
  });
});

// Both hold the rollout where it is, guarded by the last valid spec; only `abort` is accepted meanwhile.
const holds = [
  {
    cause: 'a spec that turns invalid mid-rollout',
    start: (w: World) => (w.editedSpec = { ...baseSpec, steps: [{ weight: 50 }, { weight: 20 }] }),
    end: (w: World) => (w.editedSpec = undefined),
    why: 'the spec is invalid (spec.steps',
  },
  {
    cause: 'a target Deployment deleted mid-rollout',
    start: (w: World) => (w.targetDeleted = true),
    end: (w: World) => (w.targetDeleted = false),
    why: 'the target Deployment is missing (spec.targetRef.name',
  },
];

describe.each(holds)('$cause', ({ start, end, why }) => {
  function heldAtStep2(checker: Checker): World {
    const w = new World(baseSpec, 'app:v1', checker);
    w.runUntil((x) => x.status.phase === 'Healthy');
    w.release('app:v2');
    w.runUntil((x) => x.status.currentStep === 2 && x.vsWeight === 25 && !!x.status.stepStartedAt);
    start(w);
    return w;
  }

  it('holds the canary at its weight, still guarded by the last valid spec: a failing check rolls back', () => {
    let bad = false;
    const w = heldAtStep2((ctx) => scriptedChecker({ 'app:v2': bad ? 0.2 : 0 })(ctx));
    const checks = w.status.analysis!.checks;
    w.runFor(3 * 60_000); // three times the step's duration
    expect(w.status).toMatchObject({ phase: 'Progressing', currentStep: 2, canaryWeight: 25 });
    expect(w.vsWeight).toBe(25);
    expect(w.status.analysis!.checks).toBeGreaterThan(checks);
    expect(w.status.conditions?.find((c) => c.type === 'InvalidSpec')).toMatchObject({ status: 'True' });
    expect(w.status.message).toContain(`held at 25% because ${why}`);
    expect(w.announcements.filter((a) => a.reason === 'InvalidSpec')).toHaveLength(1);
    bad = true;
    w.runUntil(settled);
    expect(w.status).toMatchObject({ phase: 'RolledBack', reason: 'ErrorRate' });
    expect(w.vsWeight).toBe(0);
  });

  it('accepts abort, refuses promote naming the problem, and continues once it is fixed', () => {
    const w = heldAtStep2(scriptedChecker({}));
    w.sendCommand('promote', 'p-1');
    w.pass();
    expect(w.status.lastCommand).toMatchObject({ id: 'p-1', accepted: false });
    expect(w.status.lastCommand?.message).toContain(why);
    expect(w.status.lastCommand?.message).toContain('`abort` is accepted');
    end(w);
    w.runUntil(settled);
    expect(w.status.phase).toBe('Succeeded');
    expect(w.status.conditions?.find((c) => c.type === 'InvalidSpec')).toMatchObject({ status: 'False' });

    const v = heldAtStep2(scriptedChecker({}));
    v.sendCommand('abort', 'a-1');
    v.pass();
    expect(v.status).toMatchObject({ phase: 'Aborted', lastCommand: { id: 'a-1', accepted: true } });
    expect(v.vsWeight).toBe(0);
  });
});

describe('a target Deployment deleted mid-rollout with its canary', () => {
  it('rolls back at once (nothing holds the canary template to bring its pods back)', () => {
    const w = healthyWorld();
    w.release('app:v2');
    w.runUntil((x) => x.status.currentStep === 2 && x.vsWeight === 25 && !!x.status.stepStartedAt);
    w.targetDeleted = true;
    w.canary = undefined;
    w.pass();
    expect(w.status).toMatchObject({ phase: 'RolledBack', reason: 'CanaryMissing', canaryWeight: 0 });
    expect(w.vsWeight).toBe(0);
  });
});

describe('a route that carries less than the step weight', () => {
  it('finishes the rollback it means (an interrupted one, or a hand edit) instead of raising the canary again', () => {
    const w = healthyWorld();
    w.release('app:v2');
    w.runUntil((x) => x.status.currentStep === 2 && x.vsWeight === 25 && !!x.status.stepStartedAt);
    w.vsWeight = 0;
    const loweredAt = w.now;
    w.runFor(30_000);
    expect(w.status).toMatchObject({ phase: 'RolledBack', reason: 'WeightLowered', canaryWeight: 0 });
    expect(w.status.message).toContain('the VirtualService sends 0% to the canary instead of 25%');
    expect(w.weights.filter((x) => x.at >= loweredAt && x.weight > 0)).toEqual([]);
  });
});

describe('a step waiting for its canary pods', () => {
  const inconclusive: Checker = () => ({
    verdict: 'inconclusive',
    metrics: {},
    failures: [],
    inconclusive: ['no data'],
  });

  /** At step 3 (50%, two canary pods) with the canary still at step 2's 25% on one pod; the second starts slowly. */
  function waitingForPods(spec = baseSpec): World {
    const w = healthyWorld({ ...spec, progressDeadline: '10m' });
    w.release('app:v2');
    w.runUntil((x) => x.status.currentStep === 2 && x.vsWeight === 25 && !!x.status.stepStartedAt);
    w.podReadyMs = 8 * 60_000;
    w.canary!.readyAt = w.now; // the running pod stays ready while the second one starts
    w.runUntil((x) => x.status.currentStep === 3);
    expect(w.status.canaryWeight).toBe(25);
    expect(w.vsWeight).toBe(25);
    return w;
  }

  it('goes on judging the weight the canary still carries, and rolls back a canary that turns bad meanwhile', () => {
    const w = waitingForPods();
    w.canary!.readyMeanwhile = 1;
    const waitingAt = w.now;
    w.checker = scriptedChecker({ 'app:v2': 0.05 });
    w.runUntil(settled);
    expect(w.status).toMatchObject({ phase: 'RolledBack', reason: 'ErrorRate' });
    expect(w.status.message).toMatch(
      /^step 3\/4 \(weight 50%; the canary still at 25%\): canary error rate 5% is above the limit 1%/,
    );
    // Without the checks meanwhile it would have waited for the pods (8 min) or the deadline.
    expect(w.now - waitingAt).toBeLessThan(30_000);
    expect(w.weights.some((x) => x.weight === 50)).toBe(false);
  });

  it('asks to be woken up for each check meanwhile', () => {
    const w = waitingForPods();
    w.canary!.readyMeanwhile = 1;
    const waitingAt = w.now;
    w.runFor(60_000);
    const meanwhile = w.log.filter((t) => t.at >= waitingAt);
    expect(meanwhile.filter((t) => t.observed.check).length).toBeGreaterThanOrEqual(5);
    for (const t of meanwhile) expect(t.decision.requeueAfterMs).toBeLessThanOrEqual(10_000);
    expect(w.status).toMatchObject({ phase: 'Progressing', currentStep: 3, canaryWeight: 25 });
  });

  it('holds at the weight it has on inconclusive checks meanwhile, and raises it once they are conclusive', () => {
    const w = waitingForPods();
    w.canary!.readyMeanwhile = 1;
    w.checker = inconclusive;
    w.runUntil((x) => x.status.phase === 'Paused');
    expect(w.status).toMatchObject({ reason: 'Inconclusive', currentStep: 3, canaryWeight: 25 });
    w.canary!.readyAt = w.now; // the second pod is ready
    w.runFor(30_000);
    expect(w.status).toMatchObject({ phase: 'Paused', canaryWeight: 25 });
    expect(w.vsWeight).toBe(25);
    w.checker = scriptedChecker({});
    w.runUntil((x) => x.vsWeight === 50);
    expect(w.status).toMatchObject({ phase: 'Progressing', currentStep: 3 });
  });

  it('raises the weight, once the pods are ready, only on a passing check', () => {
    const w = waitingForPods();
    w.canary!.readyMeanwhile = 1;
    w.checker = inconclusive;
    const checks = w.status.analysis!.checks;
    w.runUntil((x) => x.status.analysis!.checks === checks + 2);
    w.canary!.readyAt = w.now; // the second pod is ready
    w.runFor(5_000);
    expect(w.status).toMatchObject({ phase: 'Progressing', currentStep: 3, canaryWeight: 25 });
    expect(w.status.message).toMatch(
      /^step 3\/4 \(weight 50%; the canary still at 25%\): the pods are ready; holding at 25% until a check passes \(no data\)/,
    );
    w.checker = scriptedChecker({});
    w.runUntil((x) => x.vsWeight === 50);
    expect(w.status.analysis!.lastVerdict).toBe('pass');
  });

  it('holds the weight it has on a spec that turned invalid, and wakes up for its checks meanwhile', () => {
    const w = waitingForPods();
    w.canary!.readyMeanwhile = 1;
    w.canary!.readyAt = w.now; // the pods are ready: only the invalid spec holds the weight
    w.editedSpec = { ...baseSpec, steps: [{ weight: 50 }, { weight: 20 }] };
    const heldAt = w.now;
    w.runFor(60_000);
    expect(w.vsWeight).toBe(25);
    const meanwhile = w.log.filter((t) => t.at >= heldAt);
    expect(meanwhile.filter((t) => t.observed.check).length).toBeGreaterThanOrEqual(5);
    for (const t of meanwhile) expect(t.decision.requeueAfterMs).toBeLessThanOrEqual(10_000);
    w.editedSpec = undefined;
    w.runUntil((x) => x.vsWeight === 50);
  });

  it('finishes the rollback when the route was lowered behind its back meanwhile', () => {
    const w = waitingForPods();
    w.canary!.readyMeanwhile = 1;
    w.vsWeight = 0;
    w.runUntil(settled);
    expect(w.status).toMatchObject({ phase: 'RolledBack', reason: 'WeightLowered' });
  });
});
