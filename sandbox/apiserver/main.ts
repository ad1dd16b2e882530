import { Command, InvalidArgumentError } from 'commander';
import { startApiServer } from './server.js';

function parseNonNegative(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0)
      throw new InvalidArgumentError(`${flag} must be a number >= 0, got "${value}"`);
    return n;
  };
}

const program = new Command('sandbox-apiserver')
  .description('In-memory Kubernetes API for demos and tests (REST + watch on 127.0.0.1)')
  .option('--port <port>', 'port to listen on (0 = any free port)', parseNonNegative('--port'), 0)
  .option('--kubeconfig-out <path>', 'write a kubeconfig pointing at this server to <path>')
  .option(
    '--pod-ready-delay-ms <ms>',
    'milliseconds until new pods become ready',
    parseNonNegative('--pod-ready-delay-ms'),
    500,
  )
  .parse();

const options = program.opts<{ port: number; kubeconfigOut?: string; podReadyDelayMs: number }>();
const server = await startApiServer({ port: options.port, podReadyDelayMs: options.podReadyDelayMs });
if (options.kubeconfigOut) await server.writeKubeconfig(options.kubeconfigOut);
console.log(`sandbox API listening on ${server.url}`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  server.close().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`sandbox API did not close cleanly: ${String(err)}`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
