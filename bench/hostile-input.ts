// Hostile input against the controller and `validate`: the probe figures rerun on today's code. Prints a table
// and writes it to bench/results/hostile-input.md. Run: npm run bench:hostile (about a minute).
//
// "before" is the earlier probe's figure, or (marked "old code") the former code path measured here: the former placeholder
// regex, and an unlimited answer size (axios's default, which prometheus-query used).
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { createPrometheusAnalyzer } from '../src/analysis/analyzer.js';
import { metricQueryProblems } from '../src/analysis/metric-template.js';
import { createPrometheusClient } from '../src/analysis/prometheus.js';
import { ANALYSIS_DEFAULTS, MAX_QUERY_LENGTH } from '../src/api/schema.js';
import { manifestProblems } from '../src/cli/manifest-problems.js';
import { Controller } from '../src/controller/controller.js';
import { CREDENTIALS_LABEL } from '../src/controller/prometheus-target.js';
import { startApiServer } from '../sandbox/apiserver/index.js';
import { startHttpServer } from '../src/server/http.js';
import { createLogger } from '../src/telemetry/logger.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const rows: [string, string, string][] = [];
const ms = (value: number) => (value < 10 ? `${value.toFixed(2)} ms` : `${Math.round(value)} ms`);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;
const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));
const timed = (run: () => unknown) => {
  const started = performance.now();
  run();
  return performance.now() - started;
};
const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const close = (server: Server) => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
};

// 1. The placeholder scan. The old pattern is cubic: 1,500 spaces keep it to seconds (6,000 took 56 s).
const OLD_PLACEHOLDER_RE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const oldScan = timed(() => [...('{{' + ' '.repeat(1_500)).matchAll(OLD_PLACEHOLDER_RE)]);
const newScan6000 = timed(() => metricQueryProblems('{{' + ' '.repeat(6_000)));
const newScanMax = timed(() => metricQueryProblems('{{' + ' '.repeat(MAX_QUERY_LENGTH - 2)));
rows.push([
  'placeholder scan of `{{` + spaces, per pass',
  `6,000 spaces: 56 s (earlier probe); 1,500: ${ms(oldScan)} (old code)`,
  `6,000: ${ms(newScan6000)}; ${MAX_QUERY_LENGTH} characters (the longest allowed): ${ms(newScanMax)}`,
]);

// 2. `validate` on the manifest that froze the controller.
const manifest = (query: string) =>
  `apiVersion: stepwise.dev/v1alpha1\nkind: Rollout\nmetadata: { name: x }\nspec:\n  targetRef: { name: x }\n` +
  `  trafficRouting: { istio: { virtualService: { name: x }, destinationRule: { name: x } } }\n` +
  `  analysis:\n    metrics:\n      - { name: m, max: 1, query: ${JSON.stringify(query)} }\n`;
let refusal: string[] = [];
const validateLong = timed(() => (refusal = manifestProblems('m.yaml', manifest('{{' + ' '.repeat(6_000)))));
const validateMax = timed(() =>
  manifestProblems('m.yaml', manifest('{{' + ' '.repeat(MAX_QUERY_LENGTH - 2))),
);
rows.push([
  '`stepwise validate` of a freezing manifest',
  '4 KB query accepted after 15 s (earlier probe)',
  `6,000 spaces refused in ${ms(validateLong)} (\`${refusal[0]?.split(': ').slice(1, 2).join('')}\`); 4 KB accepted in ${ms(validateMax)}`,
]);

// 3. /healthz while a check of the heaviest allowed Rollout waits for a Prometheus that never answers.
{
  const hanging = createServer(() => undefined);
  const address = await listen(hanging);
  const { server, url } = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    registry: new Registry(),
    ready: () => true,
  });
  const started = performance.now();
  const metrics = Array.from({ length: 20 }, (_, i) => ({
    name: `m${i}`,
    query: '{{' + ' '.repeat(MAX_QUERY_LENGTH - 2),
    max: 1,
  }));
  const checking = createPrometheusAnalyzer({ budgetMs: 5_000, timeoutMs: 60_000 }).check({
    namespace: 'shop',
    canaryWorkload: 'web-canary',
    stableWorkload: 'web-stable',
    analysis: { ...ANALYSIS_DEFAULTS, metrics },
    prometheus: { address },
    at: new Date(),
    stepStartedAt: new Date(Date.now() - 60_000),
  });
  await fetch(`${url}/healthz`);
  const healthz = performance.now() - started;
  await checking;
  const check = performance.now() - started;
  rows.push([
    '`/healthz` during a pass of the heaviest Rollout, Prometheus hanging',
    'answered after 56 s; liveness probe restarts the pod (earlier probe)',
    `answered in ${ms(healthz)}; the check ended at its budget after ${(check / 1000).toFixed(1)} s (budget 5 s here, 15 s by default)`,
  ]);
  await close(hanging);
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

// 4. Memory for a 48 MB answer: one series with a 48 MB label, as a non-aggregating query or a hostile server sends.
{
  // Encoded once, before the measurements, so that serving it adds nothing to the process's memory.
  const body = Buffer.from(
    JSON.stringify({
      status: 'success',
      data: {
        resultType: 'vector',
        result: [{ metric: { pod: 'x'.repeat(48 * 1024 * 1024) }, value: [1, '1'] }],
      },
    }),
  );
  const big = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(body),
  );
  const address = await listen(big);
  const peakGrowth = async (maxResponseBytes?: number) => {
    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const result = await createPrometheusClient(
      { address },
      { retry: { retries: 0 }, maxResponseBytes },
    ).querySeries('up', new Date());
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    return { growth: peak - base, result };
  };
  const bounded = await peakGrowth();
  const unlimited = await peakGrowth(-1);
  rows.push([
    'controller memory for one 48 MB Prometheus answer',
    `1.8 GB (earlier probe); +${mb(unlimited.growth)} RSS here (old code: no size limit)`,
    `+${mb(bounded.growth)} RSS: refused at 1 MiB while reading (\`${(bounded.result as { reason?: string }).reason?.split(';')[0]}\`); series keys ≤ 128 characters, ≤ 500 series`,
  ]);
  await close(big);
}

// 5. On the sandbox API server, the real controller in-process with its defaults and --prometheus-address set:
// 12 namespaces each try to send a Secret to a collector; one Rollout asks for interval: 1ms; one Rollout uses a
// labelled Secret with the operator's Prometheus (the control: it must be sent, or the count above proves nothing).
{
  const seen: { server: string; url: string; authorization?: string }[] = [];
  const answer = (server: string) => (req: IncomingMessage, res: ServerResponse) => {
    seen.push({ server, url: decodeURIComponent(req.url ?? ''), authorization: req.headers.authorization });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        status: 'success',
        data: { resultType: 'vector', result: [{ metric: {}, value: [1, '1'] }] },
      }),
    );
  };
  const collectorServer = createServer(answer('collector'));
  const operatorServer = createServer(answer('operator'));
  const collector = await listen(collectorServer);
  const operator = await listen(operatorServer);

  const api = await startApiServer({ podReadyDelayMs: 50 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(api.kubeconfig());
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const istio = (plural: string) => ({ group: 'networking.istio.io', version: 'v1', plural });
  const rollouts = { group: 'stepwise.dev', version: 'v1alpha1', plural: 'rollouts' };

  const app = async (namespace: string, secretLabelled: boolean, analysis: Record<string, unknown>) => {
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web', namespace },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'web:1' }] } },
        },
      },
    });
    await custom.createNamespacedCustomObject({
      ...istio('virtualservices'),
      namespace,
      body: {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'web', namespace },
        spec: {
          hosts: ['web'],
          http: [
            {
              route: [
                { destination: { host: 'web', subset: 'stable' }, weight: 100 },
                { destination: { host: 'web', subset: 'canary' }, weight: 0 },
              ],
            },
          ],
        },
      },
    });
    await custom.createNamespacedCustomObject({
      ...istio('destinationrules'),
      namespace,
      body: {
        apiVersion: 'networking.istio.io/v1',
        kind: 'DestinationRule',
        metadata: { name: 'web', namespace },
        spec: {
          host: 'web',
          subsets: ['stable', 'canary'].map((track) => ({
            name: track,
            labels: { 'stepwise.dev/track': track },
          })),
        },
      },
    });
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: {
          name: 'db-password',
          namespace,
          ...(secretLabelled ? { labels: { [CREDENTIALS_LABEL]: 'true' } } : {}),
        },
        data: { token: Buffer.from(`secret-of-${namespace}`).toString('base64') },
      },
    });
    await custom.createNamespacedCustomObject({
      ...rollouts,
      namespace,
      body: {
        apiVersion: 'stepwise.dev/v1alpha1',
        kind: 'Rollout',
        metadata: { name: 'web', namespace },
        spec: {
          targetRef: { name: 'web' },
          trafficRouting: { istio: { virtualService: { name: 'web' }, destinationRule: { name: 'web' } } },
          steps: [{ weight: 50, duration: '1h' }],
          analysis: { minRequests: 0, comparison: { enabled: false }, ...analysis },
        },
      },
    });
  };
  const leaking = Array.from({ length: 12 }, (_, i) => `team-${i + 1}`);
  const bearer = { bearerTokenSecretRef: { name: 'db-password', key: 'token' } };
  for (const namespace of leaking)
    await app(namespace, false, { interval: '1s', prometheus: { address: collector, ...bearer } });
  await app('tiny-interval', false, { interval: '1ms', prometheus: { address: collector } });
  await app('control', true, { interval: '1s', prometheus: { address: operator, ...bearer } });

  const logger = createLogger({ silent: true });
  const controller = new Controller({
    kubeConfig,
    analyzer: createPrometheusAnalyzer({ logger }),
    logger,
    defaultPrometheus: operator,
  });
  await controller.start();
  await sleep(3_000);
  // A new image in every namespace: a canary, its weight, and a check every interval (were the Rollout accepted).
  for (const namespace of [...leaking, 'tiny-interval', 'control']) {
    await apps.patchNamespacedDeployment({
      namespace,
      name: 'web',
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'web:2' }],
    });
  }
  const windowStart = Date.now();
  const before = seen.length;
  await sleep(8_000);
  const windowSeconds = (Date.now() - windowStart) / 1000;
  await controller.stop();
  await api.close();
  await close(collectorServer);
  await close(operatorServer);

  const leaked = leaking.filter((namespace) =>
    seen.some((r) => r.authorization?.includes(`secret-of-${namespace}`)),
  );
  const controlSent = seen.some((r) => r.authorization?.includes('secret-of-control'));
  const controlQueries = seen
    .slice(before)
    .filter((r) => r.server === 'operator' && r.url.includes('"control"'));
  const tinyQueries = seen
    .slice(before)
    .filter((r) => r.server === 'collector' && r.url.includes('"tiny-interval"'));
  rows.push([
    'Secrets sent to a Rollout-chosen URL, 12 namespaces',
    '12 of 12 (earlier probe)',
    `${leaked.length} of 12 (InvalidSpec names spec.analysis.prometheus.address); control with a labelled Secret and the operator's Prometheus: ${controlSent ? 'sent' : 'NOT sent'}`,
  ]);
  rows.push([
    'Prometheus queries/s caused by `interval: 1ms`',
    '225 queries/s and 22 status writes/s (earlier probe)',
    `${(tinyQueries.length / windowSeconds).toFixed(1)} queries/s at the collector over ${windowSeconds.toFixed(0)} s: refused as InvalidSpec (interval below 1s); at the floor, \`interval: 1s\`, the control Rollout sent ${(controlQueries.length / windowSeconds).toFixed(1)} queries/s`,
  ]);
}

const table = [
  '| probe | before | after |',
  '|---|---|---|',
  ...rows.map((row) => `| ${row.join(' | ')} |`),
].join('\n');
console.log(table);
const out = join(ROOT, 'bench/results/hostile-input.md');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `# Hostile input: the probe figures, rerun\n\n\`npm run bench:hostile\` on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}.\n\n${table}\n`,
);
console.log(`\nwrote ${out}`);
process.exit(0);
