import type { RolloutObject } from '../../kube/cluster.js';
import { age, table } from './format.js';

// Custom objects keep the timestamp as JSON text; typed clients turn it into a Date.
const createdAt = (r: RolloutObject) => {
  const at = r.metadata.creationTimestamp as Date | string | undefined;
  return at === undefined ? undefined : new Date(at).toISOString();
};

export interface ListColumns {
  /** -A: a NAMESPACE column first, as kubectl prints it. */
  allNamespaces?: boolean;
  /** -o wide: the revision numbers, reason and message after the printer columns. */
  wide?: boolean;
}

const byNamespaceAndName = (a: RolloutObject, b: RolloutObject) =>
  a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name);

/** `stepwise list`: the CRD's printer columns (Phase, Step, Weight, Stable, Canary, Age). */
export function renderList(rollouts: RolloutObject[], now: Date, columns: ListColumns = {}): string {
  if (rollouts.length === 0) return 'No Rollouts found.';
  const rows = [
    [
      ...(columns.allNamespaces ? ['NAMESPACE'] : []),
      ...['NAME', 'PHASE', 'STEP', 'WEIGHT', 'STABLE', 'CANARY', 'AGE'],
      ...(columns.wide ? ['STABLE-REV', 'CANARY-REV', 'REASON', 'MESSAGE'] : []),
    ],
  ];
  for (const r of [...rollouts].sort(byNamespaceAndName)) {
    const s = r.status ?? {};
    rows.push([
      ...(columns.allNamespaces ? [r.metadata.namespace] : []),
      r.metadata.name,
      s.phase ?? '',
      s.currentStep === undefined ? '' : String(s.currentStep),
      s.canaryWeight === undefined ? '' : String(s.canaryWeight),
      s.stableRevision ?? '',
      s.canaryRevision ?? '',
      age(createdAt(r), now),
      ...(columns.wide
        ? [
            String(s.stableRevisionNumber ?? ''),
            // Only while it is another revision than stable's, as `status` shows it.
            s.canaryRevision !== s.stableRevision ? String(s.canaryRevisionNumber ?? '') : '',
            s.reason ?? '',
            s.message ?? '',
          ]
        : []),
    ]);
  }
  return table(rows);
}
