import { afterAll, beforeAll, expect, it } from 'vitest';
import type { StoredComparison } from '../../src/analysis/comparison/counter-comparison.js';
import { ENVOY_BUCKETS_MS } from '../../src/analysis/comparison/slow-edge.js';
import { HUBBLE_BUCKETS_MS } from '../../src/analysis/providers/cilium.js';
import { LINKERD_BUCKETS_MS } from '../../src/analysis/providers/linkerd.js';
import type { CheckResult } from '../../src/analysis/types.js';
import { ANALYSIS_DEFAULTS, type AnalysisSpec } from '../../src/api/schema.js';
import { validateSpec } from '../../src/api/validate.js';
import { describeOnEachPrometheus } from '../support/prometheus.js';
import * as backfilled from './backfilled-prometheus.js';
import type { Family, RunningPrometheus, SeriesSpec } from './backfilled-prometheus.js';

// Every metrics provider against a real Prometheus holding its mesh's series with the label sets the mesh exports
// (see the sources cited in src/analysis/providers/). Each mesh has its own apps, so a provider that selected another
// mesh's series would find none and never pass.

const NAMESPACE = 'shop';
const SCRAPE_SECONDS = 5;
const start = Math.floor((Date.now() / 1000 - 6 * 3600) / 3600) * 3600;
const ROLLOUT_AT = 3600; // an hour of stable history before the step, for the slow-request edge
const CHECK_SECONDS = 15;

/**
 * Latency as a cumulative share of requests at or below each edge (ms), linear in between. Its knots are edges every
 * mesh's histogram has, so histogram_quantile reads the same P99 from Envoy's, Linkerd's and Hubble's buckets.
 */
type Latency = [number, number][];
/** P99 = 100 + (0.99 − 0.98) / 0.02 × 400 = 300 ms. */
const HEALTHY: Latency = [
  [0, 0],
  [50, 0.9],
  [100, 0.98],
  [500, 1],
];
/** P99 = 500 + (0.99 − 0.9) / 0.1 × 500 = 950 ms. */
const SLOW: Latency = [
  [0, 0],
  [100, 0.5],
  [500, 0.9],
  [1000, 1],
];
const shareAtOrBelow = (latency: Latency, ms: number): number => {
  for (let i = 1; i < latency.length; i++) {
    const [x0, y0] = latency[i - 1]!;
    const [x1, y1] = latency[i]!;
    if (ms <= x1) return y0 + ((y1 - y0) * (ms - x0)) / (x1 - x0);
  }
  return 1;
};

interface Track {
  workload: string;
  pods: string[];
  rps: number;
  errorShare: number;
  latency: Latency;
  /** Seconds after `start` from which it serves (the canary: from the step's start). */
  from: number;
}

/** An integer counter of `perSecond` from `from`; no sample before it. */
const counter =
  (perSecond: number, from: number) =>
  (t: number): number | undefined =>
    t < from ? undefined : Math.floor(perSecond * (t - from));

/** How one mesh labels a track's series; `pod` is the pod that answered, `caller` a pod that called it. */
interface MeshShape {
  requests: { family: string; name: string };
  buckets: { family: string; name: string; edgesMs: readonly number[]; msPerUnit: number };
  served(track: Track, pod: string, failed: boolean): Record<string, string>;
  /** The callers' reports of the same requests, if the mesh has them. */
  callers?(track: Track, failed: boolean): Record<string, string>;
  histogram(track: Track, pod: string): Record<string, string>;
  /** The reporter is not the pod that answered (a waypoint): one series for all of a track's pods. */
  onePerTrack?: boolean;
}

const counterFamily = (family: string) => ({ family, name: `${family}_total` });
const histogramFamily = (family: string, edgesMs: readonly number[], msPerUnit: number) => ({
  family,
  name: `${family}_bucket`,
  edgesMs,
  msPerUnit,
});

const ISTIO_SIDECAR: MeshShape = {
  requests: counterFamily('istio_requests'),
  buckets: histogramFamily('istio_request_duration_milliseconds', ENVOY_BUCKETS_MS, 1),
  served: (track, pod, failed) => ({
    ...istioLabels('destination', track),
    response_code: failed ? '503' : '200',
    pod,
  }),
  callers: (track, failed) => ({
    ...istioLabels('source', track),
    response_code: failed ? '503' : '200',
    pod: 'frontend-5d8c7',
  }),
  histogram: (track, pod) => ({ ...istioLabels('destination', track), pod }),
};

function istioLabels(reporter: string, track: Track): Record<string, string> {
  return {
    reporter,
    source_workload: 'frontend',
    source_workload_namespace: NAMESPACE,
    destination_workload: track.workload,
    destination_workload_namespace: NAMESPACE,
    destination_service: `${track.workload.replace(/-(stable|canary)$/, '')}.${NAMESPACE}.svc.cluster.local`,
    request_protocol: 'http',
    response_flags: '-',
  };
}

// gRPC through Istio's sidecars: a failed call is HTTP 200 with its gRPC status (14 UNAVAILABLE) in the trailers,
// which Istio reports as grpc_response_status; read by the `istio` provider.
const ISTIO_GRPC: MeshShape = {
  ...ISTIO_SIDECAR,
  served: (track, pod, failed) => ({
    ...istioLabels('destination', track),
    request_protocol: 'grpc',
    response_code: '200',
    grpc_response_status: failed ? '14' : '0',
    pod,
  }),
  callers: (track, failed) => ({
    ...istioLabels('source', track),
    request_protocol: 'grpc',
    response_code: '200',
    grpc_response_status: failed ? '14' : '0',
    pod: 'frontend-5d8c7',
  }),
};

// Ambient: the waypoint reports (reporter="waypoint") and is the scraped pod; ztunnel's L4 metrics carry no requests.
const ISTIO_AMBIENT: MeshShape = {
  ...ISTIO_SIDECAR,
  served: (track, _pod, failed) => ({
    ...istioLabels('waypoint', track),
    response_code: failed ? '503' : '200',
    pod: 'waypoint-6f7b9c',
  }),
  callers: undefined,
  histogram: (track) => ({ ...istioLabels('waypoint', track), pod: 'waypoint-6f7b9c' }),
  onePerTrack: true,
};

const LINKERD: MeshShape = {
  requests: counterFamily('response'),
  buckets: histogramFamily('response_latency_ms', LINKERD_BUCKETS_MS, 1),
  served: (track, pod, failed) => ({ ...linkerdInbound(track, pod), ...linkerdOutcome(failed) }),
  callers: (track, failed) => ({
    ...linkerdInbound({ ...track, workload: 'frontend' }, 'frontend-5d8c7'),
    direction: 'outbound',
    dst_namespace: NAMESPACE,
    dst_deployment: track.workload,
    ...linkerdOutcome(failed),
  }),
  histogram: (track, pod) => ({ ...linkerdInbound(track, pod), status_code: '200' }),
};

/** What linkerd-viz's scrape config and the proxy put on an inbound series of `pod`. */
function linkerdInbound(track: Track, pod: string): Record<string, string> {
  return { direction: 'inbound', namespace: NAMESPACE, deployment: track.workload, pod, tls: 'true' };
}
const linkerdOutcome = (failed: boolean) => ({
  status_code: failed ? '503' : '200',
  classification: failed ? 'failure' : 'success',
});

// Hubble's httpV2 with labelsContext=source_namespace,source_workload,destination_namespace,destination_workload,
// destination_pod; the agent is the scraped pod, the same for both tracks.
const hubbleLabels = (reporter: string, track: Track, pod: string) => ({
  reporter,
  method: 'GET',
  protocol: 'HTTP/1.1',
  source_namespace: NAMESPACE,
  source_workload: 'frontend',
  destination_namespace: NAMESPACE,
  destination_workload: track.workload,
  destination_pod: pod,
  pod: 'cilium-x7k2p',
});
const CILIUM: MeshShape = {
  requests: counterFamily('hubble_http_requests'),
  buckets: histogramFamily('hubble_http_request_duration_seconds', HUBBLE_BUCKETS_MS, 1000),
  served: (track, pod, failed) => ({ ...hubbleLabels('server', track, pod), status: failed ? '503' : '200' }),
  callers: (track, failed) => ({
    ...hubbleLabels('client', track, track.pods[0]!),
    status: failed ? '503' : '200',
  }),
  histogram: (track, pod) => hubbleLabels('server', track, pod),
};

// An app's own metrics in the style of a Prometheus client, scraped from its pods.
const CUSTOM: MeshShape = {
  requests: counterFamily('http_requests'),
  buckets: histogramFamily('http_request_duration_seconds', HUBBLE_BUCKETS_MS, 1000),
  served: (track, pod, failed) => ({
    kubernetes_namespace: NAMESPACE,
    app_deployment: track.workload,
    pod,
    code: failed ? '500' : '200',
  }),
  histogram: (track, pod) => ({ kubernetes_namespace: NAMESPACE, app_deployment: track.workload, pod }),
};

/** A track's request and bucket series as `mesh` exports them. */
function trackSeries(mesh: MeshShape, track: Track): { requests: SeriesSpec[]; buckets: SeriesSpec[] } {
  const requests: SeriesSpec[] = [];
  const buckets: SeriesSpec[] = [];
  const byCode = (labels: (failed: boolean) => Record<string, string>, rps: number) => {
    const all = counter(rps, track.from);
    const failed = counter(rps * track.errorShare, track.from);
    requests.push({
      name: mesh.requests.name,
      labels: labels(false),
      value: (t) => (all(t) === undefined ? undefined : all(t)! - failed(t)!),
    });
    requests.push({ name: mesh.requests.name, labels: labels(true), value: failed });
  };
  const reporters = mesh.onePerTrack ? [track.pods[0]!] : track.pods;
  const rps = (track.rps * track.pods.length) / reporters.length;
  for (const pod of reporters) {
    byCode((failed) => mesh.served(track, pod, failed), rps);
    const { name, edgesMs, msPerUnit } = mesh.buckets;
    for (const edge of [...edgesMs, Infinity]) {
      const le = edge === Infinity ? '+Inf' : String(edge / msPerUnit);
      buckets.push({
        name,
        labels: { ...mesh.histogram(track, pod), le },
        value: counter(rps * shareAtOrBelow(track.latency, edge), track.from),
      });
    }
  }
  if (mesh.callers) byCode((failed) => mesh.callers!(track, failed), track.rps * track.pods.length);
  return { requests, buckets };
}

const MESHES = {
  istio: ISTIO_SIDECAR,
  'istio-grpc': ISTIO_GRPC,
  'istio-ambient': ISTIO_AMBIENT,
  linkerd: LINKERD,
  cilium: CILIUM,
  custom: CUSTOM,
} as const;
type MeshName = keyof typeof MESHES;

const CANARIES = { good: {}, bad: { errorShare: 0.05 }, slow: { latency: SLOW } } as const;

const tracksOf = (mesh: MeshName, kind: keyof typeof CANARIES): Track[] => [
  {
    workload: `${mesh}-${kind}-stable`,
    pods: [`${mesh}-${kind}-stable-a`, `${mesh}-${kind}-stable-b`],
    rps: 45,
    errorShare: 0.001,
    latency: HEALTHY,
    from: 0,
  },
  {
    workload: `${mesh}-${kind}-canary`,
    pods: [`${mesh}-${kind}-canary-a`],
    rps: 10,
    errorShare: 0.001,
    latency: HEALTHY,
    from: ROLLOUT_AT,
    ...CANARIES[kind],
  },
];

function families(): Family[] {
  const byFamily = new Map<string, Family>();
  const add = (family: string, type: Family['type'], series: SeriesSpec[]) => {
    const entry = byFamily.get(family) ?? { family, type, series: [] };
    entry.series.push(...series);
    byFamily.set(family, entry);
  };
  for (const [name, mesh] of Object.entries(MESHES) as [MeshName, MeshShape][]) {
    for (const kind of Object.keys(CANARIES) as (keyof typeof CANARIES)[]) {
      for (const track of tracksOf(name, kind)) {
        const { requests, buckets } = trackSeries(mesh, track);
        add(mesh.requests.family, 'counter', requests);
        add(mesh.buckets.family, 'histogram', buckets);
      }
    }
  }
  return [...byFamily.values()];
}

/** The analysis of a Rollout on `mesh`, as validate reads it from a manifest. */
function analysisFor(mesh: MeshName): AnalysisSpec {
  const custom = {
    metricsProvider: 'custom',
    customMetrics: {
      requests:
        'http_requests_total{kubernetes_namespace="{{ namespace }}", app_deployment="{{ workload }}"}',
      errors:
        'http_requests_total{kubernetes_namespace="{{ namespace }}", app_deployment="{{ workload }}", code=~"5.."}',
      durationBuckets:
        'http_request_duration_seconds_bucket{kubernetes_namespace="{{ namespace }}", app_deployment="{{ workload }}"}',
    },
  };
  const checked = validateSpec({
    targetRef: { name: 'app' },
    trafficRouting: { gatewayAPI: { httpRoute: { name: 'app' } } },
    analysis: mesh === 'custom' ? custom : { metricsProvider: mesh === 'istio-grpc' ? 'istio' : mesh },
  });
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return { ...ANALYSIS_DEFAULTS, ...checked.spec.analysis, minRequests: 50 };
}

let prometheus: RunningPrometheus;

/** Runs up to `checks` checks 15 s apart from the step's start, until one fails. */
function rollout(mesh: MeshName, kind: keyof typeof CANARIES, checks: number): Promise<CheckResult[]> {
  const request = {
    namespace: NAMESPACE,
    canaryWorkload: `${mesh}-${kind}-canary`,
    stableWorkload: `${mesh}-${kind}-stable`,
    serviceHost: `${mesh}-${kind}`,
    analysis: analysisFor(mesh),
    prometheus: { address: prometheus.address },
    stepStartedAt: new Date((start + ROLLOUT_AT) * 1000),
  };
  return backfilled.runChecks(request, checks, CHECK_SECONDS);
}

describeOnEachPrometheus(
  'each mesh’s metrics against a real Prometheus',
  (build) => {
    beforeAll(async () => {
      prometheus = await backfilled.startBackfilledPrometheus(
        build,
        backfilled.toOpenMetrics(families(), {
          fromSeconds: start,
          toSeconds: start + ROLLOUT_AT + 300,
          stepSeconds: SCRAPE_SECONDS,
        }),
      );
    });
    afterAll(async () => {
      await prometheus?.stop();
    });

    it.each(Object.keys(MESHES) as MeshName[])(
      '%s: passes a good canary at every check, with its P99 read in ms and the slow edge from stable',
      async (mesh) => {
        const results = await rollout(mesh, 'good', 8);
        expect(results.map((r) => [r.verdict, r.inconclusive])).toEqual(Array(8).fill(['pass', []]));
        const last = results.at(-1)!;
        expect(last.requests).toBe(10 * 8 * CHECK_SECONDS);
        expect(last.p99Ms).toBeGreaterThan(295);
        expect(last.p99Ms).toBeLessThan(305);
        const state = last.comparison as StoredComparison;
        // Stable's P99 of 300 ms: the next edge of this mesh's histogram.
        const edge = MESHES[mesh].buckets.edgesMs.find((e) => e >= 300);
        expect(state.slowEdge).toMatchObject({ ms: edge, source: 'stable-p99' });
        expect(state.totals.canary.requests).toBe(10 * 8 * CHECK_SECONDS);
        expect(state.totals.stable.requests).toBe(90 * 8 * CHECK_SECONDS);
      },
    );

    it.each(Object.keys(MESHES) as MeshName[])(
      '%s: fails a canary with 5% errors, naming its error rate',
      async (mesh) => {
        const results = await rollout(mesh, 'bad', 8);
        const last = results.at(-1)!;
        expect(last.verdict).toBe('fail');
        const errorRate = last.failures.find((f) => f.metric === 'errorRate');
        // 5% of the requests, rounded down to whole errors at the check.
        expect(errorRate?.message).toMatch(/^canary error rate (4\.\d+|5(\.\d+)?)% is above the limit 1%$/);
        expect(last.errorRate).toBeGreaterThan(0.045);
        expect(last.errorRate).toBeLessThanOrEqual(0.05);
      },
    );

    it.each(Object.keys(MESHES) as MeshName[])(
      '%s: fails a canary whose P99 is 950 ms, read from this mesh’s buckets in its unit',
      async (mesh) => {
        const results = await rollout(mesh, 'slow', 8);
        const last = results.at(-1)!;
        expect(last.verdict).toBe('fail');
        expect(last.p99Ms).toBeGreaterThan(940);
        expect(last.p99Ms).toBeLessThan(960);
        expect(last.failures.map((f) => f.message)).toContainEqual(
          expect.stringMatching(/^canary P99 latency 9[45]\d ms is above the limit 500 ms$/),
        );
      },
    );
  },
  { needsPromtool: true },
);
