import { describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../src/api/status.js';
import { followRelease, judgeRelease } from '../../src/trigger/follow.js';

const NEW = 'new0000001';
const OLD = 'old0000001';

describe('judging a triggered revision', () => {
  it('does not take the Succeeded of the previous release for the new one', () => {
    expect(judgeRelease({ phase: 'Succeeded', stableRevision: OLD }, NEW)).toEqual({ done: false });
    expect(judgeRelease({ phase: 'Progressing', stableRevision: OLD, canaryRevision: NEW }, NEW)).toEqual({
      done: false,
    });
  });

  it('succeeds once the revision is stable', () => {
    expect(judgeRelease({ phase: 'Succeeded', stableRevision: NEW }, NEW)).toMatchObject({
      done: true,
      succeeded: true,
    });
    expect(judgeRelease({ phase: 'Healthy', stableRevision: NEW }, NEW)).toMatchObject({
      done: true,
      succeeded: true,
    });
  });

  it('fails with the reason when this revision was rolled back or aborted, not an older one', () => {
    const rolledBack: RolloutStatus = {
      phase: 'RolledBack',
      stableRevision: OLD,
      rolledBackRevision: NEW,
      reason: 'ErrorRate',
      message: 'canary error rate 5% is above the limit 1%',
    };
    expect(judgeRelease(rolledBack, NEW)).toMatchObject({
      done: true,
      succeeded: false,
      summary: expect.stringContaining(
        'was rolled back: ErrorRate: canary error rate 5% is above the limit 1%',
      ),
    });
    expect(judgeRelease({ ...rolledBack, rolledBackRevision: 'other00001' }, NEW)).toEqual({ done: false });
    expect(judgeRelease({ ...rolledBack, phase: 'Aborted' }, NEW)).toMatchObject({
      done: true,
      succeeded: false,
    });
  });

  it('names the revision once when the status message names it too', () => {
    const message = `canary error rate 5% is above the limit 1%; revision ${NEW} (image app:v2) rolled back`;
    const status: RolloutStatus = {
      phase: 'RolledBack',
      stableRevision: OLD,
      rolledBackRevision: NEW,
      reason: 'ErrorRate',
      message,
      lastRollback: {
        revision: NEW,
        phase: 'RolledBack',
        reason: 'ErrorRate',
        message: 'canary error rate 5% is above the limit 1%',
        at: '2026-01-01T00:00:00Z',
      },
    };
    const verdict = judgeRelease(status, NEW);
    expect(verdict).toMatchObject({ done: true, succeeded: false });
    const summary = verdict.done ? verdict.summary : '';
    expect(summary.split(NEW)).toHaveLength(2);
    expect(summary).toContain('was rolled back: ErrorRate: canary error rate 5% is above the limit 1%');
  });

  it('fails on an invalid spec at once, on other failures only for this revision', () => {
    expect(
      judgeRelease({ phase: 'Failed', reason: 'InvalidSpec', message: 'spec.steps' }, NEW),
    ).toMatchObject({
      done: true,
      succeeded: false,
    });
    expect(
      judgeRelease({ phase: 'Failed', reason: 'ProgressDeadlineExceeded', canaryRevision: OLD }, NEW),
    ).toEqual({
      done: false,
    });
  });
});

describe('following a release', () => {
  it('prints one line per change and ends with the verdict', async () => {
    const states: RolloutStatus[] = [
      { phase: 'Succeeded', stableRevision: OLD },
      { phase: 'Progressing', currentStep: 1, canaryRevision: NEW },
      { phase: 'Progressing', currentStep: 1, canaryRevision: NEW },
      { phase: 'Succeeded', stableRevision: NEW },
    ];
    const printed: string[] = [];
    const result = await followRelease({
      revision: NEW,
      read: () => Promise.resolve(states.shift()!),
      describe: (s) => `${s.phase} ${s.currentStep ?? ''}`,
      print: (line) => printed.push(line),
      timeoutMs: 10_000,
      pollMs: 1,
    });
    expect(result.outcome).toBe('succeeded');
    expect(printed).toEqual(['Succeeded ', 'Progressing 1', 'Succeeded ']);
  });

  it('times out with the last status when the verdict does not come', async () => {
    const result = await followRelease({
      revision: NEW,
      read: () => Promise.resolve({ phase: 'Progressing', canaryRevision: NEW }),
      describe: (s) => s.phase ?? '',
      print: () => undefined,
      timeoutMs: 30,
      pollMs: 5,
    });
    expect(result).toEqual({ outcome: 'timeout', last: { phase: 'Progressing', canaryRevision: NEW } });
  });
});
