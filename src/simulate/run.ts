import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { POD_HISTORY_SECONDS, podSpreadOf } from '../analysis/comparison/pod-spread.js';
import type { Random } from '../analysis/comparison/random.js';
import { durationMs } from '../api/duration.js';
import type { RolloutSpec } from '../api/schema.js';
import type { RolloutStatus } from '../api/status.js';
import { checkDue } from '../rollout/checks.js';
import { headerRouteId as routeIdOf } from '../traffic/header-matches.js';
import { stepDurationMs } from '../rollout/plan.js';
import { decide } from '../rollout/transitions.js';
import type { Action, Observed, WorkloadObservation } from '../rollout/types.js';
import { podSeries, simulatedCheck, type SimulatedPrometheus } from './analysis.js';
import { ScrapedArm } from './scrapes.js';
import {
  armBehaviours,
  BUCKETS_MS,
  burstStart,
  drawHistory,
  drawSecond,
  podMultiplier,
  type RouteNow,
  type TrafficModel,
} from './traffic.js';

// One rollout on a virtual clock that ticks in whole seconds: traffic is drawn for every second with the weight the
// VirtualService carries, Prometheus scrapes at its interval, and the controller's passes run the real state machine
// (decide, checkDue) whenever it asked to be woken up or something it changed has settled.

export interface RunOutcome {
  outcome: 'promoted' | 'rolledBack' | 'undecided';
  /** From the new revision's arrival to the decision (promotion starts or rollback), or to the give-up time. */
  seconds: number;
  /** Requests the canary served: users' and mirrored copies. */
  canaryRequests: number;
  /** Of these, those it failed (a user's request once, after all retries; a copy once). */
  failedCanaryRequests: number;
  /** Users' requests that reached the canary (by weight or by the header route); copies are not among them. */
  userCanaryRequests: number;
  /** Of these, those the users saw fail (after all retries). */
  failedUserRequests: number;
  /** Why the rollout was rolled back, or where it stood when the simulation gave up. */
  message?: string;
}

export interface RunSettings {
  /** Seconds from a canary Deployment change until its pods are ready (0: at once). */
  podReadySeconds: number;
  /** A run still undecided after this many seconds is counted as undecided. */
  maxSeconds: number;
}

/** Enough time for every step, plus the progress deadline and a margin for holds. */
export function defaultMaxSeconds(spec: RolloutSpec): number {
  const steps = spec.steps.reduce((sum, step) => sum + stepDurationMs(spec, step), 0);
  return Math.ceil((steps + durationMs(spec.progressDeadline)) / 1000) + 600;
}

const REPLICAS = 4;
const EPOCH_S = Date.parse('2026-01-01T00:00:00Z') / 1000;
const MAX_PASSES_PER_SECOND = 8;
const WARM_UP_SECONDS = 30;

const template = (image: string): V1PodTemplateSpec => ({
  metadata: { labels: { app: 'simulated' } },
  spec: { containers: [{ name: 'app', image }] },
});

interface Track {
  revision: string;
  replicas: number;
  readyAt: number;
  /** Pods ready before `readyAt`: those of the same revision from before a scale-up. */
  readyMeanwhile: number;
}

/** The track after the controller applied `revision` at `replicas`: new pods are ready `readySeconds` later. */
function applied(
  track: Track | undefined,
  revision: string,
  replicas: number,
  t: number,
  readySeconds: number,
): Track {
  const sameRevision = track?.revision === revision;
  if (sameRevision && track.replicas >= replicas) return { ...track, replicas };
  const readyBefore = sameRevision
    ? Math.min(track.replicas, t >= track.readyAt ? track.replicas : track.readyMeanwhile)
    : 0;
  return { revision, replicas, readyAt: t + readySeconds, readyMeanwhile: readyBefore };
}

export function simulateRun(
  spec: RolloutSpec,
  traffic: TrafficModel,
  random: Random,
  settings: RunSettings,
): RunOutcome {
  const behaviours = armBehaviours(traffic);
  const spread = traffic.podErrorRateSpread ?? 0;
  // Each pod slot keeps its multiplier for the run: a pod of this version answers worse or better than its siblings.
  const podRates = { stable: [] as number[], canary: [] as number[] };
  const podsOf = (arm: 'stable' | 'canary', count: number): number[] => {
    const rates = podRates[arm];
    while (rates.length < count) rates.push(podMultiplier(random, spread));
    return rates.slice(0, count);
  };
  const burstAt = burstStart(random, traffic);
  const prometheus: SimulatedPrometheus = {
    canary: new ScrapedArm(BUCKETS_MS.length + 1),
    stable: new ScrapedArm(BUCKETS_MS.length + 1),
  };
  // Stable has served all traffic for a day before: its pods' history, per pod, as the comparison reads it.
  const history = drawHistory(
    random,
    POD_HISTORY_SECONDS,
    { behaviour: behaviours.stable, pods: podsOf('stable', REPLICAS) },
    traffic,
  );
  const podSpread = podSpreadOf(
    Object.fromEntries(history.map((pod, i) => [podSeries(i), pod.requests])),
    Object.fromEntries(history.map((pod, i) => [podSeries(i), pod.errors])),
  );
  const stableBefore = { p99Ms: traffic.stableP99Ms, ...(podSpread ? { podSpread } : {}) };
  const scrapeEvery = Math.max(1, Math.round(traffic.scrapeIntervalSeconds));

  let stable: Track = { revision: 'stable', replicas: REPLICAS, readyAt: 0, readyMeanwhile: 0 };
  let canary: Track | undefined;
  // What the managed route carries, as the controller's last setCanaryWeight asked for it.
  let route: RouteNow = { weight: 0 };
  let headerRouteId: string | undefined;
  let status: RolloutStatus = {
    phase: 'Healthy',
    observedGeneration: 1,
    stableRevision: 'stable',
    canaryWeight: 0,
    currentStep: 0,
    replicas: REPLICAS,
  };
  let nextPassAt = 0;
  // When pods the controller asked for become ready: their Deployment's watch event wakes it, whatever it asked for.
  let podsReadyAt = Infinity;
  const served = { canaryRequests: 0, failedCanaryRequests: 0, userCanaryRequests: 0, failedUserRequests: 0 };

  const observe = (track: Track | undefined, t: number): WorkloadObservation | undefined =>
    track && {
      revision: track.revision,
      template: template(track.revision),
      replicas: track.replicas,
      readyReplicas: t >= track.readyAt ? track.replicas : track.readyMeanwhile,
      rolledOut: t >= track.readyAt,
    };

  const apply = (action: Action, t: number): number | undefined => {
    switch (action.kind) {
      case 'setCanaryWeight': {
        const { weight, mirrorPercent, headerMatches } = action;
        route = {
          weight,
          ...(mirrorPercent ? { mirrorPercent } : {}),
          ...(headerMatches ? { headerRoute: true } : {}),
        };
        // The router names its header route by the matches' id, and reads it back as that id.
        headerRouteId = headerMatches ? routeIdOf(headerMatches) : undefined;
        return undefined;
      }
      case 'applyCanary':
        canary = applied(canary, action.revision, action.replicas, t, settings.podReadySeconds);
        return canary.readyAt;
      case 'applyStable':
        stable = applied(stable, action.revision, action.replicas, t, settings.podReadySeconds);
        return stable.readyAt;
      case 'scaleCanary':
        if (canary) canary.replicas = action.replicas;
        return undefined;
      case 'scaleTarget':
        return undefined;
    }
  };

  /** One controller pass at second `t`; returns whether the world changed (a watch event would follow). */
  const pass = (t: number): boolean => {
    const now = new Date((EPOCH_S + t) * 1000);
    const due = checkDue(spec, status, now);
    const check = due ? simulatedCheck(spec, status, due, EPOCH_S + t, prometheus, stableBefore) : undefined;
    const observed: Observed = {
      generation: 1,
      problems: [],
      target: { revision: 'canary', template: template('canary'), replicas: 0 },
      stable: observe(stable, t),
      canary: observe(canary, t),
      canaryWeight: route.weight,
      routeAdded: {
        ...(route.mirrorPercent ? { mirrorPercent: route.mirrorPercent } : {}),
        ...(headerRouteId ? { headerRoute: headerRouteId } : {}),
      },
      ...(check ? { check } : {}),
    };
    const decision = decide({ spec, status, observed, now });
    status = decision.status;
    for (const action of decision.actions) {
      const readyAt = apply(action, t);
      if (readyAt !== undefined && readyAt > t) podsReadyAt = Math.min(podsReadyAt, readyAt);
    }
    nextPassAt =
      decision.requeueAfterMs !== undefined ? t + Math.ceil(decision.requeueAfterMs / 1000) : Infinity;
    return decision.actions.length > 0;
  };

  // Stable serves alone for a while first, so its series exist (and have history) when the rollout starts at t = 0.
  for (let t = -WARM_UP_SECONDS; t <= settings.maxSeconds; t++) {
    if (t > -WARM_UP_SECONDS) {
      const bursting = burstAt !== undefined && t >= burstAt && t < burstAt + traffic.burst!.seconds;
      const second = drawSecond(
        random,
        traffic,
        route,
        {
          stable: { behaviour: behaviours.stable, pods: podsOf('stable', stable.replicas) },
          canary: { behaviour: behaviours.canary, pods: podsOf('canary', canary?.replicas ?? 1) },
        },
        bursting ? traffic.burst!.errorRate : 0,
      );
      prometheus.stable.serve(second.stable);
      prometheus.canary.serve(second.canary);
      // What the users saw (one request each, failed after all retries), and the copies nobody saw.
      served.userCanaryRequests += second.canary.callers.requests;
      served.failedUserRequests += second.canary.callers.errors;
      served.canaryRequests += second.canary.callers.requests + second.mirrored.requests;
      served.failedCanaryRequests += second.canary.callers.errors + second.mirrored.errors;
    }
    if (t % scrapeEvery === 0) {
      prometheus.stable.scrape(EPOCH_S + t);
      prometheus.canary.scrape(EPOCH_S + t);
    }
    if (t < 0) continue;
    if (t >= podsReadyAt) {
      podsReadyAt = Infinity;
      nextPassAt = Math.min(nextPassAt, t);
    }
    for (let passes = 0; passes < MAX_PASSES_PER_SECOND && t >= nextPassAt; passes++) {
      // A pass that changed the world is followed at once by another (the watch event of the change).
      if (!pass(t)) break;
      nextPassAt = Math.min(nextPassAt, t);
      if (status.phase === 'RolledBack' || status.phase === 'Promoting') break;
    }
    if (status.phase === 'RolledBack' || status.phase === 'Promoting' || status.phase === 'Succeeded') {
      return {
        outcome: status.phase === 'RolledBack' ? 'rolledBack' : 'promoted',
        seconds: t,
        ...served,
        ...(status.phase === 'RolledBack' ? { message: status.message } : {}),
      };
    }
  }
  return {
    outcome: 'undecided',
    seconds: settings.maxSeconds,
    ...served,
    message: `${status.phase}: ${status.message ?? ''}`,
  };
}
