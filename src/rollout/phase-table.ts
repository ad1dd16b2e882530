// The transition table as data: what each phase means and which phases it may move to. `Pass.moveTo` records
// every move, the tests assert each one against this table, and the README's phase table is generated from it
// (`npm run gen:phases`).
import type { Phase } from '../api/status.js';

export interface PhaseRow {
  meaning: string;
  /** The phases a pass may move to from this one (a phase listed here may be itself: a new reason). */
  next: readonly Phase[];
}

export const PHASE_TABLE: Record<Phase, PhaseRow> = {
  Initializing: {
    meaning:
      'creating `<app>-stable` from the target and waiting until it is ready; with routing that predates the subsets, waiting for the route (`AwaitingRouting`); back from `Failed` while the target still runs a rolled-back revision, to `RolledBack`/`Aborted` (`RolledBackEarlier`), never starting it again by itself',
    next: ['Initializing', 'Healthy', 'RolledBack', 'Aborted', 'Failed'],
  },
  Healthy: {
    meaning: 'stable serves 100%; no canary; waiting for a new revision',
    next: ['Progressing', 'Initializing', 'Failed'],
  },
  Progressing: {
    meaning:
      'a canary revision is being stepped through (weights, mirror copies, a header route) and analysed; only here and in `Paused` does the route object carry a mirror or header route added by Stepwise, which every other phase removes; canary readiness is checked in every pass; with a spec made invalid or the target deleted meanwhile, it holds where it is, still guarded by the last valid spec (`InvalidSpec` condition)',
    next: ['Progressing', 'Paused', 'Promoting', 'RolledBack', 'Aborted', 'Healthy', 'Failed'],
  },
  Paused: {
    meaning:
      'waiting at a gate (`pause: true`) or holding on inconclusive data; analysis and readiness keep being checked; `promote` continues',
    next: ['Progressing', 'Promoting', 'RolledBack', 'Aborted', 'Healthy', 'Failed'],
  },
  Promoting: {
    meaning:
      'the canary passed: stable gets its template, then 100% goes back to stable and the canary is scaled to 0; held to `progressDeadline`, and `abort` is accepted (stable first goes back to its previous template, the canary keeps its share until then); a canary with no ready pod hands its share to the ready pods of stable',
    next: ['Succeeded', 'RolledBack', 'Aborted', 'Failed'],
  },
  Succeeded: {
    meaning: 'the revision is now stable (then behaves like `Healthy`)',
    next: ['Progressing', 'Initializing', 'Failed'],
  },
  RolledBack: {
    meaning: 'automatic rollback; `reason`/`message` say which check, its value and its limit, at which step',
    next: ['Progressing', 'Healthy', 'Initializing', 'Failed'],
  },
  Aborted: {
    meaning: 'manual abort',
    next: ['Progressing', 'Healthy', 'Initializing', 'Failed'],
  },
  Failed: {
    meaning:
      'could not proceed: invalid spec (the `InvalidSpec` condition names the field), missing objects, stable not ready in time',
    next: ['Failed', 'Initializing', 'Healthy', 'RolledBack', 'Aborted'],
  },
};

/** Where a Rollout without a phase yet may go. */
export const FIRST_PHASES: readonly Phase[] = ['Initializing', 'Failed'];

export interface Move {
  from: Phase | undefined;
  to: Phase;
  reason: string;
}

export function isAllowedMove({ from, to }: Move): boolean {
  return (from === undefined ? FIRST_PHASES : PHASE_TABLE[from].next).includes(to);
}

/** The README's phase table. */
export function phaseTableMarkdown(): string {
  const rows = Object.entries(PHASE_TABLE).map(
    ([phase, row]) => `| \`${phase}\` | ${row.meaning} | ${row.next.map((p) => `\`${p}\``).join(', ')} |`,
  );
  return ['| phase | meaning | moves to |', '|---|---|---|', ...rows].join('\n');
}

const BEGIN = '<!-- phase table: generated from src/rollout/phase-table.ts by `npm run gen:phases` -->';
const END = '<!-- end of phase table -->';

/** `readme` with the text between the phase-table markers replaced by the generated table. */
export function withPhaseTable(readme: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no "${BEGIN}" … "${END}" section`);
  return `${readme.slice(0, start + BEGIN.length)}\n${phaseTableMarkdown()}\n${readme.slice(end)}`;
}
