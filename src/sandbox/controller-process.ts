// Runs `stepwise controller` as a real child process (the demo and the end-to-end tests use it, so a
// controller can be killed with SIGKILL and started again, exactly as in a cluster).
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../cli/main.ts', import.meta.url));

export interface ControllerProcessOptions {
  kubeconfigPath: string;
  prometheusAddress?: string;
  namespaces?: string[];
  /** JSON log lines go here (a file path). */
  logFile: string;
  logLevel?: string;
  extraArgs?: string[];
}

export interface ControllerProcess {
  child: ChildProcess;
  /** Sends a signal and resolves once the process exited. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startControllerProcess(options: ControllerProcessOptions): ControllerProcess {
  const args = [
    '--import',
    'tsx',
    MAIN,
    'controller',
    '--kubeconfig',
    options.kubeconfigPath,
    '--metrics-address',
    '127.0.0.1:0',
    '--log-level',
    options.logLevel ?? 'info',
    ...(options.prometheusAddress ? ['--prometheus-address', options.prometheusAddress] : []),
    ...(options.namespaces ?? []).flatMap((ns) => ['--namespace', ns]),
    ...(options.extraArgs ?? []),
  ];
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
