// The controller keeps only the latest check in status.analysis, so the dashboard remembers what it saw:
// every check (by its lastCheckAt) and every weight change of every Rollout, since the dashboard started,
// bounded per Rollout so a dashboard left open for days does not grow without end.
import type { RolloutObject } from '../kube/cluster.js';
import type { Phase, Verdict } from '../api/status.js';
import type { TrackValues } from './track-values.js';

export const KEPT_PER_ROLLOUT = 1000;

export interface CheckSample {
  at: string;
  step?: number;
  weight?: number;
  verdict?: Verdict;
  requests?: number;
  errorRate?: number;
  p99Ms?: number;
  evidence?: number;
  rateRatio?: { lower: number; upper: number };
  message?: string;
  /** Stable's values over the same window, from Prometheus (filled in after the check was seen). */
  stable?: TrackValues;
  /** Why stable's values are missing. */
  stableUnavailable?: string;
}

export interface WeightSample {
  at: string;
  weight: number;
  phase?: Phase;
}

interface Seen {
  checks: CheckSample[];
  weights: WeightSample[];
}

const keyOf = (r: RolloutObject) => `${r.metadata.namespace}/${r.metadata.name}`;

const push = <T>(list: T[], item: T) => {
  list.push(item);
  if (list.length > KEPT_PER_ROLLOUT) list.splice(0, list.length - KEPT_PER_ROLLOUT);
};

export class CheckRecorder {
  readonly since = new Date();
  private readonly seen = new Map<string, Seen>();

  /** Notes what is new in these Rollouts' status since the last look; returns the checks not seen before. */
  observe(rollouts: RolloutObject[], now = new Date()): { rollout: RolloutObject; check: CheckSample }[] {
    const added: { rollout: RolloutObject; check: CheckSample }[] = [];
    for (const rollout of rollouts) {
      const status = rollout.status ?? {};
      let seen = this.seen.get(keyOf(rollout));
      if (!seen) {
        seen = { checks: [], weights: [] };
        this.seen.set(keyOf(rollout), seen);
      }
      const analysis = status.analysis;
      if (analysis?.lastCheckAt && seen.checks.at(-1)?.at !== analysis.lastCheckAt) {
        const check: CheckSample = {
          at: analysis.lastCheckAt,
          step: status.currentStep,
          weight: status.canaryWeight,
          verdict: analysis.lastVerdict,
          requests: analysis.requests,
          errorRate: analysis.errorRate,
          p99Ms: analysis.p99Ms,
          evidence: analysis.evidence,
          rateRatio: analysis.rateRatio,
          message: analysis.lastMessage,
        };
        push(seen.checks, check);
        added.push({ rollout, check });
      }
      const weight = status.canaryWeight ?? 0;
      const last = seen.weights.at(-1);
      if (!last || last.weight !== weight || last.phase !== status.phase) {
        push(seen.weights, { at: now.toISOString(), weight, phase: status.phase });
      }
    }
    return added;
  }

  checks(namespace: string, name: string): CheckSample[] {
    return this.seen.get(`${namespace}/${name}`)?.checks ?? [];
  }

  weights(namespace: string, name: string): WeightSample[] {
    return this.seen.get(`${namespace}/${name}`)?.weights ?? [];
  }
}
