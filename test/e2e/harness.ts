// End-to-end harness: the sandbox stack (API server, mesh, real Prometheus), the example manifests of
// rollouts/product-service, and `stepwise controller` as a real child process.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CustomObjectsApi, type V1Deployment } from '@kubernetes/client-node';
import { beforeEach } from 'vitest';
import type { RolloutStatus } from '../../src/api/status.js';
import { startControllerProcess, type ControllerProcess } from '../../sandbox/controller-process.js';
import type { MeshOptions } from '../../sandbox/mesh/index.js';
import { meshMetricsOf } from '../../sandbox/mesh/mesh-metrics.js';
import { describePrometheus, findPrometheusBinary } from '../../sandbox/prometheus.js';
import {
  readManifests,
  startSandboxStack,
  type SandboxStack,
  type StackOptions,
} from '../../sandbox/stack.js';
import { startClusterStack } from '../cluster/stack.js';
import { CLUSTER_TIER } from '../cluster/tier.js';

/** The Prometheus the end-to-end tier runs on: the sandbox's own choice (the built 3.x, else 2.x on PATH). */
const e2ePrometheus = (() => {
  try {
    return findPrometheusBinary();
  } catch (error) {
    console.warn(`skipping the end-to-end tests: ${(error as Error).message}`);
    return undefined;
  }
})();
if (e2ePrometheus) console.log(`end-to-end tests on ${describePrometheus(e2ePrometheus)}`);
export const prometheusInstalled = e2ePrometheus !== undefined || CLUSTER_TIER;
export const APP = 'product-service';
export const IMAGE = 'registry.example.com/product-service';
/** Index of the managed route in every example: spec.http[1] of the VirtualService, spec.rules[1] of an HTTPRoute. */
const MANAGED_ROUTE = 1;
const ROLLOUT = { group: 'stepwise.dev', version: 'v1alpha1', plural: 'rollouts' };
const VS = { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' };

/** What the harness needs of a stack: the sandbox's, or a real control plane's (test/cluster). */
export type E2EStack = Pick<
  SandboxStack,
  'mesh' | 'prometheus' | 'kubeConfig' | 'kubeconfigPath' | 'namespace' | 'dir' | 'apply' | 'close'
> & {
  /** The controller's credential when it is not the test's (e.g. the chart's ServiceAccount). */
  controllerKubeconfigPath?: string;
  /** Flags every controller of this stack gets first (e.g. the chart's leader-election flags). */
  controllerArgs?: string[];
};

export interface E2EOptions<S extends E2EStack = SandboxStack> {
  /** Starts the stack; the in-memory sandbox by default. */
  stack?: (options: StackOptions) => Promise<S>;
  /** Merged over the example Rollout's spec.analysis (the Prometheus address is set by the harness). */
  analysis?: Record<string, unknown>;
  steps?: Record<string, unknown>[];
  rps?: number;
  mesh?: Partial<MeshOptions>;
  podReadyDelayMs?: number;
  /** Extra `stepwise controller` flags for every controller the harness starts. */
  controllerArgs?: string[];
  /** The folder of rollouts/ to apply (default product-service); its managed route or rule is the second. */
  example?: string;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface E2E<S extends E2EStack = SandboxStack> {
  stack: S;
  namespace: string;
  logFile: string;
  controller: ControllerProcess;
  status(): Promise<RolloutStatus>;
  waitFor(what: string, until: (s: RolloutStatus) => boolean, timeoutMs?: number): Promise<RolloutStatus>;
  release(image: string): Promise<number>;
  /**
   * Releases `image` and resolves with the time the canary served its first request, by the mesh's count. The
   * example's header route sends `x-canary: "true"` requests to the canary as soon as its pods are ready, before any
   * weight moves. Call it when no canary pods are ready (see canaryScaledDown).
   */
  releaseUntilCanaryServes(image: string): Promise<number>;
  /** Waits until the canary has no ready pods and the mesh has re-read its endpoints. */
  canaryScaledDown(): Promise<void>;
  virtualService(): Promise<Record<string, unknown>>;
  deployment(name: string): Promise<V1Deployment | undefined>;
  patchRolloutSpec(spec: Record<string, unknown>): Promise<void>;
  startController(): void;
  /** Another controller process (a second replica); its log goes to `logFile`. */
  launchController(logFile: string, extraArgs?: string[]): ControllerProcess;
  /** Canary weights of the managed route, in the order the mesh routed by them, with their times. */
  canaryWeights(): { weight: number; at: number }[];
  /** The canary weights the mesh routed by from `at` on, in order. */
  canaryWeightsSince(at: number): number[];
  /** Waits until the Rollout adopted the target and the mesh routes everything to stable. */
  adopted(): Promise<void>;
  /** Waits until the mesh routes by this canary weight (it reads the VirtualService a few times a second). */
  meshRoutesCanaryWeight(weight: number): Promise<void>;
  /** Runs `stepwise <args>` as a child process against the sandbox (kubeconfig and namespace set). */
  cli(args: string[]): Promise<CliRun>;
  /** Starts `stepwise <args>` that keeps running (e.g. `status --watch`): its stdout lines so far, and a stop. */
  cliRunning(args: string[]): RunningCli;
  /** Base URL of the first controller's HTTP server (from its log). */
  controllerUrl(): Promise<string>;
  close(): Promise<void>;
}

export interface RunningCli {
  lines(): string[];
  /** SIGTERM, then the exit code or signal. */
  stop(): Promise<number | NodeJS.Signals | null>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The controller logs of the stacks open now. CI keeps no files: a failed test prints their last lines above debug. */
const openLogs = new Set<string>();
const LOG_TAIL_LINES = 60;
beforeEach((context) => {
  context.onTestFailed(() => {
    for (const file of openLogs) {
      if (!existsSync(file)) continue;
      const lines = readFileSync(file, 'utf8').split('\n');
      const tail = lines.filter((l) => l !== '' && !l.includes('"level":"debug"')).slice(-LOG_TAIL_LINES);
      console.error(`the last ${tail.length} lines above debug of ${file}:\n${tail.join('\n')}`);
    }
  });
});

export async function startE2E<S extends E2EStack = SandboxStack>(
  options: E2EOptions<S> = {},
): Promise<E2E<S>> {
  // The cluster tier (npm run test:cluster) runs the same scenarios on a real control plane.
  const startStack =
    options.stack ??
    ((CLUSTER_TIER ? startClusterStack : startSandboxStack) as unknown as (o: StackOptions) => Promise<S>);
  const example = options.example ?? 'product-service';
  const manifests = readManifests(new URL(`../../rollouts/${example}`, import.meta.url).pathname);
  const stack = await startStack({
    rps: options.rps ?? 50,
    podReadyDelayMs: options.podReadyDelayMs ?? 500,
    // The mesh exports the metrics the example's Rollout reads (analysis.metricsProvider).
    mesh: { metrics: meshMetricsOf(manifests), ...options.mesh },
  });
  const namespace = stack.namespace;
  const logFile = join(stack.dir, 'controller.log');
  openLogs.add(logFile);
  for (const m of manifests) {
    if (m.kind !== 'Rollout') continue;
    const spec = (m as unknown as { spec: Record<string, Record<string, unknown>> }).spec;
    spec.analysis = { ...spec.analysis, ...options.analysis, prometheus: { address: stack.prometheus.url } };
    if (options.steps) spec.steps = options.steps as unknown as Record<string, unknown>;
  }
  await stack.apply(manifests);

  const custom = stack.kubeConfig.makeApiClient(CustomObjectsApi);
  const apps = stack.kubeConfig.makeApiClient(AppsV1Api);
  const launch = (file = logFile, extraArgs: string[] = []) =>
    startControllerProcess({
      kubeconfigPath: stack.controllerKubeconfigPath ?? stack.kubeconfigPath,
      logFile: file,
      logLevel: 'debug',
      extraArgs: [...(stack.controllerArgs ?? []), ...(options.controllerArgs ?? []), ...extraArgs],
    });
  const cliArgv = (args: string[]) => [
    '--import',
    'tsx',
    new URL('../../src/cli/main.ts', import.meta.url).pathname,
    ...args,
    '--kubeconfig',
    stack.kubeconfigPath,
    '-n',
    namespace,
  ];
  const e2e: E2E<S> = {
    stack,
    namespace,
    logFile,
    controller: launch(),
    async status() {
      const r = (await custom.getNamespacedCustomObject({ ...ROLLOUT, namespace, name: APP })) as {
        status?: RolloutStatus;
      };
      return r.status ?? {};
    },
    async waitFor(what, until, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let last: RolloutStatus = {};
      while (Date.now() < deadline) {
        last = await e2e.status();
        if (until(last)) return last;
        await sleep(200);
      }
      throw new Error(
        `timed out waiting for ${what}; status: ${JSON.stringify({ ...last, conditions: undefined })}; controller log: ${logFile}`,
      );
    },
    async release(image) {
      await apps.patchNamespacedDeployment({
        namespace,
        name: APP,
        body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: image }],
      });
      return Date.now();
    },
    async releaseUntilCanaryServes(image) {
      const before = served(stack, `${APP}-canary`);
      await e2e.release(image);
      const deadline = Date.now() + 60_000;
      while (served(stack, `${APP}-canary`) === before) {
        if (Date.now() > deadline) throw new Error(`the canary never served a request of ${image}`);
        await sleep(20);
      }
      return Date.now();
    },
    async canaryScaledDown() {
      const deadline = Date.now() + 60_000;
      while (((await e2e.deployment(`${APP}-canary`))?.status?.readyReplicas ?? 0) > 0) {
        if (Date.now() > deadline) throw new Error('the canary still has ready pods after 60 s');
        await sleep(100);
      }
      // The mesh re-reads the cluster every 250 ms.
      await sleep(500);
    },
    async virtualService() {
      return (await custom.getNamespacedCustomObject({ ...VS, namespace, name: APP })) as Record<
        string,
        unknown
      >;
    },
    async deployment(name) {
      try {
        return await apps.readNamespacedDeployment({ namespace, name });
      } catch {
        return undefined;
      }
    },
    async patchRolloutSpec(spec) {
      // As a user's edit would: read, change, replace; the controller writes the same object meanwhile (status,
      // finalizer), so a 409 means read again.
      for (let attempt = 1; ; attempt++) {
        const current = (await custom.getNamespacedCustomObject({ ...ROLLOUT, namespace, name: APP })) as {
          spec: Record<string, unknown>;
        };
        try {
          await custom.replaceNamespacedCustomObject({
            ...ROLLOUT,
            namespace,
            name: APP,
            body: { ...current, spec: { ...current.spec, ...spec } },
          });
          return;
        } catch (error) {
          if ((error as { code?: number }).code !== 409 || attempt >= 10) throw error;
        }
      }
    },
    startController() {
      e2e.controller = launch();
    },
    launchController(file, extraArgs) {
      return launch(file, extraArgs);
    },
    canaryWeights() {
      return stack.mesh
        .weightHistory()
        .filter((r) => r.routeIndex === MANAGED_ROUTE)
        .map((r) => ({
          // The canary subset, or the canary Service of a host split or an HTTPRoute.
          weight:
            r.weights.find((w) => w.subset === 'canary' || w.host.startsWith(`${APP}-canary.`))?.weight ?? 0,
          at: r.firstSeenAt.getTime(),
        }));
    },
    canaryWeightsSince(at) {
      return e2e
        .canaryWeights()
        .filter((w) => w.at >= at)
        .map((w) => w.weight);
    },
    async adopted() {
      await e2e.waitFor('adoption', isHealthy);
      await e2e.meshRoutesCanaryWeight(0);
      // Weight 0 says nothing of stable's pods when the route was written that way (the HTTPRoute example starts at
      // 100/0): the mesh reads the cluster a moment after the controller, and until it sees stable's ready pods it
      // answers the managed route 503 "no healthy upstream". Once a stable pod has answered there, all later requests
      // are routed by a config at least that new.
      const before = served(stack, `${APP}-stable`, MANAGED_ROUTE);
      const deadline = Date.now() + 10_000;
      while (served(stack, `${APP}-stable`, MANAGED_ROUTE) === before) {
        if (Date.now() > deadline)
          throw new Error('the mesh never answered the managed route from stable pods');
        await sleep(20);
      }
    },
    async meshRoutesCanaryWeight(weight) {
      const deadline = Date.now() + 5_000;
      while (e2e.canaryWeights().at(-1)?.weight !== weight) {
        if (Date.now() > deadline) throw new Error(`the mesh never routed with canary weight ${weight}`);
        await sleep(50);
      }
    },
    cli(args) {
      return new Promise((resolve) => {
        execFile(process.execPath, cliArgv(args), { timeout: 180_000 }, (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
          resolve({ code, stdout, stderr });
        });
      });
    },
    cliRunning(args) {
      const child = spawn(process.execPath, cliArgv(args), { stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
        child.on('exit', (code, signal) => resolve(code ?? signal)),
      );
      return {
        lines: () => stdout.split('\n').filter((l) => l !== ''),
        stop: () => {
          child.kill('SIGTERM');
          return exited;
        },
      };
    },
    async controllerUrl() {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const line = (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '')
          .split('\n')
          .find((l) => l.includes('serving /metrics'));
        if (line) return (JSON.parse(line) as { url: string }).url;
        await sleep(100);
      }
      throw new Error(`the controller never logged its HTTP address; log: ${logFile}`);
    },
    async close() {
      openLogs.delete(logFile);
      await e2e.controller.kill('SIGTERM');
      await stack.close();
    },
  };
  return e2e;
}

/** Polls `probe` every 100 ms until it returns a value other than undefined or false, and returns that value. */
export async function until<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Requests the canary Deployment has served so far. */
/** User requests the mesh had `workload`'s pods answer, on every route or on the route with index `routeIndex`. */
const served = (stack: E2EStack, workload: string, routeIndex?: number) =>
  stack.mesh
    .stats()
    .filter((s) => s.workload === workload && (routeIndex === undefined || s.routeIndex === routeIndex))
    .reduce((sum, s) => sum + s.requests, 0);

export const isHealthy = (s: RolloutStatus) => s.phase === 'Healthy';
export const settled = (s: RolloutStatus) =>
  ['Succeeded', 'RolledBack', 'Aborted', 'Failed'].includes(s.phase ?? '');

/** The first object of `kind` in the example folder rollouts/<example>, as written. */
export function readExample(example: string, kind: string): Record<string, unknown> & { spec: unknown } {
  const found = readManifests(new URL(`../../rollouts/${example}`, import.meta.url).pathname).find(
    (m) => m.kind === kind,
  );
  if (!found) throw new Error(`rollouts/${example} has no ${kind}`);
  return found as unknown as Record<string, unknown> & { spec: unknown };
}
