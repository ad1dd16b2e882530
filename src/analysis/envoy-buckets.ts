/**
 * Envoy's default histogram buckets (ms), which Istio's istio_request_duration_milliseconds inherits:
 * HistogramSettingsImpl::defaultBuckets() in envoyproxy/envoy source/common/stats/histogram_impl.cc.
 */
export const ISTIO_DURATION_BUCKETS_MS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];
