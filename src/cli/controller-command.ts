import type { Command } from 'commander';
import { createPrometheusAnalyzer } from '../analysis/analyzer.js';
import { Controller, priorityName } from '../controller/controller.js';
import { limitRequests } from '../kube/bounded-client.js';
import { checkClientRateLimit, DEFAULT_BURST, DEFAULT_QPS } from '../kube/client-rate-limit.js';
import { OUTSIDE_PASS } from '../kube/request-lane.js';
import { startDashboard } from '../dashboard/server.js';
import { tokenReviewAccess } from '../dashboard/token-review-access.js';
import { Cluster } from '../kube/cluster.js';
import { LeaseElector, leaseIdentity } from '../kube/lease.js';
import { Notifier } from '../notify/notifier.js';
import { startHttpServer } from '../server/http.js';
import { triggerWebhookRoutes } from '../server/webhook.js';
import { createLogger, type LogFormat } from '../telemetry/logger.js';
import { ControllerMetrics } from '../telemetry/metrics.js';
import { loadKubeConfig } from './kubeconfig.js';
import { leaderElectionNamespace } from './leader-election-namespace.js';

interface ControllerFlags {
  kubeconfig?: string;
  context?: string;
  namespace: string[];
  prometheusAddress?: string;
  prometheusCredentialsAddress: string[];
  metricsAddress: string;
  logLevel: string;
  logFormat: LogFormat;
  workers: string;
  kubeApiQps: string;
  kubeApiBurst: string;
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId: string;
  notifySlackUrlFile?: string;
  notifyWebhookUrlFile?: string;
  webhookSecret?: string;
  dashboardAddress?: string;
}

function hostPort(
  text: string,
  flag = '--metrics-address',
  example = '0.0.0.0:8080',
): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  const port = Number(text.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${flag} ${JSON.stringify(text)} is not host:port; use e.g. ${example}`);
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
    .option(
      '--prometheus-credentials-address <url>',
      'address (or URL prefix) besides --prometheus-address that Rollouts may send credentials from their Secrets to; repeat or comma-separate',
      collect,
      [],
    )
    .option('--metrics-address <host:port>', 'where /metrics, /healthz and /readyz listen', '0.0.0.0:8080')
    .option('--log-level <level>', 'error, warn, info or debug', 'info')
    .option('--log-format <format>', 'json or text', 'json')
    .option('--workers <n>', 'Rollouts reconciled in parallel', '16')
    .option(
      '--kube-api-qps <n>',
      'Kubernetes API requests per second, client-side (commands and aborts take the next one first)',
      String(DEFAULT_QPS),
    )
    .option(
      '--kube-api-burst <n>',
      'Kubernetes API requests let through at once above --kube-api-qps',
      String(DEFAULT_BURST),
    )
    .option('--leader-elect', 'run as one of several replicas: only the holder of a Lease reconciles', false)
    .option(
      '--leader-election-namespace <ns>',
      'namespace of the leader Lease (default: $POD_NAMESPACE, the in-cluster namespace or the kubeconfig namespace)',
    )
    .option('--leader-election-id <name>', 'name of the leader Lease', 'stepwise-controller')
    .option(
      '--notify-slack-url-file <file>',
      'file holding a Slack incoming-webhook URL for Rollouts without spec.notifications ($STEPWISE_NOTIFY_SLACK_URL_FILE)',
      process.env.STEPWISE_NOTIFY_SLACK_URL_FILE,
    )
    .option(
      '--notify-webhook-url-file <file>',
      'file holding a URL that gets every notification as JSON, for Rollouts without spec.notifications ($STEPWISE_NOTIFY_WEBHOOK_URL_FILE)',
      process.env.STEPWISE_NOTIFY_WEBHOOK_URL_FILE,
    )
    .option(
      '--webhook-secret <namespace/name>',
      'serve POST /v1/trigger on the metrics address, authenticated by this Secret (keys token and/or hmacKey)',
    )
    .option(
      '--dashboard-address <host:port>',
      "also serve the web dashboard here; every request needs a bearer token, checked with TokenReview, and the caller's own RBAC on the Rollout (SubjectAccessReview)",
    )
    .addHelpText(
      'after',
      '\nExample:\n  stepwise controller --kubeconfig ~/.kube/config -n production --prometheus-address http://prometheus:9090',
    )
    .action(async (flags: ControllerFlags) => {
      const dashboardAt = flags.dashboardAddress
        ? hostPort(flags.dashboardAddress, '--dashboard-address', '0.0.0.0:8090')
        : undefined;
      const rateLimit = checkClientRateLimit({
        qps: Number(flags.kubeApiQps),
        burst: Number(flags.kubeApiBurst),
      });
      const kubeConfig = loadKubeConfig(flags);
      const identity = leaseIdentity();
      const root = createLogger({ level: flags.logLevel, format: flags.logFormat });
      // With several replicas, every line names the process that wrote it.
      const logger = flags.leaderElect ? root.child({ holder: identity }) : root;
      const metrics = new ControllerMetrics();
      limitRequests(kubeConfig, rateLimit, (lane, seconds) =>
        metrics.waitedForClientRateLimit(
          lane === OUTSIDE_PASS ? 'outside-pass' : priorityName(lane),
          seconds,
        ),
      );
      const countRequest = (r: { verb: string; resource: string; code: number }) =>
        metrics.kubernetesRequest(r);
      const secrets = new Cluster(kubeConfig, countRequest);
      const notifier = new Notifier({
        logger,
        readSecret: async (namespace, name, key) => {
          const encoded = (await secrets.getSecret(namespace, name))?.data?.[key];
          return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
        },
        defaults: { slackUrlFile: flags.notifySlackUrlFile, webhookUrlFile: flags.notifyWebhookUrlFile },
        onDelivery: (delivery) => metrics.notification(delivery),
      });
      const controller = new Controller({
        kubeConfig,
        analyzer: createPrometheusAnalyzer({
          logger,
          onQuery: (outcome) => metrics.prometheusQuery(outcome),
        }),
        logger,
        namespaces: flags.namespace,
        defaultPrometheus: flags.prometheusAddress,
        prometheusCredentialsAddresses: flags.prometheusCredentialsAddress,
        workers: Number(flags.workers),
        onDecision: (rollout, decision, check) => {
          metrics.record(rollout, decision, check);
          notifier.notify(rollout, decision, check);
        },
        onKubernetesRequest: countRequest,
        onRolloutDeleted: (namespace, name) => metrics.forget(namespace, name),
        onPass: (pass) => metrics.reconciled(pass),
      });
      const elector = flags.leaderElect
        ? new LeaseElector({
            kubeConfig,
            namespace: flags.leaderElectionNamespace ?? leaderElectionNamespace(kubeConfig),
            name: flags.leaderElectionId,
            identity,
            logger,
            onRequest: (verb, code) => countRequest({ verb, resource: 'leases', code }),
          })
        : undefined;
      const { host, port } = hostPort(flags.metricsAddress);
      const { server, url } = await startHttpServer({
        host,
        port,
        registry: metrics.registry,
        routes: triggerWebhookRoutes(secrets, flags.webhookSecret, logger, { namespaces: flags.namespace }),
        // A follower is ready: it stands by to take over, and a rolling update must be able to proceed.
        ready: () => (elector && !elector.isLeader() ? true : controller.isReady()),
        notReadyReason: () => controller.notReadyReason(),
      });
      logger.info('serving /metrics, /healthz, /readyz', { url });
      const dashboard = dashboardAt
        ? await startDashboard({
            cluster: new Cluster(kubeConfig, countRequest),
            // The watched namespaces (all by default); each caller sees those they may list Rollouts in.
            namespaces: flags.namespace.length ? flags.namespace : undefined,
            ...dashboardAt,
            access: tokenReviewAccess(kubeConfig),
          })
        : undefined;
      if (dashboard)
        logger.info('serving the dashboard (bearer token and RBAC per request)', { url: dashboard.url });
      let stopping = false;
      const waiting = new AbortController();
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        waiting.abort();
        logger.info('shutting down: finishing the passes under way', { signal });
        void (async () => {
          await controller.stop();
          // Hand the Lease over only once no pass of ours can still write.
          await elector?.release();
          metrics.leader.set(0);
          await Promise.race([notifier.drain(), new Promise((resolve) => setTimeout(resolve, 5_000))]);
          server.close();
          await dashboard?.close();
          logger.info('stopped');
          process.exit(0);
        })();
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      if (elector) {
        metrics.leader.set(0);
        if (!(await elector.acquire(waiting.signal)) || stopping) return;
        elector.keepRenewing((why) => {
          metrics.leader.set(0);
          // Exit at once: the next leader may take the Lease soon, and it must be the only writer.
          logger.error('lost the leader Lease; stopping now', { why });
          process.exit(1);
        });
      }
      metrics.leader.set(1);
      await controller.start();
    });
}
