// The Lease elector against the sandbox API server (real client-node, real HTTP), on short timings.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaseElector, type LeaseTimings } from '../../src/kube/lease.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startSandbox, type Sandbox } from '../sandbox/apiserver-fixture.js';

const TIMINGS: LeaseTimings = {
  leaseDurationMs: 1500,
  renewDeadlineMs: 1000,
  renewPeriodMs: 300,
  retryPeriodMs: 100,
};
const logger = createLogger({ silent: true });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('leader election on a coordination.k8s.io/v1 Lease', () => {
  let sandbox: Sandbox;
  const electors: LeaseElector[] = [];
  const elector = (identity: string, timings: Partial<LeaseTimings> = TIMINGS) => {
    const e = new LeaseElector({
      kubeConfig: sandbox.kc,
      namespace: 'default',
      name: 'stepwise-controller',
      identity,
      logger,
      timings,
    });
    electors.push(e);
    return e;
  };
  const holder = async () =>
    (await sandbox.coordination.readNamespacedLease({ namespace: 'default', name: 'stepwise-controller' }))
      .spec?.holderIdentity;

  beforeEach(async () => {
    sandbox = await startSandbox();
  });
  afterEach(async () => {
    for (const e of electors.splice(0)) e.stop();
    await sandbox.server.close();
  });

  it('lets one process lead while the other waits, and hands over at once on release', async () => {
    const a = elector('a');
    const b = elector('b');
    expect(await a.acquire()).toBe(true);
    a.keepRenewing(() => {
      throw new Error('a lost the lease while renewing normally');
    });
    const bWaits = b.acquire();
    // Several lease durations: a keeps renewing, so b never gets it.
    await sleep(TIMINGS.leaseDurationMs * 2);
    expect(b.isLeader()).toBe(false);
    expect(await holder()).toBe('a');

    await a.release();
    expect(await holder()).toBe('');
    expect(await bWaits).toBe(true);
    expect(await holder()).toBe('b');
    const lease = await sandbox.coordination.readNamespacedLease({
      namespace: 'default',
      name: 'stepwise-controller',
    });
    expect(lease.spec?.leaseTransitions).toBe(1);
  });

  it('takes over from a leader that stopped renewing, only after the lease expired', async () => {
    const a = elector('a');
    expect(await a.acquire()).toBe(true);
    a.stop(); // dies without releasing
    const b = elector('b');
    const taken = b.acquire();
    // b judges expiry by its own clock from when it first saw the record: halfway through, a still holds it.
    await sleep(TIMINGS.leaseDurationMs / 2);
    expect(b.isLeader()).toBe(false);
    expect(await holder()).toBe('a');
    expect(await taken).toBe(true);
    expect(await holder()).toBe('b');
  });

  it('gives up leading as soon as another process holds the lease', async () => {
    const a = elector('a');
    expect(await a.acquire()).toBe(true);
    const lost = new Promise<string>((resolve) => a.keepRenewing(resolve));
    const lease = await sandbox.coordination.readNamespacedLease({
      namespace: 'default',
      name: 'stepwise-controller',
    });
    await sandbox.coordination.replaceNamespacedLease({
      namespace: 'default',
      name: 'stepwise-controller',
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder' } },
    });
    expect(await lost).toMatch(/held by intruder/);
    expect(a.isLeader()).toBe(false);
  });

  it('stops leading when renewals fail past the renew deadline, before the lease can expire', async () => {
    const a = elector('a');
    expect(await a.acquire()).toBe(true);
    const lost = new Promise<string>((resolve) => a.keepRenewing(resolve));
    sandbox.server.faults.failNext(1000, 500, { resource: 'leases' });
    expect(await lost).toMatch(/not renewed within 1000 ms/);
    expect(a.isLeader()).toBe(false);
  });

  it('refuses a renew deadline that is not shorter than the lease duration', () => {
    expect(() => elector('a', { leaseDurationMs: 1000, renewDeadlineMs: 1000 })).toThrow(
      /renew deadline must be shorter than the lease duration/,
    );
  });
});
