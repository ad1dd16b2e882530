// The release history in status: each finished release, driven through the real state machine tick by tick.
import { describe, expect, it } from 'vitest';
import { HISTORY_LIMIT } from '../../src/rollout/history.js';
import { baseSpec, scriptedChecker, World } from './world.js';

const settled = (w: World) => ['Succeeded', 'RolledBack', 'Aborted'].includes(w.status.phase ?? '');

function adopted(): World {
  const w = new World(baseSpec, 'app:v1', scriptedChecker({ 'app:bad': 0.05 }));
  w.runUntil((x) => x.status.phase === 'Healthy');
  return w;
}

describe('release history', () => {
  it('records each finished release, newest first, with revision, images, outcome, reason and times', () => {
    const w = adopted();
    expect(w.status.history).toBeUndefined(); // adopting the running version is not a release
    const goodStart = w.now;
    w.release('app:v2');
    w.runUntil(settled);
    const promotedAt = w.now;
    w.release('app:bad');
    w.runUntil(settled);

    const [bad, good] = w.status.history!;
    expect(w.status.history).toHaveLength(2);
    expect(good).toEqual({
      number: 2,
      revision: 'app:v2',
      images: ['app=app:v2'],
      outcome: 'Succeeded',
      reason: 'Promoted',
      message: 'revision app:v2 (image app:v2) is now stable and serves 100% of the traffic',
      startedAt: expect.any(String),
      finishedAt: new Date(promotedAt).toISOString(),
    });
    expect(Date.parse(good!.startedAt!)).toBeGreaterThanOrEqual(goodStart);
    expect(bad).toMatchObject({
      number: 3,
      revision: 'app:bad',
      images: ['app=app:bad'],
      outcome: 'RolledBack',
      reason: 'ErrorRate',
      message: w.status.message,
    });
    expect(Date.parse(bad!.finishedAt) - Date.parse(bad!.startedAt!)).toBeGreaterThan(0);
  });

  it('records an abort and the retry of the same revision as two releases', () => {
    const w = adopted();
    w.release('app:v2');
    w.runUntil((x) => x.status.currentStep === 2 && x.vsWeight === 25);
    w.sendCommand('abort', 'a-1');
    w.pass();
    w.runFor(30_000);
    w.sendCommand('retry', 'r-1');
    w.runUntil((x) => x.status.phase === 'Succeeded');
    expect(w.status.history!.map((r) => [r.number, r.revision, r.outcome])).toEqual([
      [3, 'app:v2', 'Succeeded'],
      [2, 'app:v2', 'Aborted'],
    ]);
  });

  it(`keeps only the last ${HISTORY_LIMIT} releases`, () => {
    const w = adopted();
    for (let i = 1; i <= HISTORY_LIMIT + 2; i++) {
      w.release(`app:v${i + 1}`);
      w.runUntil(settled);
    }
    expect(w.status.history).toHaveLength(HISTORY_LIMIT);
    expect(w.status.history![0]!.revision).toBe(`app:v${HISTORY_LIMIT + 3}`);
    expect(w.status.history!.at(-1)!.revision).toBe('app:v4');
    // Numbers keep counting when the oldest releases drop out, so #4 always means the same release.
    expect(w.status.history!.map((r) => r.number)).toEqual([13, 12, 11, 10, 9, 8, 7, 6, 5, 4]);
  });

  it('numbers revisions: 1 for the adopted version, the next for each release started, stable takes the promoted one', () => {
    const w = adopted();
    expect([w.status.stableRevisionNumber, w.status.canaryRevisionNumber]).toEqual([1, undefined]);
    w.release('app:v2');
    w.runUntil((x) => x.status.phase === 'Progressing');
    expect([w.status.stableRevisionNumber, w.status.canaryRevisionNumber]).toEqual([1, 2]);
    w.runUntil(settled);
    expect(w.status.stableRevisionNumber).toBe(2);
    w.release('app:bad');
    w.runUntil(settled);
    expect(w.status.phase).toBe('RolledBack');
    // The rolled-back release keeps its number; stable is still release 2.
    expect([w.status.stableRevisionNumber, w.status.canaryRevisionNumber]).toEqual([2, 3]);
    w.release('app:v4');
    w.runUntil((x) => x.status.canaryRevision === 'app:v4');
    expect(w.status.canaryRevisionNumber).toBe(4);
  });

  it('numbers a status written before revisions were numbered after its history', () => {
    const w = adopted();
    w.release('app:v2');
    w.runUntil(settled);
    delete w.status.stableRevisionNumber;
    delete w.status.canaryRevisionNumber;
    w.status.history![0]!.number = 5;
    w.release('app:v3');
    w.runUntil(settled);
    expect(w.status.history!.map((r) => r.number)).toEqual([7, 5]);
    expect(w.status.stableRevisionNumber).toBe(7); // the old stable was numbered 6 when the release started
  });
});
