import { describe, expect, it } from 'vitest';
import { ReplayGuard } from '../../src/server/webhook-replay.js';

describe('the replay guard of signed triggers', () => {
  const digest = (i: number) => i.toString(16).padStart(64, '0');

  it('forgets a signature once its timestamp left the window, so memory stays bounded', () => {
    let now = 1_000_000_000;
    const guard = new ReplayGuard(300, 3, () => now * 1000);
    const at = String(now);
    for (let i = 0; i < 3; i++) expect(guard.use(digest(i), at)).toEqual({ ok: true });
    expect(guard.use(digest(0), at)).toMatchObject({ ok: false, status: 401 });
    // Full: a fourth signature within the window is refused rather than letting an old one be forgotten early.
    expect(guard.use(digest(3), at)).toMatchObject({ ok: false, status: 503 });

    now += 301;
    // The old timestamp is refused by the window from now on, so the guard may forget its signatures.
    expect(guard.checkTimestamp(at)).toMatchObject({ ok: false, status: 401 });
    for (let i = 4; i < 7; i++) expect(guard.use(digest(i), String(now))).toEqual({ ok: true });
  });

  it('accepts timestamps up to the window away on either side, and only whole Unix seconds', () => {
    const now = 1_000_000_000;
    const guard = new ReplayGuard(300, 10, () => now * 1000);
    expect(guard.checkTimestamp(String(now - 300)).ok).toBe(true);
    expect(guard.checkTimestamp(String(now + 300)).ok).toBe(true);
    expect(guard.checkTimestamp(String(now + 301)).ok).toBe(false);
    for (const bad of [undefined, '', '1e9', '-5', '1000000000.5', `${now}abc`])
      expect(guard.checkTimestamp(bad)).toMatchObject({ ok: false, reason: /Unix seconds/ });
  });
});
