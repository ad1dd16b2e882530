import { spawn, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  constants,
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { stringify } from 'yaml';

export interface PrometheusOptions {
  /** `host:port` of each endpoint to scrape (job `istio-mesh`), e.g. a mesh's `target`. */
  targets: string[];
  /** Scrape and rule-evaluation interval. Default 1. */
  scrapeIntervalSeconds?: number;
  /** Port on 127.0.0.1. Default: a free port. */
  port?: number;
  /** TSDB directory. Default: `data` in the launcher's temp dir. */
  dataDir?: string;
  /** Prometheus binary. Default: /usr/bin/prometheus, else `prometheus` on PATH. */
  binary?: string;
  /** How long start waits for `/-/ready`. Default 30 s. */
  readyTimeoutMs?: number;
}

export interface PrometheusProcess {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Where the process's stdout and stderr go. */
  logFile: string;
  dataDir: string;
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data dir, and waits until it is ready. */
  start(): Promise<void>;
  /** Stops it and removes its temp dir. */
  close(): Promise<void>;
}

/** One series of an instant query. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

const INSTALL_HINT = 'install it with: apt-get install -y prometheus';
const STOP_GRACE_MS = 5_000;

/** Finds the Prometheus binary: `preferred` if executable, else `prometheus` on `searchPath`. */
export function findPrometheusBinary(
  preferred = '/usr/bin/prometheus',
  searchPath = process.env.PATH ?? '',
): string {
  const candidates = [
    preferred,
    ...searchPath
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, 'prometheus')),
  ];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next one
    }
  }
  throw new Error(`Prometheus binary not found at ${preferred} or on PATH; ${INSTALL_HINT}`);
}

/** Starts a real Prometheus bound to 127.0.0.1 that scrapes `targets`, and waits until it is ready. */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusProcess> {
  const binary = options.binary ?? findPrometheusBinary();
  const interval = options.scrapeIntervalSeconds ?? 1;
  if (!(interval > 0)) {
    throw new Error(`scrapeIntervalSeconds must be > 0 (got ${options.scrapeIntervalSeconds}); e.g. 1`);
  }
  if (options.targets.length === 0) throw new Error('targets is empty; pass e.g. [mesh.target]');

  const workDir = mkdtempSync(join(tmpdir(), 'stepwise-prometheus-'));
  const configFile = join(workDir, 'prometheus.yml');
  const logFile = join(workDir, 'prometheus.log');
  const dataDir = options.dataDir ?? join(workDir, 'data');
  writeFileSync(
    configFile,
    stringify({
      global: {
        scrape_interval: `${interval}s`,
        scrape_timeout: `${interval}s`,
        evaluation_interval: `${interval}s`,
      },
      scrape_configs: [{ job_name: 'istio-mesh', static_configs: [{ targets: options.targets }] }],
    }),
  );
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;

  let port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const launch = async () => {
    const log = openSync(logFile, 'a');
    const started = spawn(
      binary,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${dataDir}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    child = started;
    exited = new Promise((resolve) => {
      if (started.exitCode !== null || started.signalCode !== null) resolve();
      else started.once('exit', () => resolve());
    });
    const spawnError = new Promise<never>((_, reject) => started.once('error', reject));
    spawnError.catch(() => undefined); // an 'error' after readiness must not become an unhandled rejection
    await Promise.race([
      waitUntilReady(`http://127.0.0.1:${port}`, started, logFile, readyTimeoutMs),
      spawnError,
    ]);
  };

  const stop = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    running.kill('SIGTERM');
    const killTimer = setTimeout(() => running.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(killTimer);
  };

  const cleanup = { kill: () => child?.kill('SIGKILL'), workDir };
  liveProcesses.add(cleanup);
  installExitCleanup();

  // A free port can be taken between our probe and Prometheus binding it; try a fresh one.
  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      break;
    } catch (error) {
      await stop();
      if (options.port !== undefined || attempt >= 3) {
        liveProcesses.delete(cleanup);
        rmSync(workDir, { recursive: true, force: true });
        throw error;
      }
      port = await freePort();
    }
  }

  return {
    url: `http://127.0.0.1:${port}`,
    logFile,
    dataDir,
    stop,
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) return;
      await launch();
    },
    async close() {
      await stop();
      liveProcesses.delete(cleanup);
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** Runs an instant query and returns its series (a scalar becomes one series without labels). */
export async function queryPrometheus(url: string, query: string): Promise<PromSample[]> {
  const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query })}`);
  const body = (await response.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: unknown };
  };
  if (body.status !== 'success' || !body.data) {
    throw new Error(
      `Prometheus query failed (${response.status}): ${body.error ?? 'no data'}; query: ${query}`,
    );
  }
  if (body.data.resultType === 'scalar') {
    const [, value] = body.data.result as [number, string];
    return [{ metric: {}, value: Number(value) }];
  }
  if (body.data.resultType !== 'vector') {
    throw new Error(`expected an instant vector, got a ${body.data.resultType}; query: ${query}`);
  }
  return (body.data.result as { metric: Record<string, string>; value: [number, string] }[]).map(
    (series) => ({
      metric: series.metric,
      value: Number(series.value[1]),
    }),
  );
}

/** Polls until the query returns at least one series with a finite value, and returns its series. */
export async function waitForSeries(url: string, query: string, timeoutMs: number): Promise<PromSample[]> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no result yet';
  for (;;) {
    try {
      const series = await queryPrometheus(url, query);
      if (series.some((sample) => Number.isFinite(sample.value))) return series;
      last = series.length === 0 ? 'empty result' : `only non-finite values: ${JSON.stringify(series)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) throw new Error(`no series for ${query} after ${timeoutMs} ms (${last})`);
    await sleep(250);
  }
}

async function waitUntilReady(
  url: string,
  child: ChildProcess,
  logFile: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `Prometheus exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${logTail(logFile)}`,
      );
    }
    try {
      const response = await fetch(`${url}/-/ready`);
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() >= deadline) {
      throw new Error(`Prometheus at ${url} not ready after ${timeoutMs} ms:\n${logTail(logFile)}`);
    }
    await sleep(100);
  }
}

function logTail(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-10).join('\n');
  } catch {
    return '(no log)';
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// A test or demo that dies must not leave Prometheus running or its temp dir behind.
const liveProcesses = new Set<{ kill: () => void; workDir: string }>();
let exitCleanupInstalled = false;

function installExitCleanup(): void {
  if (exitCleanupInstalled) return;
  exitCleanupInstalled = true;
  const cleanupAll = () => {
    for (const live of liveProcesses) {
      live.kill();
      rmSync(live.workDir, { recursive: true, force: true });
    }
    liveProcesses.clear();
  };
  process.on('exit', cleanupAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // Only when nobody else handles the signal: a listener would otherwise cancel Node's default exit.
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      cleanupAll();
      process.kill(process.pid, signal);
    });
  }
}
