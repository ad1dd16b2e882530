import { escapeLabelValue, escapeRegex } from '../promql.js';

// A per-workload query that can be sent as one query for several workloads. `sum by (pod, instance, L)
// (m{L=~"a|b", ...})` gives, for each value of L, exactly what `sum by (pod, instance) (m{L="a", ...})` gives alone:
// the regex matcher selects the union of the workloads' series and the extra grouping label keeps them apart
// (`sum by ()`, the same as `sum`, becomes `sum by (L)`).
// Prometheus anchors regex matchers at both ends (prometheus/model/labels/regexp.go), so `a|b` matches a or b only.

export interface WorkloadBatch {
  /** The query with the workload left out: reads with the same key (and target and instant) share one query. */
  key: string;
  /** The label whose value is the workload; the answer's series are split by it. */
  label: string;
  workload: string;
  /** The query for all of `workloads`, grouped by `label` too. */
  promqlFor(workloads: readonly string[]): string;
}

/** One read of a workload's series: its own query, and how to batch it when it can be. */
export interface WorkloadRead {
  promql: string;
  batch?: WorkloadBatch;
}

// Stands for the workload while the query is built; never sent (it cannot be a Kubernetes name).
const SENTINEL = '\u0000workload\u0000';

/**
 * `build(workload)` as a WorkloadRead. It batches only when the workload enters the query as `label="<workload>"`
 * and nowhere else, and `grouping` (`sum by (pod, instance)`) is how the query keeps its series apart; a query built
 * otherwise (a custom provider's template) is sent alone.
 */
export function workloadRead(
  build: (workload: string) => string,
  workload: string,
  label: string | undefined,
  grouping: string,
): WorkloadRead {
  const promql = build(workload);
  if (label === undefined) return { promql };
  const shape = build(SENTINEL);
  const exact = `${label}="${SENTINEL}"`;
  const parts = shape.split(exact);
  const alone = parts.join(`${label}="${escapeLabelValue(workload)}"`);
  if (parts.length < 2 || alone !== promql || parts.some((part) => part.includes(SENTINEL))) {
    return { promql };
  }
  if (!shape.includes(grouping) || !grouping.endsWith(')')) return { promql };
  const grouped = grouping.endsWith('()')
    ? `${grouping.slice(0, -1)}${label})`
    : `${grouping.slice(0, -1)}, ${label})`;
  return {
    promql,
    batch: {
      key: shape,
      label,
      workload,
      promqlFor: (workloads) => {
        const regex = escapeLabelValue(workloads.map(escapeRegex).join('|'));
        return parts.join(`${label}=~"${regex}"`).split(grouping).join(grouped);
      },
    },
  };
}
