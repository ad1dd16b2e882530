// What the chart lets the controller read besides its own kinds, on a real kube-apiserver with RBAC: its Namespace's
// labels (Istio ambient's istio.io/use-waypoint) through a Role per watched namespace, and only the Secrets the
// values name. The controller's own Cluster client makes the calls, as the chart's ServiceAccount.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestApplier } from '../../sandbox/stack.js';
import { resolvePrometheus } from '../../src/controller/prometheus-target.js';
import { validateSpec } from '../../src/api/validate.js';
import { Cluster } from '../../src/kube/cluster.js';
import { httpStatus } from '../../src/kube/errors.js';
import { obtainHelm, renderChart } from '../packaging/helm.js';
import { RELEASE_NAMESPACE } from './chart.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';

const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
const WATCHED = ['shop', 'payments'];
const PROMETHEUS = 'http://prometheus.monitoring:9090';

/** The status of a call that must fail. */
const refusal = (call: Promise<unknown>) =>
  call.then(
    () => 'allowed',
    (error: unknown) => httpStatus(error),
  );

describe('the chart’s reads of Namespaces and Secrets on a real kube-apiserver', () => {
  let plane: ControlPlane;
  /** The controller's client, authenticated as the chart's ServiceAccount, per rendering of the chart. */
  const controllers: Record<'watching' | 'clusterWide', Cluster> = {} as never;

  beforeAll(async () => {
    plane = await startControlPlane({ workloads: false });
    const helm = obtainHelm();
    if ('missing' in helm) throw new Error(helm.missing);
    const core = plane.kubeConfig.makeApiClient(CoreV1Api);
    for (const name of [RELEASE_NAMESPACE, ...WATCHED, 'elsewhere']) {
      const labels = { 'istio.io/use-waypoint': 'waypoint' };
      await core.createNamespace({ body: { metadata: { name, labels } } });
    }
    for (const name of ['prom-token', 'db-password']) {
      await core.createNamespacedSecret({
        namespace: 'shop',
        body: {
          metadata: { name, labels: { 'stepwise.dev/prometheus-credentials': 'true' } },
          stringData: { token: 't' },
        },
      });
    }
    const renderings = {
      // Two releases side by side: one watching namespaces (Roles), one cluster-wide (a ClusterRole).
      watching: [
        'serviceAccount.name=watching',
        `watchNamespaces={${WATCHED.join(',')}}`,
        'prometheus.authSecretNames={prom-token}',
      ],
      clusterWide: ['serviceAccount.name=cluster-wide'],
    };
    for (const [release, set] of Object.entries(renderings) as [keyof typeof renderings, string[]][]) {
      const rbac = renderChart(helm.helm, { set }).filter((m) => RBAC_KINDS.has(m.kind));
      await manifestApplier(plane.kubeConfig, RELEASE_NAMESPACE)(rbac);
      const serviceAccount = rbac.find((m) => m.kind === 'ServiceAccount')!.metadata.name;
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(await plane.serviceAccountKubeconfig(RELEASE_NAMESPACE, serviceAccount));
      controllers[release] = new Cluster(kubeConfig);
    }
  }, 240_000);

  afterAll(async () => {
    await plane?.stop();
  });

  it('reads a watched Namespace’s labels through the Role in that namespace, and no other Namespace', async () => {
    const { watching } = controllers;
    for (const name of WATCHED) {
      expect((await watching.getNamespace(name))?.metadata?.labels?.['istio.io/use-waypoint']).toBe(
        'waypoint',
      );
    }
    expect(await refusal(watching.getNamespace('elsewhere'))).toBe(403);
  });

  it('reads any Namespace’s labels with the ClusterRole', async () => {
    expect((await controllers.clusterWide.getNamespace('elsewhere'))?.metadata?.name).toBe('elsewhere');
  });

  it('reads only the Secrets the values name, and none with the default values', async () => {
    expect((await controllers.watching.getSecret('shop', 'prom-token'))?.metadata?.name).toBe('prom-token');
    expect(await refusal(controllers.watching.getSecret('shop', 'db-password'))).toBe(403);
    expect(await refusal(controllers.clusterWide.getSecret('shop', 'prom-token'))).toBe(403);
  });

  it('says which field named an unreadable Secret and which chart value lets the controller read it', async () => {
    const result = validateSpec({
      targetRef: { name: 'app' },
      trafficRouting: { istio: { virtualService: { name: 'app' }, destinationRule: { name: 'app' } } },
      analysis: {
        prometheus: { address: PROMETHEUS, bearerTokenSecretRef: { name: 'db-password', key: 'token' } },
      },
    });
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const resolution = resolvePrometheus(result.spec, { defaultAddress: PROMETHEUS });
    if (!resolution.ok) throw new Error(resolution.problem.message);
    await expect(resolution.resolve(controllers.watching, 'shop')).rejects.toThrow(
      /^spec\.analysis\.prometheus\.bearerTokenSecretRef: the controller may not read Secret "db-password" in namespace shop \(403: secrets "db-password" is forbidden: .*\); installed with the Helm chart, add "db-password" to the list in the value prometheus\.authSecretNames/,
    );
  });
});
