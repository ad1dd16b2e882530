// The example manifests are written for a real cluster (15 s checks, 1 min steps). The demo keeps them as
// they are on disk and only shortens the Rollout's analysis and points it at the sandbox's Prometheus.
import type { KubernetesObject } from '@kubernetes/client-node';
import { KIND } from '../../src/api/schema.js';

export interface DemoTiming {
  interval: string;
  stepDuration: string;
  minRequests: number;
}

/** About 40 s for a good release through 5 → 25 → 50 → 100 at the default traffic. */
export const DEMO_TIMING: DemoTiming = { interval: '2s', stepDuration: '8s', minRequests: 20 };
/** `--fast`: half the step time. */
export const FAST_TIMING: DemoTiming = { interval: '2s', stepDuration: '4s', minRequests: 10 };

interface RolloutManifest extends KubernetesObject {
  spec?: { steps?: unknown[]; analysis?: Record<string, unknown> & { prometheus?: Record<string, unknown> } };
}

/** The manifests with the Rollout's analysis shortened for the demo; the other objects are untouched. */
export function adjustForDemo(
  manifests: KubernetesObject[],
  options: { prometheusAddress: string; timing: DemoTiming },
): KubernetesObject[] {
  const rollouts = manifests.filter((m) => m.kind === KIND);
  if (rollouts.length !== 1) {
    throw new Error(`expected exactly one ${KIND} among the demo manifests, found ${rollouts.length}`);
  }
  return manifests.map((manifest) => {
    if (manifest.kind !== KIND) return manifest;
    const rollout = structuredClone(manifest) as RolloutManifest;
    const analysis = (rollout.spec ??= {}).analysis ?? {};
    rollout.spec.analysis = {
      ...analysis,
      prometheus: { ...analysis.prometheus, address: options.prometheusAddress },
      interval: options.timing.interval,
      stepDuration: options.timing.stepDuration,
      minRequests: options.timing.minRequests,
    };
    return rollout;
  });
}
