// Follows one Rollout through a demo stage by reading its status, as `kubectl get -w` would, and feeds
// every change to the live view until the stage's end condition holds.
import {
  AppsV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { Phase, RolloutStatus } from '../../src/api/status.js';
import { ROLLOUTS } from '../../src/kube/cluster.js';
import type { LiveView } from './live-view.js';
import { type Transition, describeTransition } from './render.js';

export const VERDICT_PHASES: readonly Phase[] = ['Succeeded', 'RolledBack', 'Aborted', 'Failed'];
const ACTIVE_PHASES: readonly Phase[] = ['Initializing', 'Progressing', 'Paused', 'Promoting'];

export interface RolloutRef {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
}

export interface StageOptions {
  title: string;
  totalSteps: number;
  evidenceLimit?: number;
  view: LiveView;
  /** Whether the stage is over, given the latest status and whether a release was seen in progress. */
  isDone(status: RolloutStatus, seenActive: boolean): boolean;
  timeoutMs: number;
  /** The status before the stage began: only changes from it are logged as transitions. */
  initial?: RolloutStatus;
  pollMs?: number;
  /** Called before every poll; throws to stop the stage (controller died, Ctrl-C). */
  checkAlive?: () => void;
}

export interface StageResult {
  status: RolloutStatus | undefined;
  timedOut: boolean;
  elapsedMs: number;
}

export async function readRolloutStatus(ref: RolloutRef): Promise<RolloutStatus | undefined> {
  const api = ref.kubeConfig.makeApiClient(CustomObjectsApi);
  const rollout = (await api.getNamespacedCustomObject({
    ...ROLLOUTS,
    namespace: ref.namespace,
    name: ref.name,
  })) as { status?: RolloutStatus };
  return rollout.status;
}

/** Shows the Rollout live until `isDone` or the timeout. */
export async function followStage(ref: RolloutRef, options: StageOptions): Promise<StageResult> {
  const started = Date.now();
  const transitions: Transition[] = [];
  let previous = options.initial;
  let seenActive = false;
  for (;;) {
    options.checkAlive?.();
    const elapsedMs = Date.now() - started;
    const status = await readRolloutStatus(ref);
    if (status) {
      const change = describeTransition(previous, status, options.totalSteps);
      if (change) transitions.push({ atMs: elapsedMs, text: change });
      if (status.phase && ACTIVE_PHASES.includes(status.phase)) seenActive = true;
      previous = status;
    }
    options.view.show({
      title: options.title,
      status,
      totalSteps: options.totalSteps,
      ...(options.evidenceLimit !== undefined ? { evidenceLimit: options.evidenceLimit } : {}),
      elapsedMs,
      transitions,
    });
    if (status && options.isDone(status, seenActive)) {
      options.view.finishStage();
      return { status, timedOut: false, elapsedMs };
    }
    if (elapsedMs > options.timeoutMs) {
      options.view.finishStage();
      return { status, timedOut: true, elapsedMs };
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
  }
}

/** Sets the image of the target Deployment's first container, as `kubectl set image` does in CI. */
export async function releaseImage(ref: RolloutRef, deployment: string, image: string): Promise<string> {
  const apps = ref.kubeConfig.makeApiClient(AppsV1Api);
  const current = await apps.readNamespacedDeployment({ name: deployment, namespace: ref.namespace });
  const container = current.spec?.template.spec?.containers[0]?.name;
  if (!container) throw new Error(`Deployment ${deployment} has no container to set the image on`);
  await apps.patchNamespacedDeployment(
    {
      name: deployment,
      namespace: ref.namespace,
      body: { spec: { template: { spec: { containers: [{ name: container, image }] } } } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
  return container;
}
