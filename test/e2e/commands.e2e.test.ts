// Issue "Operator commands and CI trigger": the CLI as a child process against the sandbox and the real
// controller process: trigger --wait exit codes, promote/abort/retry, promote --full and manual gates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP, IMAGE, prometheusInstalled, settled, startE2E, until, type E2E } from './harness.js';

const revisionIn = (stdout: string) => /revision ([0-9a-f]{10})/.exec(stdout)?.[1];

describe.skipIf(!prometheusInstalled)('operator commands on the sandbox, end to end', () => {
  let e2e: E2E;

  beforeAll(async () => {
    e2e = await startE2E({
      analysis: {
        interval: '1s',
        stepDuration: '3s',
        // Enough canary requests that a 5%-error canary cannot pass a step by showing no error by chance
        // (at 10 requests, 0 errors happen 60% of the time; at 50, 8%, and for both steps under 1%).
        minRequests: 50,
        comparison: { enabled: false },
        thresholds: { maxErrorRate: 0.01, maxP99LatencyMs: 500 },
      },
      steps: [{ weight: 20 }, { weight: 60 }],
      podReadyDelayMs: 200,
    });
    await e2e.adopted();
  }, 90_000);

  afterAll(async () => {
    await e2e?.close();
  });

  it('trigger --wait exits 0 once a good image is promoted, one line per change', async () => {
    const run = await e2e.cli(['trigger', APP, '--image', `${IMAGE}:1.1.0`, '--wait', '--timeout', '2m']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /set product-service\/product-service to .*:1\.1\.0 \(was .*:1\.0\.0\); revision [0-9a-f]{10}/,
    );
    expect(lines.some((l) => / Progressing +step 2\/2 weight 60%/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/Succeeded: revision [0-9a-f]{10} is stable/);
    expect(new Set(lines).size).toBe(lines.length);
    expect((await e2e.status()).stableRevision).toBe(revisionIn(run.stdout));
  }, 120_000);

  it('trigger --wait exits 1 with the reason for a bad image', async () => {
    const run = await e2e.cli([
      'trigger',
      APP,
      '--image',
      `${IMAGE}:1.2.0-bad-errors`,
      '--wait',
      '--timeout',
      '2m',
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    // The reason is the first failed check with its value and limit (ErrorRate, unless noise failed another first).
    expect(run.stdout, run.stdout).toMatch(
      /FAILED: revision [0-9a-f]{10} was rolled back: [A-Za-z0-9]+: step \d\/2 \(weight \d+%\): .* is above the limit/,
    );
  }, 120_000);

  it('re-triggering the rolled-back image changes nothing and reports the rollback again', async () => {
    const run = await e2e.cli([
      'trigger',
      APP,
      '--image',
      `${IMAGE}:1.2.0-bad-errors`,
      '--wait',
      '--timeout',
      '30s',
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/already runs .*1\.2\.0-bad-errors; nothing changed/);
  }, 60_000);

  it('trigger --wait exits 2 when the rollout does not end in time', async () => {
    const run = await e2e.cli(['trigger', APP, '--image', `${IMAGE}:1.3.0`, '--wait', '--timeout', '1s']);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout).toMatch(/TIMED OUT after 1s: revision [0-9a-f]{10} is not judged yet/);
    const revision = revisionIn(run.stdout);
    await e2e.waitFor(
      '1.3.0 to be promoted anyway',
      (s) => s.phase === 'Succeeded' && s.stableRevision === revision,
      60_000,
    );
  }, 90_000);

  it('trigger and promote exit 2 for a Rollout that does not exist, promote 1 when rejected', async () => {
    const missing = await e2e.cli(['trigger', 'ghost', '--image', `${IMAGE}:9`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/Rollout default\/ghost not found/);
    expect((await e2e.cli(['promote', 'ghost'])).code).toBe(2);
    const rejected = await e2e.cli(['promote', APP]);
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toMatch(
      /promote default\/product-service rejected: nothing to promote: the rollout is Succeeded/,
    );
  }, 60_000);

  it('promote passes step 1, abort in step 2 puts 100/0 on stable, retry starts the same revision at step 1', async () => {
    await e2e.patchRolloutSpec({
      steps: [
        { weight: 10, duration: '10m' },
        { weight: 30, duration: '10m' },
        { weight: 60, duration: '10m' },
      ],
    });
    const trigger = await e2e.cli(['trigger', APP, '--image', `${IMAGE}:1.4.0`]);
    expect(trigger.code).toBe(0);
    const revision = revisionIn(trigger.stdout);
    await e2e.waitFor(
      'step 1 to run',
      (s) => s.canaryRevision === revision && s.currentStep === 1 && !!s.stepStartedAt,
    );

    const promote = await e2e.cli(['promote', APP]);
    expect(promote.code, promote.stderr).toBe(0);
    expect(promote.stdout).toMatch(/promote default\/product-service: promoted past step 1\/3/);
    await e2e.waitFor('step 2 to run', (s) => s.currentStep === 2 && !!s.stepStartedAt);
    await e2e.meshRoutesCanaryWeight(30);

    const abort = await e2e.cli(['abort', APP, '-o', 'json']);
    expect(abort.code, abort.stderr).toBe(0);
    expect(JSON.parse(abort.stdout)).toMatchObject({ command: 'abort', accepted: true });
    const aborted = await e2e.status();
    expect(aborted).toMatchObject({ phase: 'Aborted', canaryWeight: 0, rolledBackRevision: revision });
    await e2e.meshRoutesCanaryWeight(0);
    const vs = (await e2e.virtualService()) as { spec: { http: { route: { weight?: number }[] }[] } };
    expect(vs.spec.http[1]!.route.map((d) => d.weight)).toEqual([100, 0]);

    const abortedAt = Date.now();
    const retry = await e2e.cli(['retry', APP]);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toMatch(`retrying revision ${revision} (image ${IMAGE}:1.4.0) from step 1`);
    await e2e.waitFor(
      'step 1 again',
      (s) => s.phase === 'Progressing' && s.currentStep === 1 && s.canaryRevision === revision,
    );
    await e2e.meshRoutesCanaryWeight(10);
    expect(
      e2e
        .canaryWeights()
        .filter((w) => w.at >= abortedAt)
        .map((w) => w.weight),
    ).toEqual([10]);
  }, 120_000);

  it('promote --full from step 1 goes straight to promotion (with --force: this revision was aborted before)', async () => {
    const refused = await e2e.cli(['promote', APP, '--full']);
    expect(refused.code, refused.stdout).toBe(1);
    expect(refused.stderr).toMatch(/was aborted at .*needs `stepwise promote --full --force`/);
    const before = Date.now();
    const full = await e2e.cli(['promote', APP, '--full', '--force']);
    expect(full.code, full.stderr).toBe(0);
    expect(full.stdout).toMatch(/skipping the remaining steps from step 1\/3/);
    const status = await e2e.waitFor('promotion', settled, 60_000);
    expect(status.phase).toBe('Succeeded');
    await e2e.meshRoutesCanaryWeight(0);
    // No 30% or 60% step on the way: from 10% straight back to stable, which now runs the canary's revision.
    expect(
      e2e
        .canaryWeights()
        .filter((w) => w.at >= before)
        .map((w) => w.weight),
    ).toEqual([0]);
  }, 90_000);

  it('status shows a gate and promote passes it', async () => {
    await e2e.patchRolloutSpec({
      steps: [
        { weight: 20, duration: '2s', pause: true },
        { weight: 50, duration: '2s' },
      ],
    });
    expect((await e2e.cli(['trigger', APP, '--image', `${IMAGE}:1.5.0`])).code).toBe(0);
    await e2e.waitFor('the gate', (s) => s.phase === 'Paused' && s.reason === 'Gate', 60_000);

    const status = await e2e.cli(['status', APP]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Phase:     Paused (Gate)');
    expect(status.stdout).toContain('waiting for `stepwise promote product-service`');
    expect(status.stdout).toMatch(
      /revision \d+ \(canary\) {2}registry\.example\.com\/product-service:1\.5\.0 · /,
    );
    const json = JSON.parse((await e2e.cli(['status', APP, '-o', 'json'])).stdout) as {
      status: { phase: string };
    };
    expect(json.status.phase).toBe('Paused');
    expect((await e2e.cli(['list'])).stdout).toMatch(/product-service\s+Paused\s+1\s+20/);

    const promote = await e2e.cli(['promote', APP]);
    expect(promote.code, promote.stderr).toBe(0);
    const done = await e2e.waitFor('promotion after the gate', settled, 60_000);
    expect(done.phase).toBe('Succeeded');
    expect(e2e.canaryWeights().some((w) => w.weight === 50)).toBe(true);
  }, 120_000);

  it('status --watch prints one line per change, without a terminal, until stopped', async () => {
    // The steps of the previous test: 20% with a gate, then 50%.
    const watch = e2e.cliRunning(['status', APP, '--watch']);
    await until(
      'the watch to show the last release',
      () => watch.lines().some((l) => / Succeeded /.test(l)),
      60_000,
    );
    expect((await e2e.cli(['trigger', APP, '--image', `${IMAGE}:1.6.0`])).code).toBe(0);
    await until('the gate', () => watch.lines().some((l) => / Paused +step 1\/2 weight 20%/.test(l)), 60_000);
    expect((await e2e.cli(['promote', APP])).code).toBe(0);
    await e2e.waitFor('promotion after the gate', settled, 60_000);
    await until(
      'the promotion',
      () => watch.lines().filter((l) => / Succeeded /.test(l)).length >= 2,
      60_000,
    );
    expect(await watch.stop()).toBe('SIGTERM');

    const lines = watch.lines();
    for (const line of lines)
      expect(line).toMatch(
        /^\d{4}-\d\d-\d\dT[\d:.]+Z (Pending|Initializing|Progressing|Paused|Promoting|Succeeded|RolledBack|Healthy|Failed) /,
      );
    const states = lines.map((l) => l.replace(/^\S+ /, ''));
    expect(states.some((l) => /^Progressing +step 1\/2 weight 20%/.test(l))).toBe(true);
    expect(states.some((l) => /^Progressing +step 2\/2 weight 50%/.test(l))).toBe(true);
    // A line only when something changed.
    for (let i = 1; i < states.length; i++) expect(states[i]).not.toBe(states[i - 1]);
  }, 120_000);
});
