// The whole local stand-in for a cluster with an Istio mesh: the in-memory Kubernetes API, the simulated
// mesh reading its routing from that API, and a real Prometheus scraping the mesh. Used by `npm run demo`
// and the end-to-end tests.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { type ApiServer, startApiServer } from './apiserver/index.js';
import { type Mesh, type MeshOptions, kubernetesConfigSource, startMesh } from './mesh/index.js';
import { type PrometheusProcess, startPrometheus } from './prometheus.js';

export interface StackOptions {
  namespace?: string;
  /** Requests per second through each VirtualService. */
  rps?: number;
  podReadyDelayMs?: number;
  readyDelayFor?: (image: string) => number;
  scrapeIntervalSeconds?: number;
  mesh?: Partial<MeshOptions>;
  /** Prometheus binary. Default: findPrometheusBinary() (STEPWISE_PROMETHEUS_BIN, the built 3.x, then PATH). */
  prometheusBinary?: string;
}

/** The API server and the mesh, without Prometheus (for tests that wait for no analysis). */
export interface MeshedCluster {
  api: ApiServer;
  mesh: Mesh;
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  namespace: string;
  dir: string;
  /** Creates (or replaces) the objects of YAML documents, as `kubectl apply` would for new objects. */
  apply(objects: KubernetesObject[]): Promise<void>;
  close(): Promise<void>;
}

export interface SandboxStack extends MeshedCluster {
  prometheus: PrometheusProcess;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** JSON with object keys sorted, as Go's encoding/json writes maps: the form kubectl stores in LAST_APPLIED. */
const sortedJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );

/** Every document of every YAML file in a folder, in file-name order. */
export function readManifests(folder: string): KubernetesObject[] {
  return readdirSync(folder)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(folder, f), 'utf8'))
        .map((doc) => doc.toJS() as KubernetesObject | null)
        .filter((o): o is KubernetesObject => !!o),
    );
}

/** Creates (or replaces) objects as `kubectl apply` would for new objects; `namespace` unless they name one. */
export function manifestApplier(
  kubeConfig: KubeConfig,
  namespace: string,
): (objects: KubernetesObject[]) => Promise<void> {
  const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  return async (manifests) => {
    for (const manifest of manifests) {
      const applied = {
        ...manifest,
        metadata: { namespace, ...manifest.metadata, annotations: { ...manifest.metadata?.annotations } },
      };
      // Recorded as `kubectl apply` records it, so a later `kubectl apply` of the same files finds nothing to change.
      const annotations = { ...applied.metadata.annotations, [LAST_APPLIED]: `${sortedJson(applied)}\n` };
      const body = { ...applied, metadata: { ...applied.metadata, annotations } };
      try {
        await objects.create(body);
      } catch (error) {
        if ((error as { code?: number }).code !== 409) throw error;
        const current = await objects.read(body as KubernetesObject & { metadata: { name: string } });
        await objects.replace({
          ...body,
          metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion },
        });
      }
    }
  };
}

/**
 * The simulated mesh, routing by the VirtualServices, DestinationRules and Deployments of `namespace` as the
 * API at `kubeConfig` serves them, and a real Prometheus scraping it.
 */
export async function startMeshAndPrometheus(
  kubeConfig: KubeConfig,
  namespace: string,
  options: StackOptions,
  prometheusBinary = options.prometheusBinary,
): Promise<{ mesh: Mesh; prometheus: PrometheusProcess }> {
  const mesh = await startMesh({
    source: kubernetesConfigSource(kubeConfig, namespace),
    rps: options.rps ?? 50,
    defaultNamespace: namespace,
    ...options.mesh,
  });
  try {
    const prometheus = await startPrometheus({
      targets: [mesh.target],
      scrapeIntervalSeconds: options.scrapeIntervalSeconds ?? 1,
      ...(prometheusBinary ? { binary: prometheusBinary } : {}),
    });
    return { mesh, prometheus };
  } catch (error) {
    await mesh.close();
    throw error;
  }
}

export async function startSandboxStack(options: StackOptions = {}): Promise<SandboxStack> {
  const cluster = await startMeshedCluster(options);
  try {
    const prometheus = await startPrometheus({
      targets: [cluster.mesh.target],
      scrapeIntervalSeconds: options.scrapeIntervalSeconds ?? 1,
      ...(options.prometheusBinary ? { binary: options.prometheusBinary } : {}),
    });
    return {
      ...cluster,
      prometheus,
      async close() {
        await prometheus.close().catch(() => undefined);
        await cluster.close();
      },
    };
  } catch (error) {
    await cluster.close();
    throw error;
  }
}

export async function startMeshedCluster(options: StackOptions = {}): Promise<MeshedCluster> {
  const namespace = options.namespace ?? 'default';
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-sandbox-'));
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const api = await startApiServer({
      podReadyDelayMs: options.podReadyDelayMs ?? 1_000,
      ...(options.readyDelayFor ? { readyDelayFor: options.readyDelayFor } : {}),
    });
    cleanups.push(() => api.close());
    const kubeconfigPath = join(dir, 'kubeconfig');
    await api.writeKubeconfig(kubeconfigPath);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(api.kubeconfig());

    const mesh = await startMesh({
      source: kubernetesConfigSource(kubeConfig, namespace),
      rps: options.rps ?? 50,
      defaultNamespace: namespace,
      ...options.mesh,
    });
    cleanups.push(() => mesh.close());

    return {
      api,
      mesh,
      kubeConfig,
      kubeconfigPath,
      namespace,
      dir,
      apply: manifestApplier(kubeConfig, namespace),
      async close() {
        for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
