import { KubeConfig } from '@kubernetes/client-node';
import { Command, InvalidArgumentError } from 'commander';
import { kubernetesConfigSource } from './kubernetes-source.js';
import { startMesh } from './mesh.js';

function nonNegativeNumber(flag: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < 0) {
      throw new InvalidArgumentError(`${flag} needs a number >= 0, e.g. ${flag} 50 (got "${value}")`);
    }
    return parsed;
  };
}

const program = new Command('mesh')
  .description(
    'Simulated Istio mesh: routes traffic by the VirtualServices of a namespace and serves Istio metrics',
  )
  .requiredOption(
    '--kubeconfig <path>',
    'kubeconfig of the cluster (or sandbox API server) to read routing from',
  )
  .option('--namespace <ns>', 'namespace of the VirtualServices, DestinationRules and Deployments', 'default')
  .option('--rps <n>', 'requests per second per VirtualService', nonNegativeNumber('--rps'), 50)
  .option(
    '--port <n>',
    'port of the /metrics server on 127.0.0.1 (0 = any free port)',
    nonNegativeNumber('--port'),
    0,
  )
  .option('--seed <n>', 'seed of the simulated randomness', nonNegativeNumber('--seed'), 1)
  .action(
    async (flags: { kubeconfig: string; namespace: string; rps: number; port: number; seed: number }) => {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(flags.kubeconfig);
      const mesh = await startMesh({
        source: kubernetesConfigSource(kubeConfig, flags.namespace),
        defaultNamespace: flags.namespace,
        rps: flags.rps,
        port: flags.port,
        seed: flags.seed,
      });
      console.log(`mesh metrics on ${mesh.metricsUrl}`);
      const stop = () => {
        void mesh.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
  );

program.parseAsync().catch((error: unknown) => {
  console.error(`mesh: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
