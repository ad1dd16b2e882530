import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { discovery } from './discovery.js';
import { ApiError, badRequest, conflict, notFound, toApiError } from './errors.js';
import type { Faults, RequestInfo } from './faults.js';
import { applyPatch, checkPatchType } from './patch.js';
import { groupVersion, servedAs } from './resources.js';
import type { ResourceRegistry } from './resources.js';
import { parseRoute, verbOf } from './routes.js';
import type { Route } from './routes.js';
import { ListPages } from './list-pages.js';
import { parseSelectors } from './selectors.js';
import type { DeleteOptions, ObjectStore } from './store.js';
import { asTable, wantsTable } from './table.js';
import type { KubeObject } from './types.js';
import type { WatchHub } from './watch.js';

export interface HandlerDeps {
  registry: ResourceRegistry;
  store: ObjectStore;
  watches: WatchHub;
  faults: Faults;
  /** host:port, for the discovery document. */
  serverAddress: () => string;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  const apiError = toApiError(err);
  sendJson(res, apiError.code, apiError.toStatus(), apiError.headers);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES)
      throw new ApiError(413, 'RequestEntityTooLarge', 'the request body is too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Bodies of POST and PUT must be JSON: protobuf (sent by some kubectl generators) and CBOR are not decoded. */
function checkJsonBody(req: IncomingMessage): void {
  const mediaType =
    (req.headers['content-type'] ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';
  if (mediaType !== '' && mediaType !== 'application/json' && mediaType !== '*/*') {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the sandbox API accepts JSON request bodies only, got "${mediaType}"; with kubectl, create objects from a manifest (kubectl create -f)`,
    );
  }
}

function parseObject(text: string, what: string): KubeObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw badRequest(`the ${what} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badRequest(`the ${what} must be a JSON object`);
  }
  const obj = parsed as KubeObject;
  if (obj.metadata !== undefined && (typeof obj.metadata !== 'object' || obj.metadata === null)) {
    throw badRequest(`metadata of the ${what} must be an object`);
  }
  obj.metadata ??= {};
  return obj;
}

function served(obj: KubeObject, route: Route): KubeObject {
  return servedAs(obj, route.type, route.version);
}

function toScale(obj: KubeObject): KubeObject {
  const spec = (obj.spec ?? {}) as { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
  const status = (obj.status ?? {}) as { replicas?: number };
  const selector = Object.entries(spec.selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 1 },
    status: { replicas: status.replicas ?? 0, selector },
  };
}

/** The HTTP request handler of the sandbox API: discovery, CRUD, subresources and watches. */
export function createRequestHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { registry, store, watches, faults } = deps;
  const pages = new ListPages();

  async function handleResource(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const route = parseRoute(registry, url.pathname);
    const query = url.searchParams;
    const watchQuery = query.get('watch') === 'true' || query.get('watch') === '1';
    const method = req.method ?? 'GET';
    const verb = verbOf(method, route, watchQuery);
    if (!verb) {
      throw new ApiError(
        405,
        'MethodNotAllowed',
        `the server does not allow this method on the requested resource (${method} ${url.pathname})`,
      );
    }
    const info: RequestInfo = {
      verb,
      resource: route.type.resource,
      namespace: route.namespace,
      ...(route.name !== undefined ? { name: route.name } : {}),
      ...(route.subresource !== undefined ? { subresource: route.subresource } : {}),
    };
    const delay = faults.latencyFor(info);
    if (delay > 0) await sleep(delay);
    if (faults.takeStall(info)) return; // left open: the client's timeout (or server close) ends it
    const injected = faults.takeFailure(info);
    if (injected) {
      if (verb === 'watch' && injected.code === 410) watches.sendError(res, injected);
      else sendError(res, injected);
      return;
    }

    const { type } = route;
    const name = route.name ?? '';
    const ns = route.namespace;
    if (verb === 'create' || verb === 'update') checkJsonBody(req);
    const body = method === 'GET' ? '' : await readBody(req);
    const current = (): KubeObject => {
      const obj = store.getObject(type, ns, name);
      if (!obj) throw notFound(type, name);
      return obj;
    };

    switch (verb) {
      case 'watch': {
        const timeout = query.get('timeoutSeconds');
        watches.serve(res, {
          type,
          version: route.version,
          namespace: ns,
          selectors: parseSelectors(query.get('labelSelector'), query.get('fieldSelector')),
          ...(query.has('resourceVersion') ? { resourceVersion: query.get('resourceVersion') ?? '' } : {}),
          ...(timeout !== null ? { timeoutSeconds: Number(timeout) } : {}),
          allowWatchBookmarks: query.get('allowWatchBookmarks') === 'true',
          ...(wantsTable(req)
            ? { render: (obj: KubeObject) => asTable(type, [obj], obj.metadata.resourceVersion ?? '') }
            : {}),
        });
        return;
      }
      case 'list': {
        const selectors = parseSelectors(query.get('labelSelector'), query.get('fieldSelector'));
        const { items, metadata } = pages.page(
          { limit: query.get('limit'), continue: query.get('continue') },
          `${url.pathname}?${query.get('labelSelector') ?? ''}&${query.get('fieldSelector') ?? ''}`,
          () => store.listObjects(type, ns, selectors),
        );
        const list = {
          kind: `${type.kind}List`,
          apiVersion: groupVersion(type.group, route.version),
          metadata,
          items: items.map((obj) => served(obj, route)),
        };
        const { resourceVersion, ...page } = metadata;
        sendJson(res, 200, wantsTable(req) ? asTable(type, list.items, resourceVersion, page) : list);
        return;
      }
      case 'get': {
        const obj = current();
        if (route.subresource === 'scale') sendJson(res, 200, toScale(obj));
        else
          sendJson(
            res,
            200,
            wantsTable(req)
              ? asTable(type, [served(obj, route)], obj.metadata.resourceVersion ?? '')
              : served(obj, route),
          );
        return;
      }
      case 'create': {
        const obj = parseObject(body, 'request body');
        sendJson(res, 201, served(store.createObject(type, ns, obj), route));
        return;
      }
      case 'update': {
        const obj = parseObject(body, 'request body');
        if (route.subresource === 'scale') {
          sendJson(res, 200, toScale(writeScale(current(), obj)));
          return;
        }
        const status = route.subresource === 'status' ? 'status' : undefined;
        sendJson(res, 200, served(store.updateObject(type, ns, name, obj, status), route));
        return;
      }
      case 'patch': {
        const contentType = req.headers['content-type'] ?? '';
        checkPatchType(contentType);
        const existing = current();
        if (route.subresource === 'scale') {
          const patched = applyPatch(toScale(existing), contentType, body);
          sendJson(res, 200, toScale(writeScale(existing, patched)));
          return;
        }
        const patched = applyPatch(existing, contentType, body, { custom: type.custom ?? false });
        const status = route.subresource === 'status' ? 'status' : undefined;
        sendJson(res, 200, served(store.updateObject(type, ns, name, patched, status), route));
        return;
      }
      case 'delete': {
        const options = deleteOptions(body, query);
        const deleted = store.deleteObject(type, ns, name, options);
        // An object its finalizers keep is returned as it now is (with its deletionTimestamp), like kube-apiserver.
        const kept = store.getObject(type, ns, name) !== undefined;
        sendJson(
          res,
          200,
          type.custom || kept
            ? served(deleted, route)
            : {
                kind: 'Status',
                apiVersion: 'v1',
                metadata: {},
                status: 'Success',
                details: { name, group: type.group, kind: type.resource, uid: deleted.metadata.uid },
              },
        );
        return;
      }
      case 'deletecollection': {
        const options = deleteOptions(body, query);
        const selectors = parseSelectors(query.get('labelSelector'), query.get('fieldSelector'));
        const deleted = store
          .listObjects(type, ns, selectors)
          .items.map((obj) =>
            store.deleteObject(type, obj.metadata.namespace ?? '', obj.metadata.name ?? '', options),
          );
        sendJson(res, 200, {
          kind: `${type.kind}List`,
          apiVersion: groupVersion(type.group, route.version),
          metadata: { resourceVersion: store.resourceVersion() },
          items: deleted.map((obj) => served(obj, route)),
        });
        return;
      }
    }

    function writeScale(existing: KubeObject, scale: KubeObject): KubeObject {
      const replicas = (scale.spec as { replicas?: unknown } | undefined)?.replicas;
      if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
        throw new ApiError(
          422,
          'Invalid',
          `Scale "${name}" is invalid: spec.replicas: Invalid value: must be a non-negative integer`,
        );
      }
      const rv = scale.metadata?.resourceVersion;
      if (rv && rv !== existing.metadata.resourceVersion) throw conflict(type, name);
      const next = structuredClone(existing);
      next.spec = { ...(next.spec as object), replicas };
      return store.updateObject(type, ns, name, next);
    }
  }

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    req.on('error', () => res.destroy());
    if (!isResourcePath(url.pathname)) {
      const doc = req.method === 'GET' ? discovery(registry, url.pathname, deps.serverAddress()) : undefined;
      if (doc !== undefined) sendJson(res, 200, doc);
      else
        sendError(
          res,
          new ApiError(
            404,
            'NotFound',
            `the server could not find the requested resource (${req.method} ${url.pathname})`,
            {},
          ),
        );
      return;
    }
    handleResource(req, res, url).catch((err: unknown) => sendError(res, err));
  };
}

/** `/api/v1/<...>` or `/apis/<group>/<version>/<...>`; anything shorter is discovery. */
function isResourcePath(pathname: string): boolean {
  const segments = pathname.split('/').filter((s) => s !== '');
  return (segments[0] === 'api' && segments.length > 2) || (segments[0] === 'apis' && segments.length > 3);
}

function deleteOptions(body: string, query: URLSearchParams): DeleteOptions {
  const options: DeleteOptions = {};
  if (body.trim() !== '') {
    const parsed = parseObject(body, 'DeleteOptions body') as unknown as DeleteOptions;
    if (parsed.preconditions) options.preconditions = parsed.preconditions;
    if (parsed.propagationPolicy) options.propagationPolicy = parsed.propagationPolicy;
  }
  const policy = query.get('propagationPolicy');
  if (policy) options.propagationPolicy = policy;
  return options;
}
