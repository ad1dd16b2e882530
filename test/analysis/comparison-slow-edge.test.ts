import { describe, expect, it } from 'vitest';
import { chooseSlowEdge } from '../../src/analysis/comparison/slow-edge.js';

describe('the slow-request edge', () => {
  it("moves the user's slowRequestMs up to the next bucket edge and says so", () => {
    expect(chooseSlowEdge(300, 120, 500)).toEqual({
      ms: 500,
      source: 'spec',
      detail: '500 ms: analysis.comparison.slowRequestMs 300 ms moved to the next latency bucket edge',
    });
    expect(chooseSlowEdge(250, 120, 500)).toMatchObject({ ms: 250, source: 'spec' });
  });

  it("takes the bucket edge at or above stable's P99, else the P99 threshold's", () => {
    expect(chooseSlowEdge(undefined, 183.4, 500)).toMatchObject({ ms: 250, source: 'stable-p99' });
    expect(chooseSlowEdge(undefined, 250, 500)).toMatchObject({ ms: 250, source: 'stable-p99' });
    expect(chooseSlowEdge(undefined, undefined, 700)).toMatchObject({ ms: 1000, source: 'p99-threshold' });
    expect(chooseSlowEdge(undefined, Number.NaN, 500)).toMatchObject({ ms: 500, source: 'p99-threshold' });
  });
});
