import type { Command } from 'commander';
import type { V1Deployment } from '@kubernetes/client-node';
import { validateSpec } from '../../api/validate.js';
import type { Cluster, RolloutObject } from '../../kube/cluster.js';
import { workloadName } from '../../workload/labels.js';
import { connect, withClusterOptions, type ClusterFlags } from '../cluster-options.js';
import { CliError, runAction } from '../exit.js';
import { formatData, outputOption, parseOutputFormat } from '../output.js';
import { renderHistory } from '../render/history-table.js';
import { renderList } from '../render/list-table.js';
import { formatRollouts, rolloutOutputOption, type RolloutOutput } from '../render/rollout-output.js';
import { rolloutArgument } from '../rollout-argument.js';
import { renderStatus, statusLine, type StatusView, type WorkloadPods } from '../render/status-view.js';

interface StatusFlags extends ClusterFlags {
  watch?: boolean;
  output?: RolloutOutput;
  allNamespaces?: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const images = (d: V1Deployment | undefined) =>
  d?.spec?.template.spec?.containers.map((c) => c.image ?? '').join(', ') || undefined;

const workloadPods = (d: V1Deployment | undefined): WorkloadPods | undefined =>
  d?.metadata?.name
    ? { name: d.metadata.name, ready: d.status?.readyReplicas ?? 0, desired: d.spec?.replicas ?? 0 }
    : undefined;

async function requireRollout(cluster: Cluster, namespace: string, name: string): Promise<RolloutObject> {
  const rollout = await cluster.getRollout(namespace, name);
  if (!rollout)
    throw new CliError(`Rollout ${namespace}/${name} not found; check the name and -n/--namespace`);
  return rollout;
}

async function loadView(cluster: Cluster, namespace: string, name: string): Promise<StatusView> {
  const rollout = await requireRollout(cluster, namespace, name);
  const checked = validateSpec(rollout.spec);
  const spec = checked.ok ? checked.spec : undefined;
  const app = spec?.targetRef.name;
  const [stable, canary] = app
    ? await Promise.all([
        cluster.getDeployment(namespace, workloadName(app, 'stable')).catch(() => undefined),
        cluster.getDeployment(namespace, workloadName(app, 'canary')).catch(() => undefined),
      ])
    : [];
  return {
    rollout,
    spec,
    stableImage: images(stable),
    canaryImage: images(canary),
    stableWorkload: workloadPods(stable),
    canaryWorkload: workloadPods(canary),
    now: new Date(),
  };
}

/** Moves the cursor back over the previous frame and clears it, so a redraw replaces it in place. */
const overwrite = (previousLines: number) => (previousLines ? `\x1b[${previousLines}F\x1b[J` : '');

async function watch(
  cluster: Cluster,
  namespace: string,
  name: string,
  output: RolloutOutput | undefined,
): Promise<never> {
  const tty = process.stdout.isTTY && !output;
  let previous = '';
  let frameLines = 0;
  for (;;) {
    const view = await loadView(cluster, namespace, name);
    if (tty) {
      // Redraw every second: the step clock moves even when the status does not.
      const frame = `${renderStatus(view)}\n`;
      process.stdout.write(overwrite(frameLines) + frame);
      frameLines = frame.split('\n').length - 1;
    } else {
      // One line per change: JSON lines of the Rollout with -o json, else a timestamped summary.
      const line =
        output?.format === 'json'
          ? JSON.stringify(view.rollout)
          : statusLine(view.rollout.status ?? {}, view.spec);
      if (line !== previous)
        console.log(output?.format === 'json' ? line : `${new Date().toISOString()} ${line}`);
      previous = line;
    }
    await sleep(1000);
  }
}

export function registerStatusCommands(program: Command): void {
  withClusterOptions(
    program
      .command('status')
      .description(
        'phase, step, weight, last analysis values against their limits, and the reason of a rollback',
      )
      .addArgument(rolloutArgument())
      .option(
        '-w, --watch',
        'keep showing the status as it changes, redrawn in place (one line per change when not a terminal; JSON lines with -o json)',
      )
      .addOption(rolloutOutputOption()),
  )
    .addHelpText('after', '\nExample:\n  stepwise status product-service -n production --watch')
    .action(
      runAction(async (name: string, flags: StatusFlags) => {
        const { cluster, namespace } = connect(flags);
        if (flags.watch) return watch(cluster, namespace, name, flags.output);
        const view = await loadView(cluster, namespace, name);
        const data = flags.output && formatRollouts(view.rollout, flags.output);
        console.log(data ?? renderStatus(view));
      }),
    );

  withClusterOptions(
    program
      .command('list')
      .alias('ls')
      .description('all Rollouts of a namespace with their phase, step, weight and revisions')
      .option('-A, --all-namespaces', 'Rollouts of every namespace (adds a NAMESPACE column)')
      .addOption(rolloutOutputOption()),
  )
    .addHelpText('after', '\nExample:\n  stepwise list -n production -o yaml\n  stepwise list -A -o wide')
    .action(
      runAction(async (flags: StatusFlags) => {
        const { cluster, namespace } = connect(flags);
        const { items } = await cluster.listRollouts(flags.allNamespaces ? undefined : namespace);
        const data = flags.output && formatRollouts(items, flags.output);
        console.log(
          data ??
            renderList(items, new Date(), {
              allNamespaces: !!flags.allNamespaces,
              wide: flags.output?.format === 'wide',
            }),
        );
      }),
    );

  withClusterOptions(
    program
      .command('history')
      .description('the finished releases of a Rollout: revision, image, outcome, duration, when, reason')
      .addArgument(rolloutArgument())
      .addOption(outputOption()),
  )
    .addHelpText('after', '\nExample:\n  stepwise history product-service -n production')
    .action(
      runAction(async (name: string, flags: ClusterFlags & { output?: 'json' | 'yaml' }) => {
        const format = parseOutputFormat(flags.output);
        const { cluster, namespace } = connect(flags);
        const rollout = await requireRollout(cluster, namespace, name);
        const history = rollout.status?.history ?? [];
        console.log(format ? formatData(history, format) : renderHistory(history, new Date()));
      }),
    );
}
