import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CheckResult } from '../analysis/types.js';
import type { RolloutObject } from '../kube/cluster.js';
import type { Decision } from '../rollout/types.js';
import { notificationsFor } from '../notify/events.js';

/** The series labels a Rollout's metrics were given, beyond its namespace and name. */
interface RolloutLabels {
  phase?: string;
  verdicts: Set<string>;
  decisions: Set<string>;
  rollbacks: Set<string>;
}

const ANALYSIS_VALUES = ['requests', 'error_rate', 'p99_ms', 'evidence'] as const;

/** A wait by lane of the work queue: from a millisecond (a free worker) to the tens of seconds of a backlog. */
const waitByLane = (registry: Registry, name: string, help: string) =>
  new Histogram({
    name,
    help,
    labelNames: ['lane'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });

/** The controller's own Prometheus metrics: what each Rollout is doing and what was decided. */
export class ControllerMetrics {
  readonly registry = new Registry();
  private readonly phase = new Gauge({
    name: 'stepwise_rollout_phase',
    help: 'Phase of each Rollout: one series, at 1, labelled with its current phase.',
    labelNames: ['namespace', 'rollout', 'phase'],
    registers: [this.registry],
  });
  private readonly weight = new Gauge({
    name: 'stepwise_rollout_canary_weight',
    help: 'Canary weight (percent) Stepwise wants on the managed routes.',
    labelNames: ['namespace', 'rollout'],
    registers: [this.registry],
  });
  private readonly step = new Gauge({
    name: 'stepwise_rollout_step',
    help: 'Current step (1-based; 0 when no canary is in progress).',
    labelNames: ['namespace', 'rollout'],
    registers: [this.registry],
  });
  private readonly analysis = new Gauge({
    name: 'stepwise_rollout_analysis_value',
    help: 'Latest analysis values of the canary: requests, error_rate, p99_ms, evidence.',
    labelNames: ['namespace', 'rollout', 'value'],
    registers: [this.registry],
  });
  private readonly checks = new Counter({
    name: 'stepwise_analysis_checks_total',
    help: 'Analysis checks by verdict.',
    labelNames: ['namespace', 'rollout', 'verdict'],
    registers: [this.registry],
  });
  private readonly decisions = new Counter({
    name: 'stepwise_decisions_total',
    help: 'Transitions decided, by reason (StepPassed, Promoted, ErrorRate, Aborted, ...).',
    labelNames: ['namespace', 'rollout', 'reason'],
    registers: [this.registry],
  });
  private readonly rollbacks = new Counter({
    name: 'stepwise_rollbacks_total',
    help: 'Automatic rollbacks, by reason (ErrorRate, P99Latency, CanaryWorseThanStable, Inconclusive, ...).',
    labelNames: ['namespace', 'rollout', 'reason'],
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'stepwise_leader',
    help: '1 while this controller process holds the leader Lease (always 1 without --leader-elect).',
    labelNames: [],
    registers: [this.registry],
  });
  private readonly reconcileDuration = new Histogram({
    name: 'stepwise_reconcile_duration_seconds',
    help: 'Duration of reconcile passes, by outcome (ok, error).',
    labelNames: ['outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly queueWait = waitByLane(
    this.registry,
    'stepwise_reconcile_queue_wait_seconds',
    'Time a Rollout waited in the work queue for a worker, by lane (abort, command, check, change, routine).',
  );
  private readonly clientWait = waitByLane(
    this.registry,
    'stepwise_kubernetes_client_wait_seconds',
    "Time Kubernetes requests waited at the client's rate limit (--kube-api-qps), by lane of the pass that sent them (outside-pass: watch lists, the Lease).",
  );
  private readonly kubernetesRequests = new Counter({
    name: 'stepwise_kubernetes_requests_total',
    help: 'Kubernetes API requests (reconcile passes, list and watch, leader election) by HTTP status (0 = no answer).',
    labelNames: ['verb', 'resource', 'code'],
    registers: [this.registry],
  });
  private readonly prometheusQueries = new Counter({
    name: 'stepwise_prometheus_queries_total',
    help: 'Analysis queries to Prometheus by outcome: ok, empty, nan, infinite, error, unreachable, ...',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly notifications = new Counter({
    name: 'stepwise_notifications_total',
    help: 'Notifications by receiver (slack, webhook), event and outcome (sent, failed, dropped).',
    labelNames: ['receiver', 'event', 'outcome'],
    registers: [this.registry],
  });

  /**
   * What each Rollout's series are labelled with beyond namespace and rollout, so that forget() removes exactly them
   * without listing every series (which at 10,000 Rollouts made deleting them all quadratic). One phase series per
   * Rollout rather than one per phase at 0 or 1 (kube-state-metrics' way): at 10,000 Rollouts the eight series at 0
   * held about 18 MiB of heap.
   */
  private readonly labelled = new Map<string, RolloutLabels>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'stepwise_process_' });
  }

  record(rollout: RolloutObject, decision: Decision, check: CheckResult | undefined): void {
    const labels = { namespace: rollout.metadata.namespace, rollout: rollout.metadata.name };
    const s = decision.status;
    const key = `${labels.namespace}/${labels.rollout}`;
    let seen = this.labelled.get(key);
    if (!seen)
      this.labelled.set(key, (seen = { verdicts: new Set(), decisions: new Set(), rollbacks: new Set() }));
    if (s.phase !== seen.phase) {
      if (seen.phase !== undefined) this.phase.remove({ ...labels, phase: seen.phase });
      if (s.phase !== undefined) this.phase.set({ ...labels, phase: s.phase }, 1);
      seen.phase = s.phase;
    }
    this.weight.set(labels, s.canaryWeight ?? 0);
    this.step.set(labels, s.currentStep ?? 0);
    const values: [(typeof ANALYSIS_VALUES)[number], number | undefined][] = [
      ['requests', s.analysis?.requests],
      ['error_rate', s.analysis?.errorRate],
      ['p99_ms', s.analysis?.p99Ms],
      ['evidence', s.analysis?.evidence],
    ];
    // A value the status no longer has (a new canary's fresh analysis) must not linger as the old one.
    for (const [value, v] of values) {
      if (v === undefined) this.analysis.remove({ ...labels, value });
      else this.analysis.set({ ...labels, value }, v);
    }
    if (check) {
      this.checks.inc({ ...labels, verdict: check.verdict });
      seen.verdicts.add(check.verdict);
    }
    for (const a of decision.announcements) {
      this.decisions.inc({ ...labels, reason: a.reason });
      seen.decisions.add(a.reason);
    }
    for (const n of notificationsFor(rollout, decision, check)) {
      if (n.event !== 'rolledBack') continue;
      this.rollbacks.inc({ ...labels, reason: n.reason });
      seen.rollbacks.add(n.reason);
    }
  }

  /**
   * Drops every series of a deleted Rollout, so its last phase or weight does not stay on /metrics
   * (and keep alerts firing) for as long as the process runs.
   */
  forget(namespace: string, rollout: string): void {
    const key = `${namespace}/${rollout}`;
    const seen = this.labelled.get(key);
    if (!seen) return;
    this.labelled.delete(key);
    const labels = { namespace, rollout };
    if (seen.phase !== undefined) this.phase.remove({ ...labels, phase: seen.phase });
    this.weight.remove(labels);
    this.step.remove(labels);
    for (const value of ANALYSIS_VALUES) this.analysis.remove({ ...labels, value });
    for (const verdict of seen.verdicts) this.checks.remove({ ...labels, verdict });
    for (const reason of seen.decisions) this.decisions.remove({ ...labels, reason });
    for (const reason of seen.rollbacks) this.rollbacks.remove({ ...labels, reason });
  }

  reconciled(pass: { lane: string; queuedSeconds: number; seconds: number; outcome: 'ok' | 'error' }): void {
    this.reconcileDuration.observe({ outcome: pass.outcome }, pass.seconds);
    this.queueWait.observe({ lane: pass.lane }, pass.queuedSeconds);
  }

  waitedForClientRateLimit(lane: string, seconds: number): void {
    this.clientWait.observe({ lane }, seconds);
  }

  kubernetesRequest(request: { verb: string; resource: string; code: number }): void {
    this.kubernetesRequests.inc({
      verb: request.verb,
      resource: request.resource,
      code: String(request.code),
    });
  }

  prometheusQuery(outcome: string): void {
    this.prometheusQueries.inc({ outcome });
  }

  notification(delivery: { kind: string; event: string; outcome: string }): void {
    this.notifications.inc({ receiver: delivery.kind, event: delivery.event, outcome: delivery.outcome });
  }
}
