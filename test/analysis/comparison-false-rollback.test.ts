import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/analysis/comparison/random.js';
import { defaultScenario, simulateRollout, withinThreeSe } from './comparison-traffic.js';

const RUNS = 2000;
const ALPHA = 0.01;
const sameAsStable = { errorRate: 0.001, slowRate: 0.01 };

describe('comparison of a canary as good as stable (A/A)', () => {
  it('rolls back at most alpha of the rollouts, checked every second over 5/25/50/100% steps', () => {
    const random = seededRandom(20240601);
    let rolledBack = 0;
    let passedEveryStep = 0;
    for (let run = 0; run < RUNS; run++) {
      const outcome = simulateRollout(random, defaultScenario(sameAsStable));
      if (outcome.rolledBack) rolledBack += 1;
      else if (outcome.stepPassed.every(Boolean)) passedEveryStep += 1;
    }
    expect(rolledBack / RUNS).toBeLessThanOrEqual(withinThreeSe(ALPHA, RUNS));
    // A good release is not held for lack of evidence: every step passes at the end of its 60 s.
    expect(passedEveryStep / (RUNS - rolledBack)).toBeGreaterThanOrEqual(0.99);
  }, 120_000);
});
