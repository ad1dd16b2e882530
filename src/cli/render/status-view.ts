// What `stepwise status` shows: pure functions of the Rollout, its validated spec and the track images.
import { durationMs, formatDuration } from '../../api/duration.js';
import type { RolloutSpec } from '../../api/schema.js';
import type { RolloutStatus } from '../../api/status.js';
import type { RolloutObject } from '../../kube/cluster.js';
import { age, number, percent, weightBar } from './format.js';

export interface StatusView {
  rollout: RolloutObject;
  /** The validated spec (defaults filled in); undefined when the Rollout is invalid. */
  spec?: RolloutSpec;
  stableImage?: string;
  canaryImage?: string;
  now: Date;
}

const ENDED = ['RolledBack', 'Aborted'];
const IN_ROLLOUT = ['Progressing', 'Paused', 'Promoting'];

function stepText(status: RolloutStatus, spec?: RolloutSpec): string {
  const total = spec?.steps.length;
  const current = status.currentStep ?? 0;
  if (!total) return current ? String(current) : '-';
  return current ? `${current}/${total}` : `-/${total}`;
}

/** The step's remaining minimum time and canary requests, or undefined outside a step. */
export function stepProgress(
  status: RolloutStatus,
  spec: RolloutSpec | undefined,
  now: Date,
): { ranMs: number; durationMs: number; leftMs: number; requestsLeft: number } | undefined {
  const step = spec?.steps[(status.currentStep ?? 0) - 1];
  if (!spec || !step || !status.stepStartedAt || !IN_ROLLOUT.includes(status.phase ?? '')) return undefined;
  const ranMs = Math.max(now.getTime() - Date.parse(status.stepStartedAt), 0);
  const duration = durationMs(step.duration ?? spec.analysis.stepDuration);
  const requestsLeft = Math.max(spec.analysis.minRequests - (status.analysis?.requests ?? 0), 0);
  return { ranMs, durationMs: duration, leftMs: Math.max(duration - ranMs, 0), requestsLeft };
}

function check(ok: boolean): string {
  return ok ? 'ok' : 'OVER';
}

/** Last analysis values next to their limits, one line each. */
export function analysisLines(status: RolloutStatus, spec?: RolloutSpec): string[] {
  const a = status.analysis;
  if (!a) return [];
  const lines = [
    `Analysis:  ${a.checks} checks, ${a.failed} failed, ${a.inconclusive} inconclusive` +
      (a.lastVerdict ? `; last ${a.lastVerdict}` : '') +
      (a.lastCheckAt ? ` at ${a.lastCheckAt}` : ''),
  ];
  const limits = spec?.analysis;
  const row = (label: string, value: string, limit: string, verdict = '') =>
    lines.push(`  ${label.padEnd(12)} ${value.padEnd(10)} ${limit.padEnd(22)} ${verdict}`.trimEnd());
  if (a.requests !== undefined) {
    const min = limits?.minRequests;
    row(
      'requests',
      String(a.requests),
      min === undefined ? '' : `min ${min}`,
      min === undefined ? '' : a.requests >= min ? 'ok' : 'too few',
    );
  }
  if (a.errorRate !== undefined) {
    const max = limits?.thresholds.maxErrorRate;
    row(
      'error rate',
      percent(a.errorRate),
      max === undefined ? '' : `max ${percent(max)}`,
      max === undefined ? '' : check(a.errorRate <= max),
    );
  }
  if (a.p99Ms !== undefined) {
    const max = limits?.thresholds.maxP99LatencyMs;
    row(
      'P99',
      `${number(a.p99Ms)} ms`,
      max === undefined ? '' : `max ${max} ms`,
      max === undefined ? '' : check(a.p99Ms <= max),
    );
  }
  if (a.evidence !== undefined) {
    const rate = limits?.comparison.falseRollbackRate;
    const limit = rate === undefined ? undefined : 1 / rate;
    row(
      'evidence',
      number(a.evidence),
      limit === undefined ? '' : `rollback at ${number(limit)}`,
      limit === undefined ? '' : check(a.evidence < limit),
    );
  }
  if (a.rateRatio) {
    const tolerance = limits?.comparison.tolerance;
    row(
      'rate ratio',
      `${number(a.rateRatio.lower)}..${number(a.rateRatio.upper)}`,
      tolerance === undefined ? '' : `hold above ${number(tolerance)}`,
      tolerance === undefined ? '' : a.rateRatio.lower > tolerance ? 'holding' : 'ok',
    );
  }
  for (const [name, value] of Object.entries(a.metrics ?? {})) {
    const metric = limits?.metrics.find((m) => m.name === name);
    const bounds = [
      metric?.min !== undefined ? `min ${metric.min}` : '',
      metric?.max !== undefined ? `max ${metric.max}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const ok =
      (metric?.min === undefined || value >= metric.min) &&
      (metric?.max === undefined || value <= metric.max);
    row(name, number(value), bounds, metric ? check(ok) : '');
  }
  if (a.lastMessage) lines.push(`  last: ${a.lastMessage}`);
  return lines;
}

/** The full text of `stepwise status`. */
export function renderStatus(view: StatusView): string {
  const { rollout, spec, now } = view;
  const s = rollout.status ?? {};
  const name = rollout.metadata.name;
  const phase = s.phase ?? 'Pending';
  const lines = [
    `Rollout:   ${rollout.metadata.namespace}/${name}`,
    `Phase:     ${phase}${s.reason ? ` (${s.reason})` : ''}`,
  ];
  if (s.message) lines.push(`Message:   ${s.message}`);
  if (phase === 'Paused' && s.reason === 'Gate') {
    lines.push(`Gate:      waiting for \`stepwise promote ${name}\` (analysis keeps running)`);
  }
  const weight = s.canaryWeight ?? 0;
  lines.push(
    `Step:      ${stepText(s, spec)}${spec ? `  (${spec.steps.map((x) => `${x.weight}${x.pause ? ' gate' : ''}`).join(' → ')})` : ''}`,
  );
  lines.push(`Weight:    ${weightBar(weight)} ${weight}% canary`);
  lines.push(`Stable:    ${s.stableRevision ?? '-'}${view.stableImage ? `  ${view.stableImage}` : ''}`);
  lines.push(
    `Canary:    ${s.canaryRevision ?? '-'}${view.canaryImage && s.canaryRevision ? `  ${view.canaryImage}` : ''}`,
  );
  const progress = stepProgress(s, spec, now);
  if (progress) {
    const needs = [
      progress.leftMs > 0 ? `${formatDuration(progress.leftMs)} more` : '',
      progress.requestsLeft > 0 ? `${progress.requestsLeft} more canary requests` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    lines.push(
      `Step time: ${formatDuration(progress.ranMs)} of at least ${formatDuration(progress.durationMs)}` +
        (needs ? `; needs ${needs}` : '; minimum met'),
    );
  }
  lines.push(...analysisLines(s, spec));
  if (ENDED.includes(phase)) {
    lines.push(`Rollback:  ${s.reason ?? phase}: ${s.message ?? ''}`.trimEnd());
  } else if (s.rolledBackRevision) {
    lines.push(`Rollback:  revision ${s.rolledBackRevision} was rolled back earlier`);
  }
  if (s.lastCommand) {
    const c = s.lastCommand;
    lines.push(
      `Command:   ${c.command} ${c.accepted ? 'accepted' : 'REJECTED'} ${age(c.at, now)} ago: ${c.message}`,
    );
  }
  const invalid = s.conditions?.find((c) => c.type === 'InvalidSpec' && c.status === 'True');
  if (invalid) lines.push(`Invalid:   ${invalid.message}`);
  return lines.join('\n');
}

/** One line per state, for `--watch` when stdout is not a terminal and for `trigger --wait`. */
export function statusLine(status: RolloutStatus, spec?: RolloutSpec): string {
  const phase = status.phase ?? 'Pending';
  const parts = [phase.padEnd(11)];
  if (status.currentStep) parts.push(`step ${stepText(status, spec)}`);
  parts.push(`weight ${status.canaryWeight ?? 0}%`);
  if (status.message) parts.push(`- ${status.message}`);
  return parts.join(' ');
}
