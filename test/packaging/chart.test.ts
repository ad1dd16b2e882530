import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';
import {
  CHART_DIR,
  REPO_ROOT,
  helm,
  type HelmLookup,
  type Manifest,
  obtainHelm,
  renderChart,
  renderError,
} from './helm.js';

const FULL_VALUES = join(import.meta.dirname, 'full-values.yaml');

interface Container {
  name: string;
  args: string[];
  ports: { name: string; containerPort: number }[];
  securityContext: Record<string, unknown>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  env?: { name: string; value?: string }[];
}
interface PodSpec {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  containers: Container[];
}

const only = (manifests: Manifest[], kind: string) => manifests.filter((m) => m.kind === kind);
const one = (manifests: Manifest[], kind: string) => {
  const found = only(manifests, kind);
  expect(found.map((m) => m.kind)).toEqual([kind]);
  return found[0]!;
};
/** Roles and bindings where Rollouts live (the leader-election ones sit in the release namespace). */
const rolloutAccess = (manifests: Manifest[], kind: 'Role' | 'RoleBinding') =>
  only(manifests, kind).filter((m) => !m.metadata.name.endsWith('-leader-election'));
const podSpec = (manifests: Manifest[]) =>
  (one(manifests, 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
const controller = (manifests: Manifest[]) => podSpec(manifests).containers[0]!;

/** Long flags `stepwise controller` declares, read from its commander definition. */
function controllerFlags(): Set<string> {
  const source = readFileSync(join(REPO_ROOT, 'src/cli/controller-command.ts'), 'utf8');
  return new Set([...source.matchAll(/\.option\(\s*'(?:-\w, )?(--[\w-]+)/g)].map((m) => m[1]!));
}

describe('Helm chart charts/stepwise', () => {
  let lookup: HelmLookup;
  beforeAll(() => {
    lookup = obtainHelm();
  }, 180_000);
  const helmOrSkip = (ctx: TestContext): string => {
    if ('missing' in lookup) ctx.skip(lookup.missing);
    return (lookup as { helm: string }).helm;
  };

  it('passes helm lint --strict with the default values and with every option on', (ctx) => {
    const bin = helmOrSkip(ctx);
    expect(helm(bin, ['lint', '--strict', CHART_DIR])).toContain('0 chart(s) failed');
    expect(helm(bin, ['lint', '--strict', CHART_DIR, '--values', FULL_VALUES])).toContain(
      '0 chart(s) failed',
    );
  });

  it('runs two hardened, non-root controller pods with leader election and probes on /healthz and /readyz', (ctx) => {
    const bin = helmOrSkip(ctx);
    const manifests = renderChart(bin);
    type Workload = { spec: { replicas: number; strategy?: { type: string } } };
    const deployment = one(manifests, 'Deployment') as unknown as Workload;
    // Only the Lease holder reconciles, so two pods (and a rolling upgrade) never both write.
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.strategy).toBeUndefined();
    expect(controller(manifests).args).toEqual(
      expect.arrayContaining([
        '--leader-elect',
        '--leader-election-namespace=stepwise-system',
        '--leader-election-id=stepwise-controller',
      ]),
    );
    // Without leader election: one pod, and an upgrade never runs the old and the new one side by side.
    const single = renderChart(bin, { set: ['leaderElection.enabled=false', 'replicaCount=1'] });
    expect((one(single, 'Deployment') as unknown as Workload).spec.strategy?.type).toBe('Recreate');
    expect(controller(single).args.filter((a) => a.startsWith('--leader-elect'))).toEqual([]);
    const pod = podSpec(manifests);
    expect(pod.serviceAccountName).toBe(one(manifests, 'ServiceAccount').metadata.name);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const container = controller(manifests);
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.resources.requests).toBeDefined();
    expect(container.resources.limits?.memory).toBeDefined();
    // V8's old generation at 3/4 of the 512Mi limit, not the half Node would take from the cgroup (bench:scale).
    expect(container.resources.limits?.memory).toBe('512Mi');
    expect(container.env).toContainEqual({
      name: 'NODE_OPTIONS',
      value: '--max-old-space-size=384 --max-semi-space-size=32',
    });
    const ownSizing = controller(renderChart(bin, { set: ['nodeOptions='] }));
    expect(ownSizing.env?.map((e) => e.name)).toEqual(['POD_NAME']);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container.args[0]).toBe('controller');
    expect(container.args).toContain(`--metrics-address=0.0.0.0:${container.ports[0]!.containerPort}`);
    expect(only(manifests, 'PodDisruptionBudget')).toHaveLength(1);
  });

  it('passes the controller only flags `stepwise controller` declares, one --namespace per watched namespace', (ctx) => {
    const bin = helmOrSkip(ctx);
    const declared = controllerFlags();
    for (const manifests of [renderChart(bin), renderChart(bin, { valuesFiles: [FULL_VALUES] })]) {
      const flags = controller(manifests)
        .args.slice(1)
        .map((arg) => arg.split('=')[0]!);
      expect(flags.filter((flag) => !declared.has(flag))).toEqual([]);
    }
    const args = controller(renderChart(bin, { valuesFiles: [FULL_VALUES] })).args;
    expect(args).toEqual(
      expect.arrayContaining([
        '--namespace=production',
        '--namespace=staging',
        '--prometheus-address=http://prometheus-operated.monitoring:9090',
        '--prometheus-credentials-address=https://prometheus.monitoring.example.com/tenant-a',
        '--log-level=debug',
        '--log-format=text',
        '--workers=8',
        '--kube-api-qps=150',
        '--kube-api-burst=300',
        '--metrics-address=0.0.0.0:9102',
      ]),
    );
  });

  it('binds a ClusterRole when watching all namespaces, a Role per namespace otherwise', (ctx) => {
    const bin = helmOrSkip(ctx);
    const all = renderChart(bin);
    const serviceAccount = one(all, 'ServiceAccount');
    const clusterBinding = one(all, 'ClusterRoleBinding') as unknown as {
      roleRef: { kind: string; name: string };
      subjects: { name: string; namespace: string }[];
    };
    expect(clusterBinding.roleRef).toMatchObject({
      kind: 'ClusterRole',
      name: one(all, 'ClusterRole').metadata.name,
    });
    expect(clusterBinding.subjects).toEqual([
      { kind: 'ServiceAccount', name: serviceAccount.metadata.name, namespace: 'stepwise-system' },
    ]);
    expect(rolloutAccess(all, 'Role')).toEqual([]);

    const scoped = renderChart(bin, { valuesFiles: [FULL_VALUES] });
    expect(only(scoped, 'ClusterRole')).toEqual([]);
    expect(only(scoped, 'ClusterRoleBinding')).toEqual([]);
    expect(rolloutAccess(scoped, 'Role').map((r) => r.metadata.namespace)).toEqual(['production', 'staging']);
    const bindings = rolloutAccess(scoped, 'RoleBinding') as unknown as {
      metadata: { namespace: string };
      roleRef: { kind: string };
      subjects: { namespace: string }[];
    }[];
    expect(bindings.map((b) => [b.metadata.namespace, b.roleRef.kind, b.subjects[0]!.namespace])).toEqual([
      ['production', 'Role', 'stepwise-system'],
      ['staging', 'Role', 'stepwise-system'],
    ]);
  });

  it('lets the controller read no Secret by default, only the listed ones, or all with readAnySecret', (ctx) => {
    const bin = helmOrSkip(ctx);
    type Rule = { resources: string[]; resourceNames?: string[] };
    const secretRules = (role: Manifest) =>
      (role.rules as Rule[]).filter((rule) => rule.resources.includes('secrets'));
    const watchRoles = (manifests: Manifest[]) => [
      ...only(manifests, 'ClusterRole').filter((m) => !m.metadata.name.endsWith('-dashboard')),
      ...rolloutAccess(manifests, 'Role'),
    ];
    for (const manifests of [renderChart(bin), renderChart(bin, { set: ['watchNamespaces={shop}'] })]) {
      expect(watchRoles(manifests).map(secretRules)).toEqual([[]]);
    }
    const listed = renderChart(bin, { set: ['prometheus.authSecretNames={prometheus-token,slack-url}'] });
    expect(secretRules(one(listed, 'ClusterRole')).map((rule) => rule.resourceNames)).toEqual([
      ['prometheus-token', 'slack-url'],
    ]);
    for (const role of rolloutAccess(renderChart(bin, { valuesFiles: [FULL_VALUES] }), 'Role')) {
      expect(secretRules(role).map((rule) => rule.resourceNames)).toEqual([['prometheus-token']]);
    }
    const any = renderChart(bin, { set: ['prometheus.readAnySecret=true'] });
    expect(secretRules(one(any, 'ClusterRole')).map((rule) => rule.resourceNames)).toEqual([undefined]);
  });

  it('lets the controller read Namespace labels: every Namespace cluster-wide, only its own with watchNamespaces', (ctx) => {
    const bin = helmOrSkip(ctx);
    type Rule = { resources: string[]; resourceNames?: string[]; verbs: string[] };
    const namespaceRules = (role: Manifest) =>
      (role.rules as Rule[])
        .filter((rule) => rule.resources.includes('namespaces'))
        .map((rule) => ({ names: rule.resourceNames, verbs: rule.verbs }));
    expect(namespaceRules(one(renderChart(bin), 'ClusterRole'))).toEqual([
      { names: undefined, verbs: ['get'] },
    ]);
    for (const role of rolloutAccess(renderChart(bin, { valuesFiles: [FULL_VALUES] }), 'Role')) {
      expect(namespaceRules(role)).toEqual([{ names: [role.metadata.namespace], verbs: ['get'] }]);
    }
  });

  it('serves the trigger webhook on the metrics listener when enabled, with its Secret', (ctx) => {
    const bin = helmOrSkip(ctx);
    const manifests = renderChart(bin, { set: ['webhook.enabled=true', 'webhook.secretName=ci-trigger'] });
    const deployment = manifests.find((m) => m.kind === 'Deployment') as unknown as {
      metadata: { namespace: string };
      spec: { template: { spec: { containers: { args: string[] }[] } } };
    };
    const args = deployment.spec.template.spec.containers[0]!.args;
    expect(args).toContain(`--webhook-secret=${deployment.metadata.namespace}/ci-trigger`);
    const service = manifests.find((m) => m.kind === 'Service') as unknown as {
      spec: { ports: { name: string; targetPort: string }[] };
    };
    expect(service.spec.ports.find((p) => p.name === 'webhook')?.targetPort).toBe('metrics');
  });

  it('serves the web dashboard on its own port and Service port only when webDashboard.enabled is set', (ctx) => {
    const bin = helmOrSkip(ctx);
    const dashboardArgs = (m: Manifest[]) => controller(m).args.filter((a) => a.startsWith('--dashboard'));
    expect(dashboardArgs(renderChart(bin))).toEqual([]);
    const manifests = renderChart(bin, { set: ['webDashboard.enabled=true', 'webDashboard.port=9443'] });
    expect(dashboardArgs(manifests)).toEqual(['--dashboard-address=0.0.0.0:9443']);
    const container = controller(manifests) as { ports?: { name: string; containerPort: number }[] };
    expect(container.ports?.find((p) => p.name === 'dashboard')?.containerPort).toBe(9443);
    const service = one(manifests, 'Service') as unknown as {
      spec: { ports: { name: string; port: number; targetPort: string }[] };
    };
    expect(service.spec.ports.find((p) => p.name === 'dashboard')).toMatchObject({
      port: 9443,
      targetPort: 'dashboard',
    });
  });

  it('refuses values that cannot work, naming the value to change', (ctx) => {
    const bin = helmOrSkip(ctx);
    expect(renderError(bin, ['leaderElection.enabled=false'])).toMatch(
      /replicaCount: .*leader election.*set leaderElection\.enabled: true or replicaCount: 1/,
    );
    expect(renderError(bin, ['logFormat=xml'])).toMatch(/logFormat: "xml" is not json or text/);
    expect(renderError(bin, ['prometheus.readAnySecret=true', 'prometheus.authSecretNames={token}'])).toMatch(
      /prometheus\.readAnySecret: true lets the controller read every Secret, so prometheus\.authSecretNames would restrict nothing; set one of them only/,
    );
  });

  it('mounts the controller-wide notification URLs from a Secret and points the flags at the files', (ctx) => {
    const bin = helmOrSkip(ctx);
    expect(only(renderChart(bin), 'Secret')).toEqual([]);
    expect(controller(renderChart(bin)).args.filter((a) => a.startsWith('--notify'))).toEqual([]);
    const manifests = renderChart(bin, { valuesFiles: [FULL_VALUES] });
    const secret = one(manifests, 'Secret') as unknown as { stringData: Record<string, string> };
    expect(Object.keys(secret.stringData).sort()).toEqual(['slackUrl', 'webhookUrl']);
    const pod = podSpec(manifests) as PodSpec & {
      volumes: { name: string; secret: { secretName: string } }[];
    };
    const mount = (
      controller(manifests) as Container & { volumeMounts: { name: string; mountPath: string }[] }
    ).volumeMounts[0]!;
    expect(pod.volumes).toEqual([
      { name: mount.name, secret: { secretName: one(manifests, 'Secret').metadata.name } },
    ]);
    expect(controller(manifests).args).toEqual(
      expect.arrayContaining([
        `--notify-slack-url-file=${mount.mountPath}/slackUrl`,
        `--notify-webhook-url-file=${mount.mountPath}/webhookUrl`,
      ]),
    );
    const existing = renderChart(bin, { set: ['notifications.existingSecret=team-hooks'] });
    expect(only(existing, 'Secret')).toEqual([]);
    expect((podSpec(existing) as unknown as { volumes: unknown[] }).volumes).toEqual([
      { name: 'notifications', secret: { secretName: 'team-hooks' } },
    ]);
  });

  it('scrapes the metrics port of the Service with the optional ServiceMonitor', (ctx) => {
    const bin = helmOrSkip(ctx);
    expect(only(renderChart(bin), 'ServiceMonitor')).toEqual([]);
    const manifests = renderChart(bin, { valuesFiles: [FULL_VALUES] });
    const service = one(manifests, 'Service') as unknown as {
      metadata: { labels: Record<string, string> };
      spec: { ports: { name: string; port: number }[]; selector: Record<string, string> };
    };
    const monitor = one(manifests, 'ServiceMonitor') as unknown as {
      metadata: { labels: Record<string, string> };
      spec: {
        selector: { matchLabels: Record<string, string> };
        endpoints: { port: string; path: string }[];
      };
    };
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(service.spec.ports.map((p) => p.name)).toContain(monitor.spec.endpoints[0]!.port);
    expect(monitor.spec.endpoints[0]!.path).toBe('/metrics');
    expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
    const pod = one(manifests, 'Deployment') as unknown as {
      spec: { template: { metadata: { labels: object } } };
    };
    expect(pod.spec.template.metadata.labels).toMatchObject(service.spec.selector);
  });

  it('ships the Grafana dashboard as a sidecar-labelled ConfigMap when enabled', (ctx) => {
    const bin = helmOrSkip(ctx);
    expect(only(renderChart(bin), 'ConfigMap')).toEqual([]);
    const configMap = one(renderChart(bin, { valuesFiles: [FULL_VALUES] }), 'ConfigMap') as Manifest & {
      data: Record<string, string>;
    };
    expect(configMap.metadata.namespace).toBe('monitoring');
    expect(configMap.metadata.labels?.grafana_dashboard).toBe('1');
    const shipped = JSON.parse(readFileSync(join(CHART_DIR, 'dashboards/stepwise.json'), 'utf8')) as unknown;
    expect(JSON.parse(configMap.data['stepwise.json']!)).toEqual(shipped);
  });
});
