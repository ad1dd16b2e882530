/** How the pods of one image answer: the share of 5xx responses and the latency distribution. */
export interface PodBehaviour {
  errorRate: number;
  latencyMs: { p50: number; p99: number };
}

export type BehaviourOf = (image: string) => PodBehaviour;

/** A healthy image: rare errors, 50 ms median, 200 ms P99 (well under the default 500 ms guard). */
export const HEALTHY_BEHAVIOUR: PodBehaviour = { errorRate: 0.001, latencyMs: { p50: 50, p99: 200 } };

/**
 * The sandbox's convention: a "bad image" is named by its tag, so a demo or test picks a failure mode
 * just by pushing an image.
 *   - tag contains `bad-errors` -> 5% of requests answer 500
 *   - tag contains `slow`       -> P99 three times the healthy P99 (600 ms, above the default 500 ms guard)
 *   - anything else             -> HEALTHY_BEHAVIOUR
 * Both can combine: `shop:v2-bad-errors-slow`.
 */
export function behaviourFromImageTag(image: string): PodBehaviour {
  const tag = imageTag(image);
  const errorRate = tag.includes('bad-errors') ? 0.05 : HEALTHY_BEHAVIOUR.errorRate;
  const p99 = tag.includes('slow') ? HEALTHY_BEHAVIOUR.latencyMs.p99 * 3 : HEALTHY_BEHAVIOUR.latencyMs.p99;
  return { errorRate, latencyMs: { p50: HEALTHY_BEHAVIOUR.latencyMs.p50, p99 } };
}

/** `registry:5000/shop/api:v2@sha256:...` -> `v2`; an image without a tag has the tag `latest`. */
function imageTag(image: string): string {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  return colon === -1 ? 'latest' : lastSegment.slice(colon + 1);
}
