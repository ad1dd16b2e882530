import { describe, expect, it } from 'vitest';
import { comparisonEvidence } from '../../src/analysis/comparison/guards.js';
import { seededRandom } from '../../src/analysis/comparison/random.js';
import { defaultScenario, simulateRollout, withinThreeSe } from './comparison-traffic.js';

const RUNS = 2000;
const ALPHA = 0.01;
const sameAsStable = { errorRate: 0.001, slowRate: 0.01 };

describe('comparison of a canary as good as stable while the weight moves', () => {
  it('stays within alpha when the weight changes every 10 s, also when the weight follows the evidence', () => {
    const random = seededRandom(7);
    const shares = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9];
    const blockShares = Array.from({ length: 24 }, () => 0);
    let rolledBack = 0;
    for (let run = 0; run < RUNS; run++) {
      for (let b = 0; b < blockShares.length; b++)
        blockShares[b] = shares[Math.floor(random() * shares.length)] ?? 0.05;
      const followsEvidence = run % 2 === 1;
      let share = 0.05;
      const outcome = simulateRollout(
        random,
        defaultScenario(sameAsStable, {
          weight: (step, t, state) => {
            if (t % 10 !== 0) return share;
            // Half the runs pick the weight from the data so far: predictable, so the guarantee still holds.
            if (followsEvidence) share = comparisonEvidence(state) > 1 ? 0.9 : 0.05;
            else share = blockShares[step * 6 + t / 10] ?? 0.05;
            return share;
          },
        }),
      );
      if (outcome.rolledBack) rolledBack += 1;
    }
    expect(rolledBack / RUNS).toBeLessThanOrEqual(withinThreeSe(ALPHA, RUNS));
  }, 120_000);
});
