import { describe, expect, it } from 'vitest';
import { decide, signatureKey } from '../../src/server/webhook-replay-shared.js';

describe('the signature record every replica shares', () => {
  const limits = { windowSeconds: 300, capacity: 3 };
  const T = 1_000_000_000;
  const key = (i: number) => signatureKey(i.toString(16).padStart(64, '0'));
  const recordAll = (entries: [number, number][], now: number) => {
    let annotation: string | undefined;
    for (const [i, t] of entries) {
      const decision = decide(annotation, key(i), t, 'writer', now, limits);
      if (decision.kind !== 'record') throw new Error(`signature ${i} not recorded: ${decision.kind}`);
      annotation = decision.annotation;
    }
    return annotation;
  };

  it('keeps a signature for two windows, so a replica whose clock is up to one window behind still refuses it', () => {
    const annotation = recordAll([[1, T]], T);
    // The writer's clock is 299 s ahead of a replica that still accepts timestamp T (its clock reads T + 300).
    expect(decide(annotation, key(1), T, 'other', T + 599, limits)).toMatchObject({
      kind: 'refused',
      verdict: { status: 401 },
    });
    // Past two windows no replica within one window of this clock accepts T any more: the entry is dropped.
    const later = decide(annotation, key(2), T + 601, 'other', T + 601, limits);
    expect(later.kind).toBe('record');
    expect(Object.keys(JSON.parse((later as { annotation: string }).annotation) as object)).toEqual([key(2)]);
  });

  it('tells its own write apart from another replica’s, so a retried patch that had landed is not a replay', () => {
    const annotation = recordAll([[1, T]], T);
    expect(decide(annotation, key(1), T, 'writer', T, limits)).toEqual({ kind: 'ours' });
    expect(decide(annotation, key(1), T, 'someone-else', T, limits).kind).toBe('refused');
  });

  it('refuses a new signature with 503 while the Rollout holds as many as it may keep', () => {
    const annotation = recordAll(
      [
        [1, T],
        [2, T],
        [3, T],
      ],
      T,
    );
    expect(annotation!.length).toBeLessThan(400);
    expect(decide(annotation, key(4), T, 'writer', T, limits)).toMatchObject({
      kind: 'refused',
      verdict: { status: 503, reason: /more than 3 signed triggers for this Rollout within 600 s/ },
    });
  });

  it('starts afresh from an annotation someone overwrote with anything else', () => {
    for (const junk of ['', 'not json', '[1,2]', '{"k":5}', '{"k":{"t":"x","by":1}}']) {
      const decision = decide(junk, key(1), T, 'writer', T, limits);
      expect(decision.kind, junk).toBe('record');
    }
  });
});
