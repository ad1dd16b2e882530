// Chunked lists (`limit` and `continue`), as kube-apiserver serves them: every page of one list comes from the
// snapshot the first page was taken from (etcd reads the continued pages at the first page's revision), each
// page's metadata carries that list's resourceVersion, `continue` while more remain and `remainingItemCount`;
// a continue token older than etcd's compaction window (5 minutes by default) is refused with 410 Expired.
import { randomBytes } from 'node:crypto';
import { badRequest, gone } from './errors.js';
import type { KubeObject } from './types.js';

/** kube-apiserver compacts etcd every 5 minutes (--etcd-compaction-interval): older continue tokens expire. */
export const CONTINUE_EXPIRES_MS = 5 * 60_000;
/** Snapshots kept at once: a client that never continues its lists must not make the sandbox grow. */
const MAX_SNAPSHOTS = 64;

interface Snapshot {
  /** The list it is of (path and selectors): a token continues only that list, as kube-apiserver's keys do. */
  scope: string;
  items: KubeObject[];
  resourceVersion: string;
  takenAt: number;
}

export interface ListPage {
  items: KubeObject[];
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
}

// The real server's message, so that clients and people see what they would see there (storage/errors.go).
const EXPIRED =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list ' +
  'without the continue parameter, or use the continue token in this response to retrieve the remainder of the results.';

export class ListPages {
  private readonly snapshots = new Map<string, Snapshot>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * The page a list request asks for. `take` lists the collection now (sorted by namespace and name, as etcd's keys
   * are); it is called only for a first page.
   */
  page(
    query: { limit: string | null; continue: string | null },
    scope: string,
    take: () => { items: KubeObject[]; resourceVersion: string },
  ): ListPage {
    const limit = query.limit === null || query.limit === '' ? 0 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 0)
      throw badRequest(`limit must be a whole number, got "${query.limit}"`);
    let snapshot: Snapshot;
    let start = 0;
    if (query.continue) {
      const token = decodeToken(query.continue);
      const kept = this.snapshots.get(token.id);
      if (!kept || this.now() - kept.takenAt > CONTINUE_EXPIRES_MS) {
        this.snapshots.delete(token.id);
        throw gone(EXPIRED);
      }
      if (kept.scope !== scope) {
        throw badRequest('continue token is of another list: send it with the same path and selectors');
      }
      snapshot = kept;
      start = token.start;
    } else {
      const { items, resourceVersion } = take();
      snapshot = { scope, items, resourceVersion, takenAt: this.now() };
    }
    const end = limit > 0 ? Math.min(start + limit, snapshot.items.length) : snapshot.items.length;
    const items = snapshot.items.slice(start, end);
    const remaining = snapshot.items.length - end;
    if (remaining === 0) return { items, metadata: { resourceVersion: snapshot.resourceVersion } };
    return {
      items,
      metadata: {
        resourceVersion: snapshot.resourceVersion,
        continue: encodeToken({ id: this.keep(snapshot, query.continue), start: end }),
        remainingItemCount: remaining,
      },
    };
  }

  /** The id a snapshot is continued under (the same for every page of one list). */
  private keep(snapshot: Snapshot, token: string | null): string {
    if (token) return decodeToken(token).id;
    for (const [id, kept] of this.snapshots) {
      if (this.snapshots.size < MAX_SNAPSHOTS && this.now() - kept.takenAt <= CONTINUE_EXPIRES_MS) break;
      this.snapshots.delete(id); // oldest first: a Map iterates in insertion order
    }
    const id = randomBytes(8).toString('hex');
    this.snapshots.set(id, snapshot);
    return id;
  }
}

/** Base64 of JSON, like kube-apiserver's tokens (storage/continue.go), holding the snapshot and the next item. */
const encodeToken = (token: { id: string; start: number }) =>
  Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', ...token })).toString('base64url');

/** A token that does not decode is a bad request, as on kube-apiserver ("invalid continue token"). */
function decodeToken(text: string): { id: string; start: number } {
  try {
    const token = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (token.v === 'meta.k8s.io/v1' && typeof token.id === 'string' && Number.isInteger(token.start)) {
      return { id: token.id, start: token.start as number };
    }
  } catch {
    // not JSON: the same answer below
  }
  throw badRequest(`invalid continue token: ${JSON.stringify(text)}`);
}
