import type { Command } from 'commander';
import { createPrometheusAnalyzer } from '../analysis/analyzer.js';
import { Controller } from '../controller/controller.js';
import { startHttpServer } from '../server/http.js';
import { createLogger, type LogFormat } from '../telemetry/logger.js';
import { ControllerMetrics } from '../telemetry/metrics.js';
import { loadKubeConfig } from './kubeconfig.js';

interface ControllerFlags {
  kubeconfig?: string;
  context?: string;
  namespace: string[];
  prometheusAddress?: string;
  metricsAddress: string;
  logLevel: string;
  logFormat: LogFormat;
  workers: string;
}

function hostPort(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  const port = Number(text.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--metrics-address ${JSON.stringify(text)} is not host:port; use e.g. 0.0.0.0:8080`);
  }
  return { host: text.slice(0, i) || '0.0.0.0', port };
}

const collect = (value: string, previous: string[]) => [...previous, ...value.split(',').filter(Boolean)];

export function registerControllerCommand(program: Command): void {
  program
    .command('controller')
    .description('run the Stepwise controller')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--context <name>', 'kubeconfig context')
    .option(
      '-n, --namespace <ns>',
      'namespace to watch; repeat or comma-separate (default: all)',
      collect,
      [],
    )
    .option('--prometheus-address <url>', 'Prometheus for Rollouts that do not name their own')
    .option('--metrics-address <host:port>', 'where /metrics, /healthz and /readyz listen', '0.0.0.0:8080')
    .option('--log-level <level>', 'error, warn, info or debug', 'info')
    .option('--log-format <format>', 'json or text', 'json')
    .option('--workers <n>', 'Rollouts reconciled in parallel', '4')
    .addHelpText(
      'after',
      '\nExample:\n  stepwise controller --kubeconfig ~/.kube/config -n production --prometheus-address http://prometheus:9090',
    )
    .action(async (flags: ControllerFlags) => {
      const logger = createLogger({ level: flags.logLevel, format: flags.logFormat });
      const metrics = new ControllerMetrics();
      const controller = new Controller({
        kubeConfig: loadKubeConfig(flags),
        analyzer: createPrometheusAnalyzer({ logger }),
        logger,
        namespaces: flags.namespace,
        defaultPrometheus: flags.prometheusAddress,
        workers: Number(flags.workers),
        onDecision: (rollout, decision, check) => metrics.record(rollout, decision, check),
      });
      const { host, port } = hostPort(flags.metricsAddress);
      const { server, url } = await startHttpServer({
        host,
        port,
        registry: metrics.registry,
        ready: () => controller.isReady(),
      });
      logger.info('serving /metrics, /healthz, /readyz', { url });
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info('shutting down: finishing the passes under way', { signal });
        void controller.stop().then(() => {
          server.close();
          logger.info('stopped');
          process.exit(0);
        });
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      await controller.start();
    });
}
