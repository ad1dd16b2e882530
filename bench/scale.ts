// npm run bench:scale -- --rollouts N [--progressing P] [--sample-seconds S] [--heap-snapshot DIR] [--until-ready]
//   [--cluster] [--adopt-qps Q] [--aborts K] [--kube-api-qps Q] [--workers W] [--max-old-space-mib M]
//   [--max-semi-space-mib S]
// N services with their Rollouts on the sandbox API server (10 namespaces), the built controller run as the image
// runs it (node dist/cli/main.js controller), P of them released. Samples the controller's RSS and CPU from /proc
// and its own request counters from /metrics over a steady window, then aborts each progressing Rollout at a time
// spread over the window and measures abort → canary weight 0 on the VirtualService. Prints a table and a JSON line.
// Prometheus is a stub that answers every query at once with no series: a released Rollout sets its first weight
// and then holds on inconclusive checks, so secondsToAllHealthy is the time for all N Rollouts to be adopted
// (Healthy) after the controller started, and the queries per second are what the checks send.
// --heap-snapshot DIR writes a V8 heap snapshot of the controller into DIR at the end of the window; --cpu-profile DIR
// a CPU profile of the measured controller (node --cpu-prof) when it stops.
// secondsToReady is the time from the controller's start to /readyz (every watch listed: what a new leader
// needs before its first pass). --until-ready stops after it, sampling RSS for S seconds of adoption instead.
// --cluster runs on the real control plane of the cluster tier instead of the sandbox (bench/scale-backend.ts).
// --adopt-qps Q adopts the fleet with the controller's client limit raised to Q requests/s (--kube-api-qps, burst
// 2Q, 16 workers), then stops it and starts it again as the image runs it (with --kube-api-qps and --workers if given): the adopted fleet is exactly what the
// controller writes, and the measurement is of a restart onto it (restartWrites: the writes it then sends).
// Adopting 10,000 at the default 40/s takes 38 min. --aborts K aborts only the first K progressing Rollouts.
// firstCheckLateMs: how long after it was due (one interval after the first grid instant at or after the step's
// start) each released Rollout's first check ran. --workers W runs the measured controller with W workers.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { RolloutSpec } from '../src/api/schema.js';
import { checkGridOffsetMs } from '../src/rollout/checks.js';
import { clusterBackend, sandboxBackend } from './scale-backend.js';
import { buckets, firstCheckLateMs, quantile, quantileBoundMs, total, writes } from './scale-measures.js';
import {
  ANALYSIS_INTERVAL_MS,
  deploymentSpec,
  destinationRuleSpec,
  podTemplate,
  rolloutSpec,
  virtualServiceSpec,
} from './scale-service.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`--${name} must be a whole number, got ${process.argv[i + 1]}`);
  return value;
};
const N = arg('rollouts', 100);
const P = arg('progressing', Math.round(N / 10));
const SAMPLE_S = arg('sample-seconds', 60);
if (P > N) throw new Error(`--progressing (${P}) must not exceed --rollouts (${N})`);
const ADOPT_QPS = arg('adopt-qps', 0);
const ABORTS = arg('aborts', P);
// The client limit of the measured controller (after an --adopt-qps adoption, its restart): 0 keeps the image's default.
const KUBE_API_QPS = arg('kube-api-qps', 0);
const WORKERS = arg('workers', 0);
const measuredFlags = [
  ...(KUBE_API_QPS ? ['--kube-api-qps', `${KUBE_API_QPS}`, '--kube-api-burst', `${2 * KUBE_API_QPS}`] : []),
  ...(WORKERS ? ['--workers', `${WORKERS}`] : []),
];
// The controller's V8 heap limit (--max-old-space-size), as a pod's memory limit would set it: 0 leaves Node's default.
const MAX_OLD_SPACE_MIB = arg('max-old-space-mib', 0);
// V8's young generation (--max-semi-space-size): larger semi-spaces let short-lived pass and check data die young
// instead of being promoted into the capped old generation. 0 leaves Node's default (16 MiB).
const MAX_SEMI_SPACE_MIB = arg('max-semi-space-mib', 0);
if (ABORTS > P) throw new Error(`--aborts (${ABORTS}) must not exceed --progressing (${P})`);
const UNTIL_READY = process.argv.includes('--until-ready');
const CLUSTER = process.argv.includes('--cluster');
const profileAt = process.argv.indexOf('--cpu-profile');
const PROFILE_DIR = profileAt >= 0 ? process.argv[profileAt + 1] : undefined;
if (profileAt >= 0 && (!PROFILE_DIR || !existsSync(PROFILE_DIR)))
  throw new Error(`--cpu-profile needs an existing folder, got ${PROFILE_DIR}`);
const snapshotAt = process.argv.indexOf('--heap-snapshot');
const SNAPSHOT_DIR = snapshotAt >= 0 ? process.argv[snapshotAt + 1] : undefined;
if (snapshotAt >= 0 && (!SNAPSHOT_DIR || !existsSync(SNAPSHOT_DIR)))
  throw new Error(`--heap-snapshot needs an existing folder, got ${SNAPSHOT_DIR}`);
const NAMESPACES = Math.min(10, Math.max(1, N));
const MAIN = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);

const ROLLOUTS = { group: 'stepwise.dev', version: 'v1alpha1', plural: 'rollouts' };
const VS = { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' };
const DR = { group: 'networking.istio.io', version: 'v1', plural: 'destinationrules' };
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const services = Array.from({ length: N }, (_, i) => ({ ns: `team-${i % NAMESPACES}`, app: `svc-${i}` }));

const prometheus = createHttpServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
});
await new Promise<void>((resolve) => prometheus.listen(0, '127.0.0.1', resolve));
const prometheusUrl = `http://127.0.0.1:${(prometheus.address() as { port: number }).port}`;
const dir = mkdtempSync(join(tmpdir(), 'stepwise-scale-'));
const namespaces = [...new Set(services.map((s) => s.ns))];
// Each service runs 2 pods, its -stable 2 more while adopted, and a released one's canary up to 2 more.
const backend = CLUSTER ? await clusterBackend(namespaces, 4 * N + 2 * P) : await sandboxBackend(dir);
const kubeconfigPath = backend.controllerKubeconfig;
const kc = backend.kubeConfig;
const apps = kc.makeApiClient(AppsV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);

for (let i = 0; i < services.length; i += 50) {
  await Promise.all(
    services.slice(i, i + 50).map(async ({ ns, app }) => {
      await apps.createNamespacedDeployment({
        namespace: ns,
        body: { metadata: { name: app }, spec: deploymentSpec(app) },
      });
      await custom.createNamespacedCustomObject({
        ...VS,
        namespace: ns,
        body: {
          apiVersion: 'networking.istio.io/v1',
          kind: 'VirtualService',
          metadata: { name: app },
          spec: virtualServiceSpec(app),
        },
      });
      await custom.createNamespacedCustomObject({
        ...DR,
        namespace: ns,
        body: {
          apiVersion: 'networking.istio.io/v1',
          kind: 'DestinationRule',
          metadata: { name: app },
          spec: destinationRuleSpec(app),
        },
      });
      await custom.createNamespacedCustomObject({
        ...ROLLOUTS,
        namespace: ns,
        body: {
          apiVersion: 'stepwise.dev/v1alpha1',
          kind: 'Rollout',
          metadata: { name: app },
          spec: rolloutSpec(app, prometheusUrl),
        },
      });
    }),
  );
}

// A free port for /metrics, so the controller can log at warn only.
const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
let metricsUrl = '';
let output = '';
let child: ChildProcess;
const startController = async (extra: string[] = [], measured = true) => {
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}`;
  child = spawn(
    process.execPath,
    [
      ...(SNAPSHOT_DIR ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${SNAPSHOT_DIR}`] : []),
      ...(MAX_OLD_SPACE_MIB ? [`--max-old-space-size=${MAX_OLD_SPACE_MIB}`] : []),
      ...(MAX_SEMI_SPACE_MIB ? [`--max-semi-space-size=${MAX_SEMI_SPACE_MIB}`] : []),
      ...(PROFILE_DIR && measured ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []),
      MAIN,
      'controller',
      '--kubeconfig',
      kubeconfigPath,
      '--metrics-address',
      `127.0.0.1:${port}`,
      '--log-level',
      'warn',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const startedAt = Date.now();
  for (let i = 0; ; i++) {
    if (
      await fetch(`${metricsUrl}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 600 || child.exitCode !== null)
      throw new Error(`the controller did not serve /healthz:\n${output.slice(-2000)}`);
    await sleep(100);
  }
  for (const deadline = Date.now() + 10 * 60_000; ; await sleep(100)) {
    const ready = await fetch(`${metricsUrl}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`the controller was not ready within 10 min:\n${output.slice(-2000)}`);
  }
  return (Date.now() - startedAt) / 1000;
};
const stopController = async () => {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
};
const cleanup = async () => {
  await stopController();
  await backend.close();
  prometheus.closeAllConnections();
  prometheus.close();
  rmSync(dir, { recursive: true, force: true });
};

const scrape = async () => (await fetch(`${metricsUrl}/metrics`)).text();
const counter = async (name: string) => total(await scrape(), name);
const proc = () => {
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;
  return { cpuTicks: Number(stat[11]) + Number(stat[12]), rssMiB: rss };
};
const r = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** SIGUSR2 makes the controller write a snapshot (--heapsnapshot-signal); waits until the file is complete. */
async function heapSnapshot(folder: string): Promise<void> {
  const before = new Set(readdirSync(folder));
  child.kill('SIGUSR2');
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(1000)) {
    const written = readdirSync(folder).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (written && statSync(join(folder, written)).size > 0) {
      const size = statSync(join(folder, written)).size;
      await sleep(2000);
      if (statSync(join(folder, written)).size === size) return console.log(`heap snapshot: ${written}`);
    }
  }
  throw new Error('the controller wrote no heap snapshot within 120 s');
}

const started = Date.now();
try {
  const readyAfter = await startController(
    ADOPT_QPS
      ? ['--kube-api-qps', `${ADOPT_QPS}`, '--kube-api-burst', `${2 * ADOPT_QPS}`, '--workers', '16']
      : measuredFlags,
    !ADOPT_QPS,
  );
  let secondsToReady = readyAfter;
  console.log(`ready after ${secondsToReady} s`);
  if (UNTIL_READY) {
    let rssMiB = 0;
    for (const end = Date.now() + SAMPLE_S * 1000; Date.now() < end; await sleep(500)) {
      rssMiB = Math.max(rssMiB, proc().rssMiB);
    }
    const heapUsedMiB = (await counter('stepwise_process_nodejs_heap_size_used_bytes')) / 2 ** 20;
    console.log(
      JSON.stringify({ rollouts: N, secondsToReady, rssMiB: r(rssMiB), heapUsedMiB: r(heapUsedMiB) }),
    );
    await cleanup();
    process.exit(0);
  }
  // Adoption of all N.
  for (;;) {
    if ((await backend.statuses(services)).every((status) => status?.phase === 'Healthy')) break;
    if (Date.now() - started > 30 * 60_000) throw new Error('not all Rollouts became Healthy within 30 min');
    await sleep(Math.max(250, backend.pollMs * 50));
  }
  const secondsToAllHealthy = (Date.now() - started) / 1000;
  console.log(`all ${N} Healthy after ${secondsToAllHealthy} s`);
  // The restart onto the adopted fleet, with the image's flags (or --kube-api-qps): what it writes is what a restart costs.
  let restartWrites: number | undefined;
  if (ADOPT_QPS) {
    await stopController();
    secondsToReady = await startController(measuredFlags);
    await sleep(30_000);
    restartWrites = writes(await scrape());
    console.log(`restarted: ready after ${secondsToReady} s, ${restartWrites} writes in its first 30 s`);
  }

  // P releases; wait for each canary's first weight.
  const releaseText0 = await scrape();
  const released = services.slice(0, P);
  await Promise.all(
    released.map(({ ns, app }) =>
      apps.patchNamespacedDeployment(
        { namespace: ns, name: app, body: { spec: { template: podTemplate(app, `${app}:2`) } } },
        merge,
      ),
    ),
  );
  for (
    const deadline = Date.now() + 10 * 60_000;
    !(await Promise.all(released.map((s) => backend.weightOf(s.ns, s.app)))).every((w) => w === 5);
    await sleep(250)
  ) {
    if (Date.now() > deadline)
      throw new Error('not every released canary got its first weight within 10 min');
  }
  // Each released Rollout's first check: how long after it was due it ran (read once, while checks is 1).
  const lateMs: number[] = [];
  let missed = 0;
  const pending = new Set(released);
  for (
    const deadline = Date.now() + 5 * 60_000;
    pending.size > 0 && Date.now() < deadline;
    await sleep(200)
  ) {
    const looked = [...pending];
    const statuses = await backend.statuses(looked);
    looked.forEach((s, i) => {
      const status = statuses[i];
      if (!status?.analysis?.checks) return;
      const offset = checkGridOffsetMs(s.ns, {
        analysis: { interval: `${ANALYSIS_INTERVAL_MS / 1000}s` },
      } as RolloutSpec);
      const late = firstCheckLateMs(status, ANALYSIS_INTERVAL_MS, offset);
      if (late === undefined) missed += 1;
      else lateMs.push(late);
      pending.delete(s);
    });
  }
  lateMs.sort((a, b) => a - b);
  const firstCheckLate = {
    p50: quantile(lateMs, 0.5),
    p99: quantile(lateMs, 0.99),
    max: lateMs.at(-1) ?? null,
    missed: missed + pending.size,
  };
  console.log(`first check after it was due (ms): ${JSON.stringify(firstCheckLate)}`);
  // Where the releases' time went, from the releases to the last first check: checks' waits for a worker and at the
  // client's limit, the same for the releases' own passes (watch changes), and the passes' durations.
  const releaseText1 = await scrape();
  const releaseWait = (name: string, labels: Record<string, string>) =>
    quantileBoundMs(buckets(releaseText0, name, labels), buckets(releaseText1, name, labels), 0.99).boundMs;
  const releasePhase = {
    checkQueueWaitP99AtMostMs: releaseWait('stepwise_reconcile_queue_wait_seconds', { lane: 'check' }),
    checkClientWaitP99AtMostMs: releaseWait('stepwise_kubernetes_client_wait_seconds', { lane: 'check' }),
    changeQueueWaitP99AtMostMs: releaseWait('stepwise_reconcile_queue_wait_seconds', { lane: 'change' }),
    changeClientWaitP99AtMostMs: releaseWait('stepwise_kubernetes_client_wait_seconds', { lane: 'change' }),
    passP99AtMostMs: releaseWait('stepwise_reconcile_duration_seconds', { outcome: 'ok' }),
  };
  console.log(`during the releases: ${JSON.stringify(releasePhase)}`);
  await sleep(5_000);

  const t0 = Date.now();
  const text0 = await scrape();
  const [api0, prom0, p0] = [
    total(text0, 'stepwise_kubernetes_requests_total'),
    total(text0, 'stepwise_prometheus_queries_total'),
    proc(),
  ];
  // Aborts spread over the window: one progressing Rollout at a time, abort → weight 0.
  const abortMs: number[] = [];
  let rssMax = p0.rssMiB;
  for (let i = 0; i < ABORTS; i++) {
    const at = t0 + ((i + 0.5) / ABORTS) * SAMPLE_S * 1000;
    while (Date.now() < at) {
      rssMax = Math.max(rssMax, proc().rssMiB);
      await sleep(Math.min(500, at - Date.now()));
    }
    const { ns, app } = released[i]!;
    const sent = Date.now();
    await custom.patchNamespacedCustomObject(
      {
        ...ROLLOUTS,
        namespace: ns,
        name: app,
        body: {
          metadata: {
            annotations: { 'stepwise.dev/command': 'abort', 'stepwise.dev/command-id': `bench-${i}` },
          },
        },
      },
      merge,
    );
    while ((await backend.weightOf(ns, app)) !== 0) {
      if (Date.now() - sent > 60_000)
        throw new Error(`${ns}/${app}: abort did not reach weight 0 within 60 s`);
      await sleep(backend.pollMs);
    }
    abortMs.push(Date.now() - sent);
  }
  while (Date.now() < t0 + SAMPLE_S * 1000) {
    rssMax = Math.max(rssMax, proc().rssMiB);
    await sleep(500);
  }
  const seconds = (Date.now() - t0) / 1000;
  const p1 = proc();
  // The live heap as V8 last measured it: what the Rollouts cost, while RSS adds the collector's headroom.
  const heapUsedMiB = (await counter('stepwise_process_nodejs_heap_size_used_bytes')) / 2 ** 20;
  if (SNAPSHOT_DIR) await heapSnapshot(SNAPSHOT_DIR);
  const text1 = await scrape();
  const apiRequestsPerSec = (total(text1, 'stepwise_kubernetes_requests_total') - api0) / seconds;
  const prometheusQueriesPerSec = (total(text1, 'stepwise_prometheus_queries_total') - prom0) / seconds;
  // Where an abort's time goes: waiting for a worker, and its requests waiting at the client's rate limit.
  const waits = (name: string, lane: string) =>
    quantileBoundMs(buckets(text0, name, { lane }), buckets(text1, name, { lane }), 0.99).boundMs;
  const abortBreakdown = {
    queueWaitP99AtMostMs: waits('stepwise_reconcile_queue_wait_seconds', 'abort'),
    clientWaitP99AtMostMs: waits('stepwise_kubernetes_client_wait_seconds', 'abort'),
    routineClientWaitP99AtMostMs: waits('stepwise_kubernetes_client_wait_seconds', 'routine'),
    loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  };
  const cpuCores = (p1.cpuTicks - p0.cpuTicks) / 100 / seconds;
  abortMs.sort((a, b) => a - b);
  const abortP99Ms = quantile(abortMs, 0.99);
  const result = {
    rollouts: N,
    progressing: P,
    rssMiB: r(rssMax),
    heapUsedMiB: r(heapUsedMiB),
    cpuCores: r(cpuCores, 3),
    apiRequestsPerSec: r(apiRequestsPerSec, 2),
    prometheusQueriesPerSec: r(prometheusQueriesPerSec, 2),
    abortP99Ms,
    secondsToAllHealthy: r(secondsToAllHealthy),
    secondsToReady: r(secondsToReady),
    aborts: ABORTS,
    abortP50Ms: quantile(abortMs, 0.5),
    abortMaxMs: abortMs.at(-1) ?? null,
    ...abortBreakdown,
    firstCheckLateMs: firstCheckLate,
    releasePhase,
    ...(ADOPT_QPS ? { adoptQps: ADOPT_QPS, restartWrites } : {}),
  };
  console.log(
    '| Rollouts | progressing | RSS max (MiB) | heap used (MiB) | CPU (cores) | API requests/s | Prometheus queries/s | abort → weight p99 (ms) | s to all Healthy (adoption) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  console.log(
    `| ${N} | ${P} | ${result.rssMiB} | ${result.heapUsedMiB} | ${result.cpuCores} | ${result.apiRequestsPerSec} | ${result.prometheusQueriesPerSec} | ${abortP99Ms ?? '—'} | ${result.secondsToAllHealthy} |`,
  );
  console.log(JSON.stringify(result));
} finally {
  await cleanup();
}
