import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { CliError, runAction } from './exit.js';

interface SandboxModule {
  runSandbox(flags: Record<string, unknown>): Promise<number>;
}

/**
 * The sandbox is test and demo infrastructure that lives in the repository's `sandbox/` folder, outside `src/`:
 * the build, the npm package and the image hold product code only. From a clone (`npm run sandbox`) it is there.
 */
const SANDBOX_MODULE = new URL('../../sandbox/sandbox-command.ts', import.meta.url);

async function loadSandbox(): Promise<SandboxModule> {
  // Run from the sources (tsx) in a clone; the compiled CLI (dist/, the npm package, the image) has no sandbox.
  const fromSources = import.meta.url.endsWith('.ts');
  if (!fromSources || !existsSync(fileURLToPath(SANDBOX_MODULE))) {
    throw new CliError(
      'the sandbox is not part of the installed CLI; run it from a clone of the repository: ' +
        'npm ci && npm run sandbox -- [options]',
    );
  }
  // A computed specifier: neither tsc nor the single-file bundler follows it into the sandbox.
  return (await import(SANDBOX_MODULE.href)) as SandboxModule;
}

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
        process.exit(await (await loadSandbox()).runSandbox(flags));
      }),
    );
}
