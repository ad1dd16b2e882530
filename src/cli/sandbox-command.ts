import type { Command } from 'commander';
import { runAction } from './exit.js';

export function registerSandboxCommand(program: Command): void {
  program
    .command('sandbox')
    .description(
      'run the local sandbox (in-memory Kubernetes API, simulated Istio mesh, real Prometheus) until Ctrl-C',
    )
    .option(
      '--write-kubeconfig <file>',
      'also write the kubeconfig to <file> (default: a temporary file only)',
    )
    .option('--apply <dir>', 'apply the YAML files of <dir> once it is up (default: nothing)')
    .option('--controller', 'also run `stepwise controller` against it', false)
    .option(
      '--prometheus-bin <path>',
      'Prometheus binary (default: $STEPWISE_PROMETHEUS_BIN, else the Prometheus 3 of tools/build.sh, else PATH)',
    )
    .option('--rps <n>', 'requests per second the mesh sends through each VirtualService', '50')
    .option('-n, --namespace <ns>', 'namespace of the mesh and of --apply', 'default')
    .addHelpText(
      'after',
      '\nExample:\n  stepwise sandbox --apply rollouts/product-service --controller --write-kubeconfig /tmp/sandbox.kubeconfig\n' +
        '  KUBECONFIG=/tmp/sandbox.kubeconfig kubectl get rollouts -w\n\n' +
        'It prints the kubeconfig path, the Prometheus address and how to use them, and stops on Ctrl-C, SIGTERM\n' +
        'or SIGHUP, removing every process and temporary file it started.',
    )
    .action(
      runAction(async (flags) => {
        // Loaded only here: the sandbox is test and demo infrastructure, not part of the controller.
        const { runSandbox } = await import('../sandbox/sandbox-command.js');
        process.exit(await runSandbox(flags));
      }),
    );
}
