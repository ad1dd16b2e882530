// Two controller replicas with --leader-elect on the sandbox: only the Lease holder reconciles; when it is
// killed mid-rollout the other takes over and continues from status, and a SIGTERM hands the Lease over at once.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerProcess } from '../../sandbox/controller-process.js';
import { IMAGE, prometheusInstalled, settled, startE2E, until, type E2E } from './harness.js';

const LEASE = 'stepwise-e2e';
const STEP_WEIGHTS = [5, 25, 50, 100];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface LogLine {
  message: string;
  holder?: string;
  timestamp: string;
  startedAt?: string;
  finishedAt?: string;
}

const logLines = (file: string): LogLine[] =>
  (existsSync(file) ? readFileSync(file, 'utf8') : '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

/** One controller process and what its JSON log says about it. */
class Replica {
  constructor(
    readonly process: ControllerProcess,
    readonly logFile: string,
  ) {}
  lines(): LogLine[] {
    return logLines(this.logFile);
  }
  identity(): string | undefined {
    return this.lines().find((l) => l.holder)?.holder;
  }
  becameLeaderAt(): number | undefined {
    const line = this.lines().find((l) => l.message === 'became the leader');
    return line ? Date.parse(line.timestamp) : undefined;
  }
  isFollowing(): boolean {
    return this.lines().some((l) => l.message === 'following the leader');
  }
  /** Start and end of every reconcile pass this process ran. */
  passes(): { start: number; end: number }[] {
    return this.lines()
      .filter((l) => l.message === 'reconcile pass')
      .map((l) => ({ start: Date.parse(l.startedAt!), end: Date.parse(l.finishedAt!) }));
  }
}

/** Polls the Lease in the background and keeps each holder in the order they held it. */
function recordHolders(e2e: E2E): { stop(): Promise<string[]> } {
  const api = e2e.stack.kubeConfig.makeApiClient(CoordinationV1Api);
  const holders: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const lease = await api
        .readNamespacedLease({ namespace: e2e.namespace, name: LEASE })
        .catch(() => undefined);
      const holder = lease?.spec?.holderIdentity;
      if (holder && holders.at(-1) !== holder) holders.push(holder);
      await sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return holders;
    },
  };
}

async function scrape(replica: Replica, path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${await replica.process.metricsUrl}${path}`);
  return { status: response.status, text: await response.text() };
}

describe.skipIf(!prometheusInstalled)('two controllers with leader election', () => {
  let e2e: E2E;
  const replicas: Replica[] = [];
  const launch = (name: string) => {
    const logFile = join(e2e.stack.dir, `controller-${name}.log`);
    const replica = new Replica(e2e.launchController(logFile), logFile);
    replicas.push(replica);
    return replica;
  };

  beforeAll(async () => {
    e2e = await startE2E({
      analysis: { interval: '2s', stepDuration: '8s', minRequests: 20, comparison: { enabled: false } },
      controllerArgs: ['--leader-elect', '--leader-election-id', LEASE],
    });
    replicas.push(new Replica(e2e.controller, e2e.logFile));
    launch('b');
    await e2e.adopted();
  }, 90_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.process.kill('SIGKILL')));
    await e2e?.close();
  });

  const leaderAndFollower = async (): Promise<[Replica, Replica]> => {
    const live = replicas.filter(
      (r) => r.process.child.exitCode === null && r.process.child.signalCode === null,
    );
    const leader = await until('a leader', () => live.find((r) => r.becameLeaderAt() !== undefined), 30_000);
    const follower = live.find((r) => r !== leader)!;
    await until('the other replica to follow', () => follower.isFollowing(), 30_000);
    return [leader, follower];
  };

  it('continues the rollout on the other replica after kill -9 of the leader, no step repeated or skipped', async () => {
    const [leader, follower] = await leaderAndFollower();
    // The follower is ready (it stands by) but is not the leader; the leader is.
    expect((await scrape(follower, '/readyz')).status).toBe(200);
    expect((await scrape(follower, '/metrics')).text).toMatch(/^stepwise_leader 0$/m);
    expect((await scrape(leader, '/metrics')).text).toMatch(/^stepwise_leader 1$/m);
    expect(follower.passes()).toEqual([]);

    const holders = recordHolders(e2e);
    const releasedAt = await e2e.release(`${IMAGE}:2.0.0`);
    await e2e.waitFor(
      'step 2 under analysis',
      (s) => s.currentStep === 2 && s.stepStartedAt !== undefined && (s.analysis?.checks ?? 0) >= 1,
    );
    await leader.process.kill('SIGKILL');
    const killedAt = Date.now();

    // Within the lease duration (15 s) and a retry (2 s).
    const tookOverAt = await until('the follower to take over', () => follower.becameLeaderAt(), 20_000);
    const after = await e2e.waitFor('promotion by the new leader', settled, 120_000);
    expect(after.phase).toBe('Succeeded');
    await e2e.meshRoutesCanaryWeight(0);

    // The mesh saw each step's weight once, in order.
    expect(
      e2e
        .canaryWeights()
        .filter((w) => w.at >= releasedAt)
        .map((w) => w.weight),
    ).toEqual([...STEP_WEIGHTS, 0]);
    // Never two writers: every pass of the old leader ended before it died, every pass of the new one
    // started after it took the Lease, and the Lease went from one holder to the other exactly once.
    expect(tookOverAt).toBeGreaterThan(killedAt);
    expect(leader.passes().length).toBeGreaterThan(0);
    expect(leader.passes().every((p) => p.end <= killedAt)).toBe(true);
    expect(follower.passes().length).toBeGreaterThan(0);
    expect(follower.passes().every((p) => p.start >= tookOverAt)).toBe(true);
    expect(await holders.stop()).toEqual([leader.identity(), follower.identity()]);
  }, 180_000);

  it('hands the Lease over within seconds when the leader gets SIGTERM, and the rollout goes on', async () => {
    launch('c');
    const [leader, follower] = await leaderAndFollower();
    const holders = recordHolders(e2e);
    const releasedAt = await e2e.release(`${IMAGE}:2.1.0`);
    await e2e.waitFor('step 2', (s) => s.currentStep === 2 && s.stepStartedAt !== undefined);
    expect(await leader.process.kill('SIGTERM')).toBe(0);
    expect(leader.lines().some((l) => l.message === 'released the lease')).toBe(true);

    // Far sooner than the 15 s a dead leader's lease takes to expire: the follower retries every 2 s.
    const tookOverAt = await until('the follower to take over', () => follower.becameLeaderAt(), 6_000);
    const after = await e2e.waitFor('promotion by the new leader', settled, 120_000);
    expect(after.phase).toBe('Succeeded');
    await e2e.meshRoutesCanaryWeight(0);
    expect(
      e2e
        .canaryWeights()
        .filter((w) => w.at >= releasedAt)
        .map((w) => w.weight),
    ).toEqual([...STEP_WEIGHTS, 0]);
    // The old leader finished its passes before it released the Lease; the new one only began after.
    const lastPassOfOld = Math.max(...leader.passes().map((p) => p.end));
    expect(lastPassOfOld).toBeLessThanOrEqual(tookOverAt);
    expect(follower.passes().every((p) => p.start >= tookOverAt)).toBe(true);
    expect(await holders.stop()).toEqual([leader.identity(), follower.identity()]);
  }, 180_000);
});
