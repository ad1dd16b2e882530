import { Counter, Histogram, Registry } from 'prom-client';
import { ISTIO_DURATION_BUCKETS_MS } from '../../src/analysis/envoy-buckets.js';

export { ISTIO_DURATION_BUCKETS_MS };

/** Istio's standard request labels, in the order Istio documents them. */
export const ISTIO_LABELS = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_app',
  'source_version',
  'source_canonical_service',
  'source_canonical_revision',
  'destination_workload',
  'destination_workload_namespace',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_canonical_service',
  'destination_canonical_revision',
  'request_protocol',
  'response_code',
  'response_flags',
  'connection_security_policy',
] as const;

export type IstioLabels = Record<(typeof ISTIO_LABELS)[number], string>;

interface Series {
  requests: Counter.Internal;
  duration: Histogram.Internal<string>;
}

/** The two Istio request metrics, in a registry of their own so several meshes can run in one process. */
export class IstioMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<string>;
  private readonly duration: Histogram<string>;
  // prom-client hashes the label object on every call; a per-series cache keeps 200 rps cheap.
  private readonly series = new Map<string, Series>();

  constructor() {
    this.requests = new Counter({
      name: 'istio_requests_total',
      help: 'Number of requests handled by an Istio proxy',
      labelNames: [...ISTIO_LABELS],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'istio_request_duration_milliseconds',
      help: 'Duration of requests handled by an Istio proxy',
      labelNames: [...ISTIO_LABELS],
      buckets: [...ISTIO_DURATION_BUCKETS_MS],
      registers: [this.registry],
    });
  }

  /** Counts one request; `key` must identify the label set, which is built only the first time it is seen. */
  record(key: string, labels: () => IstioLabels, durationMs: number): void {
    let series = this.series.get(key);
    if (!series) {
      const values = labels();
      series = { requests: this.requests.labels(values), duration: this.duration.labels(values) };
      this.series.set(key, series);
    }
    series.requests.inc();
    series.duration.observe(durationMs);
  }

  exposition(): Promise<string> {
    return this.registry.metrics();
  }
}
