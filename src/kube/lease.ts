import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { boundedApiClient, CALL_TIMEOUT_MS } from './bounded-client.js';
import { httpStatus, isConflict, isNotFound } from './errors.js';

// Leader election on a coordination.k8s.io/v1 Lease, with the timings and rules of client-go's
// leaderelection package: a follower judges expiry by its own clock from when it last saw the lease change,
// and a leader stops acting once it could not renew within renewDeadline, well before leaseDuration.

export interface LeaseTimings {
  /** How long followers wait, after the lease last changed, before taking it. */
  leaseDurationMs: number;
  /** A leader that could not renew for this long stops (must be < leaseDurationMs). */
  renewDeadlineMs: number;
  /** How often the leader renews. */
  renewPeriodMs: number;
  /** How often a follower tries to take the lease, and a leader retries a failed renewal. */
  retryPeriodMs: number;
}

export const DEFAULT_LEASE_TIMINGS: LeaseTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  renewPeriodMs: 5_000,
  retryPeriodMs: 2_000,
};

export interface LeaseElectorOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** Name of the Lease object. */
  name: string;
  identity: string;
  logger: Logger;
  timings?: Partial<LeaseTimings>;
  /** Told about every Lease request (for stepwise_kubernetes_requests_total); code 0 = no HTTP answer. */
  onRequest?: (verb: 'get' | 'create' | 'update', code: number) => void;
}

/** `<pod name or hostname>_<random>`: unique even when a restarted pod keeps its name. */
export function leaseIdentity(): string {
  return `${process.env.POD_NAME ?? hostname()}_${randomBytes(4).toString('hex')}`;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** One process's claim on the Lease: acquire, keep renewing, release. */
export class LeaseElector {
  private readonly api: CoordinationV1Api;
  private readonly timings: LeaseTimings;
  /** The lease record as last seen, and when this process first saw it (its own clock). */
  private observed?: { key: string; at: number };
  private leading = false;
  private renewTimer?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;
  private lastRenewSentAt = 0;
  private stopped = false;

  constructor(private readonly options: LeaseElectorOptions) {
    this.timings = { ...DEFAULT_LEASE_TIMINGS, ...options.timings };
    // A Lease call that outlives renewDeadline is useless (the leader must have stopped by then);
    // kube-controller-manager likewise gives its leader-election client Timeout = RenewDeadline.
    this.api = boundedApiClient(
      options.kubeConfig,
      CoordinationV1Api,
      Math.min(CALL_TIMEOUT_MS, this.timings.renewDeadlineMs),
    );
    if (this.timings.renewDeadlineMs >= this.timings.leaseDurationMs) {
      throw new Error('leader election: the renew deadline must be shorter than the lease duration');
    }
  }

  get identity(): string {
    return this.options.identity;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Resolves true once this process holds the Lease, false when `signal` aborted the wait. */
  async acquire(signal?: AbortSignal): Promise<boolean> {
    const where = { lease: `${this.options.namespace}/${this.options.name}`, identity: this.identity };
    this.options.logger.info('waiting to become the leader', where);
    let lastHolder: string | undefined;
    while (!signal?.aborted && !this.stopped) {
      const sentAt = Date.now();
      const outcome = await this.tryAcquireOrRenew().catch((error: unknown) => {
        this.options.logger.warn('could not read or take the lease', { ...where, error: String(error) });
        return undefined;
      });
      if (outcome === true) {
        this.leading = true;
        this.lastRenewSentAt = sentAt;
        this.options.logger.info('became the leader', where);
        return true;
      }
      if (outcome && outcome.holder !== lastHolder) {
        lastHolder = outcome.holder;
        this.options.logger.info('following the leader', { ...where, leader: outcome.holder });
      }
      await sleep(this.timings.retryPeriodMs, signal);
    }
    return false;
  }

  /**
   * Renews every renewPeriod (retrying every retryPeriod on failure). `onLost` runs once, as soon as the
   * Lease went to another holder or could not be renewed within renewDeadline.
   */
  keepRenewing(onLost: (why: string) => void): void {
    const lose = (why: string) => {
      if (!this.leading) return;
      this.leading = false;
      this.clearTimers();
      onLost(why);
    };
    const armWatchdog = () => {
      clearTimeout(this.watchdog);
      const left = this.lastRenewSentAt + this.timings.renewDeadlineMs - Date.now();
      this.watchdog = setTimeout(
        () => lose(`the lease was not renewed within ${this.timings.renewDeadlineMs} ms`),
        Math.max(left, 0),
      );
    };
    const renew = async () => {
      if (!this.leading) return;
      const sentAt = Date.now();
      const outcome = await this.tryAcquireOrRenew().catch((error: unknown) => {
        this.options.logger.warn('could not renew the lease; retrying', { error: String(error) });
        return undefined;
      });
      if (!this.leading) return;
      if (outcome === true) {
        this.lastRenewSentAt = sentAt;
        armWatchdog();
        this.renewTimer = setTimeout(() => void renew(), this.timings.renewPeriodMs);
      } else if (outcome && outcome.holder !== this.identity) {
        lose(`the lease is held by ${outcome.holder}`);
      } else {
        this.renewTimer = setTimeout(() => void renew(), this.timings.retryPeriodMs);
      }
    };
    armWatchdog();
    this.renewTimer = setTimeout(() => void renew(), this.timings.renewPeriodMs);
  }

  /** Stops renewing and hands the Lease back (empty holder, 1 s duration) so a follower takes it at once. */
  async release(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.read();
      if (!lease?.spec || lease.spec.holderIdentity !== this.identity) return;
      const now = new V1MicroTime();
      await this.replace({
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: now,
          renewTime: now,
        },
      });
      this.options.logger.info('released the lease', { identity: this.identity });
    } catch (error) {
      // Followers then take over once the lease expires: slower, still safe.
      this.options.logger.warn('could not release the lease', { error: String(error) });
    }
  }

  /** Stops trying to acquire or renew (without releasing). */
  stop(): void {
    this.stopped = true;
    this.leading = false;
    this.clearTimers();
  }

  private clearTimers(): void {
    clearTimeout(this.renewTimer);
    clearTimeout(this.watchdog);
  }

  /** true = this process holds the lease now; otherwise who does (may be empty). */
  private async tryAcquireOrRenew(): Promise<true | { holder: string }> {
    const now = Date.now();
    const lease = await this.read();
    const spec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.timings.leaseDurationMs / 1000),
      acquireTime: new V1MicroTime(now),
      renewTime: new V1MicroTime(now),
      leaseTransitions: 0,
    };
    if (!lease) {
      try {
        await this.create({ metadata: { name: this.options.name, namespace: this.options.namespace }, spec });
        return true;
      } catch (error) {
        if (isConflict(error)) return { holder: await this.currentHolder() }; // another process created it first
        throw error;
      }
    }
    const current = lease.spec ?? {};
    const holder = current.holderIdentity ?? '';
    const key = `${lease.metadata?.resourceVersion}`;
    if (this.observed?.key !== key) this.observed = { key, at: now };
    const durationMs = (current.leaseDurationSeconds ?? 0) * 1000;
    const held = holder !== '' && holder !== this.identity && this.observed.at + durationMs > now;
    if (held) return { holder };
    const mine = holder === this.identity;
    try {
      await this.replace({
        ...lease,
        spec: {
          ...spec,
          acquireTime: mine && current.acquireTime ? current.acquireTime : spec.acquireTime,
          leaseTransitions: (current.leaseTransitions ?? 0) + (mine ? 0 : 1),
        },
      });
      return true;
    } catch (error) {
      // Someone else wrote the lease since we read it (resourceVersion guard): they won this round.
      if (isConflict(error)) return { holder: await this.currentHolder() };
      throw error;
    }
  }

  private async currentHolder(): Promise<string> {
    const holder = (await this.read())?.spec?.holderIdentity ?? '';
    // Our own name here means our write raced with another one: treat the lease as not ours.
    return holder === this.identity ? '' : holder;
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      const lease = await this.api.readNamespacedLease({
        name: this.options.name,
        namespace: this.options.namespace,
      });
      this.options.onRequest?.('get', 200);
      return lease;
    } catch (error) {
      this.options.onRequest?.('get', httpStatus(error) ?? 0);
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async create(body: V1Lease): Promise<void> {
    try {
      await this.api.createNamespacedLease({ namespace: this.options.namespace, body });
      this.options.onRequest?.('create', 201);
    } catch (error) {
      this.options.onRequest?.('create', httpStatus(error) ?? 0);
      throw error;
    }
  }

  private async replace(body: V1Lease): Promise<void> {
    try {
      await this.api.replaceNamespacedLease({
        name: this.options.name,
        namespace: this.options.namespace,
        body,
      });
      this.options.onRequest?.('update', 200);
    } catch (error) {
      this.options.onRequest?.('update', httpStatus(error) ?? 0);
      throw error;
    }
  }
}
