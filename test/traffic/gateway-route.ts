type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const NS = 'production';

/** A GAMMA HTTPRoute (parentRef the Service) with a header rule pinning testers to the canary and the split rule. */
export function httpRoute(): Json {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'product-service', namespace: NS },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'product-service', port: 80 }],
      rules: [
        {
          name: 'testers',
          matches: [{ headers: [{ name: 'x-canary', value: 'always' }] }],
          backendRefs: [{ name: 'product-service-canary', port: 80 }],
        },
        {
          name: 'primary',
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          filters: [
            {
              type: 'RequestHeaderModifier',
              requestHeaderModifier: { set: [{ name: 'x-via', value: 'mesh' }] },
            },
          ],
          timeouts: { request: '10s' },
          backendRefs: [
            { name: 'product-service-stable', port: 80, weight: 100 },
            { name: 'product-service-canary', port: 80, weight: 0 },
          ],
        },
      ],
    },
  };
}
