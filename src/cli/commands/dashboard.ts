import type { Command } from 'commander';
import { startDashboard } from '../../dashboard/server.js';
import { loadKubeConfig } from '../kubeconfig.js';
import { Cluster } from '../../kube/cluster.js';
import { namespaceOf, withClusterOptions, type ClusterFlags } from '../cluster-options.js';
import { CliError, runAction } from '../exit.js';

interface DashboardFlags extends ClusterFlags {
  address: string;
  allNamespaces?: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost']);

/** `127.0.0.1:PORT` (PORT 0 = a free port); only loopback: the page acts with the user's own credentials. */
export function parseDashboardAddress(address: string): { host: string; port: number } {
  const match = /^(.*):(\d{1,5})$/.exec(address);
  const host = match?.[1] ?? '';
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) {
    throw new CliError(
      `--address "${address}" is not HOST:PORT; write e.g. --address 127.0.0.1:8090 (port 0 = any free port)`,
    );
  }
  if (!LOOPBACK.has(host)) {
    throw new CliError(
      `--address "${address}" is not a loopback address; the dashboard acts with your kubeconfig's credentials, so it listens only on 127.0.0.1 (e.g. --address 127.0.0.1:${port})`,
    );
  }
  return { host: host === 'localhost' ? '127.0.0.1' : host, port };
}

export function registerDashboardCommand(program: Command): void {
  withClusterOptions(
    program
      .command('dashboard')
      .description(
        'a live web page of the Rollouts on 127.0.0.1, with your kubeconfig: charts, timeline, promote/abort/retry',
      )
      .option('--address <host:port>', 'where to listen (loopback only; port 0 = a free port)', '127.0.0.1:0')
      .option('-A, --all-namespaces', 'show the Rollouts of every namespace'),
  )
    .addHelpText('after', '\nExample:\n  stepwise dashboard -n production --address 127.0.0.1:8090')
    .action(
      runAction(async (flags: DashboardFlags) => {
        const { host, port } = parseDashboardAddress(flags.address);
        const kubeConfig = loadKubeConfig(flags);
        const namespace = flags.allNamespaces ? undefined : namespaceOf(kubeConfig, flags.namespace);
        const dashboard = await startDashboard({
          cluster: new Cluster(kubeConfig),
          namespaces: namespace === undefined ? undefined : [namespace],
          host,
          port,
        });
        console.log(`Stepwise dashboard: ${dashboard.url} (Ctrl-C to stop)`);
        await new Promise<void>((resolve) => {
          for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
            process.once(signal, () => resolve());
        });
        await dashboard.close();
      }),
    );
}
