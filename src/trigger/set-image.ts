// Sets a new image on a Rollout's target Deployment: shared by `stepwise trigger` and the trigger webhook.
import type { V1Container, V1Deployment } from '@kubernetes/client-node';
import { isConflict } from '../kube/errors.js';
import type { Cluster } from '../kube/cluster.js';
import { revisionOf } from '../workload/revision.js';
import { imageRefusal, type ImageRequest } from './image.js';
import { parseImageReference } from './image-reference.js';

export type TriggerErrorKind = 'notFound' | 'invalid' | 'forbidden' | 'conflict';

export class TriggerError extends Error {
  constructor(
    message: string,
    readonly kind: TriggerErrorKind,
  ) {
    super(message);
  }
}

export interface TriggerResult {
  namespace: string;
  rollout: string;
  deployment: string;
  container: string;
  image: string;
  previousImage: string;
  /** False when the container already had this image: nothing was written (no restart). */
  changed: boolean;
  /** Pod-template revision the controller will roll out (as status.canaryRevision/stableRevision). */
  revision: string;
}

export interface SetImageOptions {
  /** Refuse images outside the current repository unless spec.trigger.allowedImages allows them. */
  enforceRepository?: boolean;
}

interface TriggerSpec {
  targetRef?: { name?: unknown };
  trigger?: { allowedImages?: unknown };
}

function pickContainer(
  containers: V1Container[],
  wanted: string | undefined,
  deployment: string,
): V1Container {
  const names = containers.map((c) => c.name).join(', ');
  if (wanted === undefined) {
    if (containers.length === 1) return containers[0]!;
    throw new TriggerError(
      `Deployment ${deployment} has several containers (${names}); name one: --image <container>=<image>`,
      'invalid',
    );
  }
  const found = containers.find((c) => c.name === wanted);
  if (!found) {
    throw new TriggerError(
      `Deployment ${deployment} has no container ${wanted}; its containers are ${names}`,
      'invalid',
    );
  }
  return found;
}

const ATTEMPTS = 3;

export async function setRolloutImage(
  cluster: Cluster,
  namespace: string,
  rolloutName: string,
  request: ImageRequest,
  options: SetImageOptions = {},
): Promise<TriggerResult> {
  try {
    parseImageReference(request.image);
  } catch (error) {
    throw new TriggerError((error as Error).message, 'invalid');
  }
  const rollout = await cluster.getRollout(namespace, rolloutName);
  if (!rollout) throw new TriggerError(`Rollout ${namespace}/${rolloutName} not found`, 'notFound');
  const spec = (rollout.spec ?? {}) as TriggerSpec;
  const target = spec.targetRef?.name;
  if (typeof target !== 'string' || target === '') {
    throw new TriggerError(
      `Rollout ${namespace}/${rolloutName} has no spec.targetRef.name; fix the Rollout`,
      'invalid',
    );
  }
  const allowed = Array.isArray(spec.trigger?.allowedImages)
    ? spec.trigger.allowedImages.filter((p): p is string => typeof p === 'string')
    : [];

  for (let attempt = 1; ; attempt++) {
    const deployment = await cluster.getDeployment(namespace, target);
    if (!deployment) {
      throw new TriggerError(
        `Deployment ${namespace}/${target} (the target of Rollout ${rolloutName}) not found`,
        'notFound',
      );
    }
    const containers = deployment.spec?.template.spec?.containers ?? [];
    const container = pickContainer(containers, request.container, target);
    const previousImage = container.image ?? '';
    if (options.enforceRepository) {
      const refusal = imageRefusal(previousImage, request.image, allowed);
      if (refusal) throw new TriggerError(refusal, 'forbidden');
    }
    const result = (d: V1Deployment, changed: boolean): TriggerResult => ({
      namespace,
      rollout: rolloutName,
      deployment: target,
      container: container.name,
      image: request.image,
      previousImage,
      changed,
      revision: revisionOf(d.spec!.template),
    });
    if (previousImage === request.image) return result(deployment, false);

    // A merge patch replaces the containers list whole; the resourceVersion makes a concurrent edit a 409
    // instead of a lost update.
    const updated = containers.map(
      (c) =>
        JSON.parse(
          JSON.stringify(c.name === container.name ? { ...c, image: request.image } : c),
        ) as V1Container,
    );
    try {
      const patched = await cluster.patchDeployment(namespace, target, {
        metadata: { resourceVersion: deployment.metadata?.resourceVersion },
        spec: { template: { spec: { containers: updated } } },
      });
      return result(patched, true);
    } catch (error) {
      if (!isConflict(error)) throw error;
      if (attempt >= ATTEMPTS) {
        throw new TriggerError(
          `Deployment ${namespace}/${target} kept changing while the image was set; try again`,
          'conflict',
        );
      }
    }
  }
}
