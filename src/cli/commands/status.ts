import type { Command } from 'commander';
import type { V1Deployment } from '@kubernetes/client-node';
import { validateSpec } from '../../api/validate.js';
import type { Cluster, RolloutObject } from '../../kube/cluster.js';
import { workloadName } from '../../workload/labels.js';
import { connect, withClusterOptions, type ClusterFlags } from '../cluster-options.js';
import { CliError, runAction } from '../exit.js';
import { formatData, outputOption, parseOutputFormat } from '../output.js';
import { renderList } from '../render/list-table.js';
import { renderStatus, statusLine, type StatusView } from '../render/status-view.js';

interface StatusFlags extends ClusterFlags {
  watch?: boolean;
  output?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const images = (d: V1Deployment | undefined) =>
  d?.spec?.template.spec?.containers.map((c) => c.image ?? '').join(', ') || undefined;

async function loadView(cluster: Cluster, namespace: string, name: string): Promise<StatusView> {
  const rollout = await cluster.getRollout(namespace, name);
  if (!rollout)
    throw new CliError(`Rollout ${namespace}/${name} not found; check the name and -n/--namespace`);
  const checked = validateSpec(rollout.spec);
  const spec = checked.ok ? checked.spec : undefined;
  const app = spec?.targetRef.name;
  const [stable, canary] = app
    ? await Promise.all([
        cluster.getDeployment(namespace, workloadName(app, 'stable')).catch(() => undefined),
        cluster.getDeployment(namespace, workloadName(app, 'canary')).catch(() => undefined),
      ])
    : [];
  return { rollout, spec, stableImage: images(stable), canaryImage: images(canary), now: new Date() };
}

const asData = (r: RolloutObject) => ({
  name: r.metadata.name,
  namespace: r.metadata.namespace,
  status: r.status ?? {},
});

async function watch(cluster: Cluster, namespace: string, name: string): Promise<never> {
  const tty = process.stdout.isTTY;
  let previous = '';
  for (;;) {
    const view = await loadView(cluster, namespace, name);
    if (tty) {
      // Redraw every second: the step clock moves even when the status does not.
      process.stdout.write(`\x1b[H\x1b[2J${renderStatus(view)}\n`);
    } else {
      const line = statusLine(view.rollout.status ?? {}, view.spec);
      if (line !== previous) console.log(`${new Date().toISOString()} ${line}`);
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
      .argument('<rollout>', 'name of the Rollout')
      .option(
        '-w, --watch',
        'keep showing the status as it changes (one line per change when not a terminal)',
      )
      .addOption(outputOption()),
  )
    .addHelpText('after', '\nExample:\n  stepwise status product-service -n production --watch')
    .action(
      runAction(async (name: string, flags: StatusFlags) => {
        const format = parseOutputFormat(flags.output);
        const { cluster, namespace } = connect(flags);
        if (flags.watch) return watch(cluster, namespace, name);
        const view = await loadView(cluster, namespace, name);
        console.log(format ? formatData(asData(view.rollout), format) : renderStatus(view));
      }),
    );

  withClusterOptions(
    program
      .command('list')
      .alias('ls')
      .description('all Rollouts of a namespace with their phase, step, weight and revisions')
      .addOption(outputOption()),
  )
    .addHelpText('after', '\nExample:\n  stepwise list -n production -o yaml')
    .action(
      runAction(async (flags: StatusFlags) => {
        const format = parseOutputFormat(flags.output);
        const { cluster, namespace } = connect(flags);
        const { items } = await cluster.listRollouts(namespace);
        console.log(format ? formatData(items.map(asData), format) : renderList(items, new Date()));
      }),
    );
}
