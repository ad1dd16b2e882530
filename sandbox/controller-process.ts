// Runs `stepwise controller` as a real child process (the demo and the end-to-end tests use it, so a
// controller can be killed with SIGKILL and started again, exactly as in a cluster).
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The controller from the sources, run by tsx: the sandbox lives in the repository, beside src/.
const MAIN_ARGS = ['--import', 'tsx', fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))];

export interface ControllerProcessOptions {
  kubeconfigPath: string;
  prometheusAddress?: string;
  namespaces?: string[];
  /** JSON log lines go here (a file path). */
  logFile: string;
  logLevel?: string;
  extraArgs?: string[];
  /** Added to this process's environment (e.g. HTTP_PROXY for the sandbox's cluster names). */
  env?: Record<string, string>;
}

export interface ControllerProcess {
  child: ChildProcess;
  /** Where /metrics, /healthz and /readyz listen, from the controller's 'serving /metrics' log line. */
  metricsUrl: Promise<string>;
  /** Sends a signal and resolves once the process exited. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startControllerProcess(options: ControllerProcessOptions): ControllerProcess {
  const args = [
    ...MAIN_ARGS,
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
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const metricsUrl = new Promise<string>((resolve, reject) => {
    let pending = '';
    const look = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const url = /"url":"(http[^"]+)"/.exec(line)?.[1];
        if (line.includes('serving /metrics') && url) resolve(url);
      }
    };
    child.stdout?.on('data', look);
    child.stderr?.on('data', look);
    void exited.then(() =>
      reject(new Error(`the controller exited before serving /metrics; log: ${options.logFile}`)),
    );
  });
  metricsUrl.catch(() => undefined);
  return {
    child,
    metricsUrl,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
