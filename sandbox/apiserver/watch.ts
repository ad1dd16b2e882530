import type { ServerResponse } from 'node:http';
import { ApiError, badRequest } from './errors.js';
import { groupVersion, servedAs } from './resources.js';
import type { ResourceType } from './resources.js';
import { matches } from './selectors.js';
import type { Selectors } from './selectors.js';
import type { ObjectStore } from './store.js';
import type { KubeObject, StoreEvent } from './types.js';

/** What a `?watch=true` request asks for. */
export interface WatchRequest {
  type: ResourceType;
  version: string;
  /** Empty for all namespaces. */
  namespace: string;
  selectors: Selectors;
  resourceVersion?: string;
  timeoutSeconds?: number;
  allowWatchBookmarks?: boolean;
  /** How each object is sent, e.g. as a one-row Table for `kubectl get -w`; as-is by default. */
  render?: (obj: KubeObject) => unknown;
}

interface OpenWatch {
  resource: string;
  response: ServerResponse;
}

/** Bookmarks keep an idle stream alive under client-node's 30 s inactivity timeout. */
const BOOKMARK_INTERVAL_MS = 10_000;

/** Streams store changes as newline-delimited JSON watch events, the way kube-apiserver does. */
export class WatchHub {
  private readonly open = new Set<OpenWatch>();

  constructor(private readonly store: ObjectStore) {}

  /** Starts streaming; throws (before any byte is written) only for a malformed request. */
  serve(response: ServerResponse, request: WatchRequest): void {
    const { type, version, namespace, selectors } = request;
    const rv = request.resourceVersion ?? '';
    const fromNow = rv === '' || rv === '0';
    const startRevision = fromNow ? 0 : Number(rv);
    if (!fromNow && !Number.isInteger(startRevision)) {
      throw badRequest(
        `invalid resourceVersion "${rv}": it must be a resourceVersion returned by this server`,
      );
    }

    const toSend = (event: StoreEvent): { type: string; object: KubeObject } | undefined => {
      if (event.resourceType !== type) return undefined;
      const obj = event.object;
      if (namespace && type.namespaced && obj.metadata.namespace !== namespace) return undefined;
      const now = matches(selectors, obj);
      const before = event.previous !== undefined && matches(selectors, event.previous);
      let kind: string | undefined;
      if (event.type === 'MODIFIED') {
        // Objects entering or leaving a filtered watch look like additions and deletions to it.
        kind = now && before ? 'MODIFIED' : now ? 'ADDED' : before ? 'DELETED' : undefined;
      } else if (now) {
        kind = event.type;
      }
      return kind === undefined ? undefined : { type: kind, object: servedAs(obj, type, version) };
    };

    let backlog: Array<{ type: string; object: KubeObject }>;
    try {
      backlog = fromNow
        ? this.store
            .listObjects(type, namespace, selectors)
            .items.map((object) => ({ type: 'ADDED', object: servedAs(object, type, version) }))
        : this.store.eventsSince(startRevision).flatMap((e) => toSend(e) ?? []);
    } catch (err) {
      if (err instanceof ApiError && err.code === 410) {
        this.sendError(response, err);
        return;
      }
      throw err;
    }

    this.startStream(response);
    const render = request.render ?? ((obj: KubeObject) => obj);
    const write = (event: { type: string; object: KubeObject }): void => {
      if (response.writableEnded) return;
      const object = event.type === 'BOOKMARK' ? event.object : render(event.object);
      response.write(`${JSON.stringify({ type: event.type, object })}\n`);
    };
    backlog.forEach(write);

    const entry: OpenWatch = { resource: type.resource, response };
    this.open.add(entry);
    const unsubscribe = this.store.subscribe((event) => {
      const out = toSend(event);
      if (out) write(out);
    });
    const timers: NodeJS.Timeout[] = [];
    if (request.timeoutSeconds !== undefined && request.timeoutSeconds > 0) {
      timers.push(setTimeout(() => response.end(), request.timeoutSeconds * 1000));
    }
    if (request.allowWatchBookmarks) {
      const bookmark = (): void =>
        write({
          type: 'BOOKMARK',
          object: {
            apiVersion: groupVersion(type.group, version),
            kind: type.kind,
            metadata: { resourceVersion: this.store.resourceVersion() },
          },
        });
      timers.push(setInterval(bookmark, BOOKMARK_INTERVAL_MS));
      // kube-apiserver's watch cache also sends one 2 s before the watch's timeout, so the client resumes
      // from a current resourceVersion (k8s.io/apiserver cacher, cacheWatcher.nextBookmarkTime).
      const timeoutMs = (request.timeoutSeconds ?? 0) * 1000;
      if (timeoutMs > 2_000) timers.push(setTimeout(bookmark, timeoutMs - 2_000));
    }
    response.on('close', () => {
      unsubscribe();
      timers.forEach((t) => clearTimeout(t));
      this.open.delete(entry);
    });
  }

  /** A watch that cannot start (410 Gone or an injected fault): HTTP 200, one ERROR event, end. */
  sendError(response: ServerResponse, err: ApiError): void {
    this.startStream(response);
    response.end(`${JSON.stringify({ type: 'ERROR', object: err.toStatus() })}\n`);
  }

  /**
   * Ends open watch streams (of one resource, e.g. `deployments`, or all). A clean end is what clients
   * see when the server closes a watch; `abrupt` resets the connection instead.
   */
  drop(resource?: string, abrupt = false): number {
    let dropped = 0;
    for (const entry of [...this.open]) {
      if (resource !== undefined && entry.resource !== resource) continue;
      dropped++;
      this.open.delete(entry);
      if (abrupt) entry.response.socket?.destroy();
      else entry.response.end();
    }
    return dropped;
  }

  closeAll(): void {
    this.drop();
  }

  get openCount(): number {
    return this.open.size;
  }

  private startStream(response: ServerResponse): void {
    response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    // Clients wait for the headers before they treat the watch as connected.
    response.flushHeaders();
  }
}
