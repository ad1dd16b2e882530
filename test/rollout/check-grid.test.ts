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
