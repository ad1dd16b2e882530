// Where the pod template of a revision comes from: the canary runs it, or the target still asks for it. The
// target may be gone mid-rollout (a hold, transitions.ts) and may already ask for a newer revision.
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import type { Pass } from './pass.js';
import type { Observed } from './types.js';

export function templateOf(p: Pass, revision: string | undefined): V1PodTemplateSpec | undefined {
  const { canary, target } = p.observed;
  if (canary?.revision === revision) return canary!.template;
  return target?.revision === revision ? target!.template : undefined;
}

/** The template of `revision` from whichever observed Deployment holds it, stable included (what it runs, not what
 * to apply: see templateOf). */
export function observedTemplate(
  observed: Observed,
  revision: string | undefined,
): V1PodTemplateSpec | undefined {
  if (revision === undefined) return undefined;
  return [observed.canary, observed.target, observed.stable].find((track) => track?.revision === revision)
    ?.template;
}
