// Every Kubernetes call ends, even against an API server that accepts a request and never answers it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/kube/cluster.js';
import { LeaseElector } from '../../src/kube/lease.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { rollout, ROLLOUTS, startSandbox, type Sandbox } from '../sandbox/apiserver-fixture.js';

describe('bounded Kubernetes calls', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
    await sandbox.custom.createNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: 'default',
      body: rollout('app'),
    });
  });
  afterEach(() => sandbox.server.faults.reset());
  afterAll(() => sandbox?.server.close());

  it('gives up on a stalled API server after the per-call timeout of every attempt, naming the call', async () => {
    const attempts: number[] = [];
    const cluster = new Cluster(sandbox.kc, (r) => attempts.push(r.code), { timeoutMs: 200 });
    sandbox.server.faults.stallNext(100, { verb: 'get', resource: 'rollouts' });

    const error = await cluster.getRollout('default', 'app').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('TimeoutError');
    expect((error as Error).message).toBe('the Kubernetes API did not answer get rollouts within 0.2 s');
    // One try and three retries, each without an answer.
    expect(attempts).toEqual([0, 0, 0, 0]);
  });

  it('retries a call that timed out and returns the answer of the next attempt', async () => {
    const attempts: number[] = [];
    const cluster = new Cluster(sandbox.kc, (r) => attempts.push(r.code), { timeoutMs: 200 });
    sandbox.server.faults.stallNext(1, { verb: 'patch', resource: 'rollouts' });

    const patched = await cluster.patchRolloutMetadata('default', 'app', { labels: { seen: 'yes' } });

    expect(patched.metadata.labels).toEqual({ seen: 'yes' });
    expect(attempts).toEqual([0, 200]);
  });

  it('bounds Lease calls by the renew deadline, so a stalled server cannot hold up leader election', async () => {
    const codes: string[] = [];
    const stalled = new LeaseElector({
      kubeConfig: sandbox.kc,
      namespace: 'default',
      name: 'stalled',
      identity: 'two',
      logger: createLogger({ silent: true }),
      timings: { leaseDurationMs: 600, renewDeadlineMs: 400, renewPeriodMs: 100, retryPeriodMs: 50 },
      onRequest: (verb, code) => codes.push(`${verb} ${code}`),
    });
    sandbox.server.faults.stallNext(1, { verb: 'get', resource: 'leases' });
    try {
      // The first read hangs; it is abandoned after 400 ms and the next attempt takes the free Lease.
      expect(await stalled.acquire()).toBe(true);
      expect(codes.slice(0, 2)).toEqual(['get 0', 'get 404']);
    } finally {
      await stalled.release();
    }
  });
});
