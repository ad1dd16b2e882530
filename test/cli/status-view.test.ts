import { describe, expect, it } from 'vitest';
import { rolloutSpecSchema } from '../../src/api/schema.js';
import type { RolloutStatus } from '../../src/api/status.js';
import { renderList } from '../../src/cli/render/list-table.js';
import { weightBar } from '../../src/cli/render/format.js';
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
  canaryRevision: 'bbbb222222',
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
  it('shows phase, step i/N, a weight bar, both revisions with images', () => {
    const text = renderStatus({
      rollout: rollout(progressing),
      spec,
      stableImage: 'reg/app:1.0.0',
      canaryImage: 'reg/app:1.1.0',
      now,
    });
    expect(text).toContain('Phase:     Progressing');
    expect(text).toMatch(/Step:\s+2\/3/);
    expect(text).toContain(`${weightBar(25)} 25% canary`);
    expect(text).toMatch(/Stable:\s+aaaa111111\s+reg\/app:1\.0\.0/);
    expect(text).toMatch(/Canary:\s+bbbb222222\s+reg\/app:1\.1\.0/);
  });

  it('puts each analysis value next to its limit and marks the one over it', () => {
    const text = renderStatus({ rollout: rollout(progressing), spec, now });
    expect(text).toMatch(/requests\s+30\s+min 50\s+too few/);
    expect(text).toMatch(/error rate\s+0\.2%\s+max 1%\s+ok/);
    expect(text).toMatch(/P99\s+730 ms\s+max 500 ms\s+OVER/);
    expect(text).toMatch(/evidence\s+3\.5\s+rollback at 100\s+ok/);
    expect(text).toMatch(/rate ratio\s+0\.6\.\.1\.8\s+hold above 1\.5\s+ok/);
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
    expect(text).toContain(
      'Rollback:  ErrorRate: step 1/3 (weight 5%): canary error rate 5% is above the limit 1%',
    );
    expect(text).toContain('Command:   promote REJECTED 1m ago: nothing to promote');
    expect(text).not.toContain('Step time');
  });

  it('prints one line per state for logs', () => {
    expect(statusLine(progressing, spec)).toBe(
      'Progressing step 2/3 weight 25% - step 2/3 (weight 25%): analysing the canary',
    );
    expect(statusLine({}, spec)).toBe('Pending     weight 0%');
  });

  it('draws the weight bar in proportion', () => {
    expect(weightBar(0, 10)).toBe('[░░░░░░░░░░]');
    expect(weightBar(50, 10)).toBe('[█████░░░░░]');
    expect(weightBar(100, 10)).toBe('[██████████]');
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

  it('says so when there is nothing to list', () => {
    expect(renderList([], now)).toBe('No Rollouts found.');
  });
});
