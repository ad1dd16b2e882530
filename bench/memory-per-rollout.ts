// npx node --expose-gc --import tsx bench/memory-per-rollout.ts [--rollouts N]
// What one Rollout costs the controller's live heap, by part: the watch caches (the Rollout, its Deployment and
// <app>-stable, VirtualService, DestinationRule, as the sandbox API server serves them after adoption), the
// reference index, the work queue's re-check timer and the per-Rollout metric series. Each object is parsed
// from its own JSON text, as a watch event is, so no string is shared that a real watch would not share.
import { randomUUID } from 'node:crypto';
import { CachedCluster } from '../src/controller/cached-cluster.js';
import type { ClusterAccess } from '../src/controller/cluster-access.js';
import { ReferenceIndex } from '../src/controller/index-by-reference.js';
import { WorkQueue } from '../src/controller/queue.js';
import type { RolloutObject } from '../src/kube/cluster.js';
import type { Decision } from '../src/rollout/types.js';
import { ControllerMetrics } from '../src/telemetry/metrics.js';
import * as service from './scale-service.js';

const at = process.argv.indexOf('--rollouts');
const N = at >= 0 ? Number(process.argv[at + 1]) : 10_000;
if (!Number.isInteger(N) || N < 1) throw new Error(`--rollouts must be a whole number above 0, got ${N}`);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with npx node --expose-gc --import tsx bench/memory-per-rollout.ts');

const stamp = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
const revision = (i: number) => (i * 2654435761).toString(16).padStart(10, '0').slice(-10);

/** The five objects of service i after adoption, as JSON texts (shapes of the sandbox API server's answers). */
function objectsOf(i: number): { kind: string; json: string }[] {
  const ns = `team-${i % 10}`;
  const app = `svc-${i}`;
  const uid = randomUUID();
  const meta = (name: string, rv: number) => ({
    name,
    namespace: ns,
    uid: randomUUID(),
    creationTimestamp: stamp(i),
    generation: 1,
    resourceVersion: String(rv),
  });
  const deploymentStatus = {
    availableReplicas: 2,
    conditions: [
      {
        lastTransitionTime: stamp(i),
        lastUpdateTime: stamp(i),
        message: 'Deployment has minimum availability.',
        reason: 'MinimumReplicasAvailable',
        status: 'True',
        type: 'Available',
      },
      {
        lastTransitionTime: stamp(i),
        lastUpdateTime: stamp(i),
        message: `ReplicaSet "${app}-${revision(i)}" has successfully progressed.`,
        reason: 'NewReplicaSetAvailable',
        status: 'True',
        type: 'Progressing',
      },
    ],
    observedGeneration: 1,
    readyReplicas: 2,
    replicas: 2,
    updatedReplicas: 2,
  };
  const message = `stable revision ${revision(i)} serves 100% of the traffic`;
  const condition = (type: string, status: string, reason: string, text: string) => ({
    type,
    status,
    reason,
    message: text,
    lastTransitionTime: stamp(i),
  });
  const rollout = {
    apiVersion: 'stepwise.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { ...meta(app, 5 * i + 5), uid, finalizers: ['stepwise.dev/keep-stable-serving'] },
    spec: service.rolloutSpec(app, 'http://prometheus.istio-system:9090'),
    status: {
      observedGeneration: 1,
      phase: 'Healthy',
      reason: 'Initialized',
      message,
      replicas: 2,
      stableRevision: revision(i),
      conditions: [
        condition('Ready', 'True', 'Healthy', message),
        condition('Progressing', 'False', 'Healthy', message),
        condition('InvalidSpec', 'False', 'Valid', ''),
      ],
      outbox: {},
      canaryWeight: 0,
      currentStep: 0,
    },
  };
  const target = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(app, 5 * i + 1),
    spec: { ...service.deploymentSpec(app), replicas: 0 },
    status: { ...deploymentStatus, availableReplicas: 0, readyReplicas: 0, replicas: 0, updatedReplicas: 0 },
  };
  const stable = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      ...meta(`${app}-stable`, 5 * i + 2),
      annotations: { 'stepwise.dev/revision': revision(i) },
      labels: { 'app.kubernetes.io/managed-by': 'stepwise', 'stepwise.dev/track': 'stable' },
      ownerReferences: [
        {
          apiVersion: 'stepwise.dev/v1alpha1',
          blockOwnerDeletion: true,
          controller: true,
          kind: 'Rollout',
          name: app,
          uid,
        },
      ],
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app, 'stepwise.dev/track': 'stable' } },
      template: service.podTemplate(app, `${app}:1`, 'stable'),
    },
    status: deploymentStatus,
  };
  const virtualService = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: meta(app, 5 * i + 3),
    spec: service.virtualServiceSpec(app),
  };
  const destinationRule = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: meta(app, 5 * i + 4),
    spec: service.destinationRuleSpec(app),
  };
  return [
    { kind: 'Rollout', json: JSON.stringify(rollout) },
    { kind: 'Deployment', json: JSON.stringify(target) },
    { kind: 'Deployment', json: JSON.stringify(stable) },
    { kind: 'VirtualService', json: JSON.stringify(virtualService) },
    { kind: 'DestinationRule', json: JSON.stringify(destinationRule) },
  ];
}

function heapMiB(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

const cluster = new CachedCluster({} as ClusterAccess);
const index = new ReferenceIndex();
const queue = new WorkQueue(() => Promise.resolve());
const metrics = new ControllerMetrics();
const keys: string[] = [];
let jsonBytes = 0;

const parts: [string, () => void][] = [
  [
    'watch caches (5 objects)',
    () => {
      for (let i = 0; i < N; i++) {
        for (const { kind, json } of objectsOf(i)) {
          jsonBytes += json.length;
          cluster.onWatchEvent(kind as 'Rollout', 'ADDED', JSON.parse(json));
        }
      }
    },
  ],
  [
    'reference index',
    () => {
      for (let i = 0; i < N; i++) {
        const rollout = cluster.caches.Rollout.get(`team-${i % 10}`, `svc-${i}`) as unknown as RolloutObject;
        const key = `${rollout.metadata.namespace}/${rollout.metadata.name}`;
        keys.push(key);
        index.set(key, rollout.spec);
      }
    },
  ],
  ['re-check timer', () => keys.forEach((key, i) => queue.addAfter(key, 60_000 + i))],
  [
    'metric series',
    () => {
      for (const key of keys) {
        const [namespace, name] = key.split('/') as [string, string];
        const rollout = cluster.caches.Rollout.get(namespace, name) as unknown as RolloutObject;
        const decision = { status: rollout.status, actions: [], announcements: [], moves: [] };
        metrics.record(rollout, decision as unknown as Decision, undefined);
      }
    },
  ],
];

const rows: [string, number][] = [];
let before = heapMiB();
for (const [name, fill] of parts) {
  fill();
  const after = heapMiB();
  rows.push([name, ((after - before) * 1024) / N]);
  before = after;
}
await queue.stop();

const total = rows.reduce((sum, [, kb]) => sum + kb, 0);
console.log(`| part (N = ${N}) | KiB per Rollout | MiB at 10,000 |`);
console.log('|---|---|---|');
for (const [name, kb] of [...rows, ['total', total] as [string, number]]) {
  console.log(`| ${name} | ${kb.toFixed(2)} | ${((kb * 10_000) / 1024).toFixed(0)} |`);
}
console.log(`(JSON of the 5 objects: ${(jsonBytes / N / 1024).toFixed(2)} KiB per Rollout)`);
console.log(JSON.stringify({ rollouts: N, kibPerRollout: Object.fromEntries(rows), total }));
