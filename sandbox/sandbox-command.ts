// `stepwise sandbox`: the local stand-in for a cluster with Istio, left running for you to use by hand (kubectl,
// stepwise, a controller of your own) until Ctrl-C, SIGTERM or SIGHUP, which remove everything it started.
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ClusterNames, serviceNames, startClusterNames } from './cluster-names.js';
import { startControllerProcess } from './controller-process.js';
import { describePrometheus, findPrometheusBinary } from './prometheus.js';
import { meshMetricsOf } from './mesh/mesh-metrics.js';
import { RunningSandbox } from './running.js';
import { type SandboxStack, readManifests, startSandboxStack } from './stack.js';

export interface SandboxFlags {
  writeKubeconfig?: string;
  apply?: string;
  controller: boolean;
  prometheusBin?: string;
  rps: string;
  namespace: string;
}

/** Where the examples under rollouts/ expect Prometheus: the Service prometheus in istio-system, port 9090. */
const EXAMPLE_PROMETHEUS = { service: 'prometheus', namespace: 'istio-system', port: 9090 };

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const REPEAT_WINDOW_MS = 1_000;

/** Checks the flags before anything starts; every message names the flag and what to write instead. */
function checkFlags(flags: SandboxFlags): { rps: number; applyDir?: string; prometheusBinary: string } {
  const rps = Number(flags.rps);
  if (!Number.isFinite(rps) || rps < 0) {
    throw new Error(`--rps must be a number >= 0 (got ${flags.rps}); e.g. --rps 50`);
  }
  let applyDir: string | undefined;
  if (flags.apply !== undefined) {
    applyDir = resolve(flags.apply);
    if (!existsSync(applyDir) || !statSync(applyDir).isDirectory()) {
      throw new Error(
        `--apply ${flags.apply}: not a directory; name a folder of YAML files, e.g. --apply rollouts/product-service`,
      );
    }
  }
  return {
    rps,
    ...(applyDir ? { applyDir } : {}),
    prometheusBinary: findPrometheusBinary({ explicit: flags.prometheusBin }),
  };
}

/** Starts the sandbox and resolves once it was stopped by a signal (exit code 0) or failed to start (throws). */
export async function runSandbox(flags: SandboxFlags): Promise<number> {
  const { rps, applyDir, prometheusBinary } = checkFlags(flags);
  const running = new RunningSandbox();
  let stoppedBy: (signal: NodeJS.Signals) => void = () => undefined;
  const signalled = new Promise<NodeJS.Signals>((resolveSignal) => (stoppedBy = resolveSignal));
  let firstSignalAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    // The same signal can come twice at once (to the pid and to its process group, as `timeout` sends it).
    if (firstSignalAt !== undefined && Date.now() - firstSignalAt < REPEAT_WINDOW_MS) return;
    if (firstSignalAt !== undefined) process.exit(1); // a second Ctrl-C: do not wait any longer
    firstSignalAt = Date.now();
    stoppedBy(signal);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);

  try {
    const started = start(running, { ...flags, rps, prometheusBinary, applyDir });
    started.catch(() => undefined); // a start cut short by a signal: stopping is all that is left to do
    const first = await Promise.race([started.then(() => undefined), signalled]);
    const signal = first ?? (await signalled);
    console.log(`\n${signal}: stopping the sandbox...`);
  } finally {
    await running.stop();
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
  console.log('Sandbox stopped; its processes and temporary files are gone.');
  return 0;
}

async function start(
  running: RunningSandbox,
  options: Omit<SandboxFlags, 'rps'> & {
    rps: number;
    prometheusBinary: string;
    applyDir: string | undefined;
  },
): Promise<void> {
  const applied = options.applyDir ? readManifests(options.applyDir) : undefined;
  running.stack = startSandboxStack({
    namespace: options.namespace,
    rps: options.rps,
    prometheusBinary: options.prometheusBinary,
    // The mesh exports the metrics the applied Rollout reads (Istio's without one).
    ...(applied && { mesh: { metrics: meshMetricsOf(applied) } }),
  });
  const stack = await running.stack;
  const names = await startClusterNames(
    Object.fromEntries(
      serviceNames(EXAMPLE_PROMETHEUS.service, EXAMPLE_PROMETHEUS.namespace, EXAMPLE_PROMETHEUS.port).map(
        (name) => [name, stack.prometheus.url],
      ),
    ),
  );
  running.onStop(() => names.close());

  let kubeconfigPath = stack.kubeconfigPath;
  if (options.writeKubeconfig) {
    kubeconfigPath = resolve(options.writeKubeconfig);
    copyFileSync(stack.kubeconfigPath, kubeconfigPath);
  }
  let controllerLog: string | undefined;
  if (options.controller) {
    controllerLog = join(stack.dir, 'controller.log');
    running.controller = startControllerProcess({
      kubeconfigPath: stack.kubeconfigPath,
      prometheusAddress: stack.prometheus.url,
      namespaces: [stack.namespace],
      logFile: controllerLog,
      env: names.env(),
    });
  }
  if (applied) await stack.apply(applied);
  console.log(
    usage(stack, names, { kubeconfigPath, controllerLog, applyDir: options.applyDir, rps: options.rps }),
  );
}

function usage(
  stack: SandboxStack,
  names: ClusterNames,
  details: {
    kubeconfigPath: string;
    controllerLog: string | undefined;
    applyDir: string | undefined;
    rps: number;
  },
): string {
  const proxy = Object.entries(names.env())
    .filter(([key]) => key === key.toUpperCase())
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  const controllerCommand = `${proxy} stepwise controller --kubeconfig ${details.kubeconfigPath} -n ${stack.namespace} --prometheus-address ${stack.prometheus.url} --metrics-address 127.0.0.1:0`;
  return [
    'Stepwise sandbox is running: an in-memory Kubernetes API, a simulated Istio mesh and a real Prometheus on 127.0.0.1.',
    `  kubeconfig        ${details.kubeconfigPath}`,
    `  Kubernetes API    ${stack.api.url}  (namespace ${stack.namespace})`,
    `  Prometheus        ${stack.prometheus.url}  (${describePrometheus(stack.prometheus.binary)})`,
    `  mesh              ${details.rps} requests/s through each VirtualService; Istio metrics at ${stack.mesh.metricsUrl}`,
    `  cluster names     ${Object.keys(names.names)[0]} → ${stack.prometheus.url} (for processes with ${proxy})`,
    details.controllerLog
      ? `  controller        running, log ${details.controllerLog}`
      : `  controller        not started (--controller starts one); run your own with:\n      ${controllerCommand}`,
    `  applied           ${details.applyDir ?? 'nothing (--apply DIR applies a folder of manifests)'}`,
    '',
    'Use it:',
    `  export KUBECONFIG=${details.kubeconfigPath}`,
    '  kubectl apply -f rollouts/product-service/',
    '  kubectl get rollouts -w',
    '  kubectl set image deployment/product-service product-service=registry.example.com/product-service:1.2.0-bad-errors',
    '  kubectl describe rollout product-service     # status and Events',
    '  stepwise status product-service --watch',
    'An image whose tag contains "bad-errors" answers 5% of requests with 500, one with "slow" has a 600 ms P99;',
    'any other image is healthy (0.1% errors, 200 ms P99).',
    'Stop with Ctrl-C (or SIGTERM, SIGHUP): every process and temporary file it started goes with it.',
  ].join('\n');
}
