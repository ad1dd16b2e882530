import { describe, expect, it } from 'vitest';
import { rolloutSpecSchema } from '../../src/api/schema.js';
import type { ReleaseRecord, RolloutStatus } from '../../src/api/status.js';
import { renderHistory } from '../../src/cli/render/history-table.js';
import { renderList } from '../../src/cli/render/list-table.js';
import { startComparison } from '../../src/analysis/comparison/counter-comparison.js';
import type { SlowEdge } from '../../src/analysis/comparison/slow-edge.js';
import { formatTraffic, weightBar } from '../../src/cli/render/format.js';
import { renderStatus, statusLine, stepProgress } from '../../src/cli/render/status-view.js';
import type { RolloutObject } from '../../src/kube/cluster.js';

const spec = rolloutSpecSchema.parse({
  targetRef: { name: 'product-service' },
  trafficRouting: { istio: { virtualService: { name: 'vs' }, destinationRule: { name: 'dr' } } },
  steps: [{ weight: 5 }, { weight: 25, pause: true }, { weight: 100 }],
  analysis: { stepDuration: '1m', minRequests: 50, comparison: { falseRollbackRate: 0.01 } },
});
const now = new Date('2026-01-01T12:00:00Z');

function rollout(status: RolloutStatus, created = '2026-01-01T11:00:00Z'): RolloutObject {
  return {
    apiVersion: 'stepwise.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'product-service', namespace: 'shop', creationTimestamp: created as unknown as Date },
    spec,
    status,
  };
}

const progressing: RolloutStatus = {
  phase: 'Progressing',
  currentStep: 2,
  canaryWeight: 25,
  stableRevision: 'aaaa111111',
  stableRevisionNumber: 6,
  canaryRevision: 'bbbb222222',
  canaryRevisionNumber: 7,
  stepStartedAt: '2026-01-01T11:59:40Z',
  message: 'step 2/3 (weight 25%): analysing the canary',
  analysis: {
    checks: 7,
    failed: 0,
    inconclusive: 1,
    consecutiveInconclusive: 0,
    lastVerdict: 'pass',
    requests: 30,
    errorRate: 0.002,
    p99Ms: 730,
    evidence: 3.5,
    rateRatio: { lower: 0.6, upper: 1.8 },
  },
};

describe('stepwise status rendering', () => {
  it('shows phase, step i/N, a weight bar, both revisions numbered with their images', () => {
    const text = renderStatus({
      rollout: rollout(progressing),
      spec,
      stableImage: 'reg/app:1.0.0',
      canaryImage: 'reg/app:1.1.0',
      now,
    });
    expect(text).toContain('Phase:     Progressing');
    expect(text).toMatch(/Step:\s+2\/3/);
    expect(text).toContain('75% ░');
    expect(text).toMatch(/^Revisions:\n {2}revision 7 \(canary\) {2}reg\/app:1\.1\.0$/m);
    expect(text).toMatch(/^ {2}revision 6 \(stable\) {2}reg\/app:1\.0\.0$/m);
  });

  it('puts each analysis value next to its limit with the verdict the check gave', () => {
    const text = renderStatus({ rollout: rollout(progressing), spec, now });
    expect(text).toMatch(/requests\s+30\s+min 50\s+too few yet/);
    expect(text).toMatch(/error rate\s+0\.2%\s+max 1%\s+pass/);
    // 730 ms is over 500 ms, but the check passed: the guard judged it sampling noise.
    expect(text).toMatch(/P99\s+730 ms\s+max 500 ms\s+over, within noise$/m);
    expect(text).not.toContain('OVER');
  });

  it('marks a value over its limit as failed only when the check failed', () => {
    const failed = { ...progressing, analysis: { ...progressing.analysis!, lastVerdict: 'fail' as const } };
    expect(renderStatus({ rollout: rollout(failed), spec, now })).toMatch(
      /P99\s+730 ms\s+max 500 ms\s+FAIL$/m,
    );
  });

  it('says in words how the canary compares with stable and where the rollback bound is', () => {
    const comparison = {
      ...startComparison({ ms: 250, source: 'stable-p99', detail: 'stable P99' } satisfies SlowEdge),
      totals: {
        canary: { requests: 1000, errors: 41, slow: 10 },
        stable: { requests: 10000, errors: 100, slow: 100 },
      },
    };
    const status = { ...progressing, analysis: { ...progressing.analysis!, comparison } };
    expect(renderStatus({ rollout: rollout(status), spec, now })).toContain(
      "Compared:  canary errors 4.1× stable's; canary slow requests 1× stable's; errors ratio likely 0.6×–1.8×; " +
        'rolls back when the evidence against it reaches 100, now 3.5',
    );
  });

  it("shows each revision's ready pods, and its Deployment and pod template under it", () => {
    const text = renderStatus({
      rollout: rollout(progressing),
      spec,
      stableImage: 'reg/app:1.0.0',
      canaryImage: 'reg/app:1.1.0',
      stableWorkload: { name: 'product-service-stable', ready: 3, desired: 3 },
      canaryWorkload: { name: 'product-service-canary', ready: 0, desired: 1 },
      now,
    });
    expect(text).toContain(
      'Revisions:\n' +
        '  revision 7 (canary)  reg/app:1.1.0 · 0/1 ready\n' +
        '    └─ Deployment product-service-canary, pod template bbbb222222\n' +
        '  revision 6 (stable)  reg/app:1.0.0 · 3/3 ready\n' +
        '    └─ Deployment product-service-stable, pod template aaaa111111',
    );
  });

  it('shows only the stable revision once the canary was promoted into it', () => {
    const promoted: RolloutStatus = {
      phase: 'Succeeded',
      stableRevision: 'bbbb222222',
      stableRevisionNumber: 7,
      canaryRevision: 'bbbb222222',
      canaryRevisionNumber: 7,
    };
    const text = renderStatus({ rollout: rollout(promoted), spec, stableImage: 'reg/app:1.1.0', now });
    expect(text).toContain(
      'Revisions:\n  revision 7 (stable)  reg/app:1.1.0\n    └─ pod template bbbb222222',
    );
    expect(text).not.toContain('(canary)');
  });

  it('draws the weight bar as the demo does: the canary share filled', () => {
    const text = renderStatus({ rollout: rollout(progressing), spec, now });
    expect(text).toContain(`Weight:    ${formatTraffic(25)}`);
    expect(formatTraffic(25, 20)).toBe(`stable  75% ${'░'.repeat(15)}${'█'.repeat(5)} 25% canary`);
  });

  it('says how long the step ran and what it still needs', () => {
    expect(stepProgress(progressing, spec, now)).toEqual({
      ranMs: 20_000,
      durationMs: 60_000,
      leftMs: 40_000,
      requestsLeft: 20,
    });
    expect(renderStatus({ rollout: rollout(progressing), spec, now })).toContain(
      'Step time: 20s of at least 1m; needs 40s more and 20 more canary requests',
    );
  });

  it('names the gate and the command that passes it', () => {
    const text = renderStatus({
      rollout: rollout({ ...progressing, phase: 'Paused', reason: 'Gate' }),
      spec,
      now,
    });
    expect(text).toContain('Phase:     Paused (Gate)');
    expect(text).toContain('Gate:      waiting for `stepwise promote product-service`');
    expect(text).toContain('25 gate');
  });

  it('gives the reason of a rollback and the last command', () => {
    const text = renderStatus({
      rollout: rollout({
        phase: 'RolledBack',
        reason: 'ErrorRate',
        message: 'step 1/3 (weight 5%): canary error rate 5% is above the limit 1%',
        analysis: {
          checks: 3,
          failed: 3,
          inconclusive: 0,
          consecutiveInconclusive: 0,
          lastVerdict: 'fail',
          lastMessage: 'step 1/3 (weight 5%): canary error rate 5% is above the limit 1%',
        },
        canaryWeight: 0,
        rolledBackRevision: 'bbbb222222',
        lastCommand: {
          id: 'x',
          command: 'promote',
          accepted: false,
          message: 'nothing to promote',
          at: '2026-01-01T11:59:00Z',
        },
      }),
      spec,
      now,
    });
    const reason = 'step 1/3 (weight 5%): canary error rate 5% is above the limit 1%';
    expect(text).toContain(`Phase:     RolledBack (ErrorRate)\n`);
    expect(text).toContain(`Rollback:  ${reason}`);
    expect(text.split(reason)).toHaveLength(2); // the reason once, not under Message and last: too
    expect(text).toContain('Command:   promote REJECTED 1m ago: nothing to promote');
    expect(text).not.toContain('Step time');
  });

  it('prints one line per state for logs', () => {
    expect(statusLine(progressing, spec)).toBe(
      'Progressing step 2/3 weight 25% - step 2/3 (weight 25%): analysing the canary',
    );
    expect(statusLine({}, spec)).toBe('Pending     weight 0%');
  });

  it('shows a mirror step and a header route beside the weight', () => {
    const mirrorSpec = rolloutSpecSchema.parse({
      ...spec,
      steps: [
        { mirror: { percent: 100 } },
        { headerRoute: { match: [{ headers: [{ name: 'x-canary', value: 'true' }] }] } },
        { weight: 50 },
      ],
    });
    const mirroring: RolloutStatus = {
      phase: 'Progressing',
      currentStep: 1,
      canaryWeight: 0,
      mirrorPercent: 100,
    };
    expect(statusLine(mirroring, mirrorSpec)).toBe('Progressing step 1/3 weight 0%, mirror 100%');
    expect(
      statusLine({ ...mirroring, currentStep: 3, mirrorPercent: undefined, headerRoute: true }, mirrorSpec),
    ).toBe('Progressing step 3/3 weight 0%, header route');
    const text = renderStatus({ rollout: rollout(mirroring), spec: mirrorSpec, now });
    expect(text).toContain('(mirror 100% → header route → 50)');
  });

  it('draws the weight bar in proportion', () => {
    expect(weightBar(0, 10)).toBe('░░░░░░░░░░');
    expect(weightBar(50, 10)).toBe('░░░░░█████');
    expect(weightBar(100, 10)).toBe('██████████');
  });
});

describe('stepwise list rendering', () => {
  it('prints the printer columns, one Rollout per line, by name', () => {
    const b = rollout(progressing);
    const a = {
      ...rollout(
        { phase: 'Healthy', currentStep: 0, canaryWeight: 0, stableRevision: 'cccc' },
        '2026-01-01T11:58:00Z',
      ),
    };
    a.metadata = { ...a.metadata, name: 'cart' };
    const lines = renderList([b, a], now).split('\n');
    expect(lines[0]).toMatch(/^NAME\s+PHASE\s+STEP\s+WEIGHT\s+STABLE\s+CANARY\s+AGE$/);
    expect(lines[1]).toMatch(/^cart\s+Healthy\s+0\s+0\s+cccc\s+2m$/);
    expect(lines[2]).toMatch(/^product-service\s+Progressing\s+2\s+25\s+aaaa111111\s+bbbb222222\s+1h$/);
  });

  it('adds the revision numbers, reason and message with -o wide', () => {
    const promoted = rollout({
      phase: 'Succeeded',
      stableRevision: 'bbbb222222',
      stableRevisionNumber: 7,
      canaryRevision: 'bbbb222222',
      canaryRevisionNumber: 7,
      reason: 'Promoted',
    });
    promoted.metadata = { ...promoted.metadata, name: 'cart' };
    const lines = renderList([rollout(progressing), promoted], now, { wide: true }).split('\n');
    expect(lines[0]).toMatch(/\sAGE\s+STABLE-REV\s+CANARY-REV\s+REASON\s+MESSAGE$/);
    expect(lines[1]).toMatch(/^cart\s.*\s1h\s+7\s+Promoted$/);
    expect(lines[2]).toMatch(
      /^product-service\s.*\s1h\s+6\s+7\s+step 2\/3 \(weight 25%\): analysing the canary$/,
    );
  });

  it('says so when there is nothing to list', () => {
    expect(renderList([], now)).toBe('No Rollouts found.');
  });
});

describe('release history rendering', () => {
  const history: ReleaseRecord[] = [
    {
      number: 7,
      revision: 'cccc333333',
      images: ['app=reg/app:1.2.0'],
      outcome: 'RolledBack',
      reason: 'ErrorRate',
      message: 'step 1/3 (weight 5%): canary error rate 5% is above the limit 1%',
      startedAt: '2026-01-01T11:50:00Z',
      finishedAt: '2026-01-01T11:51:30Z',
    },
    {
      number: 6,
      revision: 'bbbb222222',
      images: ['app=reg/app:1.1.0', 'proxy=reg/proxy:2'],
      outcome: 'Succeeded',
      reason: 'Promoted',
      message: 'revision bbbb222222 is now stable and serves 100% of the traffic',
      startedAt: '2026-01-01T10:00:00Z',
      finishedAt: '2026-01-01T10:05:00Z',
    },
  ];

  it('lists each release with its revision number, image, outcome, duration, when and reason, newest first', () => {
    const lines = renderHistory(history, now).split('\n');
    expect(lines[0]).toMatch(/^REVISION\s+TEMPLATE\s+IMAGE\s+OUTCOME\s+DURATION\s+FINISHED\s+REASON$/);
    expect(lines[1]).toMatch(
      /^7\s+cccc333333\s+reg\/app:1\.2\.0\s+RolledBack\s+1m30s\s+8m30s ago\s+ErrorRate: step 1\/3 .*limit 1%$/,
    );
    expect(lines[2]).toMatch(
      /^6\s+bbbb222222\s+app=reg\/app:1\.1\.0, proxy=reg\/proxy:2\s+Succeeded\s+5m\s+1h55m ago\s+Promoted: /,
    );
    expect(renderHistory(undefined, now)).toBe('No finished releases yet.');
  });

  it('shows the latest releases in status', () => {
    const text = renderStatus({ rollout: rollout({ phase: 'Healthy', history }), spec, now });
    expect(text).toContain(
      'History:\n  revision 7  reg/app:1.2.0  RolledBack (ErrorRate) after 1m30s, 8m30s ago\n' +
        '  revision 6  app=reg/app:1.1.0, proxy=reg/proxy:2  Succeeded (Promoted) after 5m, 1h55m ago',
    );
  });
});
