import type { RolloutObject } from '../../kube/cluster.js';
import { age, table } from './format.js';

// Custom objects keep the timestamp as JSON text; typed clients turn it into a Date.
const createdAt = (r: RolloutObject) => {
  const at = r.metadata.creationTimestamp as Date | string | undefined;
  return at === undefined ? undefined : new Date(at).toISOString();
};

/** `stepwise list`: the CRD's printer columns (Phase, Step, Weight, Stable, Canary, Age). */
export function renderList(rollouts: RolloutObject[], now: Date): string {
  if (rollouts.length === 0) return 'No Rollouts found.';
  const rows = [['NAME', 'PHASE', 'STEP', 'WEIGHT', 'STABLE', 'CANARY', 'AGE']];
  for (const r of [...rollouts].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const s = r.status ?? {};
    rows.push([
      r.metadata.name,
      s.phase ?? '',
      s.currentStep === undefined ? '' : String(s.currentStep),
      s.canaryWeight === undefined ? '' : String(s.canaryWeight),
      s.stableRevision ?? '',
      s.canaryRevision ?? '',
      age(createdAt(r), now),
    ]);
  }
  return table(rows);
}
