import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as cluster from '../../src/kube/cluster.js';
import {
  type CustomResourceRef,
  DASHBOARD_FILES,
  dashboardPermissions,
  filesCallingTheApi,
  importGraph,
  isLeaderElection,
  KUBE_CALL_FILES,
  permissionsGranted,
  permissionsUsed,
  type RbacRule,
} from './code-permissions.js';
import { type HelmLookup, type Manifest, obtainHelm, REPO_ROOT, renderChart } from './helm.js';

const CONTROLLER_ENTRY = 'src/cli/controller-command.ts';
const FULL_VALUES = join(import.meta.dirname, 'full-values.yaml');
// The chart grants Secrets only when its values name some (chart.test.ts); these do, as full-values.yaml does.
const NAMING_A_SECRET = 'prometheus.authSecretNames={prometheus-token}';

const customResources: Record<string, CustomResourceRef> = Object.fromEntries(
  Object.entries(cluster).filter(
    (entry): entry is [string, cluster.CustomResource] =>
      typeof entry[1] === 'object' && entry[1] !== null && 'plural' in entry[1],
  ),
);
const sorted = (set: Set<string>) => [...set].sort();

describe('RBAC of the chart against the calls the controller makes', () => {
  let lookup: HelmLookup;
  beforeAll(() => {
    lookup = obtainHelm();
  }, 180_000);

  const all = () => sorted(permissionsUsed({ root: REPO_ROOT, entry: CONTROLLER_ENTRY, customResources }));
  const used = () => all().filter((p) => !isLeaderElection(p));
  const isLeaseRole = (m: Manifest) => m.kind === 'Role' && m.metadata.name.endsWith('-leader-election');

  it('grants exactly what the code uses, cluster-wide and per watched namespace', (ctx) => {
    if ('missing' in lookup) return ctx.skip(lookup.missing);
    const roles: Manifest[] = [
      ...renderChart(lookup.helm, { set: [NAMING_A_SECRET] }).filter((m) => m.kind === 'ClusterRole'),
      ...renderChart(lookup.helm, { valuesFiles: [FULL_VALUES] }).filter(
        (m) => m.kind === 'Role' && !isLeaseRole(m),
      ),
    ];
    expect(roles.map((r) => r.kind)).toEqual(['ClusterRole', 'Role', 'Role']);
    for (const role of roles) {
      // Both ways: a call without a grant fails on a cluster; a grant without a call is needless power.
      expect(
        sorted(permissionsGranted(role.rules as RbacRule[])),
        `${role.kind} ${role.metadata.namespace ?? ''}`,
      ).toEqual(used());
    }
  });

  it('grants leader election exactly the Lease verbs the elector uses, in the release namespace only', (ctx) => {
    if ('missing' in lookup) return ctx.skip(lookup.missing);
    const leaseVerbs = all().filter(isLeaderElection);
    expect(leaseVerbs).toEqual([
      'coordination.k8s.io/leases:create',
      'coordination.k8s.io/leases:get',
      'coordination.k8s.io/leases:update',
    ]);
    for (const values of [[], [FULL_VALUES]]) {
      const roles = renderChart(lookup.helm, { valuesFiles: values }).filter(isLeaseRole);
      expect(roles.map((r) => r.metadata.namespace)).toEqual(['stepwise-system']);
      expect(sorted(permissionsGranted(roles[0]!.rules as RbacRule[]))).toEqual(leaseVerbs);
    }
    expect(
      renderChart(lookup.helm, { set: ['leaderElection.enabled=false', 'replicaCount=1'] }).filter(
        isLeaseRole,
      ),
    ).toEqual([]);
  });

  it('finds every API call of the controller in the files the scan reads', () => {
    const files = importGraph(REPO_ROOT, CONTROLLER_ENTRY);
    expect(files).toContain('src/controller/reconcile.ts');
    const scanned = [...KUBE_CALL_FILES, ...DASHBOARD_FILES];
    expect(filesCallingTheApi(REPO_ROOT, files).filter((f) => !scanned.includes(f))).toEqual([]);
  });

  it('grants the web dashboard its reviews and Event reads only when webDashboard.enabled is set', (ctx) => {
    if ('missing' in lookup) return ctx.skip(lookup.missing);
    const dashboard = sorted(dashboardPermissions(REPO_ROOT));
    expect(dashboard).toEqual([
      '/events:list',
      'authentication.k8s.io/tokenreviews:create',
      'authorization.k8s.io/subjectaccessreviews:create',
    ]);
    const reviews = dashboard.filter((p) => p.includes('reviews:'));
    const isDashboardRole = (m: Manifest) =>
      m.kind.startsWith('ClusterRole') && m.metadata.name.endsWith('-dashboard');
    for (const values of [[], [FULL_VALUES]]) {
      const on = renderChart(lookup.helm, {
        valuesFiles: values,
        set: ['webDashboard.enabled=true', NAMING_A_SECRET],
      });
      // The reviews are cluster-scoped: a ClusterRole of their own, also when watching some namespaces.
      const reviewRoles = on.filter((m) => m.kind === 'ClusterRole' && isDashboardRole(m));
      expect(reviewRoles.map((r) => sorted(permissionsGranted(r.rules as RbacRule[])))).toEqual([reviews]);
      const watchRoles = on.filter(
        (m) => (m.kind === 'ClusterRole' || m.kind === 'Role') && !isDashboardRole(m) && !isLeaseRole(m),
      );
      for (const role of watchRoles) {
        expect(sorted(permissionsGranted(role.rules as RbacRule[]))).toEqual(
          sorted(new Set([...used(), '/events:list'])),
        );
      }
      const off = renderChart(lookup.helm, { valuesFiles: values });
      expect(off.filter(isDashboardRole)).toEqual([]);
    }
  });
});

describe('the source scan', () => {
  const root = mkdtempSync(join(tmpdir(), 'stepwise-rbac-scan-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const write = (files: Record<string, string>) => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
  };
  const resources = {
    ROLLOUTS: { group: 'stepwise.dev', plural: 'rollouts' },
    WIDGETS: { group: 'w.io', plural: 'widgets' },
  };
  const clusterFile = (methods: string) => `
export class Cluster {
  constructor(kc) {
    this.apps = kc.makeApiClient(AppsV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

${methods}
}
`;
  const controllerFile = `
import { Cluster } from '../kube/cluster.js';
export class Controller {
  start() {
    const custom = kc.makeApiClient(CustomObjectsApi);
    const listCustom = (r: CustomResource) => () => custom.listClusterCustomObject(r);
    sources.push({ path: customPath(WIDGETS, ns), list: listCustom(WIDGETS) });
    sources.push({ path: '/api/v1/events' });
  }
}
`;

  it('maps the methods the controller calls to verbs, following generic resources to their callers', () => {
    write({
      'src/kube/cluster.ts': clusterFile(`  getCustom(
    resource: CustomResource,
    name: string,
  ) {
    return this.custom.getNamespacedCustomObject({ ...resource, name });
  }

  getRollout(name) {
    return this.getCustom(ROLLOUTS, name);
  }

  async scaleDown(name) {
    await this.apps.patchNamespacedDeployment({ name }, mergePatch);
  }

  unused() {
    return this.apps.deleteNamespacedDeployment({ name });
  }`),
      'src/controller/controller.ts': controllerFile,
      'src/entry.ts': `import './controller/controller.js';\nimport './controller/reconcile.js';`,
      'src/controller/reconcile.ts': `export const pass = (cluster) => cluster.getRollout('a').then(() => cluster\n  .scaleDown('a'));`,
    });
    expect(sorted(permissionsUsed({ root, entry: 'src/entry.ts', customResources: resources }))).toEqual([
      '/events:watch',
      'apps/deployments:patch',
      'stepwise.dev/rollouts:get',
      'w.io/widgets:list',
      'w.io/widgets:watch',
    ]);
  });

  it('fails on a client call it has no RBAC mapping for', () => {
    write({
      'src/kube/cluster.ts': clusterFile(`  evict(name) {
    return this.apps.createNamespacedEviction({ name });
  }`),
      'src/controller/reconcile.ts': `export const pass = (cluster) => cluster.evict('a');`,
    });
    expect(() => permissionsUsed({ root, entry: 'src/entry.ts', customResources: resources })).toThrow(
      /Cluster.evict: createNamespacedEviction is not in API_CALLS/,
    );
  });
});
