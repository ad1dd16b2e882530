// What the demo prints: pure functions from a Rollout status to text, so the look is unit-tested and the
// orchestration (demo.ts) only decides when to print.
import { formatMs, formatPercent } from '../../src/analysis/format.js';
import type { Phase, RolloutStatus } from '../../src/api/status.js';
import { formatTraffic, weightBar } from '../../src/cli/render/format.js';

export { formatTraffic, weightBar };

/** One stage of the demo as shown on screen. */
export interface DemoFrame {
  /** "Release 1.1.0 (a good image) — expect Succeeded". */
  title: string;
  status: RolloutStatus | undefined;
  /** Number of steps in the Rollout spec, for "step i/N". */
  totalSteps: number;
  /** The comparison rolls back when the evidence reaches this (1 / falseRollbackRate). */
  evidenceLimit?: number;
  elapsedMs: number;
  /** Phase and step changes of this stage, oldest first. */
  transitions: Transition[];
}

export interface Transition {
  atMs: number;
  text: string;
}

export interface RenderOptions {
  /** Terminal columns: every line is cut to fit, so the redraw can count lines. */
  width?: number;
  /** ANSI colours for the phase line. */
  color?: boolean;
  /** How many of the latest transitions are shown. */
  logLines?: number;
}

export const BAR_WIDTH = 40;
/** 23_400 -> "0:23", 65_000 -> "1:05". */
export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/** "2/4" while a canary is stepped through, "-" otherwise (currentStep 0 or unknown). */
export function formatStep(currentStep: number | undefined, totalSteps: number): string {
  return currentStep ? `${currentStep}/${totalSteps}` : '-';
}

/** Prometheus `increase()` extrapolates: 55.7 requests are shown as 56. */
export function formatRequests(requests: number | undefined): string {
  return requests === undefined || !Number.isFinite(requests) ? '-' : String(Math.round(requests));
}

/** E-value against the canary, two significant digits: 0.42, 3.2, 15, 120. */
export function formatEvidence(evidence: number | undefined): string {
  if (evidence === undefined || !Number.isFinite(evidence)) return '-';
  return evidence >= 100 ? String(Math.round(evidence)) : String(Number(evidence.toPrecision(2)));
}

const orDash = (value: number | undefined, format: (v: number) => string) =>
  value === undefined || !Number.isFinite(value) ? '-' : format(value);

/** The canary's latest analysis values in one line. */
export function formatAnalysis(status: RolloutStatus | undefined, evidenceLimit?: number): string {
  const a = status?.analysis;
  const evidence = formatEvidence(a?.evidence);
  const limit =
    evidenceLimit !== undefined && a?.evidence !== undefined ? ` (rollback at ${evidenceLimit})` : '';
  return [
    `requests ${formatRequests(a?.requests)}`,
    `error rate ${orDash(a?.errorRate, formatPercent)}`,
    `P99 ${orDash(a?.p99Ms, formatMs)}`,
    `evidence ${evidence}${limit}`,
  ].join(' · ');
}

/**
 * The transition a new status makes from the previous one, or undefined when phase, step and weight
 * did not change. A terminal phase carries its reason and message, since that is the verdict.
 */
export function describeTransition(
  previous: RolloutStatus | undefined,
  next: RolloutStatus,
  totalSteps: number,
): string | undefined {
  const changed =
    previous?.phase !== next.phase ||
    previous?.currentStep !== next.currentStep ||
    previous?.canaryWeight !== next.canaryWeight;
  if (!changed || !next.phase) return undefined;
  const parts: string[] = [next.phase];
  if (next.currentStep) parts.push(`step ${formatStep(next.currentStep, totalSteps)}`);
  if (next.canaryWeight !== undefined && (next.currentStep || next.canaryWeight > 0)) {
    parts.push(`canary ${next.canaryWeight}%`);
  }
  if (VERDICT_PHASES.includes(next.phase) && next.message) {
    parts.push(next.reason ? `${next.reason}: ${next.message}` : next.message);
  }
  return parts.join(' · ');
}

const VERDICT_PHASES: Phase[] = ['Succeeded', 'RolledBack', 'Aborted', 'Failed'];

/** The line printed for a status when stdout is not a terminal (CI logs): one per change. */
export function formatStatusLine(
  status: RolloutStatus | undefined,
  totalSteps: number,
  elapsedMs: number,
  evidenceLimit?: number,
): string {
  return `[${formatElapsed(elapsedMs)}] ${describeStatus(status, totalSteps, evidenceLimit)}`;
}

/** The part of the status line that changes with the Rollout (no clock), to tell whether to print. */
export function describeStatus(
  status: RolloutStatus | undefined,
  totalSteps: number,
  evidenceLimit?: number,
): string {
  if (!status?.phase) return 'waiting for the controller to pick up the Rollout';
  const head = `${status.phase} · step ${formatStep(status.currentStep, totalSteps)} · canary ${status.canaryWeight ?? 0}%`;
  const analysis = status.analysis ? ` · ${formatAnalysis(status, evidenceLimit)}` : '';
  const message = status.message ? ` · ${status.message}` : '';
  return head + analysis + message;
}

const COLORS: Partial<Record<Phase, string>> = {
  Healthy: '32',
  Succeeded: '32',
  Progressing: '33',
  Promoting: '36',
  Paused: '36',
  RolledBack: '31',
  Aborted: '31',
  Failed: '31',
};

/** The redrawn block shown on a terminal, as lines (no trailing newline). */
export function renderFrame(frame: DemoFrame, options: RenderOptions = {}): string[] {
  const width = Math.max(40, options.width ?? 100);
  const { status } = frame;
  const phase = status?.phase ?? '(none yet)';
  const label = (name: string, text: string) => `  ${name.padEnd(9)}${text}`;
  const barWidth = Math.max(10, Math.min(BAR_WIDTH, width - 40));
  const lines: { text: string; color?: string }[] = [
    { text: `▶ ${frame.title}` },
    {
      text: label(
        'phase',
        `${phase.padEnd(14)} step ${formatStep(status?.currentStep, frame.totalSteps).padEnd(5)} elapsed ${formatElapsed(frame.elapsedMs)}`,
      ),
      ...(status?.phase && COLORS[status.phase] ? { color: COLORS[status.phase] } : {}),
    },
    { text: label('traffic', formatTraffic(status?.canaryWeight, barWidth)) },
    { text: label('canary', formatAnalysis(status, frame.evidenceLimit)) },
    { text: label('message', status?.message ?? '-') },
  ];
  const shown = frame.transitions.slice(-(options.logLines ?? 10));
  shown.forEach((t, i) => {
    lines.push({ text: label(i === 0 ? 'log' : '', `${formatElapsed(t.atMs)}  ${t.text}`) });
  });
  return lines.map(({ text, color }) => {
    const fitted = fit(text, width);
    return options.color && color ? `\u001b[${color}m${fitted}\u001b[0m` : fitted;
  });
}

/** Cuts a line to `width` characters, marking the cut with an ellipsis. */
export function fit(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join('')}…`;
}
