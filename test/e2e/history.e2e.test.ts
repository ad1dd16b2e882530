// Release history end to end: the real controller process records each finished release in status.history,
// and `stepwise history` (a child process) lists them, newest first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../src/api/status.js';
import { APP, IMAGE, prometheusInstalled, startE2E, type E2E } from './harness.js';

describe.skipIf(!prometheusInstalled)('release history on the sandbox, end to end', () => {
  let e2e: E2E;

  beforeAll(async () => {
    // The default analysis (thresholds and the comparison), checked every second over short steps. The 5% release
    // must fail before its one step ends: at 50 requests/s and 3 s, its last check saw about 60 requests, and 2 errors
    // or fewer (37% of runs) passed it. At 200/s and 6 s the last check sees about 500, and passes below one run in
    // a thousand.
    e2e = await startE2E({
      rps: 200,
      analysis: { interval: '1s', stepDuration: '6s', minRequests: 10 },
      steps: [{ weight: 50 }],
    });
    await e2e.adopted();
  }, 120_000);

  afterAll(async () => {
    await e2e?.close();
  });

  it('lists a promoted and a rolled-back release with their revision numbers, images and reasons', async () => {
    const finished = (n: number) => (s: RolloutStatus) => (s.history?.length ?? 0) >= n;
    await e2e.release(`${IMAGE}:1.1.0`);
    await e2e.waitFor('the good release to be promoted', finished(1), 120_000);
    await e2e.release(`${IMAGE}:1.2.0-bad-errors`);
    await e2e.waitFor('the bad release to be rolled back', finished(2), 120_000);

    const history = (await e2e.status()).history!;
    expect(history.map((r) => [r.outcome, r.images])).toEqual([
      ['RolledBack', [`${APP}=${IMAGE}:1.2.0-bad-errors`]],
      ['Succeeded', [`${APP}=${IMAGE}:1.1.0`]],
    ]);
    const run = await e2e.cli(['history', `rollout/${APP}`]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    // Revision 1 is the version adopted; each release started takes the next number.
    expect(lines[0]).toMatch(/^REVISION\s+TEMPLATE\s+IMAGE\s+OUTCOME\s+DURATION\s+FINISHED\s+REASON$/);
    expect(lines[1]).toMatch(
      /^3\s+[0-9a-f]{10}\s+\S+:1\.2\.0-bad-errors\s+RolledBack\s+\S+\s+\S+ ago\s+\w+: step 1\/1/,
    );
    expect(lines[2]).toMatch(/^2\s+[0-9a-f]{10}\s+\S+:1\.1\.0\s+Succeeded\s+\S+\s+\S+ ago\s+Promoted: /);

    // `status` numbers the revisions the same way: the rolled-back canary 3 beside the stable 2.
    const status = await e2e.cli(['status', APP]);
    expect(status.stdout).toMatch(/^ {2}revision 3 \(canary\) {2}\S+:1\.2\.0-bad-errors · 0\/0 ready$/m);
    expect(status.stdout).toMatch(/^ {2}revision 2 \(stable\) {2}\S+:1\.1\.0 · \d+\/\d+ ready$/m);
    expect(status.stdout).toMatch(/^ {2}revision 3 {2}\S+:1\.2\.0-bad-errors {2}RolledBack /m);
  }, 300_000);
});
