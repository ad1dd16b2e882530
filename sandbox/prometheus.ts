import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  constants,
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { stringify } from 'yaml';
import { toolBinary } from './tools.js';

export interface PrometheusOptions {
  /** `host:port` of each endpoint to scrape (job `istio-mesh`), e.g. a mesh's `target`. */
  targets: string[];
  /** Scrape and rule-evaluation interval. Default 1. */
  scrapeIntervalSeconds?: number;
  /** Port on 127.0.0.1. Default: a free port. */
  port?: number;
  /** TSDB directory. Default: `data` in the launcher's temp dir. */
  dataDir?: string;
  /** Prometheus binary. Default: findPrometheusBinary() (STEPWISE_PROMETHEUS_BIN, the built 3.x, PATH). */
  binary?: string;
  /** How long start waits for `/-/ready`. Default 30 s. */
  readyTimeoutMs?: number;
}

export interface PrometheusProcess {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** The binary it runs. */
  binary: string;
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

const INSTALL_HINT =
  'build Prometheus 3 with `bash tools/build.sh prometheus` (needs Go), or install 2.x with: apt-get install -y prometheus';
const STOP_GRACE_MS = 5_000;

export interface PrometheusChoice {
  /** A binary named by the user (`--prometheus-bin`); wins over everything else. */
  explicit?: string;
  /** Where STEPWISE_PROMETHEUS_BIN and STEPWISE_TOOLS_CACHE are read. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Folders searched for `prometheus` last. Default: PATH, then /usr/bin. */
  searchPath?: string;
}

/**
 * The Prometheus binary: `explicit` (--prometheus-bin), else STEPWISE_PROMETHEUS_BIN, else the Prometheus 3 that
 * tools/build.sh built (the version users run today), else `prometheus` on PATH (e.g. Debian's 2.x).
 */
export function findPrometheusBinary(choice: PrometheusChoice = {}): string {
  const env = choice.env ?? process.env;
  const named = choice.explicit ?? (env.STEPWISE_PROMETHEUS_BIN || undefined);
  if (named !== undefined) {
    if (isExecutable(named)) return named;
    const source = choice.explicit !== undefined ? '--prometheus-bin' : 'STEPWISE_PROMETHEUS_BIN';
    throw new Error(
      `${source}: ${named} is not an executable file; name a Prometheus binary, or ${INSTALL_HINT}`,
    );
  }
  const searchPath = choice.searchPath ?? [env.PATH ?? '', '/usr/bin'].join(delimiter);
  const candidates = [
    toolBinary('prometheus', 'prometheus', env),
    ...searchPath
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, 'prometheus')),
  ];
  const found = candidates.find((candidate) => candidate !== undefined && isExecutable(candidate));
  if (found) return found;
  throw new Error(`Prometheus binary not found in the tools cache or on PATH; ${INSTALL_HINT}`);
}

/** The version a Prometheus binary reports ("3.16.0"), or undefined when it reports none. */
export function prometheusVersion(binary: string): string | undefined {
  const run = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  // "prometheus, version 2.42.0+ds (branch: ...)"
  return /version (\d+\.\d+\.\d+)/.exec(`${run.stdout ?? ''}${run.stderr ?? ''}`)?.[1];
}

/** "Prometheus 3.16.0 at /path/to/prometheus", for the lines that say what runs. */
export function describePrometheus(binary: string): string {
  return `Prometheus ${prometheusVersion(binary) ?? '(unknown version)'} at ${binary}`;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
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
    binary,
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
