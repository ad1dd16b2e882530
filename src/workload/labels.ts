// Names Stepwise puts on the objects it owns. The DestinationRule subsets select TRACK_LABEL, and Istio
// reports each Deployment name as `destination_workload`, which is how metrics tell the tracks apart.

export const STEPWISE_PREFIX = 'stepwise.dev/';

/** Pod and selector label that tells the stable pods from the canary pods. */
export const TRACK_LABEL = `${STEPWISE_PREFIX}track`;

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'stepwise';

/** Deployment annotation: the pod-template hash the track runs (see revisionOf). */
export const REVISION_ANNOTATION = `${STEPWISE_PREFIX}revision`;

export const TRACKS = ['stable', 'canary'] as const;
export type Track = (typeof TRACKS)[number];

/** `<app>-stable` / `<app>-canary`: the Deployment name, and the workload name in Istio metrics. */
export function workloadName(app: string, track: Track): string {
  return `${app}-${track}`;
}

/** Labels on every Deployment Stepwise creates. */
export function managedLabels(track: Track): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY, [TRACK_LABEL]: track };
}
