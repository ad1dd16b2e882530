// Reads the controller's source to list the Kubernetes permissions it needs: which client-node calls it makes,
// on which resources, as RBAC "group/resource:verb" strings. A static scan, so it needs no cluster.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export interface CustomResourceRef {
  group: string;
  plural: string;
}

interface ApiCall {
  /** A discovery path (GET /apis): no resource, allowed to every authenticated user (system:discovery). */
  discovery?: boolean;
  group?: string;
  resource?: string;
  verb: string;
  /** The resource is the custom resource passed in the call's argument. */
  custom?: boolean;
  subresource?: string;
}

/** client-node method -> what RBAC it needs. A call missing here fails the scan, so none slips through. */
export const API_CALLS: Record<string, ApiCall> = {
  readNamespacedDeployment: { group: 'apps', resource: 'deployments', verb: 'get' },
  createNamespacedDeployment: { group: 'apps', resource: 'deployments', verb: 'create' },
  patchNamespacedDeployment: { group: 'apps', resource: 'deployments', verb: 'patch' },
  replaceNamespacedDeployment: { group: 'apps', resource: 'deployments', verb: 'update' },
  deleteNamespacedDeployment: { group: 'apps', resource: 'deployments', verb: 'delete' },
  listNamespacedDeployment: { group: 'apps', resource: 'deployments', verb: 'list' },
  listDeploymentForAllNamespaces: { group: 'apps', resource: 'deployments', verb: 'list' },
  getAPIVersions: { discovery: true, verb: 'get' },
  readNamespacedService: { group: '', resource: 'services', verb: 'get' },
  createNamespacedService: { group: '', resource: 'services', verb: 'create' },
  readNamespace: { group: '', resource: 'namespaces', verb: 'get' },
  readNamespacedSecret: { group: '', resource: 'secrets', verb: 'get' },
  listNamespacedSecret: { group: '', resource: 'secrets', verb: 'list' },
  createNamespacedEvent: { group: '', resource: 'events', verb: 'create' },
  listNamespacedEvent: { group: '', resource: 'events', verb: 'list' },
  createTokenReview: { group: 'authentication.k8s.io', resource: 'tokenreviews', verb: 'create' },
  createSubjectAccessReview: {
    group: 'authorization.k8s.io',
    resource: 'subjectaccessreviews',
    verb: 'create',
  },
  readNamespacedLease: { group: 'coordination.k8s.io', resource: 'leases', verb: 'get' },
  createNamespacedLease: { group: 'coordination.k8s.io', resource: 'leases', verb: 'create' },
  replaceNamespacedLease: { group: 'coordination.k8s.io', resource: 'leases', verb: 'update' },
  getNamespacedCustomObject: { custom: true, verb: 'get' },
  listNamespacedCustomObject: { custom: true, verb: 'list' },
  listClusterCustomObject: { custom: true, verb: 'list' },
  createNamespacedCustomObject: { custom: true, verb: 'create' },
  patchNamespacedCustomObject: { custom: true, verb: 'patch' },
  replaceNamespacedCustomObject: { custom: true, verb: 'update' },
  deleteNamespacedCustomObject: { custom: true, verb: 'delete' },
  getNamespacedCustomObjectStatus: { custom: true, subresource: 'status', verb: 'get' },
  patchNamespacedCustomObjectStatus: { custom: true, subresource: 'status', verb: 'patch' },
  replaceNamespacedCustomObjectStatus: { custom: true, subresource: 'status', verb: 'update' },
};

/** Files allowed to talk to the API server; any other file the controller loads must go through them. */
export const KUBE_CALL_FILES = [
  'src/kube/cluster.ts',
  'src/controller/controller.ts',
  'src/kube/watch.ts',
  'src/kube/lease.ts',
];
/**
 * The web dashboard's own calls (`controller --dashboard-address`): granted only with webDashboard.enabled, so
 * scanned apart from the controller's (dashboardPermissions). Its Rollout reads and commands go through Cluster.
 */
export const DASHBOARD_FILES = ['src/dashboard/rollout-view.ts', 'src/dashboard/token-review-access.ts'];
const CLUSTER_FILE = 'src/kube/cluster.ts';
const CONTROLLER_FILE = 'src/controller/controller.ts';
const LEASE_FILE = 'src/kube/lease.ts';
/** The controller's list-and-watch sources: each collection they list, ResilientWatch also watches. */
const WATCH_SOURCES_FILE = 'src/controller/watch-sources.ts';

/** Leader election's permissions: granted on the Lease in the controller's own namespace, not where Rollouts live. */
export const isLeaderElection = (permission: string) => permission.startsWith('coordination.k8s.io/leases:');

const permission = (group: string, resource: string, verb: string) => `${group}/${resource}:${verb}`;

/** Every .ts file reachable by relative imports from `entry` (paths relative to `root`). */
export function importGraph(root: string, entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(root, file), 'utf8');
    for (const [, spec] of text.matchAll(/\b(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      visit(relative(root, resolve(root, dirname(file), spec!.replace(/\.js$/, '.ts'))));
    }
  };
  visit(entry);
  return [...seen].sort();
}

/** Files among `files` that create API clients or watches. */
export function filesCallingTheApi(root: string, files: string[]): string[] {
  return files.filter((f) =>
    /makeApiClient\(|boundedApiClient\(|new Watch\(|KubernetesObjectApi/.test(
      readFileSync(join(root, f), 'utf8'),
    ),
  );
}

/** API client variables (`this.apps`, `custom`) -> their class. */
function apiClients(text: string): Set<string> {
  const names = new Set<string>();
  const made = /(?:this\.)?(\w+)\s*=\s*(?:[\w.]*makeApiClient\(\w+\)|boundedApiClient\(\s*[\w.]+,\s*\w+)/g;
  for (const [, name] of text.matchAll(made)) names.add(name!);
  // A client passed in: `apps: AppsV1Api`, `custom: CustomObjectsApi`.
  for (const [, name] of text.matchAll(/\b(\w+):\s*(?:\w+V\d\w*Api|CustomObjectsApi)\b/g)) names.add(name!);
  return names;
}

interface FoundCall {
  method: string;
  at: number;
  /** First identifier of the arguments: `{ ...ROLLOUTS` or `(ROLLOUTS)` -> ROLLOUTS. */
  argument?: string;
}

function apiCalls(text: string, clients = [...apiClients(text)]): FoundCall[] {
  if (clients.length === 0) return [];
  const pattern = new RegExp(
    `\\b(?:this\\.)?(?:${clients.join('|')})\\.(\\w+)\\(\\s*(?:\\{\\s*\\.\\.\\.)?(\\w+)?`,
    'g',
  );
  return [...text.matchAll(pattern)].map((m) => ({ method: m[1]!, at: m.index, argument: m[2] }));
}

/** Name of the function whose parameter `identifier: CustomResource` is in scope at `at`. */
function functionTakingResource(text: string, identifier: string, at: number): string | undefined {
  const pattern = new RegExp(
    `(\\w+)\\s*(?:=\\s*(?:async\\s*)?)?\\(\\s*${identifier}\\s*:\\s*CustomResource\\b`,
    'g',
  );
  let name: string | undefined;
  for (const m of text.slice(0, at).matchAll(pattern)) name = m[1];
  return name;
}

/** Methods of the Cluster class with their source, split on prettier's two-space method indentation. */
function clusterMethods(text: string): Map<string, string> {
  const body = text.slice(text.indexOf('export class Cluster'));
  const methods = new Map<string, string>();
  const starts = [...body.matchAll(/^ {2}(?:async )?(\w+)\(/gm)];
  starts.forEach((m, i) => methods.set(m[1]!, body.slice(m.index, starts[i + 1]?.index ?? body.length)));
  return methods;
}

export interface ScanInput {
  root: string;
  /** The controller's entry file, relative to root. */
  entry: string;
  /** Custom resources by constant name (ROLLOUTS -> stepwise.dev/rollouts). */
  customResources: Record<string, CustomResourceRef>;
}

/** "group/resource:verb" for every call the controller process makes (core group is ""). */
export function permissionsUsed({ root, entry, customResources }: ScanInput): Set<string> {
  const files = importGraph(root, entry);
  const read = (f: string) => readFileSync(join(root, f), 'utf8');
  const used = new Set<string>();
  const sources = files.filter((f) => f !== CLUSTER_FILE && !DASHBOARD_FILES.includes(f)).map(read);
  const clusterText = read(CLUSTER_FILE);
  const controllerText = read(CONTROLLER_FILE);
  const methods = clusterMethods(clusterText);

  // Cluster methods the controller calls, and those they call in turn (getRollout -> getCustom).
  const called = new Set<string>();
  const callSites: string[] = [...sources];
  for (const name of methods.keys()) {
    if (sources.some((s) => new RegExp(`\\.${name}\\(`).test(s))) called.add(name);
  }
  for (const name of called) {
    // A Set visits what is added while iterating, so this follows calls to any depth.
    for (const [inner] of methods) {
      if (new RegExp(`this\\.${inner}\\(`).test(methods.get(name)!)) called.add(inner);
    }
    callSites.push(methods.get(name)!);
  }

  const resourcesPassedTo = (fn: string): CustomResourceRef[] => {
    const found = callSites.flatMap((s) =>
      [...s.matchAll(new RegExp(`\\b${fn}\\(\\s*(\\w+)`, 'g'))].map((m) => m[1]!),
    );
    return found.filter((c) => c in customResources).map((c) => customResources[c]!);
  };

  const record = (text: string, calls: FoundCall[], where: string, into = used) => {
    for (const call of calls) {
      const api = API_CALLS[call.method];
      if (!api) {
        throw new Error(
          `${where}: ${call.method} is not in API_CALLS of test/packaging/code-permissions.ts; add its RBAC`,
        );
      }
      if (api.discovery) continue;
      if (!api.custom) {
        into.add(permission(api.group!, api.resource!, api.verb));
        continue;
      }
      const direct = call.argument && customResources[call.argument];
      const targets = direct
        ? [direct]
        : resourcesPassedTo(functionTakingResource(text, call.argument ?? '', call.at) ?? '\0');
      if (targets.length === 0)
        throw new Error(`${where}: cannot tell which resource ${call.method} reaches`);
      for (const r of targets) {
        const resource = api.subresource ? `${r.plural}/${api.subresource}` : r.plural;
        into.add(permission(r.group, resource, api.verb));
      }
    }
  };

  const clusterClients = [...apiClients(clusterText)];
  for (const name of called) {
    const text = methods.get(name)!;
    record(text, apiCalls(text, clusterClients), `Cluster.${name}`);
  }
  record(controllerText, apiCalls(controllerText), CONTROLLER_FILE);
  if (files.includes(WATCH_SOURCES_FILE)) {
    const text = read(WATCH_SOURCES_FILE);
    const listed = new Set<string>();
    record(text, apiCalls(text), WATCH_SOURCES_FILE, listed);
    for (const p of listed) {
      used.add(p);
      if (p.endsWith(':list')) used.add(p.replace(/:list$/, ':watch'));
    }
  }
  if (files.includes(LEASE_FILE)) {
    const leaseText = read(LEASE_FILE);
    record(leaseText, apiCalls(leaseText), LEASE_FILE);
  }

  // Every watch source in the controller: ResilientWatch watches its path.
  for (const line of controllerText.split('\n').filter((l) => /\bpath:/.test(l))) {
    const constant = /path:\s*customPath\((\w+)/.exec(line)?.[1];
    const literal = /'\/api(?:s\/([\w.]+))?\/v\d\w*\/(\w+)'/.exec(line);
    const r = constant
      ? customResources[constant]
      : literal && { group: literal[1] ?? '', plural: literal[2]! };
    if (!r)
      throw new Error(`${CONTROLLER_FILE}: cannot tell which resource this watch reaches: ${line.trim()}`);
    used.add(permission(r.group, r.plural, 'watch'));
  }
  return used;
}

/** "group/resource:verb" for the web dashboard's own calls (DASHBOARD_FILES): plain clients, no custom resources. */
export function dashboardPermissions(root: string): Set<string> {
  const used = new Set<string>();
  for (const file of DASHBOARD_FILES) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const call of apiCalls(text)) {
      const api = API_CALLS[call.method];
      if (!api || api.custom || api.discovery) {
        throw new Error(
          `${file}: ${call.method} needs an RBAC mapping in test/packaging/code-permissions.ts`,
        );
      }
      used.add(permission(api.group!, api.resource!, api.verb));
    }
  }
  return used;
}

export interface RbacRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

/** The same "group/resource:verb" strings for what RBAC rules grant. */
export function permissionsGranted(rules: RbacRule[]): Set<string> {
  const granted = new Set<string>();
  for (const rule of rules) {
    for (const group of rule.apiGroups ?? [])
      for (const resource of rule.resources ?? [])
        for (const verb of rule.verbs ?? []) granted.add(permission(group, resource, verb));
  }
  return granted;
}
