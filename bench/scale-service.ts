// The objects of one service of the scale benches (bench/scale.ts, bench/memory-per-rollout.ts), as created:
// the user's Deployment, a VirtualService and DestinationRule with the track subsets, and its Rollout.

export const podTemplate = (app: string, image: string, track?: string) => ({
  metadata: { labels: { app, ...(track && { 'stepwise.dev/track': track }) } },
  spec: { containers: [{ name: app, image }] },
});

export const deploymentSpec = (app: string) => ({
  replicas: 2,
  selector: { matchLabels: { app } },
  template: podTemplate(app, `${app}:1`),
});

export const virtualServiceSpec = (app: string) => ({
  hosts: [app],
  http: [
    {
      name: 'primary',
      route: [
        { destination: { host: app, subset: 'stable' }, weight: 100 },
        { destination: { host: app, subset: 'canary' }, weight: 0 },
      ],
    },
  ],
});

export const destinationRuleSpec = (app: string) => ({
  host: app,
  subsets: [
    { name: 'stable', labels: { 'stepwise.dev/track': 'stable' } },
    { name: 'canary', labels: { 'stepwise.dev/track': 'canary' } },
  ],
});

/** How often a progressing Rollout is checked. */
export const ANALYSIS_INTERVAL_MS = 10_000;

export const rolloutSpec = (app: string, prometheus: string) => ({
  targetRef: { name: app },
  trafficRouting: { istio: { virtualService: { name: app }, destinationRule: { name: app } } },
  steps: [{ weight: 5 }, { weight: 50 }, { weight: 100 }],
  analysis: { prometheus: { address: prometheus }, interval: `${ANALYSIS_INTERVAL_MS / 1000}s` },
  progressDeadline: '30m',
});
