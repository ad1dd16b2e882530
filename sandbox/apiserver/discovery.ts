import { openApiV3 } from './openapi.js';
import { groupVersion } from './resources.js';
import type { ResourceRegistry, ResourceType } from './resources.js';

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** The Kubernetes version the sandbox reports; its behaviour follows this release. */
export const SERVED_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-stepwise-sandbox',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

function resourceEntries(type: ResourceType): unknown[] {
  const main = {
    name: type.resource,
    singularName: type.singular,
    namespaced: type.namespaced,
    kind: type.kind,
    verbs: VERBS,
    ...(type.shortNames ? { shortNames: type.shortNames } : {}),
  };
  const subresources: unknown[] = [];
  if (type.hasStatus) {
    subresources.push({
      name: `${type.resource}/status`,
      singularName: '',
      namespaced: type.namespaced,
      kind: type.kind,
      verbs: ['get', 'patch', 'update'],
    });
  }
  if (type.hasScale) {
    subresources.push({
      name: `${type.resource}/scale`,
      singularName: '',
      namespaced: type.namespaced,
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
      verbs: ['get', 'patch', 'update'],
    });
  }
  return [main, ...subresources];
}

/**
 * Answers a discovery path (`/api`, `/api/v1`, `/apis`, `/apis/<group>[/<version>]`, `/version`, `/openapi/v3...`),
 * or undefined.
 */
export function discovery(registry: ResourceRegistry, path: string, serverAddress: string): unknown {
  const segments = path.split('/').filter((s) => s !== '');
  const groups = registry.groups();
  if (path === '/version' || path === '/version/') return SERVED_VERSION;
  if (segments[0] === 'openapi') return openApiV3(registry, path);
  if (segments[0] === 'api') {
    if (segments.length === 1) {
      return {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
      };
    }
    if (segments.length === 2 && segments[1] === 'v1') return resourceList(groups.get('') ?? [], '', 'v1');
    return undefined;
  }
  if (segments[0] !== 'apis') return undefined;
  const groupInfo = (name: string, types: ResourceType[]) => {
    const versions = [...new Set(types.flatMap((t) => t.versions))];
    const entries = versions.map((version) => ({ groupVersion: groupVersion(name, version), version }));
    return { name, versions: entries, preferredVersion: entries[0] };
  };
  if (segments.length === 1) {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...groups.entries()]
        .filter(([name]) => name !== '')
        .map(([name, types]) => groupInfo(name, types)),
    };
  }
  const [, groupName = '', version] = segments;
  const types = groupName === '' ? undefined : groups.get(groupName);
  if (!types) return undefined;
  if (segments.length === 2) return { kind: 'APIGroup', apiVersion: 'v1', ...groupInfo(groupName, types) };
  if (segments.length === 3 && version !== undefined) {
    const served = types.filter((t) => t.versions.includes(version));
    return served.length === 0 ? undefined : resourceList(served, groupName, version);
  }
  return undefined;
}

function resourceList(types: ResourceType[], group: string, version: string): unknown {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupVersion(group, version),
    resources: types.flatMap(resourceEntries),
  };
}
