import { describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../src/api/status.js';
import { checkDue, nextCheckAtMs } from '../../src/rollout/checks.js';
import { rolloutSpecSchema } from '../../src/api/schema.js';
import { baseSpec } from './world.js';

// Checks fall on the interval's grid (multiples of `interval` since the epoch), so that Rollouts whose steps started
// at different moments are checked at the same instants and their counters can be read in one query.

const spec = rolloutSpecSchema.parse({ ...baseSpec, analysis: { ...baseSpec.analysis, interval: '10s' } });
const t = (clock: string) => Date.parse(`2026-03-01T10:${clock}Z`);
const progressing = (stepStartedAt: string, lastCheckAt?: string): RolloutStatus =>
  ({
    phase: 'Progressing',
    currentStep: 0,
    stepStartedAt: new Date(t(stepStartedAt)).toISOString(),
    ...(lastCheckAt && { analysis: { lastCheckAt: new Date(t(lastCheckAt)).toISOString() } }),
  }) as RolloutStatus;

describe('when checks are due', () => {
  it('checks Rollouts whose steps started seconds apart at the same grid instant, one interval after each start at least', () => {
    const early = progressing('00:01.300');
    const late = progressing('00:07.900');
    expect(nextCheckAtMs(spec, early)).toBe(t('00:20.000'));
    expect(nextCheckAtMs(spec, late)).toBe(t('00:20.000'));
    expect(checkDue(spec, late, new Date(t('00:19.999')))).toBeUndefined();
    // Passes that run a little after the instant (the work queue) evaluate at the instant itself.
    expect(checkDue(spec, early, new Date(t('00:20.250')))?.at).toEqual(new Date(t('00:20.000')));
    expect(checkDue(spec, late, new Date(t('00:21.700')))?.at).toEqual(new Date(t('00:20.000')));
    // A step that started 5 s before a grid instant is first checked at the one after: never after less than an interval.
    expect(nextCheckAtMs(spec, progressing('00:15.000'))).toBe(t('00:30.000'));
  });

  it('checks again one interval after the instant the latest check evaluated at, however late its pass ran', () => {
    expect(nextCheckAtMs(spec, progressing('00:01.300', '00:20.250'))).toBe(t('00:30.000'));
    expect(nextCheckAtMs(spec, progressing('00:01.300', '00:29.900'))).toBe(t('00:30.000'));
    expect(checkDue(spec, progressing('00:01.300', '00:20.250'), new Date(t('00:30.010')))?.at).toEqual(
      new Date(t('00:30.000')),
    );
  });
});

describe("the thresholds' window", () => {
  it('starts at the first grid instant at or after the step started, so steps started within one interval judge the same window', () => {
    const due = (started: string, now: string) => checkDue(spec, progressing(started), new Date(t(now)))!;
    expect(due('00:01.300', '00:20.250').windowStartedAt).toEqual(new Date(t('00:10.000')));
    expect(due('00:07.900', '00:21.700').windowStartedAt).toEqual(new Date(t('00:10.000')));
    // On the grid already: the window starts with the step.
    expect(due('00:10.000', '00:20.000').windowStartedAt).toEqual(new Date(t('00:10.000')));
    expect(due('00:10.001', '00:30.000').windowStartedAt).toEqual(new Date(t('00:20.000')));
  });

  it('holds only the step’s traffic and at least one interval at the step’s first check', () => {
    for (const started of ['00:00.000', '00:00.001', '00:04.999', '00:09.999', '00:15.000']) {
      const status = progressing(started);
      const first = nextCheckAtMs(spec, status)!;
      const check = checkDue(spec, status, new Date(first))!;
      expect(check.windowStartedAt.getTime(), started).toBeGreaterThanOrEqual(t(started));
      expect(check.windowStartedAt.getTime() - t(started), started).toBeLessThan(10_000);
      expect(check.at.getTime() - check.windowStartedAt.getTime(), started).toBeGreaterThanOrEqual(10_000);
    }
  });
});

describe("the comparison's baseline", () => {
  const due = (status: RolloutStatus, now: string) => checkDue(spec, status, new Date(t(now)))!;

  it('is read at the grid instant at or before the step started, so releases begun within one interval share it', () => {
    expect(due(progressing('00:01.300'), '00:20.250').baselineAt).toEqual(new Date(t('00:00.000')));
    expect(due(progressing('00:07.900'), '00:21.700').baselineAt).toEqual(new Date(t('00:00.000')));
    expect(due(progressing('00:10.000'), '00:20.000').baselineAt).toEqual(new Date(t('00:10.000')));
    expect(due(progressing('00:10.001'), '00:30.000').baselineAt).toEqual(new Date(t('00:10.000')));
  });

  it('is read at the step’s own start in a release that replaced another mid-rollout, until its first check', () => {
    const replacing = (checks: number) => {
      const status = progressing('00:07.900');
      status.analysis = {
        checks,
        failed: 0,
        inconclusive: 0,
        consecutiveInconclusive: 0,
        replacedCanary: true,
      };
      return status;
    };
    expect(due(replacing(0), '00:21.700').baselineAt).toEqual(new Date(t('00:07.900')));
    // Checked once, the replaced canary's traffic lies before that check's reading: the grid again.
    expect(due(replacing(1), '00:21.700').baselineAt).toEqual(new Date(t('00:00.000')));
  });
});
