import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPrometheusAnalyzer } from '../../src/analysis/analyzer.js';
import { ENVOY_BUCKETS_MS } from '../../src/analysis/comparison/slow-edge.js';
import type { CheckRequest, CheckResult } from '../../src/analysis/types.js';
import { ANALYSIS_DEFAULTS } from '../../src/api/schema.js';
import { validateSpec } from '../../src/api/validate.js';
import { describeOnEachPrometheus } from '../support/prometheus.js';
import * as backfilled from './backfilled-prometheus.js';
import type { Family, RunningPrometheus, SeriesSpec } from './backfilled-prometheus.js';

// Several Rollouts of one namespace checked at the same instants: judged together (the thresholds' values over the
// same window and the comparison's counters read in one query per metric family, batch/) they must get exactly the
// results each gets alone, and Prometheus must receive fewer queries, counted by Prometheus itself
// (prometheus_http_requests_total of /api/v1/query).

const NAMESPACE = 'shop';
const SCRAPE_SECONDS = 5;
const start = Math.floor((Date.now() / 1000 - 6 * 3600) / 3600) * 3600;
const ROLLOUT_AT = 3600;
const CHECK_SECONDS = 15;
const CHECKS = 6;

interface Service {
  name: string;
  canaryErrorShare: number;
}

// `web.v2` puts a regex metacharacter in its workload names; `webxv2` is there so that an unescaped `.` would select
// another workload's series too.
const SERVICES: Service[] = [
  { name: 'cart', canaryErrorShare: 0.001 },
  { name: 'pay', canaryErrorShare: 0.05 },
  { name: 'web.v2', canaryErrorShare: 0.001 },
  { name: 'webxv2', canaryErrorShare: 0.08 },
];
/** More Rollouts of the namespace, for the count of queries at twice as many. */
const MORE_SERVICES: Service[] = ['ads', 'cdn', 'geo', 'mail'].map((name) => ({
  name,
  canaryErrorShare: 0.001,
}));

/** A Service's name is a DNS label: no dots, unlike a Deployment's. */
const serviceName = (name: string) => name.replaceAll('.', '-');

const counter =
  (perSecond: number, from: number) =>
  (t: number): number | undefined =>
    t < from ? undefined : Math.floor(perSecond * (t - from));

/** Istio sidecar series of one track: per pod requests by code and latency buckets, and the callers' reports. */
function trackSeries(service: string, track: 'stable' | 'canary', errorShare: number, rps: number) {
  const workload = `${service}-${track}`;
  const from = track === 'canary' ? ROLLOUT_AT : 0;
  const labels = (reporter: string, pod: string) => ({
    reporter,
    destination_workload: workload,
    destination_workload_namespace: NAMESPACE,
    destination_service_name: serviceName(service),
    destination_service_namespace: NAMESPACE,
    response_flags: '-',
    pod,
  });
  const requests: SeriesSpec[] = [];
  const buckets: SeriesSpec[] = [];
  const byCode = (base: Record<string, string>, perSecond: number) => {
    const all = counter(perSecond, from);
    const failed = counter(perSecond * errorShare, from);
    const ok = (t: number) => (all(t) === undefined ? undefined : all(t)! - failed(t)!);
    requests.push({ name: 'istio_requests_total', labels: { ...base, response_code: '200' }, value: ok });
    requests.push({ name: 'istio_requests_total', labels: { ...base, response_code: '500' }, value: failed });
  };
  const pods = [`${workload}-a`, `${workload}-b`];
  for (const pod of pods) {
    byCode(labels('destination', pod), rps);
    for (const edge of [...ENVOY_BUCKETS_MS, Infinity]) {
      // 90% within 50 ms, 99.5% within 250 ms, all within 1 s.
      const share = edge < 50 ? 0 : edge < 250 ? 0.9 : edge < 1000 ? 0.995 : 1;
      buckets.push({
        name: 'istio_request_duration_milliseconds_bucket',
        labels: { ...labels('destination', pod), le: edge === Infinity ? '+Inf' : String(edge) },
        value: counter(rps * share, from),
      });
    }
  }
  byCode(labels('source', 'frontend-5d8c7'), rps * pods.length);
  return { requests, buckets };
}

function families(): Family[] {
  const requests: SeriesSpec[] = [];
  const buckets: SeriesSpec[] = [];
  for (const service of [...SERVICES, ...MORE_SERVICES]) {
    for (const [track, errorShare, rps] of [
      ['stable', 0.001, 40],
      ['canary', service.canaryErrorShare, 10],
    ] as const) {
      const series = trackSeries(service.name, track, errorShare, rps);
      requests.push(...series.requests);
      buckets.push(...series.buckets);
    }
  }
  return [
    { family: 'istio_requests', type: 'counter', series: requests },
    { family: 'istio_request_duration_milliseconds', type: 'histogram', series: buckets },
  ];
}

const checked = validateSpec({
  targetRef: { name: 'app' },
  trafficRouting: { istio: { virtualService: { name: 'app' } } },
});
if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
const analysis = { ...ANALYSIS_DEFAULTS, ...checked.spec.analysis, minRequests: 50 };

let prometheus: RunningPrometheus;

function requestOf(service: Service, address: string): Omit<CheckRequest, 'at' | 'comparison'> {
  return {
    namespace: NAMESPACE,
    canaryWorkload: `${service.name}-canary`,
    stableWorkload: `${service.name}-stable`,
    serviceHost: serviceName(service.name),
    readyPods: { canary: 2, stable: 2 },
    analysis,
    prometheus: { address },
    stepStartedAt: new Date((start + ROLLOUT_AT) * 1000),
  };
}

const atCheck = (i: number) => new Date((start + ROLLOUT_AT + i * CHECK_SECONDS) * 1000);
const roundTrip = (result: CheckResult) => JSON.parse(JSON.stringify(result)) as CheckResult;

type Checked = Omit<CheckRequest, 'at' | 'comparison'>;

/** CHECKS checks of every service, all services' checks of one instant at once; each service's results in order. */
function together(services: Service[], address: string, batch = {}): Promise<CheckResult[][]> {
  return checkedTogether(
    services.map((service) => requestOf(service, address)),
    batch,
  );
}

/** CHECKS checks of each request, all checks of one instant at once; each request's results in order. */
async function checkedTogether(requests: Checked[], batch = {}): Promise<CheckResult[][]> {
  const analyzer = createPrometheusAnalyzer({ retry: { retries: 0 }, batch });
  const results: CheckResult[][] = requests.map(() => []);
  for (let i = 1; i <= CHECKS; i++) {
    const round = await Promise.all(
      requests.map((request, s) =>
        analyzer.check({ ...request, at: atCheck(i), comparison: results[s]!.at(-1)?.comparison }),
      ),
    );
    round.forEach((result, s) => results[s]!.push(roundTrip(result)));
  }
  return results;
}

/** The same checks with nothing batched: each query of each check on its own. */
function alone(service: Service, address: string): Promise<CheckResult[]> {
  return checkedAlone(requestOf(service, address));
}

async function checkedAlone(request: Checked): Promise<CheckResult[]> {
  const analyzer = createPrometheusAnalyzer({ retry: { retries: 0 }, batch: false });
  const results: CheckResult[] = [];
  for (let i = 1; i <= CHECKS; i++) {
    const comparison = results.at(-1)?.comparison;
    results.push(roundTrip(await analyzer.check({ ...request, at: atCheck(i), comparison })));
  }
  return results;
}

/**
 * The instant queries Prometheus has answered, from its own HTTP metrics. It counts a request once its handler has
 * returned, which can be just after the answer reached us: read until two readings 100 ms apart agree.
 */
async function queriesServed(address: string): Promise<number> {
  let last = await queriesCounted(address);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = await queriesCounted(address);
    if (now === last) return now;
    last = now;
  }
}

async function queriesCounted(address: string): Promise<number> {
  const text = await (await fetch(`${address}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^prometheus_http_requests_total\{[^}]*handler="\/api\/v1\/query"[^}]*\} (\S+)$/.exec(line);
    if (match) total += Number(match[1]);
  }
  return total;
}

/** Queries Prometheus answered for the second checks of `services`, all at one instant (after their first). */
async function sentAtSecondCheck(services: Service[]): Promise<number> {
  const analyzer = createPrometheusAnalyzer({ retry: { retries: 0 } });
  const first = await Promise.all(
    services.map((service) => analyzer.check({ ...requestOf(service, prometheus.address), at: atCheck(1) })),
  );
  const before = await queriesServed(prometheus.address);
  await Promise.all(
    services.map((service, s) =>
      analyzer.check({
        ...requestOf(service, prometheus.address),
        at: atCheck(2),
        comparison: first[s]!.comparison,
      }),
    ),
  );
  return (await queriesServed(prometheus.address)) - before;
}

/**
 * A proxy in front of Prometheus that passes every query, and hands those with a regex matcher on the workload (a
 * batched read) to `batched`: cut the connection, as a Prometheus that goes down in the middle of a batch would, or
 * forward them after a delay, as a slow one would.
 */
function proxy(
  target: string,
  batched: { cut: true } | { delayMs: number; onArrival: () => void },
): Promise<Server & { address: string }> {
  const forward = (req: IncomingMessage, res: ServerResponse) =>
    fetch(`${target}${req.url}`, { method: req.method, headers: { accept: 'application/json' } })
      .then(async (answer) => {
        res.writeHead(answer.status, {
          'content-type': answer.headers.get('content-type') ?? 'application/json',
        });
        res.end(Buffer.from(await answer.arrayBuffer()));
      })
      .catch(() => req.socket.destroy());
  const server = createServer((req, res) => {
    if (!decodeURIComponent(req.url ?? '').includes('destination_workload=~')) return void forward(req, res);
    if ('cut' in batched) return void req.socket.destroy();
    batched.onArrival();
    setTimeout(() => void forward(req, res), batched.delayMs);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve(Object.assign(server, { address: `http://127.0.0.1:${port}` }));
    }),
  );
}

describeOnEachPrometheus(
  'batched analysis of the Rollouts of one namespace against a real Prometheus',
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

    it('judges each Rollout exactly as alone (same results and stored comparison), good and bad canaries and a name with regex metacharacters', async () => {
      const batched = await together(SERVICES, prometheus.address);
      for (const [s, service] of SERVICES.entries()) {
        expect(batched[s], service.name).toEqual(await alone(service, prometheus.address));
      }
      // The data tell the canaries apart: the good ones pass, the ones with 5% and 8% errors fail.
      expect(batched.map((results) => results.at(-1)!.verdict)).toEqual(['pass', 'fail', 'pass', 'fail']);
      expect(batched[2]!.at(-1)!.requests).toBe(2 * 10 * CHECKS * CHECK_SECONDS);
    });

    it('sends one query per metric family, thresholds and comparison, for all the Rollouts checked at one instant', async () => {
      const sent = await sentAtSecondCheck(SERVICES);
      // Shared: the six threshold values over the window (requests, error rate, P99, slow share, callers' requests
      // and error rate) and the comparison's requests, errors, slow requests, callers' requests and errors,
      // unanswered requests.
      expect(sent).toBe(6 + 6);

      const beforeAlone = await queriesServed(prometheus.address);
      await alone(SERVICES[0]!, prometheus.address);
      // Alone, a check after the first reads both arms' five counters and the unanswered requests itself.
      const perCheckAlone = ((await queriesServed(prometheus.address)) - beforeAlone) / CHECKS;
      expect(perCheckAlone).toBeGreaterThan(6 + 11 - 1);
    });

    it('shares the counters of one instant between checks run one after another, as a work queue with few workers runs them', async () => {
      const analyzer = createPrometheusAnalyzer({ retry: { retries: 0 } });
      const oneByOne = async (i: number, comparisons: unknown[]) => {
        const results: CheckResult[] = [];
        for (const [s, service] of SERVICES.entries()) {
          const request = { ...requestOf(service, prometheus.address), at: atCheck(i) };
          results.push(await analyzer.check({ ...request, comparison: comparisons[s] }));
        }
        return results;
      };
      // The first instant teaches the batcher which workloads the namespace's checks read.
      const first = await oneByOne(1, []);
      const before = await queriesServed(prometheus.address);
      const second = await oneByOne(
        2,
        first.map((result) => result.comparison),
      );
      expect((await queriesServed(prometheus.address)) - before).toBe(6 + 6);
      const together2 = (await together(SERVICES, prometheus.address)).map((results) => results[1]);
      expect(second.map(roundTrip)).toEqual(together2);
    });

    it('judges the thresholds of Rollouts with the same window, with other windows and with other limits exactly as alone', async () => {
      const stepStart = (start + ROLLOUT_AT) * 1000;
      const requests: Checked[] = SERVICES.flatMap((service) => {
        const own = requestOf(service, prometheus.address);
        return [
          own,
          // A step whose window starts one grid instant later: another window, in another query.
          { ...own, windowStartedAt: new Date(stepStart + 10_000) },
          // Another latency limit: another slow-request edge (100 ms), in another query; P99 ~239 ms breaches it.
          { ...own, analysis: { ...analysis, thresholds: { ...analysis.thresholds, maxP99LatencyMs: 200 } } },
        ];
      });
      const batched = await checkedTogether(requests);
      for (const [r, request] of requests.entries()) {
        expect(batched[r], `${request.canaryWorkload} #${r % 3}`).toEqual(await checkedAlone(request));
      }
      const last = batched.map((results) => results.at(-1)!);
      // The windows differ: ten seconds fewer of the canary's 20 requests/s.
      expect(last[0]!.requests! - last[1]!.requests!).toBe(2 * 10 * 10);
      expect(last[2]!.failures.map((finding) => finding.metric)).toContain('p99Latency');
      expect(last.map((result) => result.verdict)).toEqual(
        SERVICES.flatMap((service) =>
          service.canaryErrorShare < 0.01 ? ['pass', 'pass', 'fail'] : ['fail', 'fail', 'fail'],
        ),
      );
      // Above the 200 ms limit and judged beyond noise from the share of requests slower than 100 ms.
      for (const result of last) expect(result.p99Ms).toBeGreaterThan(200);
    });

    it('sends as many queries for eight Rollouts of a namespace checked at one instant as for four', async () => {
      const four = await sentAtSecondCheck(SERVICES);
      const eight = await sentAtSecondCheck([...SERVICES, ...MORE_SERVICES]);
      // Six threshold families and six of the comparison (five counters and the unanswered requests).
      expect(four).toBe(12);
      expect(eight).toBe(four);
    });

    it('shares a release’s first-check reads (baseline, stable’s history and P99 before) between Rollouts whose steps began within one interval, each judged as alone', async () => {
      const stepStart = (start + ROLLOUT_AT) * 1000;
      // Steps that began 0.3 to 7.3 s after a grid instant: one baseline instant (the grid instant before), one
      // window (the grid instant after), first checked at the same instant.
      const firstChecks = (services: Service[]): Checked[] =>
        services.map((service, s) => ({
          ...requestOf(service, prometheus.address),
          stepStartedAt: new Date(stepStart + 300 + 1_000 * s),
          baselineAt: new Date(stepStart),
          windowStartedAt: new Date(stepStart + CHECK_SECONDS * 1000),
        }));
      const at = atCheck(2);
      const sentAtFirstCheck = async (requests: Checked[]) => {
        const analyzer = createPrometheusAnalyzer({ retry: { retries: 0 } });
        const before = await queriesServed(prometheus.address);
        const results = await Promise.all(requests.map((request) => analyzer.check({ ...request, at })));
        return { sent: (await queriesServed(prometheus.address)) - before, results: results.map(roundTrip) };
      };
      const four = await sentAtFirstCheck(firstChecks(SERVICES));
      const eight = await sentAtFirstCheck(firstChecks([...SERVICES, ...MORE_SERVICES]));
      // Six threshold families, the comparison's six counters at the check and six at the baseline, stable's P99
      // over the hour before and its pods' requests and errors over the day before.
      expect(four.sent).toBe(6 + 6 + 6 + 1 + 2);
      expect(eight.sent).toBe(four.sent);

      const alone = createPrometheusAnalyzer({ retry: { retries: 0 }, batch: false });
      for (const [r, request] of firstChecks(SERVICES).entries()) {
        expect(four.results[r], request.canaryWorkload).toEqual(
          roundTrip(await alone.check({ ...request, at })),
        );
      }
      // The baseline counts: the first check already judges (the bad canaries fail at once).
      expect(four.results.map((result) => result.verdict)).toEqual(['pass', 'fail', 'pass', 'fail']);
    });

    it('makes every Rollout of a batch inconclusive, keeping its stored comparison, when Prometheus fails mid-batch', async () => {
      const good = SERVICES.filter((service) => service.canaryErrorShare < 0.01);
      const healthy = await together(good, prometheus.address);
      const cutting = await proxy(prometheus.address, { cut: true });
      try {
        const analyzer = createPrometheusAnalyzer({ retry: { retries: 0 } });
        const results = await Promise.all(
          good.map((service, s) =>
            analyzer.check({
              ...requestOf(service, cutting.address),
              at: atCheck(CHECKS + 1),
              comparison: healthy[s]!.at(-1)!.comparison,
            }),
          ),
        );
        for (const [s, result] of results.entries()) {
          expect(result.verdict).toBe('inconclusive');
          expect(result.inconclusive[0]).toMatch(/^requests: Prometheus unreachable/);
          expect(result.inconclusive.at(-1)).toMatch(
            /^comparison: reading the counters of .*Prometheus unreachable/,
          );
          expect(result.comparison).toEqual(healthy[s]!.at(-1)!.comparison);
        }
      } finally {
        await new Promise((resolve) => cutting.close(resolve));
      }
    });

    it('lets an abort end one check waiting for a batch while the others get their answer', async () => {
      const good = SERVICES.filter((service) => service.canaryErrorShare < 0.01);
      const healthy = await together(good, prometheus.address);
      const abort = new AbortController();
      // The first batched query that arrives aborts the first check; the query goes on for the second.
      const slow = await proxy(prometheus.address, {
        delayMs: 300,
        onArrival: () => abort.abort(new Error('an abort of the Rollout arrived')),
      });
      try {
        const analyzer = createPrometheusAnalyzer({ retry: { retries: 0 } });
        const at = atCheck(CHECKS + 1);
        const requests = good.map((service, s) => ({
          ...requestOf(service, slow.address),
          at,
          comparison: healthy[s]!.at(-1)!.comparison,
        }));
        const [aborted, other] = await Promise.all([
          analyzer.check({ ...requests[0]!, signal: abort.signal }),
          analyzer.check(requests[1]!),
        ]);
        expect(aborted.verdict).toBe('inconclusive');
        expect(aborted.inconclusive.join('; ')).toMatch(/an abort of the Rollout arrived/);
        const alone = createPrometheusAnalyzer({ retry: { retries: 0 }, batch: false });
        expect(roundTrip(other)).toEqual(
          roundTrip(await alone.check({ ...requests[1]!, prometheus: { address: prometheus.address } })),
        );
        expect(other.verdict).toBe('pass');
      } finally {
        await new Promise((resolve) => slow.close(resolve));
      }
    });
  },
  { needsPromtool: true },
);
