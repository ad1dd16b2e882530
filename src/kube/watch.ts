import { type KubeConfig, Watch } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { apiMessage, httpStatus } from './errors.js';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    ownerReferences?: { kind: string; name: string; apiVersion: string }[];
  };
}

const identity = ({ apiVersion, kind, metadata }: KubeObject): KubeObject => ({
  apiVersion,
  kind,
  metadata: {
    name: metadata?.name,
    namespace: metadata?.namespace,
    resourceVersion: metadata?.resourceVersion,
    ownerReferences: metadata?.ownerReferences,
  },
});
const keyOf = (object: KubeObject) => `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'SYNC';

/** A page of a chunked list: `continue` while more remain (the server may also send everything at once). */
export interface ListPage {
  items: KubeObject[];
  resourceVersion?: string;
  continue?: string;
}

export interface WatchSource {
  /** Human name for logs: "rollouts in production". */
  name: string;
  /** API path of the collection, e.g. /apis/apps/v1/namespaces/prod/deployments. */
  path: string;
  /** One page of the list: at most `limit` items, after the page whose `continue` token is given. */
  list(page: { limit: number; continue?: string }): Promise<ListPage>;
}

/**
 * Items per list request, as client-go's pager asks for (pager.go, defaultPageSize): a relist of 20,000 Deployments
 * never holds more than one page's response at once, so the heap needs no room for the whole collection.
 */
export const LIST_PAGE_SIZE = 500;

export type ListPageRequest = Parameters<WatchSource['list']>[0];

/** client-node's list parameters for a page. */
export const pageParams = ({ limit, continue: token }: ListPageRequest) => ({
  limit,
  ...(token ? { _continue: token } : {}),
});

/**
 * The resourceVersion and continue token of a list's metadata: `_continue` in client-node's typed lists,
 * `continue` in the raw JSON of custom objects' lists.
 */
export function pageOf(metadata?: { resourceVersion?: string; continue?: string; _continue?: string }): {
  resourceVersion?: string;
  continue?: string;
} {
  const token = metadata?._continue ?? metadata?.continue;
  return {
    ...(metadata?.resourceVersion !== undefined ? { resourceVersion: metadata.resourceVersion } : {}),
    ...(token ? { continue: token } : {}),
  };
}

/**
 * A watch that delivered nothing, not even a bookmark, for this long is taken as stalled, ended and resumed.
 * kube-apiserver's watch cache sends a bookmark every minute (cacher.go, defaultBookmarkFrequency) to
 * watches that allow bookmarks; 15 s more is the margin kube-apiserver itself adds (eventFreshDuration).
 */
export const WATCH_IDLE_MS = 75_000;

export interface WatchOptions {
  /**
   * Lists the collection again this often while the watch stays open, to heal missed events. The watch is not
   * closed for it: a periodic relist that closed it left the controller blind for the list's length (an abort
   * at 10,000 Rollouts waited 7.2 s behind one).
   */
  resyncMs?: number;
  /** See WATCH_IDLE_MS; it also bounds the wait for the watch's response headers. */
  idleMs?: number;
  maxBackoffMs?: number;
  /** Items per list request; LIST_PAGE_SIZE by default. */
  pageSize?: number;
  logger: Logger;
  /** Told about every list and watch request: 200 once it is answered, else the HTTP status (0 = no answer). */
  onRequest?: (verb: 'list' | 'watch', code: number) => void;
}

/**
 * List, then watch from the list's resourceVersion, for as long as it runs. A watch that ends normally
 * (server timeout, inactivity) resumes from the last resourceVersion; 410 Gone relists; any other error
 * relists after an exponential backoff. client-node's informer stops for good on such errors, hence this loop.
 */
export class ResilientWatch {
  private stopped = false;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  /** Bumped by every list: a periodic list that a newer one overtook stops delivering. */
  private listGeneration = 0;
  /** While a periodic list runs beside the watch: the objects the watch delivered meanwhile. */
  private watchedDuringList: Set<string> | undefined;
  /** A watch request is open and delivering (never while `run` lists alone: the first list, or after a failure). */
  private watching = false;
  private synced = false;
  private lastError: string | undefined;
  /**
   * What was last delivered, by namespace/name (only the identity and owner references, to keep memory small
   * on large clusters): a relist reports the objects it no longer has as DELETED.
   */
  private readonly known = new Map<string, KubeObject>();

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly source: WatchSource,
    private readonly onEvent: (type: WatchEventType, object: KubeObject) => void,
    private readonly options: WatchOptions,
  ) {}

  /** Resolves once the first list was delivered (or failed); keeps running in the background. */
  start(): Promise<void> {
    const every = this.options.resyncMs;
    if (every !== undefined) {
      this.resyncTimer = setInterval(() => void this.resyncBesideWatch(), every);
      this.resyncTimer.unref();
    }
    return new Promise((firstListDone) => {
      void this.run(firstListDone);
    });
  }

  /** True once a list succeeded (then stays true, like client-go's HasSynced). */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Why the watch is not synced yet: its name and the last error, for /readyz. */
  waitingFor(): string | undefined {
    if (this.synced) return undefined;
    return `the first list of ${this.source.name}${this.lastError ? ` (last error: ${this.lastError})` : ''}`;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    this.abort?.abort();
    this.wake?.();
  }

  private async run(firstListDone: () => void): Promise<void> {
    const log = this.options.logger;
    let backoffMs = 250;
    let resourceVersion: string | undefined;
    while (!this.stopped) {
      try {
        if (!resourceVersion) {
          resourceVersion = await this.relist();
          firstListDone();
        }
        const ended = await this.watchOnce(resourceVersion);
        resourceVersion = ended.resourceVersion;
        if (ended.error) throw ended.error;
        backoffMs = 250;
      } catch (error) {
        this.lastError = apiMessage(error);
        firstListDone();
        if (this.stopped) break;
        if (httpStatus(error) === 410) {
          log.info('watch expired (410 Gone); relisting', { watch: this.source.name });
        } else {
          log.warn('watch failed; relisting after backoff', {
            watch: this.source.name,
            backoffMs,
            error: error instanceof Error ? error.message : String(error),
          });
          await this.sleep(backoffMs);
          backoffMs = Math.min(backoffMs * 2, this.options.maxBackoffMs ?? 30_000);
        }
        resourceVersion = undefined;
      }
    }
  }

  /**
   * Lists and delivers the collection, a page at a time; returns the resourceVersion to watch from. An expired
   * continue token (410) ends it, and `run` lists again from the start. A frame of its own: a suspended async
   * function keeps every value it awaited with alive, and `run` waits on its watch for minutes, so a list awaited
   * there stayed on the heap beside the caches it filled (20,000 typed Deployments at 10,000 Rollouts).
   */
  private async relist(): Promise<string | undefined> {
    this.watchedDuringList = undefined;
    const listed = await this.listAndDeliver(undefined);
    if (!listed) return undefined;
    this.synced = true;
    return listed.resourceVersion;
  }

  /**
   * The periodic list, while the watch goes on delivering. What the watch delivers meanwhile is at least as new as
   * the list's snapshot or will be soon (it goes on from there), so the list leaves those objects to it. A list
   * after a watch failure overtakes it.
   */
  private async resyncBesideWatch(): Promise<void> {
    if (this.stopped || !this.synced || this.watchedDuringList || !this.watching) return;
    const watched = new Set<string>();
    this.watchedDuringList = watched;
    try {
      await this.listAndDeliver(watched);
    } catch (error) {
      // The watch is still open; the next period lists again (an expired continue token included).
      this.options.logger.warn('periodic list failed; the watch goes on', {
        watch: this.source.name,
        error: error instanceof Error ? error.message : String(error),
      });
    } finally {
      if (this.watchedDuringList === watched) this.watchedDuringList = undefined;
    }
  }

  /**
   * Every page, delivered as SYNC, then the objects it no longer has as DELETED (deleted while no watch was open, or
   * whose event was missed), leaving out those the open watch delivered meanwhile (`watched`). Undefined when
   * stopped or overtaken by a newer list part way: what was not listed yet is not known to be gone.
   */
  private async listAndDeliver(
    watched: ReadonlySet<string> | undefined,
  ): Promise<{ resourceVersion: string | undefined } | undefined> {
    const generation = ++this.listGeneration;
    const listed = new Set<string>();
    let token: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.counted('list', () =>
        this.source.list({
          limit: this.options.pageSize ?? LIST_PAGE_SIZE,
          ...(token ? { continue: token } : {}),
        }),
      );
      if (this.stopped || generation !== this.listGeneration) return undefined;
      // Every page carries the resourceVersion of the list's snapshot: the watch resumes from there.
      resourceVersion = page.resourceVersion;
      for (const item of page.items) {
        const key = keyOf(item);
        listed.add(key);
        if (!watched?.has(key)) this.deliver('SYNC', item);
      }
      token = page.continue || undefined;
    } while (token);
    for (const [key, object] of this.known) {
      if (!listed.has(key) && !watched?.has(key)) this.deliver('DELETED', object);
    }
    return { resourceVersion };
  }

  private deliver(type: WatchEventType, object: KubeObject): void {
    if (type === 'DELETED') this.known.delete(keyOf(object));
    else this.known.set(keyOf(object), identity(object));
    this.onEvent(type, object);
  }

  private async counted<T>(verb: 'list' | 'watch', request: () => Promise<T>): Promise<T> {
    try {
      const result = await request();
      this.options.onRequest?.(verb, 200);
      return result;
    } catch (error) {
      this.options.onRequest?.(verb, httpStatus(error) ?? 0);
      throw error;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** One watch request; resolves when it ends, with the last resourceVersion seen and any error. */
  private watchOnce(
    from: string | undefined,
  ): Promise<{ resourceVersion: string | undefined; error?: unknown }> {
    let resourceVersion = from;
    return new Promise((resolve) => {
      let expired: unknown;
      let ended = false;
      const watch = new Watch(this.kubeConfig);
      // client-node's Watch aborts a request that received no bytes for requestTimeoutMs (30 s, a private
      // field in 2.x), both before the response headers and between lines: that is the idle rule, set to ours.
      (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs =
        this.options.idleMs ?? WATCH_IDLE_MS;
      const params: Record<string, string | boolean | number> = {
        allowWatchBookmarks: true,
        timeoutSeconds: 300,
      };
      if (from) params.resourceVersion = from;
      // client-node reports a refused watch to the done callback, before the request's promise resolves.
      let answered = false;
      const count = (code: number) => {
        if (!answered) this.options.onRequest?.('watch', code);
        answered = true;
      };
      watch
        .watch(
          this.source.path,
          params,
          (type: string, object: KubeObject & { code?: number; message?: string }) => {
            if (type === 'ERROR') {
              expired = Object.assign(new Error(object.message ?? 'watch error'), {
                statusCode: object.code,
              });
              this.abort?.abort();
              return;
            }
            resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
            if (type === 'BOOKMARK') return;
            this.watchedDuringList?.add(keyOf(object));
            this.deliver(type as WatchEventType, object);
          },
          (error: unknown) => {
            count(error ? (httpStatus(error) ?? 0) : 200);
            ended = true;
            this.watching = false;
            const aborted =
              error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
            resolve({ resourceVersion, error: expired ?? (aborted || !error ? undefined : error) });
          },
        )
        .then((controller) => {
          count(200);
          this.abort = controller;
          this.watching = !ended;
          if (this.stopped) controller.abort();
        })
        .catch((error: unknown) => {
          count(httpStatus(error) ?? 0);
          resolve({ resourceVersion, error });
        });
    });
  }
}
