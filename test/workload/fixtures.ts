import type { V1Deployment } from '@kubernetes/client-node';

/** The user's Deployment as the API server returns it (defaults filled in, creationTimestamp: null in the template). */
export function productService(): V1Deployment {
  return JSON.parse(
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'product-service',
        namespace: 'production',
        labels: { app: 'product-service', 'app.kubernetes.io/managed-by': 'Helm' },
        resourceVersion: '812',
        generation: 3,
      },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'product-service' } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
        minReadySeconds: 5,
        template: {
          metadata: {
            creationTimestamp: null,
            labels: { app: 'product-service' },
            annotations: { 'prometheus.io/scrape': 'true' },
          },
          spec: {
            containers: [
              {
                name: 'app',
                image: 'registry.example.com/product-service:1.4.2',
                ports: [{ containerPort: 8080, protocol: 'TCP' }],
                env: [{ name: 'LOG_LEVEL', value: 'info' }],
                resources: { requests: { cpu: '100m', memory: '128Mi' } },
              },
            ],
            restartPolicy: 'Always',
            terminationGracePeriodSeconds: 30,
          },
        },
      },
    }),
  ) as V1Deployment;
}
