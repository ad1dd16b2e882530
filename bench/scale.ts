// npm run bench:scale -- --rollouts N [--progressing P] [--sample-seconds S] [--heap-snapshot DIR] [--until-ready]
//   [--cluster]
// N services with their Rollouts on the sandbox API server (10 namespaces), the built controller run as the image
// runs it (node dist/cli/main.js controller), P of them released. Samples the controller's RSS and CPU from /proc
// and its own request counters from /metrics over a steady window, then aborts each progressing Rollout at a time
// spread over the window and measures abort → canary weight 0 on the VirtualService. Prints a table and a JSON line.
// Prometheus is a stub that answers every query at once with no series: a released Rollout sets its first weight
// and then holds on inconclusive checks, so secondsToAllHealthy is the time for all N Rollouts to be adopted
// (Healthy) after the controller started, and the queries per second are what the checks send.
// --heap-snapshot DIR writes a V8 heap snapshot of the controller into DIR at the end of the window.
// secondsToReady is the time from the controller's start to /readyz (every watch listed: what a new leader
// needs before its first pass). --until-ready stops after it, sampling RSS for S seconds of adoption instead.
// --cluster runs on the real control plane of the cluster tier instead of the sandbox (bench/scale-backend.ts).
import { spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { clusterBackend, sandboxBackend } from './scale-backend.js';
import {
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
const UNTIL_READY = process.argv.includes('--until-ready');
const CLUSTER = process.argv.includes('--cluster');
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
const backend = CLUSTER ? await clusterBackend(namespaces) : await sandboxBackend(dir);
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
const port = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address() as { port: number };
    probe.close(() => resolve(port));
  });
});
const metricsUrl = `http://127.0.0.1:${port}`;
const child = spawn(
  process.execPath,
  [
    ...(SNAPSHOT_DIR ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${SNAPSHOT_DIR}`] : []),
    MAIN,
    'controller',
    '--kubeconfig',
    kubeconfigPath,
    '--metrics-address',
    `127.0.0.1:${port}`,
    '--log-level',
    'warn',
  ],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);
let output = '';
child.stdout.on('data', (c: Buffer) => (output += c.toString()));
child.stderr.on('data', (c: Buffer) => (output += c.toString()));
const started = Date.now();
const cleanup = async () => {
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  await backend.close();
  prometheus.closeAllConnections();
  prometheus.close();
  rmSync(dir, { recursive: true, force: true });
};

const counter = async (name: string) => {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
};
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

try {
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
  const secondsToReady = (Date.now() - started) / 1000;
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
    if ((await backend.phases(services)).every((phase) => phase === 'Healthy')) break;
    if (Date.now() - started > 30 * 60_000) throw new Error('not all Rollouts became Healthy within 30 min');
    await sleep(Math.max(250, backend.pollMs * 50));
  }
  const secondsToAllHealthy = (Date.now() - started) / 1000;

  // P releases; wait for each canary's first weight.
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
  await sleep(5_000);

  const t0 = Date.now();
  const [api0, prom0, p0] = [
    await counter('stepwise_kubernetes_requests_total'),
    await counter('stepwise_prometheus_queries_total'),
    proc(),
  ];
  // Aborts spread over the window: one progressing Rollout at a time, abort → weight 0.
  const abortMs: number[] = [];
  let rssMax = p0.rssMiB;
  for (let i = 0; i < released.length; i++) {
    const at = t0 + ((i + 0.5) / released.length) * SAMPLE_S * 1000;
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
  const apiRequestsPerSec = ((await counter('stepwise_kubernetes_requests_total')) - api0) / seconds;
  const prometheusQueriesPerSec = ((await counter('stepwise_prometheus_queries_total')) - prom0) / seconds;
  const cpuCores = (p1.cpuTicks - p0.cpuTicks) / 100 / seconds;
  abortMs.sort((a, b) => a - b);
  const abortP99Ms = abortMs.length
    ? abortMs[Math.min(abortMs.length - 1, Math.ceil(0.99 * abortMs.length) - 1)]!
    : null;
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
