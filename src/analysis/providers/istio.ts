import { ENVOY_BUCKETS_MS } from '../comparison/slow-edge.js';
import { escapeLabelValue } from '../promql.js';
import { withMatchers, type MetricsProvider, type ReportedRequests } from './provider.js';

// Istio's standard metrics: istio_requests_total and istio_request_duration_milliseconds, labelled by the
// reporting proxy with destination_workload / destination_workload_namespace (istio.io "Istio Standard Metrics";
// istio/proxy source/extensions/filters/http/istio_stats/istio_stats.cc). A 5xx is a failure (response_code), and so is a gRPC call that ended with a server-side status:
// gRPC answers HTTP 200 and puts its status in the trailers, which Istio reports as grpc_response_status. The
// server-side codes are those gRPC maps to HTTP 5xx (grpc/grpc doc/http-grpc-status-mapping.md, statuscodes.md):
// UNKNOWN 2, DEADLINE_EXCEEDED 4, UNIMPLEMENTED 12, INTERNAL 13, UNAVAILABLE 14, DATA_LOSS 15; the others
// (INVALID_ARGUMENT, NOT_FOUND, ...) are the caller's.

const FIVE_XX = 'response_code=~"5.."';
const GRPC_SERVER_ERROR = 'grpc_response_status=~"2|4|12|13|14|15"';

function reportedBy(reporter: 'destination' | 'source' | 'waypoint'): ReportedRequests {
  const requests = (namespace: string, workload: string) =>
    `istio_requests_total{reporter="${reporter}", destination_workload_namespace="${escapeLabelValue(namespace)}", destination_workload="${escapeLabelValue(workload)}"}`;
  return {
    requests,
    errors: (namespace, workload) => [
      withMatchers(requests(namespace, workload), FIVE_XX),
      withMatchers(requests(namespace, workload), GRPC_SERVER_ERROR),
    ],
    workloadLabel: 'destination_workload',
  };
}

const durationReportedBy = (reporter: 'destination' | 'waypoint') => ({
  buckets: (namespace: string, workload: string) =>
    `istio_request_duration_milliseconds_bucket{reporter="${reporter}", destination_workload_namespace="${escapeLabelValue(namespace)}", destination_workload="${escapeLabelValue(workload)}"}`,
  msPerUnit: 1,
  edgesMs: ENVOY_BUCKETS_MS,
  workloadLabel: 'destination_workload',
});

/**
 * Sidecars: the server's sidecar reports every attempt (reporter="destination", scraped from the pod that answered,
 * so the scrape's `pod` label is that pod), the callers' sidecars each request once (reporter="source").
 */
export const ISTIO_SIDECAR: MetricsProvider = {
  name: 'istio',
  served: reportedBy('destination'),
  callers: reportedBy('source'),
  duration: durationReportedBy('destination'),
  podLabels: 'pod, instance',
  reportsUnanswered: true,
};

/**
 * Ambient: L7 metrics come only from the waypoint proxy, with reporter="waypoint" and the destination_workload labels
 * of the pod it sent to (istio/istio tests/integration/telemetry testdata for reporter "waypoint"). ztunnel reports
 * L4 only (istio_tcp_*: bytes and connections, no status or latency), so there is no caller-side request count. The
 * waypoint is scraped, so `pod` is the waypoint's pod: the per-pod counters are per waypoint replica.
 */
export const ISTIO_AMBIENT: MetricsProvider = {
  name: 'istio-ambient',
  served: reportedBy('waypoint'),
  duration: durationReportedBy('waypoint'),
  podLabels: 'pod, instance',
  reportsUnanswered: false,
};
