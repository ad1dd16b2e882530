import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { PHASES } from '../api/status.js';
import type { CheckResult } from '../analysis/types.js';
import type { RolloutObject } from '../kube/cluster.js';
import type { Decision } from '../rollout/types.js';

/** The controller's own Prometheus metrics: what each Rollout is doing and what was decided. */
export class ControllerMetrics {
  readonly registry = new Registry();
  private readonly phase = new Gauge({
    name: 'stepwise_rollout_phase',
    help: 'Phase of each Rollout (1 for the current phase).',
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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'stepwise_process_' });
  }

  record(rollout: RolloutObject, decision: Decision, check: CheckResult | undefined): void {
    const labels = { namespace: rollout.metadata.namespace, rollout: rollout.metadata.name };
    const s = decision.status;
    for (const phase of PHASES) this.phase.set({ ...labels, phase }, s.phase === phase ? 1 : 0);
    this.weight.set(labels, s.canaryWeight ?? 0);
    this.step.set(labels, s.currentStep ?? 0);
    const values: [string, number | undefined][] = [
      ['requests', s.analysis?.requests],
      ['error_rate', s.analysis?.errorRate],
      ['p99_ms', s.analysis?.p99Ms],
      ['evidence', s.analysis?.evidence],
    ];
    for (const [value, v] of values) if (v !== undefined) this.analysis.set({ ...labels, value }, v);
    if (check) this.checks.inc({ ...labels, verdict: check.verdict });
    for (const a of decision.announcements) this.decisions.inc({ ...labels, reason: a.reason });
  }
}
