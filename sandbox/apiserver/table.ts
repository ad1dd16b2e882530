import type { IncomingMessage } from 'node:http';
import type { ResourceType } from './resources.js';
import type { KubeObject } from './types.js';

/** kubectl asks for server-side printing with `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. */
export function wantsTable(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? '';
  return accept
    .split(',')
    .some((part) => part.includes('as=Table') && part.includes('v=v1') && !part.includes('v1beta1'));
}

interface Column {
  name: string;
  type: string;
  format?: string;
  cell: (obj: KubeObject) => string | number;
}

/** "5s", "3m20s", "2h", "4d": the age format kubectl shows. */
export function age(creationTimestamp: string | undefined, now = Date.now()): string {
  if (!creationTimestamp) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now - Date.parse(creationTimestamp)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

function field(obj: KubeObject, path: string): unknown {
  let value: unknown = obj;
  for (const key of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}

const text = (value: unknown): string => (value === undefined || value === null ? '' : String(value));

const NAME: Column = { name: 'Name', type: 'string', format: 'name', cell: (o) => o.metadata.name ?? '' };
const AGE: Column = { name: 'Age', type: 'string', cell: (o) => age(o.metadata.creationTimestamp) };

const COLUMNS: Record<string, Column[]> = {
  Deployment: [
    NAME,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) => `${text(field(o, 'status.readyReplicas') ?? 0)}/${text(field(o, 'spec.replicas') ?? 1)}`,
    },
    { name: 'Up-to-date', type: 'integer', cell: (o) => Number(field(o, 'status.updatedReplicas') ?? 0) },
    { name: 'Available', type: 'integer', cell: (o) => Number(field(o, 'status.availableReplicas') ?? 0) },
    AGE,
  ],
  // The Rollout's printer columns, as `kubectl get rollouts` shows them on a real cluster.
  Rollout: [
    NAME,
    { name: 'Phase', type: 'string', cell: (o) => text(field(o, 'status.phase')) },
    { name: 'Step', type: 'integer', cell: (o) => text(field(o, 'status.currentStep')) },
    { name: 'Weight', type: 'integer', cell: (o) => text(field(o, 'status.canaryWeight')) },
    { name: 'Stable', type: 'string', cell: (o) => text(field(o, 'status.stableRevision')) },
    { name: 'Canary', type: 'string', cell: (o) => text(field(o, 'status.canaryRevision')) },
    AGE,
  ],
  // `kubectl get events` on a real cluster: kubernetes pkg/printers/internalversion printEvent, default columns.
  Event: [
    {
      name: 'Last Seen',
      type: 'string',
      cell: (o) =>
        age(text(field(o, 'lastTimestamp') ?? field(o, 'eventTime') ?? o.metadata.creationTimestamp)),
    },
    { name: 'Type', type: 'string', cell: (o) => text(field(o, 'type')) },
    { name: 'Reason', type: 'string', cell: (o) => text(field(o, 'reason')) },
    {
      name: 'Object',
      type: 'string',
      cell: (o) =>
        `${text(field(o, 'involvedObject.kind')).toLowerCase()}/${text(field(o, 'involvedObject.name'))}`,
    },
    { name: 'Message', type: 'string', cell: (o) => text(field(o, 'message')) },
  ],
};

/** A meta.k8s.io/v1 Table of `items`, for kubectl's server-side printing. */
export function asTable(
  type: ResourceType,
  items: KubeObject[],
  resourceVersion: string,
  page: { continue?: string; remainingItemCount?: number } = {},
): unknown {
  const columns = COLUMNS[type.kind] ?? [NAME, AGE];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion, ...page },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: '',
      priority: 0,
    })),
    rows: items.map((obj) => ({
      cells: columns.map((c) => c.cell(obj)),
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata },
    })),
  };
}
