// The real reconcile pass against the in-memory FakeCluster, on a virtual clock, with a scripted analyzer:
// a whole release runs in milliseconds and every Kubernetes call is recorded in order.
import { expect } from 'vitest';
import type { RolloutStatus } from '../../src/api/status.js';
import type { CanaryAnalyzer, CheckRequest, CheckResult } from '../../src/analysis/types.js';
import { type PassResult, reconcile, type ReconcileDeps } from '../../src/controller/reconcile.js';
import type { RolloutObject } from '../../src/kube/cluster.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { isAllowedMove } from '../../src/rollout/phase-table.js';
import type { Decision } from '../../src/rollout/types.js';
import { cartDeployment, cartDestinationRule, cartRollout, cartTemplate } from './cart.js';
import { type Call, FakeCluster } from './fake-cluster.js';

export const passing = (requests = 500): CheckResult => ({
  verdict: 'pass',
  requests,
  errorRate: 0,
  p99Ms: 20,
  metrics: {},
  failures: [],
  inconclusive: [],
});

export const failing = (requests = 500): CheckResult => ({
  verdict: 'fail',
  requests,
  errorRate: 0.2,
  p99Ms: 20,
  metrics: {},
  failures: [
    { metric: 'errorRate', value: 0.2, limit: 0.01, message: 'canary error rate 20% is above the limit 1%' },
  ],
  inconclusive: [],
});

const route = (canary: number, stable = 100 - canary) => [
  { destination: { host: 'cart', subset: 'stable' }, weight: stable },
  { destination: { host: 'cart', subset: 'canary' }, weight: canary },
];

const ANALYSIS = {
  prometheus: { address: 'http://127.0.0.1:1' },
  interval: '10s',
  stepDuration: '30s',
  minRequests: 1,
};

export class Harness {
  readonly cluster = new FakeCluster('shop');
  now = Date.parse('2026-01-01T00:00:00Z');
  /** What the analyzer answers to the next checks (the last one repeats). */
  checks: CheckResult[] = [passing()];
  /** What the controller asked the analyzer, check by check. */
  readonly requests: CheckRequest[] = [];
  readonly decisions: { rollout: RolloutObject; decision: Decision }[] = [];
  /** The controller's flags, as `stepwise controller` passes them (--prometheus-address…). */
  flags: Pick<ReconcileDeps, 'defaultPrometheus' | 'prometheusCredentialsAddresses'> = {};

  constructor(spec: Record<string, unknown> = {}, analysis: Record<string, unknown> = {}) {
    const { cluster } = this;
    cluster.put('deployments', cartDeployment(4));
    cluster.put('virtualservices', {
      metadata: { name: 'cart' },
      spec: { hosts: ['cart'], http: [{ name: 'primary', route: route(0) }] },
    });
    cluster.put('destinationrules', cartDestinationRule());
    cluster.put(
      'rollouts',
      cartRollout({
        steps: [{ weight: 25 }, { weight: 50 }, { weight: 100 }],
        analysis: { ...ANALYSIS, ...analysis },
        progressDeadline: '2m',
        ...spec,
      }),
    );
  }

  private readonly analyzer: CanaryAnalyzer = {
    check: (request) => {
      this.requests.push(request);
      return Promise.resolve(this.checks.length > 1 ? this.checks.shift()! : this.checks[0]!);
    },
  };

  deps(): ReconcileDeps {
    return {
      ...this.flags,
      cluster: this.cluster,
      analyzer: this.analyzer,
      logger: createLogger({ silent: true }),
      now: () => new Date(this.now),
      onDecision: (rollout, decision) => {
        for (const move of decision.moves) expect(isAllowedMove(move), JSON.stringify(move)).toBe(true);
        this.decisions.push({ rollout, decision });
      },
    };
  }

  /** One pass, as the work queue runs it (a fresh pass reads everything again). */
  pass(): Promise<PassResult> {
    return reconcile(this.deps(), 'shop', 'cart');
  }

  /** Passes every `stepMs` of virtual time until `until` holds. */
  async runUntil(until: (h: Harness) => boolean, maxPasses = 400, stepMs = 1_000): Promise<void> {
    for (let i = 0; i < maxPasses; i++) {
      await this.pass();
      if (until(this)) return;
      this.now += stepMs;
    }
    throw new Error(`not reached: ${JSON.stringify(this.status())}`);
  }

  status(): RolloutStatus {
    return this.cluster.get<RolloutObject>('rollouts', 'cart')?.status ?? {};
  }

  /** The canary weight on the VirtualService's managed route. */
  routeWeight(): number {
    const vs = this.cluster.get<{ spec: { http: { route: { weight: number }[] }[] } }>(
      'virtualservices',
      'cart',
    )!;
    return vs.spec.http[0]!.route[1]!.weight;
  }

  setRoute(canary: number, stable = 100 - canary): void {
    const vs = this.cluster.get<Record<string, unknown>>('virtualservices', 'cart')!;
    this.cluster.put('virtualservices', {
      ...vs,
      spec: { hosts: ['cart'], http: [{ name: 'primary', route: route(canary, stable) }] },
    });
  }

  release(image: string): void {
    const target = this.cluster.get<{ metadata: object; spec: Record<string, unknown> }>(
      'deployments',
      'cart',
    )!;
    this.cluster.put('deployments', {
      ...target,
      spec: {
        ...target.spec,
        template: cartTemplate(image),
      },
    });
  }

  /** The command annotations, as `stepwise promote|abort…` writes them. */
  command(name: string, id: string): void {
    const rollout = this.cluster.get<RolloutObject>('rollouts', 'cart')!;
    this.cluster.put('rollouts', {
      ...rollout,
      metadata: {
        ...rollout.metadata,
        annotations: { 'stepwise.dev/command': name, 'stepwise.dev/command-id': id },
      },
    } as unknown as Record<string, unknown>);
  }

  /** Calls since index `from`, as `method object` strings, reads left out. */
  writes(from = 0): string[] {
    return this.cluster.calls
      .slice(from)
      .filter((c) => !c.method.startsWith('get'))
      .map((c) => `${c.method} ${c.object}`);
  }

  /** Index in `calls` of the first call at or after `from` matching `when`. */
  indexOf(when: (c: Call) => boolean, from = 0): number {
    const i = this.cluster.calls.slice(from).findIndex(when);
    return i < 0 ? -1 : i + from;
  }
}

export const isWeight = (weight: number) => (c: Call) =>
  c.method === 'patchCustom' && JSON.stringify(c.body).includes(`"subset":"canary"},"weight":${weight}`);

export const isStatusWith = (field: string, value: unknown) => (c: Call) =>
  c.method === 'patchRolloutStatus' && (c.body as Record<string, unknown>)[field] === value;
