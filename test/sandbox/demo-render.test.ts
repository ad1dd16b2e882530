import { describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../src/api/status.js';
import {
  describeStatus,
  describeTransition,
  fit,
  formatAnalysis,
  formatElapsed,
  formatEvidence,
  formatRequests,
  formatStatusLine,
  formatStep,
  renderFrame,
  weightBar,
} from '../../sandbox/demo/render.js';

const count = (text: string, cell: string) => [...text].filter((c) => c === cell).length;

const progressing: RolloutStatus = {
  phase: 'Progressing',
  currentStep: 2,
  canaryWeight: 25,
  stableRevision: '3ea34d531e',
  canaryRevision: 'c11e3094cd',
  message: 'step 2/4 (weight 25%): analysing the canary',
  analysis: {
    checks: 5,
    failed: 0,
    inconclusive: 2,
    consecutiveInconclusive: 0,
    requests: 63.6,
    errorRate: 0.0483,
    p99Ms: 241.37,
    evidence: 3.217,
  },
};

const rolledBack: RolloutStatus = {
  ...progressing,
  phase: 'RolledBack',
  canaryWeight: 0,
  reason: 'ErrorRate',
  message: 'step 2/4 (weight 25%): canary error rate 4.83% is above the limit 1%',
};

describe('weightBar', () => {
  it('splits the cells between stable (left) and canary (right) by the canary weight', () => {
    const bar = weightBar(25, 40);
    expect([...bar]).toHaveLength(40);
    expect(count(bar, '░')).toBe(30);
    expect(count(bar, '█')).toBe(10);
    expect(bar.indexOf('█')).toBe(30);
  });

  it('shows a small weight as at least one canary cell, and 99% as at least one stable cell', () => {
    expect(count(weightBar(1, 40), '█')).toBe(1);
    expect(count(weightBar(99, 40), '░')).toBe(1);
  });

  it('is all stable at 0% and all canary at 100%, and clamps nonsense weights', () => {
    expect(weightBar(0, 10)).toBe('░'.repeat(10));
    expect(weightBar(100, 10)).toBe('█'.repeat(10));
    expect(weightBar(-5, 10)).toBe('░'.repeat(10));
    expect(weightBar(250, 10)).toBe('█'.repeat(10));
    expect(weightBar(Number.NaN, 10)).toBe('░'.repeat(10));
  });
});

describe('numbers', () => {
  it('formats elapsed time as minutes:seconds', () => {
    expect(formatElapsed(0)).toBe('0:00');
    expect(formatElapsed(23_400)).toBe('0:23');
    expect(formatElapsed(65_000)).toBe('1:05');
  });

  it('shows the step as i/N only while a canary is stepped through', () => {
    expect(formatStep(2, 4)).toBe('2/4');
    expect(formatStep(0, 4)).toBe('-');
    expect(formatStep(undefined, 4)).toBe('-');
  });

  it('rounds extrapolated request counts and shows missing values as a dash', () => {
    expect(formatRequests(55.7)).toBe('56');
    expect(formatRequests(undefined)).toBe('-');
    expect(formatRequests(Number.NaN)).toBe('-');
  });

  it('gives the evidence two significant digits', () => {
    expect(formatEvidence(0.4213)).toBe('0.42');
    expect(formatEvidence(3.217)).toBe('3.2');
    expect(formatEvidence(15.4)).toBe('15');
    expect(formatEvidence(2360.2)).toBe('2360');
    expect(formatEvidence(undefined)).toBe('-');
  });

  it('puts the canary analysis in one line with the evidence limit', () => {
    expect(formatAnalysis(progressing, 100)).toBe(
      'requests 64 · error rate 4.83% · P99 241 ms · evidence 3.2 (rollback at 100)',
    );
    expect(formatAnalysis(undefined, 100)).toBe('requests - · error rate - · P99 - · evidence -');
  });

  it('cuts long lines with an ellipsis', () => {
    expect(fit('abcdef', 4)).toBe('abc…');
    expect(fit('abc', 4)).toBe('abc');
  });
});

describe('describeTransition', () => {
  it('names a step change with its weight', () => {
    const step1 = { ...progressing, currentStep: 1, canaryWeight: 5 };
    expect(describeTransition(step1, progressing, 4)).toBe('Progressing · step 2/4 · canary 25%');
  });

  it('is silent when only the analysis values changed', () => {
    const later = { ...progressing, analysis: { ...progressing.analysis!, requests: 99 } };
    expect(describeTransition(progressing, later, 4)).toBeUndefined();
  });

  it('gives the reason and message of a verdict', () => {
    expect(describeTransition(progressing, rolledBack, 4)).toBe(
      'RolledBack · step 2/4 · canary 0% · ErrorRate: step 2/4 (weight 25%): canary error rate 4.83% is above the limit 1%',
    );
  });
});

describe('renderFrame', () => {
  const frame = {
    title: 'Release 1.1.0: a good image (expect Succeeded)',
    status: progressing,
    totalSteps: 4,
    evidenceLimit: 100,
    elapsedMs: 14_200,
    transitions: [
      { atMs: 1_000, text: 'Progressing · step 1/4 · canary 5%' },
      { atMs: 9_000, text: 'Progressing · step 2/4 · canary 25%' },
    ],
  };

  it('shows phase, step, traffic split, analysis, message, elapsed time and the transitions', () => {
    const lines = renderFrame(frame, { width: 120 });
    expect(lines[0]).toBe('▶ Release 1.1.0: a good image (expect Succeeded)');
    expect(lines[1]).toMatch(/phase\s+Progressing\s+step 2\/4\s+elapsed 0:14$/);
    expect(lines[2]).toContain(`stable  75% ${weightBar(25, 40)} 25% canary`);
    expect(lines[3]).toContain(
      'requests 64 · error rate 4.83% · P99 241 ms · evidence 3.2 (rollback at 100)',
    );
    expect(lines[4]).toContain('step 2/4 (weight 25%): analysing the canary');
    expect(lines.slice(5)).toEqual([
      '  log      0:01  Progressing · step 1/4 · canary 5%',
      '           0:09  Progressing · step 2/4 · canary 25%',
    ]);
  });

  it('keeps every line within the terminal width so the redraw can count lines', () => {
    const lines = renderFrame({ ...frame, status: rolledBack }, { width: 50 });
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(50);
    expect(lines[2]).toContain('stable 100%');
  });

  it('colours the phase line by phase only when asked', () => {
    const red = renderFrame({ ...frame, status: rolledBack }, { color: true })[1]!;
    expect(red.startsWith('\u001b[31m')).toBe(true);
    expect(red.endsWith('\u001b[0m')).toBe(true);
    expect(renderFrame({ ...frame, status: rolledBack })[1]).not.toContain('\u001b');
  });

  it('shows only the latest transitions', () => {
    const transitions = Array.from({ length: 10 }, (_, i) => ({ atMs: i * 1000, text: `t${i}` }));
    const lines = renderFrame({ ...frame, transitions }, { logLines: 3 });
    expect(lines.slice(5).map((l) => l.trim().split(/\s+/).pop())).toEqual(['t7', 't8', 't9']);
  });

  it('says when the controller has not written a status yet', () => {
    const lines = renderFrame({ ...frame, status: undefined, transitions: [] });
    expect(lines[1]).toMatch(/phase\s+\(none yet\)\s+step -/);
    expect(lines[2]).toContain('stable 100%');
  });
});

describe('the non-TTY line', () => {
  it('has the elapsed time, phase, step, weight, analysis and message', () => {
    expect(formatStatusLine(progressing, 4, 14_200, 100)).toBe(
      '[0:14] Progressing · step 2/4 · canary 25% · requests 64 · error rate 4.83% · P99 241 ms · evidence 3.2 (rollback at 100) · step 2/4 (weight 25%): analysing the canary',
    );
  });

  it('does not depend on the clock, so an unchanged status is not printed twice', () => {
    expect(describeStatus(progressing, 4)).toBe(describeStatus({ ...progressing }, 4));
    expect(formatStatusLine(undefined, 4, 0)).toBe(
      '[0:00] waiting for the controller to pick up the Rollout',
    );
  });
});
