// What `stepwise status` shows: pure functions of the Rollout, its validated spec and the track images.
import { durationMs, formatDuration } from '../../api/duration.js';
import type { RolloutSpec } from '../../api/schema.js';
import { describeStep } from '../../api/steps.js';
import { parseStoredComparison } from '../../analysis/comparison/counter-comparison.js';
import type { AnalysisStatus, RolloutStatus, Verdict } from '../../api/status.js';
import type { RolloutObject } from '../../kube/cluster.js';
import { age, formatTraffic, number, percent } from './format.js';
import { historyLines } from './history-table.js';

export interface WorkloadPods {
  name: string;
  ready: number;
  desired: number;
}

export interface StatusView {
  rollout: RolloutObject;
  /** The validated spec (defaults filled in); undefined when the Rollout is invalid. */
  spec?: RolloutSpec;
  stableImage?: string;
  canaryImage?: string;
  /** The tracks' Deployments: name and ready/desired pods. */
  stableWorkload?: WorkloadPods;
  canaryWorkload?: WorkloadPods;
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

/**
 * The verdict beside a value: within its limit it passes; over it, the check failed only if the controller
 * said so. The threshold guard does not fail on sampling noise (a few errors in few requests), so a value
 * over the limit in a check that did not fail is "over, within noise", not a failure.
 */
function verdict(withinLimit: boolean, lastVerdict: Verdict | undefined): string {
  if (withinLimit) return 'pass';
  return lastVerdict === 'fail'
    ? 'FAIL'
    : lastVerdict === 'inconclusive'
      ? 'over, inconclusive'
      : 'over, within noise';
}

/** "4.1×" */
const times = (ratio: number) => `${number(ratio)}×`;

/** The comparison with stable in words, from the counters it carries in status.analysis.comparison. */
export function comparisonLine(a: AnalysisStatus, spec?: RolloutSpec): string | undefined {
  const stored = (() => {
    try {
      return parseStoredComparison(a.comparison);
    } catch {
      return undefined; // a status written by another version: show what the plain fields say
    }
  })();
  const limit = spec ? 1 / spec.analysis.comparison.falseRollbackRate : undefined;
  const parts: string[] = [];
  if (stored) {
    const { canary, stable } = stored.totals;
    for (const [guard, label] of [
      ['errors', 'errors'],
      ['slow', 'slow requests'],
    ] as const) {
      const canaryRate = canary.requests > 0 ? canary[guard] / canary.requests : undefined;
      const stableRate = stable.requests > 0 ? stable[guard] / stable.requests : undefined;
      if (canaryRate === undefined || stableRate === undefined) continue;
      parts.push(
        stableRate > 0
          ? `canary ${label} ${times(canaryRate / stableRate)} stable's`
          : `canary ${label} ${canary[guard]}, stable none`,
      );
    }
  }
  if (a.rateRatio && Number.isFinite(a.rateRatio.upper)) {
    parts.push(`errors ratio likely ${times(a.rateRatio.lower)}–${times(a.rateRatio.upper)}`);
  }
  if (a.evidence !== undefined) {
    parts.push(
      limit === undefined
        ? `evidence against the canary ${number(a.evidence)}`
        : `rolls back when the evidence against it reaches ${number(limit)}, now ${number(a.evidence)}`,
    );
  }
  return parts.length ? `Compared:  ${parts.join('; ')}` : undefined;
}

/** Last analysis values next to their limits and the verdict of the check, one line each. */
export function analysisLines(status: RolloutStatus, spec?: RolloutSpec): string[] {
  const a = status.analysis;
  if (!a) return [];
  const lines = [
    `Analysis:  ${a.checks} checks, ${a.failed} failed, ${a.inconclusive} inconclusive` +
      (a.lastVerdict ? `; last ${a.lastVerdict}` : '') +
      (a.lastCheckAt ? ` at ${a.lastCheckAt}` : ''),
  ];
  const limits = spec?.analysis;
  const row = (label: string, value: string, limit: string, judged = '') =>
    lines.push(`  ${label.padEnd(12)} ${value.padEnd(10)} ${limit.padEnd(22)} ${judged}`.trimEnd());
  if (a.requests !== undefined) {
    const min = limits?.minRequests;
    row(
      'requests',
      String(a.requests),
      min === undefined ? '' : `min ${min}`,
      min === undefined ? '' : a.requests >= min ? 'enough' : 'too few yet',
    );
  }
  if (a.errorRate !== undefined) {
    const max = limits?.thresholds.maxErrorRate;
    row(
      'error rate',
      percent(a.errorRate),
      max === undefined ? '' : `max ${percent(max)}`,
      max === undefined ? '' : verdict(a.errorRate <= max, a.lastVerdict),
    );
  }
  if (a.p99Ms !== undefined) {
    const max = limits?.thresholds.maxP99LatencyMs;
    row(
      'P99',
      `${number(a.p99Ms)} ms`,
      max === undefined ? '' : `max ${max} ms`,
      max === undefined ? '' : verdict(a.p99Ms <= max, a.lastVerdict),
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
    row(name, number(value), bounds, metric ? verdict(ok, a.lastVerdict) : '');
  }
  const compared = comparisonLine(a, spec);
  if (compared) lines.push(compared);
  if (a.lastMessage && a.lastMessage !== status.message) lines.push(`  last: ${a.lastMessage}`);
  return lines;
}

interface Revision {
  track: 'stable' | 'canary';
  number?: number;
  hash?: string;
  image?: string;
  workload?: WorkloadPods;
}

/**
 * "revision 7 (canary)  reg/app:1.4.0 · 2/2 ready", then its Deployment and pod-template hash below it: the
 * canary first, as the newer revision, and only while it is another revision than stable's.
 */
export function revisionLines(view: StatusView): string[] {
  const s = view.rollout.status ?? {};
  const revisions: Revision[] = [];
  if (s.canaryRevision && s.canaryRevision !== s.stableRevision) {
    const { canaryRevisionNumber: number, canaryRevision: hash } = s;
    revisions.push({ track: 'canary', number, hash, image: view.canaryImage, workload: view.canaryWorkload });
  }
  if (s.stableRevision || view.stableWorkload) {
    const { stableRevisionNumber: number, stableRevision: hash } = s;
    revisions.push({ track: 'stable', number, hash, image: view.stableImage, workload: view.stableWorkload });
  }
  if (!revisions.length) return [];
  return [
    'Revisions:',
    ...revisions.flatMap((r) => {
      const head = [
        `${r.number === undefined ? '' : `revision ${r.number} `}(${r.track})`,
        [r.image, r.workload && `${r.workload.ready}/${r.workload.desired} ready`]
          .filter(Boolean)
          .join(' · '),
      ];
      const below = [r.workload && `Deployment ${r.workload.name}`, r.hash && `pod template ${r.hash}`];
      return [`  ${head.filter(Boolean).join('  ')}`, `    └─ ${below.filter(Boolean).join(', ')}`];
    }),
  ];
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
  const ended = ENDED.includes(phase);
  // An ended release's message is its rollback reason, printed once below.
  if (s.message && !ended) lines.push(`Message:   ${s.message}`);
  if (phase === 'Paused' && s.reason === 'Gate') {
    lines.push(`Gate:      waiting for \`stepwise promote ${name}\` (analysis keeps running)`);
  }
  lines.push(
    `Step:      ${stepText(s, spec)}${spec ? `  (${spec.steps.map((x) => `${describeStep(x)}${x.pause ? ' gate' : ''}`).join(' → ')})` : ''}`,
  );
  lines.push(`Weight:    ${formatTraffic(s.canaryWeight)}${additionsText(s) ? `  ${additionsText(s)}` : ''}`);
  lines.push(...revisionLines(view));
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
  if (ended) {
    lines.push(`Rollback:  ${s.message ?? s.reason ?? phase}`);
  } else if (s.rolledBackRevision) {
    lines.push(`Rollback:  revision ${s.rolledBackRevision} was rolled back earlier`);
  }
  if (s.lastCommand) {
    const c = s.lastCommand;
    lines.push(
      `Command:   ${c.command} ${c.accepted ? 'accepted' : 'REJECTED'} ${age(c.at, now)} ago: ${c.message}`,
    );
  }
  lines.push(...historyLines(s.history, now));
  const invalid = s.conditions?.find((c) => c.type === 'InvalidSpec' && c.status === 'True');
  if (invalid) lines.push(`Invalid:   ${invalid.message}`);
  return lines.join('\n');
}

/** One line per state, for `--watch` when stdout is not a terminal and for `trigger --wait`. */
export function statusLine(status: RolloutStatus, spec?: RolloutSpec): string {
  const phase = status.phase ?? 'Pending';
  const parts = [phase.padEnd(11)];
  if (status.currentStep) parts.push(`step ${stepText(status, spec)}`);
  parts.push(
    `weight ${status.canaryWeight ?? 0}%${additionsText(status) ? `, ${additionsText(status)}` : ''}`,
  );
  if (status.message) parts.push(`- ${status.message}`);
  return parts.join(' ');
}

/** What a mirror or headerRoute step adds beside the weight: `mirror 100%`, `header route`. */
function additionsText(status: RolloutStatus): string {
  return [
    ...(status.mirrorPercent !== undefined ? [`mirror ${status.mirrorPercent}%`] : []),
    ...(status.headerRoute ? ['header route'] : []),
  ].join(', ');
}
