// Two controller replicas with the chart's flags (--leader-elect, its Lease in stepwise-system) and its RBAC
// (create leases; get and update only that one by name): when the leader is killed mid-step, the other
// takes the Lease and finishes the rollout, no step repeated or skipped. (SIGKILL of a single controller
// runs here from test/e2e/resilience.e2e.test.ts.)
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE, settled, startE2E, until, type E2E } from '../e2e/harness.js';
import { startClusterStack, type ClusterStack } from './stack.js';

const STEP_WEIGHTS = [5, 25, 50, 100];

const becameLeaderAt = (file: string) => {
  const line = (existsSync(file) ? readFileSync(file, 'utf8') : '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { message: string; timestamp: string })
    .find((l) => l.message === 'became the leader');
  return line ? Date.parse(line.timestamp) : undefined;
};

describe('leader failover with two replicas on a real kube-apiserver', () => {
  let e2e: E2E<ClusterStack>;

  beforeAll(async () => {
    e2e = await startE2E({
      stack: startClusterStack,
      analysis: { interval: '2s', stepDuration: '8s', minRequests: 20, comparison: { enabled: false } },
    });
    await e2e.adopted();
  });

  afterAll(async () => {
    await e2e?.close();
  });

  it('hands the rollout to the second replica when the leader is killed, no step repeated or skipped', async () => {
    await until('the first controller to lead', () => becameLeaderAt(e2e.logFile), 60_000);
    const followerLog = join(e2e.stack.dir, 'controller-follower.log');
    const follower = e2e.launchController(followerLog);
    try {
      await until(
        'the second controller to follow',
        () => existsSync(followerLog) && readFileSync(followerLog, 'utf8').includes('following the leader'),
        30_000,
      );
      const releasedAt = await e2e.release(`${IMAGE}:2.1.0`);
      await e2e.waitFor('step 2', (s) => s.currentStep === 2 && s.stepStartedAt !== undefined);
      await e2e.controller.kill('SIGKILL');
      const killedAt = Date.now();
      // Within the Lease duration (15 s) and a retry.
      const tookOverAt = await until('the follower to take over', () => becameLeaderAt(followerLog), 30_000);
      expect(tookOverAt).toBeGreaterThan(killedAt - 1_000);
      const after = await e2e.waitFor('promotion by the new leader', settled, 150_000);
      expect(after.phase, after.message).toBe('Succeeded');
      await e2e.meshRoutesCanaryWeight(0);
      expect(e2e.canaryWeightsSince(releasedAt)).toEqual([...STEP_WEIGHTS, 0]);
    } finally {
      await follower.kill('SIGTERM');
    }
  });
});
