import { escapeLabelValue } from '../promql.js';
import type { MetricsProvider } from './provider.js';

// Linkerd's proxy metrics (linkerd/linkerd2 doc proxy-metrics; linkerd2-proxy): response_total counts responses,
// with classification="success"|"failure" (a 5xx or a gRPC error is a failure) and direction="inbound" on the
// server's proxy; the latency histogram response_latency_ms is in milliseconds. Prometheus (linkerd-viz's scrape
// config) adds `namespace`, `pod` and `deployment` from the pod; an outbound report names its target with
// dst_namespace / dst_deployment.

/** linkerd2-proxy's latency bucket edges (ms): BOUNDS in linkerd/app/core's metrics latency module. */
export const LINKERD_BUCKETS_MS: readonly number[] = [
  1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000,
  30000, 40000, 50000,
];

const inbound = (namespace: string, workload: string) =>
  `direction="inbound", namespace="${escapeLabelValue(namespace)}", deployment="${escapeLabelValue(workload)}"`;
const outbound = (namespace: string, workload: string) =>
  `direction="outbound", dst_namespace="${escapeLabelValue(namespace)}", dst_deployment="${escapeLabelValue(workload)}"`;

export const LINKERD: MetricsProvider = {
  name: 'linkerd',
  served: {
    requests: (namespace, workload) => `response_total{${inbound(namespace, workload)}}`,
    errors: (namespace, workload) => [
      `response_total{${inbound(namespace, workload)}, classification="failure"}`,
    ],
    workloadLabel: 'deployment',
  },
  callers: {
    requests: (namespace, workload) => `response_total{${outbound(namespace, workload)}}`,
    errors: (namespace, workload) => [
      `response_total{${outbound(namespace, workload)}, classification="failure"}`,
    ],
    workloadLabel: 'dst_deployment',
  },
  duration: {
    buckets: (namespace, workload) => `response_latency_ms_bucket{${inbound(namespace, workload)}}`,
    msPerUnit: 1,
    edgesMs: LINKERD_BUCKETS_MS,
    workloadLabel: 'deployment',
  },
  podLabels: 'pod, instance',
  reportsUnanswered: false,
};
