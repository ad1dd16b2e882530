import { unknownResource } from './errors.js';
import type { Verb } from './faults.js';
import type { ResourceRegistry, ResourceType } from './resources.js';

/** A request path resolved to a resource, as `/apis/<group>/<version>/namespaces/<ns>/<resource>/<name>/<sub>`. */
export interface Route {
  type: ResourceType;
  version: string;
  /** Empty for cluster-scoped resources and for lists across all namespaces. */
  namespace: string;
  name?: string;
  subresource?: 'status' | 'scale';
  /** The legacy `/watch/` path prefix was used. */
  watchPath: boolean;
}

/** Resolves a resource path; throws a 404 Status for anything the sandbox does not serve. */
export function parseRoute(registry: ResourceRegistry, pathname: string): Route {
  const segments = pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decodeURIComponent);
  let group: string;
  let rest: string[];
  if (segments[0] === 'api') {
    group = '';
    rest = segments.slice(1);
  } else if (segments[0] === 'apis') {
    group = segments[1] ?? '';
    rest = segments.slice(2);
  } else {
    throw unknownResource(pathname);
  }
  const [version = '', ...tail] = rest;
  let watchPath = false;
  if (tail[0] === 'watch') {
    watchPath = true;
    tail.shift();
  }
  let namespace = '';
  let parts = tail;
  if (tail[0] === 'namespaces' && tail.length >= 3) {
    namespace = tail[1] ?? '';
    parts = tail.slice(2);
  }
  const [resource = '', name, subresource, ...extra] = parts;
  const type = registry.byPath(group, version, resource);
  if (!type || extra.length > 0 || (namespace !== '' && !type.namespaced)) throw unknownResource(pathname);
  if (type.namespaced && name !== undefined && namespace === '') throw unknownResource(pathname);
  if (subresource !== undefined) {
    const served = (subresource === 'status' && type.hasStatus) || (subresource === 'scale' && type.hasScale);
    if (!served) throw unknownResource(pathname);
  }
  return {
    type,
    version,
    namespace,
    ...(name !== undefined ? { name } : {}),
    ...(subresource !== undefined ? { subresource: subresource as 'status' | 'scale' } : {}),
    watchPath,
  };
}

/** The Kubernetes verb of a request, as RBAC and audit logs name it. */
export function verbOf(method: string, route: Route, watchQuery: boolean): Verb | undefined {
  const named = route.name !== undefined;
  switch (method) {
    case 'GET':
      if (watchQuery || route.watchPath) return 'watch';
      return named ? 'get' : 'list';
    case 'POST':
      return named ? undefined : 'create';
    case 'PUT':
      return named ? 'update' : undefined;
    case 'PATCH':
      return named ? 'patch' : undefined;
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}
