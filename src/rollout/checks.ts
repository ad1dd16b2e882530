// How analysis checks are scheduled and what their verdicts do to the rollout (DESIGN §2 "How a step is judged").
import type { RolloutSpec } from '../api/schema.js';
import type { RolloutStatus } from '../api/status.js';
import type { CheckResult, Finding } from '../analysis/types.js';
import { rollback } from './moves.js';
import { judgedSince, type Pass } from './pass.js';
import { intervalMs, stepDurationMs } from './plan.js';

export interface DueCheck {
  /** When the traffic judged took effect: the step's start, or the held weight's while the step waits for pods. */
  stepStartedAt: Date;
  /** Start of the thresholds' window (see `windowStartMs`), at least one interval before `at`. */
  windowStartedAt: Date;
  /** Where the comparison's first check reads its baseline and stable's history (see `baselineAtMs`). */
  baselineAt: Date;
  previousCheckAt?: Date;
  /** The check's evaluation instant: the latest instant of the interval's grid (see `nextCheckAtMs`). */
  at: Date;
}

const ms = (iso: string | undefined) => (iso ? Date.parse(iso) : undefined);

const judgedSinceMs = (status: RolloutStatus) => ms(judgedSince(status));

/** The grid instant at or before `t`: `offset` past a multiple of `every` since the Unix epoch. */
const gridFloor = (t: number, every: number, offset = 0) => Math.floor((t - offset) / every) * every + offset;
const gridCeil = (t: number, every: number, offset = 0) => Math.ceil((t - offset) / every) * every + offset;

/**
 * Where in the interval a namespace's grid lies: a whole number of seconds below the interval, from its name. The
 * Rollouts of one namespace share their instants (and their queries, analysis/batch/); different namespaces come due
 * at different instants, so that 1,000 Rollouts in ten namespaces are not all checked at once.
 */
export function checkGridOffsetMs(namespace: string, spec: RolloutSpec): number {
  const seconds = Math.floor(intervalMs(spec) / 1000);
  let hash = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < namespace.length; i++) hash = Math.imul(hash ^ namespace.charCodeAt(i), 0x01000193);
  return ((hash >>> 0) % Math.max(1, seconds)) * 1000;
}

/**
 * Where the thresholds' window starts: the first grid instant at or after the step's weight took effect, so that it
 * holds the step's traffic only, and the Rollouts checked at one instant whose steps began within the same interval
 * judge the same window and share its queries (analysis/batch/). The step's first check comes at least one interval
 * later (`nextCheckAtMs`), so the window is never empty at a check.
 */
export function windowStartMs(stepStartedAtMs: number, everyMs: number, offsetMs = 0): number {
  return gridCeil(stepStartedAtMs, everyMs, offsetMs);
}

/**
 * Where the comparison's first check of a release reads its baseline counters and stable's history: the grid
 * instant at or before the step's start, so that the Rollouts of a namespace whose releases began within one
 * interval share those queries as they share the later checks' (analysis/batch/). Up to one interval earlier than
 * the step's start, its first increment then also holds that slice of traffic before the canary's weight took
 * effect: stable's requests, and none of the canary's (a release starts at weight 0 with new canary pods). The
 * exception is a release that replaced another mid-rollout (`analysis.replacedCanary`) and has not been checked
 * yet: the replaced canary may have served in that slice, so the baseline is read at the step's own start.
 */
export function baselineAtMs(
  status: RolloutStatus,
  stepStartedAtMs: number,
  everyMs: number,
  offsetMs = 0,
): number {
  if (status.analysis?.replacedCanary && !status.analysis.checks) return stepStartedAtMs;
  return gridFloor(stepStartedAtMs, everyMs, offsetMs);
}

/** Whether a check is due now (see `nextCheckAtMs`); `offsetMs` places the grid (`checkGridOffsetMs`). */
export function checkDue(
  spec: RolloutSpec | undefined,
  status: RolloutStatus,
  now: Date,
  offsetMs = 0,
): DueCheck | undefined {
  if (!spec || (status.phase !== 'Progressing' && status.phase !== 'Paused')) return undefined;
  const next = nextCheckAtMs(spec, status, offsetMs);
  if (next === undefined || now.getTime() < next) return undefined;
  const previous = ms(status.analysis?.lastCheckAt);
  const started = judgedSinceMs(status)!;
  return {
    stepStartedAt: new Date(started),
    windowStartedAt: new Date(windowStartMs(started, intervalMs(spec), offsetMs)),
    baselineAt: new Date(baselineAtMs(status, started, intervalMs(spec), offsetMs)),
    ...(previous !== undefined ? { previousCheckAt: new Date(previous) } : {}),
    at: new Date(gridFloor(now.getTime(), intervalMs(spec), offsetMs)),
  };
}

/**
 * When the next check is due. Checks fall on the interval's grid, the multiples of `interval` since the Unix epoch
 * shifted by the namespace's offset (`checkGridOffsetMs`), so that the Rollouts of a namespace with the same interval
 * are checked at the same instants and their counters read together (analysis/batch/): the first check of a step at the first grid instant at least one interval after the step's
 * weight took effect, then every interval after the grid instant the latest check was evaluated at.
 */
export function nextCheckAtMs(spec: RolloutSpec, status: RolloutStatus, offsetMs = 0): number | undefined {
  const started = judgedSinceMs(status);
  if (started === undefined) return undefined;
  const every = intervalMs(spec);
  const first = windowStartMs(started, every, offsetMs) + every;
  const last = ms(status.analysis?.lastCheckAt);
  // A check evaluates at the grid instant before its pass (checkDue), which is where the next interval starts.
  return last !== undefined && last >= started
    ? Math.max(first, gridFloor(last, every, offsetMs) + every)
    : first;
}

const REASONS: Record<string, string> = {
  errorRate: 'ErrorRate',
  p99Latency: 'P99Latency',
  comparison: 'CanaryWorseThanStable',
};

function reasonOf(finding: Finding | undefined): string {
  if (!finding) return 'CheckFailed';
  return REASONS[finding.metric] ?? 'MetricCheckFailed';
}

/** Records a check's values and applies its verdict: count it, roll back, hold or resume. */
export function recordCheck(p: Pass, check: CheckResult): void {
  const a = p.analysis;
  const spec = p.spec.analysis;
  a.checks += 1;
  a.lastCheckAt = p.nowIso;
  a.lastVerdict = check.verdict;
  // Whole requests, and no more digits than mean something; the error rate keeps enough digits that showing it
  // with 3 (as the messages show the raw value) cannot round differently: 3/66 reads 4.55% in both.
  a.requests = check.requests === undefined ? undefined : Math.round(check.requests);
  a.errorRate = check.errorRate === undefined ? undefined : Number(check.errorRate.toPrecision(6));
  a.p99Ms = check.p99Ms === undefined ? undefined : Math.round(check.p99Ms * 10) / 10;
  a.metrics = Object.keys(check.metrics).length ? check.metrics : undefined;
  a.evidence = check.evidence;
  a.rateRatio = check.rateRatio;
  if (check.comparison !== undefined) a.comparison = check.comparison;

  if (check.verdict === 'fail') {
    a.failed += 1;
    a.consecutiveInconclusive = 0;
    const what = check.failures.map((f) => f.message).join('; ');
    a.lastMessage = what;
    if (check.decisive || a.failed > spec.failureLimit) {
      const tally = check.decisive
        ? `check ${a.checks}`
        : `check ${a.checks}; ${a.failed} failed checks > failureLimit ${spec.failureLimit}`;
      const first = check.failures[0];
      const finding = first && { metric: first.metric, value: first.value, limit: first.limit };
      rollback(p, 'RolledBack', reasonOf(first), `${p.stepLabel()}: ${what} (${tally})`, finding);
    } else {
      p.announce(
        'Warning',
        'CheckFailed',
        `${p.stepLabel()}: ${what} (${a.failed} of ${spec.failureLimit} tolerated failed checks)`,
      );
    }
    return;
  }

  if (check.verdict === 'inconclusive') {
    a.inconclusive += 1;
    a.consecutiveInconclusive += 1;
    const why = check.inconclusive.join('; ') || 'no usable data';
    a.lastMessage = why;
    if (a.consecutiveInconclusive < spec.inconclusiveLimit) return;
    const message = `${p.stepLabel()}: ${a.consecutiveInconclusive} inconclusive checks in a row (inconclusiveLimit ${spec.inconclusiveLimit}): ${why}`;
    if (spec.onInconclusive === 'rollback') {
      rollback(p, 'RolledBack', 'Inconclusive', message);
    } else if (p.phase === 'Progressing') {
      p.moveTo(
        'Paused',
        'Inconclusive',
        `${message}; holding until the data come back or \`stepwise promote\``,
        'Warning',
      );
    }
    return;
  }

  a.consecutiveInconclusive = 0;
  a.lastMessage = undefined;
  if (p.phase === 'Paused' && p.status.reason === 'Inconclusive') {
    p.moveTo('Progressing', 'AnalysisResumed', `${p.stepLabel()}: analysis conclusive again; continuing`);
  }
}

/** A step passes when its duration has elapsed, it saw minRequests canary requests, and its latest check passed. */
export function stepPassed(p: Pass): boolean {
  const started = ms(p.status.stepStartedAt);
  const last = ms(p.analysis.lastCheckAt);
  if (started === undefined || last === undefined || last < started) return false;
  return (
    p.nowMs >= started + stepDurationMs(p.spec, p.step()) &&
    p.analysis.lastVerdict === 'pass' &&
    (p.analysis.requests ?? 0) >= p.spec.analysis.minRequests
  );
}
