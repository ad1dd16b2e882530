import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/analysis/types.js';
import { formatPercent } from '../../src/analysis/format.js';
import { baseSpec, scriptedChecker, World } from './world.js';

const healthy = (w: World) => w.status.phase === 'Healthy';
const settled = (w: World) => ['Succeeded', 'RolledBack', 'Aborted'].includes(w.status.phase ?? '');

function adopted(spec = baseSpec, checker = scriptedChecker({ 'app:bad': 0.05 })): World {
  const w = new World(spec, 'app:v1', checker);
  w.runUntil(healthy);
  return w;
}

describe('adoption of a running Deployment', () => {
  it('creates -stable from the target, waits until it is ready, then routes 100% to it and parks the target', () => {
    const w = new World(baseSpec);
    w.pass();
    expect(w.status.phase).toBe('Initializing');
    expect(w.stable).toMatchObject({ image: 'app:v1', replicas: 4 });
    expect(w.target.replicas).toBe(4); // the user's pods keep serving until stable is ready
    expect(w.vsWeight).toBe(10);
    w.runUntil(healthy);
    expect(w.now - w.start).toBeGreaterThanOrEqual(w.podReadyMs);
    expect(w.vsWeight).toBe(0);
    expect(w.target.replicas).toBe(0);
    expect(w.status).toMatchObject({ stableRevision: 'app:v1', replicas: 4, canaryWeight: 0 });
    expect(w.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('fails after progressDeadline when stable never gets ready, and recovers when it does', () => {
    const w = new World({ ...baseSpec, progressDeadline: '1m' });
    w.readyDelayFor = () => Infinity;
    w.runUntil((x) => x.status.phase === 'Failed');
    expect(w.status.reason).toBe('ProgressDeadlineExceeded');
    expect(w.vsWeight).toBe(10); // traffic untouched
    w.stable!.readyAt = w.now;
    w.runUntil(healthy);
  });
});

describe('a good release', () => {
  it('goes 5 → 25 → 50 → 100, promotes, and ends with stable on the new image and the canary at 0', () => {
    const w = adopted();
    w.release('app:v2');
    w.runUntil(settled);
    expect(w.status.phase).toBe('Succeeded');
    expect(w.weights.map((x) => x.weight)).toEqual([0, 5, 25, 50, 100, 0]);
    expect(w.stable).toMatchObject({ image: 'app:v2', replicas: 4 });
    expect(w.canary?.replicas).toBe(0);
    expect(w.status).toMatchObject({ stableRevision: 'app:v2', canaryWeight: 0, currentStep: 0 });
    expect(w.phases()).toEqual(['Initializing', 'Healthy', 'Progressing', 'Promoting', 'Succeeded']);
    const reasons = w.announcements.map((a) => a.reason);
    expect(reasons.filter((r) => r === 'StepStarted')).toHaveLength(4);
    expect(reasons.filter((r) => r === 'StepPassed')).toHaveLength(3);
    expect(reasons).toContain('Promoted');
  });

  it('keeps each step at least its duration, counted from when the weight took effect', () => {
    const w = adopted({ ...baseSpec, steps: [{ weight: 10, duration: '2m' }, { weight: 60 }] });
    w.release('app:v2');
    w.runUntil(settled);
    const set = (weight: number) => w.weights.find((x) => x.weight === weight)!.at;
    expect(set(60) - set(10)).toBeGreaterThanOrEqual(120_000);
  });

  it('scales the canary with the weight and raises the weight only once those pods are ready', () => {
    const w = adopted();
    w.target.replicas = 0;
    w.release('app:v2');
    w.podReadyMs = 20_000;
    w.runUntil((x) => x.status.currentStep === 2 && x.vsWeight === 25);
    expect(w.canary?.replicas).toBe(1); // ceil(4 * 25%)
    w.runUntil((x) => x.status.currentStep === 3 && x.vsWeight === 50);
    expect(w.canary?.replicas).toBe(2);
  });

  it('does not pass a step before minRequests canary requests were seen', () => {
    const w = adopted({ ...baseSpec, analysis: { ...baseSpec.analysis, minRequests: 1_000 } });
    w.release('app:v2');
    // at 100 rps and 5% the canary sees 5 req/s: 1,000 requests take 200 s, well past the 1 m step.
    w.runUntil((x) => x.status.currentStep === 2);
    const passed = w.announcements.find((a) => a.reason === 'StepPassed')!;
    expect(passed).toBeDefined();
    const started = w.weights.find((x) => x.weight === 5)!.at;
    const step2 = w.log.find((t) => t.decision.status.currentStep === 2)!.at;
    expect(step2 - started).toBeGreaterThanOrEqual(200_000);
  });
});

describe('a bad release', () => {
  it('rolls back in the pass that sees the failing check, weight to 0 first, reason naming metric, value, limit, step', () => {
    const w = adopted();
    w.release('app:bad');
    w.runUntil(settled);
    expect(w.status.phase).toBe('RolledBack');
    const rollbackPass = w.log.find((t) => t.decision.status.phase === 'RolledBack')!;
    expect(rollbackPass.observed.check?.verdict).toBe('fail');
    expect(rollbackPass.decision.actions[0]).toEqual({ kind: 'setCanaryWeight', weight: 0 });
    expect(rollbackPass.decision.actions[1]).toEqual({ kind: 'scaleCanary', replicas: 0 });
    expect(w.status.reason).toBe('ErrorRate');
    expect(w.status.message).toContain('step 1/4 (weight 5%)');
    expect(w.status.message).toContain('error rate 5% is above the limit 1%');
    expect(w.status.message).toContain('2 failed checks > failureLimit 1');
    expect(w.vsWeight).toBe(0);
    expect(w.canary?.replicas).toBe(0);
    expect(w.stable?.image).toBe('app:v1');
  });

  it('stores the error rate with enough digits to read as the messages do (no double rounding)', () => {
    // 3 of 66 = 4.5454…%: rounded to 4 digits first (4.545) and then to 3 it would read 4.54%, the message 4.55%.
    const w = adopted(baseSpec, scriptedChecker({ 'app:bad': 3 / 66 }));
    w.release('app:bad');
    w.runUntil(settled);
    expect(formatPercent(w.status.analysis!.errorRate!)).toBe(formatPercent(3 / 66));
    expect(formatPercent(3 / 66)).toBe('4.55%');
  });

  it('tolerates failureLimit failed checks, and a passing check does not reset the count', () => {
    let n = 0;
    const flaky = scriptedChecker({});
    const w = adopted({ ...baseSpec, analysis: { ...baseSpec.analysis, failureLimit: 2 } }, (ctx) => {
      const result = flaky(ctx);
      n += 1;
      // fail, pass, fail, pass, fail: the third failure rolls back although passes came in between
      return n % 2 === 1
        ? {
            ...result,
            verdict: 'fail',
            failures: [
              {
                metric: 'p99Latency',
                value: 900,
                limit: 500,
                message: 'canary P99 latency 900 ms is above the limit 500 ms',
              },
            ],
          }
        : result;
    });
    w.release('app:v2');
    w.runUntil(settled);
    expect(w.status.phase).toBe('RolledBack');
    expect(w.status.analysis).toMatchObject({ failed: 3, checks: 5 });
    expect(w.status.reason).toBe('P99Latency');
    expect(w.announcements.filter((a) => a.reason === 'CheckFailed')).toHaveLength(2);
  });

  it('rolls back at once on a decisive failure (the comparison), whatever failureLimit says', () => {
    const w = adopted({ ...baseSpec, analysis: { ...baseSpec.analysis, failureLimit: 5 } }, () => ({
      verdict: 'fail',
      decisive: true,
      requests: 40,
      metrics: {},
      evidence: 140,
      failures: [
        { metric: 'comparison', value: 140, limit: 100, message: 'evidence 140 against the canary' },
      ],
      inconclusive: [],
    }));
    w.release('app:v2');
    w.runUntil(settled);
    expect(w.status).toMatchObject({ phase: 'RolledBack', reason: 'CanaryWorseThanStable' });
    expect(w.status.analysis?.checks).toBe(1);
  });

  it('does not retry a rolled-back revision by itself, but starts a newer one', () => {
    const w = adopted();
    w.release('app:bad');
    w.runUntil(settled);
    w.runFor(5 * 60_000);
    expect(w.status.phase).toBe('RolledBack');
    expect(w.vsWeight).toBe(0);
    w.release('app:v3');
    w.runUntil((x) => x.status.phase === 'Succeeded');
    expect(w.stable?.image).toBe('app:v3');
  });

  it('rolls back when canary pods are not ready within progressDeadline', () => {
    const w = adopted({ ...baseSpec, progressDeadline: '2m' });
    w.readyDelayFor = (image) => (image === 'app:crashloop' ? Infinity : 1_000);
    w.release('app:crashloop');
    w.runUntil(settled);
    expect(w.status).toMatchObject({ phase: 'RolledBack', reason: 'ProgressDeadlineExceeded' });
    expect(w.weights.some((x) => x.weight > 0)).toBe(false);
  });
});

describe('no data is not good data', () => {
  const inconclusive = (): CheckResult => ({
    verdict: 'inconclusive',
    metrics: {},
    failures: [],
    inconclusive: ['error rate: Prometheus unreachable'],
  });

  it('never promotes a step on inconclusive checks, and holds in Paused after inconclusiveLimit', () => {
    const w = adopted(
      { ...baseSpec, analysis: { ...baseSpec.analysis, inconclusiveLimit: 3 } },
      inconclusive,
    );
    w.release('app:v2');
    w.runFor(10 * 60_000);
    expect(w.status).toMatchObject({
      phase: 'Paused',
      reason: 'Inconclusive',
      currentStep: 1,
      canaryWeight: 5,
    });
    expect(w.status.message).toContain('Prometheus unreachable');
  });

  it('continues by itself when the data come back (onInconclusive: hold)', () => {
    let down = true;
    const good = scriptedChecker({});
    const w = adopted({ ...baseSpec, analysis: { ...baseSpec.analysis, inconclusiveLimit: 3 } }, (ctx) =>
      down ? inconclusive() : good(ctx),
    );
    w.release('app:v2');
    w.runUntil((x) => x.status.phase === 'Paused');
    down = false;
    w.runUntil(settled);
    expect(w.status.phase).toBe('Succeeded');
    expect(w.announcements.map((a) => a.reason)).toContain('AnalysisResumed');
  });

  it('rolls back after inconclusiveLimit checks with onInconclusive: rollback', () => {
    const w = adopted(
      { ...baseSpec, analysis: { ...baseSpec.analysis, inconclusiveLimit: 4, onInconclusive: 'rollback' } },
      inconclusive,
    );
    w.release('app:v2');
    w.runUntil(settled);
    expect(w.status).toMatchObject({ phase: 'RolledBack', reason: 'Inconclusive' });
    expect(w.status.analysis?.consecutiveInconclusive).toBe(4);
  });
});

describe('gates and commands', () => {
  const gated = { ...baseSpec, steps: [{ weight: 10 }, { weight: 50, pause: true }, { weight: 100 }] };

  it('waits in Paused at a gate once its analysis passed, and continues on promote', () => {
    const w = adopted(gated);
    w.release('app:v2');
    w.runUntil((x) => x.status.phase === 'Paused');
    expect(w.status).toMatchObject({ reason: 'Gate', currentStep: 2, canaryWeight: 50 });
    const checks = w.status.analysis!.checks;
    w.runFor(5 * 60_000);
    expect(w.status.phase).toBe('Paused');
    expect(w.status.analysis!.checks).toBeGreaterThan(checks); // analysis keeps running at the gate
    w.sendCommand('promote', 'p-1');
    w.runUntil(settled);
    expect(w.status.phase).toBe('Succeeded');
    expect(w.status.lastCommand).toMatchObject({ id: 'p-1', command: 'promote', accepted: true });
  });

  it('still rolls back at a gate when the analysis turns bad', () => {
    let bad = false;
    const good = scriptedChecker({});
    const w = adopted(gated, (ctx) => (bad ? scriptedChecker({ 'app:v2': 0.2 })(ctx) : good(ctx)));
    w.release('app:v2');
    w.runUntil((x) => x.status.phase === 'Paused');
    bad = true;
    w.runUntil(settled);
    expect(w.status.phase).toBe('RolledBack');
  });

  it('promote --full from step 1 goes straight to promotion', () => {
    const w = adopted();
    w.release('app:v2');
    w.runUntil((x) => x.status.stepStartedAt !== undefined);
    w.sendCommand('promote-full');
    w.runUntil(settled);
    expect(w.status.phase).toBe('Succeeded');
    expect(w.weights.map((x) => x.weight)).toEqual([0, 5, 0]);
  });

  it('abort in step 2 puts all traffic on stable; retry runs the same revision again from step 1', () => {
    const w = adopted();
    w.release('app:v2');
    w.runUntil((x) => x.status.currentStep === 2 && x.vsWeight === 25);
    w.sendCommand('abort', 'a-1');
    const d = w.pass();
    expect(d.actions[0]).toEqual({ kind: 'setCanaryWeight', weight: 0 });
    expect(w.status).toMatchObject({ phase: 'Aborted', rolledBackRevision: 'app:v2' });
    expect(w.vsWeight).toBe(0);
    w.runFor(60_000);
    expect(w.status.phase).toBe('Aborted'); // the same id is executed once
    w.sendCommand('retry', 'r-1');
    w.runUntil((x) => x.status.currentStep === 1 && x.vsWeight === 5);
    expect(w.status.canaryRevision).toBe('app:v2');
    w.runUntil(settled);
    expect(w.status.phase).toBe('Succeeded');
  });

  it('rejects commands that do not apply, records them, and changes nothing', () => {
    const w = adopted();
    w.sendCommand('promote', 'x-1');
    const d = w.pass();
    expect(w.status.lastCommand).toMatchObject({ id: 'x-1', accepted: false });
    expect(w.status.lastCommand?.message).toContain('nothing to promote: the rollout is Healthy');
    expect(d.actions).toEqual([]);
    w.sendCommand('explode', 'x-2');
    w.pass();
    expect(w.status.lastCommand?.message).toContain('unknown command "explode"');
  });
});

describe('a new revision mid-rollout', () => {
  it('sends traffic back to stable first and restarts from step 1 with the new canary', () => {
    const w = adopted();
    w.release('app:v2');
    w.runUntil((x) => x.status.currentStep === 3 && x.vsWeight === 50);
    w.release('app:v3');
    const d = w.pass();
    expect(d.actions[0]).toEqual({ kind: 'setCanaryWeight', weight: 0 });
    expect(w.status).toMatchObject({ phase: 'Progressing', currentStep: 1, canaryRevision: 'app:v3' });
    expect(w.status.analysis?.checks).toBe(0);
    // The replaced canary served until now: the new one's baseline is read at its first step's own start.
    expect(w.status.analysis?.replacedCanary).toBe(true);
    w.runUntil(settled);
    expect(w.stable?.image).toBe('app:v3');
  });

  it('withdraws the canary when the target goes back to the stable revision', () => {
    const w = adopted();
    expect(w.status.analysis?.replacedCanary).toBeUndefined();
    w.release('app:v2');
    w.runUntil((x) => x.vsWeight === 25);
    expect(w.status.analysis?.replacedCanary).toBeUndefined();
    w.release('app:v1');
    w.pass();
    expect(w.status).toMatchObject({ phase: 'Healthy', reason: 'Reverted', canaryWeight: 0 });
    expect(w.canary?.replicas).toBe(0);
  });
});

describe('invalid input', () => {
  it('marks the Rollout Failed with InvalidSpec, changes no traffic, and recovers when fixed', () => {
    const w = adopted();
    w.release('app:v2');
    w.runUntil((x) => x.vsWeight === 25);
    w.problems = [
      { path: 'spec.trafficRouting.istio.virtualService.name', message: 'VirtualService "nope" not found' },
    ];
    w.generation = 2;
    w.runFor(60_000);
    expect(w.status).toMatchObject({ phase: 'Failed', reason: 'InvalidSpec', observedGeneration: 2 });
    expect(w.status.conditions?.find((c) => c.type === 'InvalidSpec')).toMatchObject({ status: 'True' });
    expect(w.vsWeight).toBe(25);
    expect(w.announcements.filter((a) => a.reason === 'InvalidSpec')).toHaveLength(1);
    w.problems = [];
    w.runUntil(settled);
    expect(w.status.phase).toBe('Succeeded');
    expect(w.status.conditions?.find((c) => c.type === 'InvalidSpec')).toMatchObject({ status: 'False' });
  });
});

describe('a rolled-back revision after the Rollout failed and recovered', () => {
  for (const [outcome, command] of [
    ['Aborted', 'abort'],
    ['RolledBack', undefined],
  ] as const) {
    it(`is not started again by itself once the spec is valid again (${outcome}); retry still runs it`, () => {
      const w = adopted();
      if (command) {
        w.release('app:v2');
        w.runUntil((x) => x.vsWeight === 25);
        w.sendCommand(command, 'c-1');
      } else {
        w.checker = scriptedChecker({ 'app:v2': 0.2 });
        w.release('app:v2');
      }
      w.runUntil((x) => x.status.phase === outcome);
      expect(w.status.rolledBackRevision).toBe('app:v2');
      w.problems = [{ path: 'spec.analysis.interval', message: 'must be at least 1s' }];
      w.generation = 2;
      w.runFor(30_000);
      expect(w.status).toMatchObject({ phase: 'Failed', reason: 'InvalidSpec' });
      w.problems = [];
      w.runFor(120_000);
      // DESIGN §3.4: the target still runs app:v2, which was rolled back; no canary traffic until `retry`.
      expect(w.status).toMatchObject({ phase: outcome, rolledBackRevision: 'app:v2' });
      expect(w.status.message).toContain('retry');
      expect(w.vsWeight).toBe(0);
      expect(w.status.history?.filter((h) => h.revision === 'app:v2')).toHaveLength(1);
      w.checker = scriptedChecker({});
      w.sendCommand('retry', 'r-1');
      w.runUntil((x) => x.status.currentStep === 1 && x.vsWeight === 5);
      expect(w.status.canaryRevision).toBe('app:v2');
    });
  }
});

describe('a controller that dies', () => {
  it('continues the same step after losing a pass, without exceeding the step weight', () => {
    const w = adopted();
    w.release('app:v2');
    for (let i = 0; i < 400 && !settled(w); i++) {
      if (i % 7 === 3) w.crashNextPass = true; // the pass decided but did nothing: no status, no actions
      w.now += 500;
      w.pass();
    }
    w.runUntil(settled);
    expect(w.status.phase).toBe('Succeeded');
    expect(w.weights.map((x) => x.weight)).toEqual([0, 5, 25, 50, 100, 0]);
  });
});

describe('steps edited mid-rollout', () => {
  it('lowers the canary to the new weight of its step at once, and stays within a shorter list', () => {
    const w = adopted();
    w.release('app:v2');
    w.runUntil((x) => x.status.currentStep === 3 && x.vsWeight === 50);
    w.spec = { ...w.spec, steps: [{ weight: 5 }, { weight: 20 }] };
    const d = w.pass();
    expect(d.actions[0]).toEqual({ kind: 'setCanaryWeight', weight: 20 });
    expect(w.status).toMatchObject({ currentStep: 2, canaryWeight: 20 });
    w.runUntil(settled);
    expect(w.status.phase).toBe('Succeeded');
  });
});

describe('adoption while the VirtualService still routes without the track subsets', () => {
  const awaiting = 'VirtualService product-service has no http route with destinations to both subsets';

  it('prepares -stable while the user routing keeps serving, and moves traffic only once the route uses the subsets', () => {
    const w = new World(baseSpec);
    w.awaitingRouting = awaiting;
    w.runFor(30_000);
    expect(w.status).toMatchObject({ phase: 'Initializing', reason: 'AwaitingRouting' });
    expect(w.status.message).toContain('to finish adopting, route the VirtualService to the subsets');
    expect(w.stable).toMatchObject({ image: 'app:v1', replicas: 4 });
    expect(w.now).toBeGreaterThanOrEqual(w.stable!.readyAt);
    expect(w.target.replicas).toBe(4); // the user's pods keep serving
    expect(w.weights).toEqual([]); // no traffic change
    expect(w.announcements.filter((a) => a.reason === 'AwaitingRouting')).toHaveLength(1);

    w.awaitingRouting = undefined; // the user pointed the route at the subsets
    w.runUntil(healthy);
    expect(w.target.replicas).toBe(0);
    expect(w.status.stableRevision).toBe('app:v1');
  });

  it('is a problem once the rollout is under way: Failed with InvalidSpec, no traffic change', () => {
    const w = adopted();
    w.release('app:v2');
    w.runUntil((x) => x.vsWeight === 25);
    w.awaitingRouting = awaiting;
    w.pass();
    expect(w.status).toMatchObject({ phase: 'Failed', reason: 'InvalidSpec' });
    expect(w.status.message).toContain('spec.trafficRouting.istio.virtualService: ');
    expect(w.vsWeight).toBe(25);
  });
});
