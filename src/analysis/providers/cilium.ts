import { escapeLabelValue } from '../promql.js';
import type { MetricsProvider } from './provider.js';

// Cilium's Hubble HTTP metrics, `httpV2` handler (cilium/cilium pkg/hubble/metrics/http): hubble_http_requests_total
// counts responses with `status` (the HTTP code) and reporter="server"|"client" (which end of the flow Hubble saw),
// and hubble_http_request_duration_seconds is in seconds with client_golang's default buckets. The workload labels
// exist only as its `labelsContext` option asks: Stepwise needs
//   httpV2:labelsContext=source_namespace,source_workload,destination_namespace,destination_workload,destination_pod
// The agent exports per node, so the pod that answered is `destination_pod`, not the scrape's `pod`.

/** client_golang's prometheus.DefBuckets, in ms. */
export const HUBBLE_BUCKETS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** The labelsContext the httpV2 metrics need for Stepwise (README, "Metrics per mesh"). */
export const HUBBLE_LABELS_CONTEXT =
  'source_namespace,source_workload,destination_namespace,destination_workload,destination_pod';

const of = (reporter: 'server' | 'client', namespace: string, workload: string) =>
  `reporter="${reporter}", destination_namespace="${escapeLabelValue(namespace)}", destination_workload="${escapeLabelValue(workload)}"`;

const reportedBy = (reporter: 'server' | 'client') => ({
  requests: (namespace: string, workload: string) =>
    `hubble_http_requests_total{${of(reporter, namespace, workload)}}`,
  errors: (namespace: string, workload: string) => [
    `hubble_http_requests_total{${of(reporter, namespace, workload)}, status=~"5.."}`,
  ],
  workloadLabel: 'destination_workload',
});

export const CILIUM_HUBBLE: MetricsProvider = {
  name: 'cilium',
  served: reportedBy('server'),
  callers: reportedBy('client'),
  duration: {
    buckets: (namespace, workload) =>
      `hubble_http_request_duration_seconds_bucket{${of('server', namespace, workload)}}`,
    msPerUnit: 1000,
    edgesMs: HUBBLE_BUCKETS_MS,
    workloadLabel: 'destination_workload',
  },
  podLabels: 'destination_pod, instance',
  reportsUnanswered: false,
};
