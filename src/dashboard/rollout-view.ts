// What the dashboard's page shows, as JSON: read with the user's own kubeconfig, plus what the recorder saw.
import { CoreV1Api, type V1Deployment } from '@kubernetes/client-node';
import { validateSpec } from '../api/validate.js';
import type { Cluster, RolloutObject } from '../kube/cluster.js';
import { boundedApiClient, CALL_TIMEOUT_MS } from '../kube/bounded-client.js';
import { workloadName } from '../workload/labels.js';
import type { CheckRecorder } from './check-recorder.js';

const images = (d: V1Deployment | undefined) =>
  d?.spec?.template.spec?.containers.map((c) => c.image ?? '') ?? [];

export interface RolloutSummary {
  namespace: string;
  name: string;
  phase?: string;
  currentStep?: number;
  steps: number;
  canaryWeight: number;
  stableImages: string[];
  canaryImages: string[];
  reason?: string;
  message?: string;
}

export interface TimelineEvent {
  at: string;
  type: string;
  reason: string;
  message: string;
}

export class RolloutViews {
  private readonly core: CoreV1Api;

  constructor(
    private readonly cluster: Cluster,
    private readonly recorder: CheckRecorder,
  ) {
    this.core = boundedApiClient(cluster.kubeConfig, CoreV1Api, CALL_TIMEOUT_MS);
  }

  async summary(rollout: RolloutObject): Promise<RolloutSummary> {
    const { namespace, name } = rollout.metadata;
    const checked = validateSpec(rollout.spec);
    const app = checked.ok ? checked.spec.targetRef.name : undefined;
    const [stable, canary] = app
      ? await Promise.all(
          (['stable', 'canary'] as const).map((track) =>
            this.cluster.getDeployment(namespace, workloadName(app, track)).catch(() => undefined),
          ),
        )
      : [];
    const status = rollout.status ?? {};
    return {
      namespace,
      name,
      phase: status.phase,
      currentStep: status.currentStep,
      steps: checked.ok ? checked.spec.steps.length : 0,
      canaryWeight: status.canaryWeight ?? 0,
      stableImages: images(stable),
      // A canary scaled to 0 still holds the last template; it is only the canary while it has replicas.
      canaryImages: (canary?.spec?.replicas ?? 0) > 0 ? images(canary) : [],
      reason: status.reason,
      message: status.message,
    };
  }

  /** One Rollout with its limits, the checks and weights seen, its Events and its release history. */
  async detail(rollout: RolloutObject) {
    const { namespace, name } = rollout.metadata;
    const checked = validateSpec(rollout.spec);
    const spec = checked.ok ? checked.spec : rollout.status?.lastValidSpec;
    const status = rollout.status ?? {};
    const history = (status as { history?: unknown }).history;
    return {
      summary: await this.summary(rollout),
      status,
      steps: spec?.steps ?? [],
      limits: spec
        ? {
            maxErrorRate: spec.analysis.thresholds.maxErrorRate,
            maxP99LatencyMs: spec.analysis.thresholds.maxP99LatencyMs,
            comparison: spec.analysis.comparison.enabled,
            evidenceBound: 1 / spec.analysis.comparison.falseRollbackRate,
            tolerance: spec.analysis.comparison.tolerance,
          }
        : undefined,
      specProblems: checked.ok ? [] : checked.problems.map((p) => `${p.path}: ${p.message}`),
      recordingSince: this.recorder.since.toISOString(),
      checks: this.recorder.checks(namespace, name),
      weights: this.recorder.weights(namespace, name),
      events: await this.events(rollout),
      history: Array.isArray(history) ? history : [],
    };
  }

  /** The Rollout's Events, oldest first: the decisions the controller announced (DESIGN: an Event per transition). */
  private async events(rollout: RolloutObject): Promise<TimelineEvent[]> {
    const { namespace, name } = rollout.metadata;
    // Filtered here rather than by fieldSelector=involvedObject.name: every API server lists a namespace.
    const list = await this.core.listNamespacedEvent({ namespace }).catch(() => undefined);
    return (list?.items ?? [])
      .filter((e) => e.involvedObject.kind === 'Rollout' && e.involvedObject.name === name)
      .map((e) => ({
        at: new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? 0).toISOString(),
        type: e.type ?? 'Normal',
        reason: e.reason ?? '',
        message: e.message ?? '',
      }))
      .sort((a, b) => a.at.localeCompare(b.at));
  }
}
