import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/analysis/comparison/random.js';
import { defaultScenario, median, simulateRollout } from './comparison-traffic.js';

const RUNS = 500;

describe('comparison of a worse canary', () => {
  it('rolls back a canary at 5% errors (stable 0.1%) within the 5% step, typically in about 12 s', () => {
    const random = seededRandom(11);
    const outcomes = Array.from({ length: RUNS }, () =>
      simulateRollout(random, defaultScenario({ errorRate: 0.05, slowRate: 0.01 })),
    );
    const inFirstStep = outcomes.filter((o) => o.rolledBack && o.seconds <= 60);
    expect(inFirstStep.length / RUNS).toBeGreaterThanOrEqual(0.99);
    expect(inFirstStep.every((o) => o.guard === 'errors')).toBe(true);
    expect(median(outcomes.map((o) => o.seconds))).toBeLessThanOrEqual(15);
  });

  it('rolls back a canary at 1% errors (10x stable) within the four steps', () => {
    const random = seededRandom(12);
    const outcomes = Array.from({ length: RUNS }, () =>
      simulateRollout(random, defaultScenario({ errorRate: 0.01, slowRate: 0.01 })),
    );
    expect(outcomes.filter((o) => o.rolledBack).length / RUNS).toBeGreaterThanOrEqual(0.99);
    // Most of them before the canary gets half of the traffic.
    expect(median(outcomes.map((o) => o.seconds))).toBeLessThanOrEqual(120);
  });

  it('rolls back on slow requests alone and does not let the step pass', () => {
    const random = seededRandom(13);
    const scenario = defaultScenario({ errorRate: 0.001, slowRate: 0.05 }, { steps: 1, weight: () => 0.25 });
    const outcomes = Array.from({ length: RUNS }, () => simulateRollout(random, scenario));
    const held = outcomes.filter((o) => o.rolledBack || o.stepPassed[0] === false);
    expect(held.length / RUNS).toBeGreaterThanOrEqual(0.99);
    expect(outcomes.filter((o) => o.guard === 'slow').length / RUNS).toBeGreaterThanOrEqual(0.99);
  });
});
