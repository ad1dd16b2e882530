import { Counter, Histogram, Registry } from 'prom-client';
import { HUBBLE_BUCKETS_MS } from '../../src/analysis/providers/cilium.js';
import { KIND } from '../../src/api/schema.js';
import { LINKERD_BUCKETS_MS } from '../../src/analysis/providers/linkerd.js';
import { IstioMetrics, type IstioLabels } from './metrics.js';

// The simulated mesh describes each request once, in Istio's vocabulary (metrics.ts), as its server's proxy
// (reporter "destination") and its client's (reporter "source") see it. Each mesh kind exports that report as the
// real mesh would, with its own metric families, labels and units (the sources are cited in src/analysis/providers/).

/** Whose metrics the sandbox mesh exports; the names of analysis.metricsProvider. */
export const MESH_METRICS = ['istio', 'istio-ambient', 'linkerd', 'cilium'] as const;
export type MeshMetricsKind = (typeof MESH_METRICS)[number];

export interface MeshMetrics {
  readonly registry: Registry;
  /** Counts one request as `labels` reports it; `key` identifies the label set (built only the first time). */
  record(key: string, labels: () => IstioLabels, durationMs: number): void;
  exposition(): Promise<string>;
}

/** The metrics the manifests' Rollout reads (analysis.metricsProvider; default Istio's sidecars), for the mesh to export. */
export function meshMetricsOf(manifests: { kind?: string }[]): MeshMetricsKind {
  const rollout = manifests.find((m) => m.kind === KIND) as
    { spec?: { analysis?: { metricsProvider?: unknown } } } | undefined;
  const provider = rollout?.spec?.analysis?.metricsProvider ?? 'istio';
  if (!(MESH_METRICS as readonly unknown[]).includes(provider)) {
    throw new Error(
      `the sandbox mesh exports ${MESH_METRICS.join(', ')} metrics, not ${JSON.stringify(provider)}; set the Rollout's analysis.metricsProvider to one of them`,
    );
  }
  return provider as MeshMetricsKind;
}

export function createMeshMetrics(kind: MeshMetricsKind = 'istio'): MeshMetrics {
  switch (kind) {
    case 'istio':
      return new IstioMetrics();
    case 'istio-ambient':
      return waypointMetrics();
    case 'linkerd':
      return translated(LINKERD_FAMILIES);
    case 'cilium':
      return translated(HUBBLE_FAMILIES);
  }
}

/**
 * Ambient: the waypoint proxy in front of the destination reports what the server sidecar would, as
 * reporter="waypoint"; ztunnel on the client's node reports only L4 (istio_tcp_*), so the client's report is dropped.
 */
function waypointMetrics(): MeshMetrics {
  const istio = new IstioMetrics();
  return {
    registry: istio.registry,
    record(key, labels, durationMs) {
      if (!key.startsWith('destination|')) return;
      istio.record(key, () => ({ ...labels(), reporter: 'waypoint' }), durationMs);
    },
    exposition: () => istio.exposition(),
  };
}

/** How a mesh names one request's report: its families, its labels, its unit. */
interface Families {
  counter: string;
  histogram: string;
  help: string;
  /** Bucket edges in ms; the histogram is exported in `msPerUnit`. */
  bucketsMs: readonly number[];
  msPerUnit: number;
  labelNames: string[];
  histogramLabelNames: string[];
  labels(istio: IstioLabels): Record<string, string>;
  histogramLabels(istio: IstioLabels): Record<string, string>;
}

// Linkerd's proxies: the server's proxy reports inbound, the client's outbound with the target as dst_*; the scrape
// adds namespace and deployment from the pod (linkerd-viz's Prometheus config).
const linkerdCommon = (l: IstioLabels): Record<string, string> =>
  l.reporter === 'destination'
    ? {
        direction: 'inbound',
        namespace: l.destination_workload_namespace,
        deployment: l.destination_workload,
      }
    : {
        direction: 'outbound',
        namespace: l.source_workload_namespace,
        deployment: l.source_workload,
        dst_namespace: l.destination_workload_namespace,
        dst_deployment: l.destination_workload,
      };
const LINKERD_LABELS = [
  'direction',
  'namespace',
  'deployment',
  'dst_namespace',
  'dst_deployment',
  'tls',
  'status_code',
];
const LINKERD_FAMILIES: Families = {
  counter: 'response_total',
  histogram: 'response_latency_ms',
  help: 'Responses seen by a Linkerd proxy (simulated)',
  bucketsMs: LINKERD_BUCKETS_MS,
  msPerUnit: 1,
  labelNames: [...LINKERD_LABELS, 'classification'],
  histogramLabelNames: LINKERD_LABELS,
  labels: (l) => ({
    ...linkerdCommon(l),
    tls: 'true',
    status_code: l.response_code,
    classification: l.response_code.startsWith('5') ? 'failure' : 'success',
  }),
  histogramLabels: (l) => ({ ...linkerdCommon(l), tls: 'true', status_code: l.response_code }),
};

// Hubble's httpV2 with labelsContext=source_namespace,source_workload,destination_namespace,destination_workload,
// destination_pod: the server's node reports reporter="server", the client's reporter="client".
const hubbleCommon = (l: IstioLabels) => ({
  reporter: l.reporter === 'destination' ? 'server' : 'client',
  method: 'GET',
  source_namespace: l.source_workload_namespace,
  source_workload: l.source_workload,
  destination_namespace: l.destination_workload_namespace,
  destination_workload: l.destination_workload,
});
// What hubbleCommon sets: the labels of the duration histogram; the counter adds protocol and status.
const HUBBLE_LABELS = [
  'reporter',
  'method',
  'source_namespace',
  'source_workload',
  'destination_namespace',
  'destination_workload',
];
const HUBBLE_FAMILIES: Families = {
  counter: 'hubble_http_requests_total',
  histogram: 'hubble_http_request_duration_seconds',
  help: 'HTTP requests seen by Hubble (simulated)',
  bucketsMs: HUBBLE_BUCKETS_MS,
  msPerUnit: 1000,
  labelNames: [...HUBBLE_LABELS, 'protocol', 'status'],
  histogramLabelNames: HUBBLE_LABELS,
  labels: (l) => ({ ...hubbleCommon(l), protocol: 'HTTP/1.1', status: l.response_code }),
  histogramLabels: hubbleCommon,
};

function translated(families: Families): MeshMetrics {
  const registry = new Registry();
  const counter = new Counter({
    name: families.counter,
    help: families.help,
    labelNames: families.labelNames,
    registers: [registry],
  });
  const histogram = new Histogram({
    name: families.histogram,
    help: families.help,
    labelNames: families.histogramLabelNames,
    buckets: families.bucketsMs.map((ms) => ms / families.msPerUnit),
    registers: [registry],
  });
  // prom-client hashes the label object on every call; a per-series cache keeps 200 rps cheap.
  const series = new Map<string, { requests: Counter.Internal; duration: Histogram.Internal<string> }>();
  return {
    registry,
    record(key, labels, durationMs) {
      let found = series.get(key);
      if (!found) {
        const istio = labels();
        found = {
          requests: counter.labels(families.labels(istio)),
          duration: histogram.labels(families.histogramLabels(istio)),
        };
        series.set(key, found);
      }
      found.requests.inc();
      found.duration.observe(durationMs / families.msPerUnit);
    },
    exposition: () => registry.metrics(),
  };
}
