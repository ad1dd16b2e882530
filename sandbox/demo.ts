// `npm run demo`: Stepwise on a laptop. Starts the sandbox (Kubernetes API, simulated Istio mesh, a real
// Prometheus) and the real controller process, applies rollouts/product-service/, then releases a good
// image (expect Succeeded) and a bad one (expect RolledBack), showing each live. Exit 0 when both
// verdicts came as expected, 1 otherwise, 130 on Ctrl-C.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KIND, rolloutSpecSchema } from '../src/api/schema.js';
import type { Phase, RolloutStatus } from '../src/api/status.js';
import { type Dashboard, startDashboard } from '../src/dashboard/server.js';
import { Cluster } from '../src/kube/cluster.js';
import { startControllerProcess } from './controller-process.js';
import {
  type RolloutRef,
  VERDICT_PHASES,
  followStage,
  readRolloutStatus,
  releaseImage,
} from './demo/follow-rollout.js';
import { type LiveView, createLiveView } from './demo/live-view.js';
import { DEMO_TIMING, FAST_TIMING, adjustForDemo } from './demo/manifests.js';
import { meshMetricsOf } from './mesh/mesh-metrics.js';
import { PROMETHEUS_HINT, ensurePrometheus } from './demo/prometheus-setup.js';
import { formatElapsed } from './demo/render.js';
import { RunningSandbox } from './running.js';
import { describePrometheus, findPrometheusBinary } from './prometheus.js';
import { readManifests, startSandboxStack } from './stack.js';

/** `--mesh`: which example of rollouts/ the demo applies, i.e. how the route object splits the traffic. */
const MESH_EXAMPLES = {
  istio: 'product-service', // Istio VirtualService split between two DestinationRule subsets
  'istio-host': 'product-service-host-split', // Istio VirtualService split between two Services
  gateway: 'product-service-httproute', // Gateway API HTTPRoute attached to the Service (GAMMA)
  ambient: 'product-service-ambient', // the same HTTPRoute, Istio ambient's waypoint metrics
  linkerd: 'product-service-linkerd', // the same HTTPRoute, Linkerd's proxy metrics
  cilium: 'product-service-cilium', // the same HTTPRoute, Cilium Hubble's HTTP metrics
} as const;
type MeshName = keyof typeof MESH_EXAMPLES;
const manifestsOf = (mesh: MeshName) =>
  fileURLToPath(new URL(`../rollouts/${MESH_EXAMPLES[mesh]}/`, import.meta.url));
const GOOD_IMAGE = 'registry.example.com/product-service:1.1.0';
const BAD_IMAGE = 'registry.example.com/product-service:1.2.0-bad-errors';

const USAGE = `Usage: npm run demo -- [--rps <n>] [--fast] [--mesh istio|istio-host|gateway|ambient|linkerd|cilium] [--prometheus-bin <path>]

  --rps <n>                 requests per second the simulated mesh sends to product-service (default 50)
  --fast                    steps of 4 s instead of 8 s
  --mesh <name>             istio: VirtualService subsets (default); istio-host: VirtualService split between two
                            Services; gateway: Gateway API HTTPRoute attached to the Service; ambient, linkerd,
                            cilium: that HTTPRoute, with the mesh exporting (and Stepwise reading) that mesh's metrics
  --prometheus-bin <path>   Prometheus to run (default: $STEPWISE_PROMETHEUS_BIN, else the Prometheus 3 that
                            \`bash tools/build.sh prometheus\` built, else \`prometheus\` on PATH)
`;

interface DemoFlags {
  rps: number;
  fast: boolean;
  mesh: MeshName;
  prometheusBin: string | undefined;
}

function parseFlags(argv: string[]): DemoFlags {
  const { values } = parseArgs({
    args: argv,
    options: {
      rps: { type: 'string', default: '50' },
      fast: { type: 'boolean', default: false },
      mesh: { type: 'string', default: 'istio' },
      'prometheus-bin': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const rps = Number(values.rps);
  if (!Number.isFinite(rps) || rps < 5) {
    throw new Error(`--rps must be a number >= 5 (got ${values.rps}); e.g. --rps 50`);
  }
  const mesh = values.mesh as MeshName;
  if (!Object.hasOwn(MESH_EXAMPLES, mesh)) {
    throw new Error(
      `--mesh must be one of ${Object.keys(MESH_EXAMPLES).join(', ')} (got ${values.mesh}); e.g. --mesh gateway`,
    );
  }
  return { rps, fast: values.fast, mesh, prometheusBin: values['prometheus-bin'] };
}

/** What the demo started, and the live view drawing it. */
class Running extends RunningSandbox {
  view: LiveView | undefined;
  dashboard: Dashboard | undefined;
  constructor() {
    super();
    this.onStop(() => this.view?.close());
    this.onStop(() => this.dashboard?.close());
  }
}

function logTail(file: string, lines = 12): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function runDemo(flags: DemoFlags, prometheusBinary: string, running: Running): Promise<boolean> {
  const say = (line: string) => (running.view ? running.view.note(line) : console.log(line));
  console.log('Stepwise demo: product-service gets a good release, then a bad one, in a local sandbox.');
  const example = readManifests(manifestsOf(flags.mesh));
  // The simulated mesh exports the metrics the example's Rollout reads.
  const metrics = meshMetricsOf(example);
  console.log(`Starting the Kubernetes API, the ${metrics} mesh (${flags.rps} rps) and Prometheus...`);
  running.stack = startSandboxStack({ rps: flags.rps, prometheusBinary, mesh: { metrics } });
  const stack = await running.stack;
  if (running.stopping) return false;

  const logFile = join(stack.dir, 'controller.log');
  running.controller = startControllerProcess({
    kubeconfigPath: stack.kubeconfigPath,
    prometheusAddress: stack.prometheus.url,
    namespaces: [stack.namespace],
    logFile,
  });
  console.log(`  Kubernetes API  ${stack.api.url}  (kubeconfig ${stack.kubeconfigPath})`);
  console.log(`  Prometheus      ${stack.prometheus.url}  (${describePrometheus(stack.prometheus.binary)})`);
  console.log(`  controller log  ${logFile}`);
  const { namespace } = stack;
  running.dashboard = await startDashboard({
    cluster: new Cluster(stack.kubeConfig),
    namespaces: [namespace],
    host: '127.0.0.1',
    port: 0,
  });
  console.log(`  dashboard       ${running.dashboard.url}rollouts/${namespace}/product-service`);
  console.log('  (all removed when the demo ends)');

  const timing = flags.fast ? FAST_TIMING : DEMO_TIMING;
  const manifests = adjustForDemo(example, {
    prometheusAddress: stack.prometheus.url,
    timing,
  });
  const rolloutManifest = manifests.find((m) => m.kind === KIND);
  const spec = rolloutSpecSchema.parse((rolloutManifest as { spec?: unknown } | undefined)?.spec);
  const ref: RolloutRef = {
    kubeConfig: stack.kubeConfig,
    namespace: stack.namespace,
    name: rolloutManifest?.metadata?.name ?? 'product-service',
  };
  const stageCommon = {
    totalSteps: spec.steps.length,
    evidenceLimit: Math.round(1 / spec.analysis.comparison.falseRollbackRate),
    checkAlive: () => {
      const child = running.controller?.child;
      if (!running.stopping && child && (child.exitCode !== null || child.signalCode !== null)) {
        throw new Error(
          `the controller exited (${child.exitCode ?? child.signalCode}); last lines of ${logFile}:\n${logTail(logFile)}`,
        );
      }
    },
  };

  console.log(
    `Applying rollouts/${MESH_EXAMPLES[flags.mesh]}/ (checks every ${timing.interval}, steps of at least ${timing.stepDuration} and ${timing.minRequests} canary requests)`,
  );
  await stack.apply(manifests);
  const view = createLiveView(process.stdout);
  running.view = view;

  const adoption = await followStage(ref, {
    ...stageCommon,
    view,
    title: `Adoption: Stepwise takes over ${spec.targetRef.name} (expect Healthy)`,
    isDone: (s) => s.phase === 'Healthy' || s.phase === 'Failed',
    timeoutMs: 60_000,
  });
  if (adoption.status?.phase !== 'Healthy') {
    say(verdictLine('adoption', adoption.status, 'Healthy', adoption.timedOut, adoption.elapsedMs));
    return failWithLog(say, logFile);
  }
  say(
    `✔ Adopted in ${seconds(adoption.elapsedMs)}: ${spec.targetRef.name}-stable serves 100% of the traffic`,
  );

  const verdicts: boolean[] = [];
  for (const release of [
    { image: GOOD_IMAGE, what: 'a good image', expect: 'Succeeded' as Phase, timeoutMs: 120_000 },
    {
      image: BAD_IMAGE,
      what: 'an image answering 5% errors',
      expect: 'RolledBack' as Phase,
      timeoutMs: 90_000,
    },
  ]) {
    const before = await readRolloutStatus(ref);
    const container = await releaseImage(ref, spec.targetRef.name, release.image);
    say(
      `Released ${tagOf(release.image)} as CI would: set image ${container}=${release.image} on Deployment ${spec.targetRef.name}`,
    );
    const result = await followStage(ref, {
      ...stageCommon,
      view,
      title: `Release ${tagOf(release.image)}: ${release.what} (expect ${release.expect})`,
      isDone: (s, seenActive) =>
        (seenActive || s.canaryRevision !== before?.canaryRevision) &&
        s.phase !== undefined &&
        VERDICT_PHASES.includes(s.phase),
      timeoutMs: release.timeoutMs,
      ...(before ? { initial: before } : {}),
    });
    const line = verdictLine(
      tagOf(release.image),
      result.status,
      release.expect,
      result.timedOut,
      result.elapsedMs,
    );
    say(line);
    verdicts.push(!result.timedOut && result.status?.phase === release.expect);
  }

  if (verdicts.every(Boolean)) {
    say('Both verdicts as expected: the good release was promoted, the bad one rolled back automatically.');
    return true;
  }
  return failWithLog(say, logFile);
}

function verdictLine(
  what: string,
  status: RolloutStatus | undefined,
  expected: Phase,
  timedOut: boolean,
  elapsedMs: number,
): string {
  const phase = status?.phase ?? 'no status';
  const why = status?.message ? `: ${status.message}` : '';
  if (timedOut)
    return `✘ ${what}: still ${phase} after ${formatElapsed(elapsedMs)}, expected ${expected}${why}`;
  const mark = phase === expected ? '✔' : '✘';
  const expectation = phase === expected ? '' : ` (expected ${expected})`;
  return `${mark} ${what}: ${phase} after ${seconds(elapsedMs)}${expectation}${why}`;
}

function failWithLog(say: (line: string) => void, logFile: string): false {
  say(`Last lines of the controller log ${logFile}:\n${logTail(logFile)}`);
  return false;
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
const tagOf = (image: string) => image.slice(image.lastIndexOf(':') + 1);

async function main(): Promise<void> {
  let flags: DemoFlags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (error) {
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    process.exit(2);
  }
  let prometheusBinary: string | undefined;
  try {
    // A binary the user named must be that one: no apt install in its place.
    const named = flags.prometheusBin ?? (process.env.STEPWISE_PROMETHEUS_BIN || undefined);
    prometheusBinary = named ? findPrometheusBinary({ explicit: flags.prometheusBin }) : ensurePrometheus();
  } catch (error) {
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  }
  if (!prometheusBinary) {
    console.error(PROMETHEUS_HINT);
    process.exit(1);
  }

  const running = new Running();
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    // A closed terminal: without a handler node dies at once, and Prometheus (which reloads on SIGHUP) would stay.
    ['SIGHUP', 129],
  ] as const) {
    process.on(signal, () => {
      if (running.stopping) process.exit(code); // a second Ctrl-C: do not wait any longer
      running.view?.close(); // no redraw over the lines below
      console.log(
        `${process.stdout.isTTY ? '\n' : ''}Interrupted: stopping the controller, Prometheus and the sandbox...`,
      );
      void running.stop().finally(() => process.exit(code));
    });
  }

  let ok = false;
  try {
    ok = await runDemo(flags, prometheusBinary, running);
  } catch (error) {
    if (running.stopping) return; // interrupted: the signal handler exits
    running.view?.close();
    console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (running.stopping) return;
  await running.stop();
  process.exit(ok ? 0 : 1);
}

await main();
