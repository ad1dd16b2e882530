import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { createPrometheusAnalyzer } from '../../src/analysis/analyzer.js';
import type { CheckRequest, CheckResult } from '../../src/analysis/types.js';
import type { PrometheusBuild } from '../support/prometheus.js';

// A real Prometheus serving fixed metrics: the samples are backfilled as TSDB blocks with the promtool of the same
// version, then Prometheus starts on them with no scrape targets, so every query answer is deterministic. Each
// version stores the data as it would have scraped it: 3.x's promtool rewrites `le="500"` to "500.0" as its scrape
// does (both parse with model/textparse, which normalises histogram `le` values).

/** One series: its samples are `value(t)` every `stepSeconds` from `fromSeconds` to `toSeconds`; none where undefined. */
export interface SeriesSpec {
  name: string;
  labels: Record<string, string>;
  value: (secondsSinceStart: number) => number | undefined;
}

export interface Family {
  /** OpenMetrics family name (`istio_requests` for the counter `istio_requests_total`). */
  family: string;
  type: 'counter' | 'histogram' | 'gauge';
  series: SeriesSpec[];
}

export interface SampleRange {
  fromSeconds: number;
  toSeconds: number;
  stepSeconds: number;
}

const escapeOpenMetrics = (value: string) =>
  value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** The families as OpenMetrics text, which `promtool tsdb create-blocks-from openmetrics` reads. */
export function toOpenMetrics(families: Family[], range: SampleRange): string {
  const lines: string[] = [];
  for (const { family, type, series } of families) {
    lines.push(`# TYPE ${family} ${type}`);
    for (const { name, labels, value } of series) {
      const labelText = Object.entries(labels)
        .map(([key, val]) => `${key}="${escapeOpenMetrics(val)}"`)
        .join(',');
      for (let t = range.fromSeconds; t <= range.toSeconds; t += range.stepSeconds) {
        const sample = value(t - range.fromSeconds);
        if (sample !== undefined) lines.push(`${name}{${labelText}} ${sample} ${t}`);
      }
    }
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

export interface RunningPrometheus {
  address: string;
  stop(): Promise<void>;
}

/** Backfills the OpenMetrics text into a fresh TSDB and starts Prometheus on it (127.0.0.1, free port). */
export async function startBackfilledPrometheus(
  prometheus: PrometheusBuild,
  openMetrics: string,
): Promise<RunningPrometheus> {
  if (!prometheus.promtool) throw new Error(`${prometheus.name} has no promtool to backfill with`);
  const dir = await mkdtemp(join(tmpdir(), 'stepwise-prometheus-'));
  const dataDir = join(dir, 'data');
  await writeFile(join(dir, 'metrics.om'), openMetrics);
  await writeFile(join(dir, 'prometheus.yml'), 'scrape_configs: []\n');
  try {
    await promisify(execFile)(prometheus.promtool, [
      'tsdb',
      'create-blocks-from',
      'openmetrics',
      join(dir, 'metrics.om'),
      dataDir,
    ]);
  } catch (error) {
    // Refused samples (e.g. out of order) leave no Prometheus to stop: the folder goes now.
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const port = await freePort();
  const child = spawn(
    prometheus.binary,
    [
      `--storage.tsdb.path=${dataDir}`,
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=30d',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const address = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await terminate(child, exited);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(address, child);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\nprometheus log:\n${log}`);
  }
  return { address, stop };
}

async function waitUntilReady(address: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with code ${child.exitCode}`);
    try {
      if ((await fetch(`${address}/-/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('prometheus did not become ready within 30s');
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killTimer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs up to `checks` checks of the analyzer `everySeconds` apart from the step's start, handing each one's comparison
 * state to the next through a JSON round trip (as status stores it), until one fails; `perCheck(i)` adds to check i.
 */
export async function runChecks(
  request: Omit<CheckRequest, 'at' | 'comparison'>,
  checks: number,
  everySeconds: number,
  perCheck?: (check: number) => Partial<CheckRequest>,
): Promise<CheckResult[]> {
  const analyzer = createPrometheusAnalyzer({ retry: { retries: 0 } });
  const results: CheckResult[] = [];
  let comparison: unknown;
  for (let i = 1; i <= checks; i++) {
    const at = new Date(request.stepStartedAt.getTime() + i * everySeconds * 1000);
    const result = JSON.parse(
      JSON.stringify(await analyzer.check({ ...request, ...perCheck?.(i), at, comparison })),
    ) as CheckResult;
    results.push(result);
    comparison = result.comparison;
    if (result.verdict === 'fail') break;
  }
  return results;
}
