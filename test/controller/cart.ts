// The objects of the service "cart" that the controller tests roll out: the user's Deployment and DestinationRule.

export const cartTemplate = (image: string) => ({
  metadata: { labels: { app: 'cart' } },
  spec: { containers: [{ name: 'cart', image }] },
});

export const cartDeployment = (replicas: number, image = 'cart:1') => ({
  metadata: { name: 'cart' },
  spec: { replicas, selector: { matchLabels: { app: 'cart' } }, template: cartTemplate(image) },
});

export const cartDestinationRule = () => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { name: 'cart' },
  spec: {
    host: 'cart',
    subsets: [
      { name: 'stable', labels: { 'stepwise.dev/track': 'stable' } },
      { name: 'canary', labels: { 'stepwise.dev/track': 'canary' } },
    ],
  },
});

/** The Rollout "cart" over the objects above; `spec` adds or replaces fields of its spec. */
export const cartRollout = (spec: Record<string, unknown> = {}) => ({
  apiVersion: 'stepwise.dev/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'cart' },
  spec: {
    targetRef: { name: 'cart' },
    trafficRouting: { istio: { virtualService: { name: 'cart' }, destinationRule: { name: 'cart' } } },
    analysis: { prometheus: { address: 'http://127.0.0.1:1' } },
    ...spec,
  },
});
