// A real Kubernetes control plane on 127.0.0.1 for the cluster tier and the API contract test: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and kwok with fake Nodes (one by default), so Deployments get
// ReplicaSets and Pods that are scheduled and become Running and Ready. Started the way controller-runtime's
// envtest starts etcd and kube-apiserver (pkg/internal/testing/controlplane: RBAC, a loopback secure port,
// generated serving certs and service-account keys, the ServiceAccount admission plugin off), plus the two
// controllers and kwok, which envtest leaves out.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { makeCerts, pem, type Certs } from '../support/certs.js';
import { freePort, startComponent, type Component } from './processes.js';
import { writeKwokConfig } from './kwok-stages.js';
import { toolBinary } from './tools.js';

export interface ControlPlane {
  /** `https://127.0.0.1:PORT` */
  url: string;
  /** The admin credential (group system:masters). */
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  dir: string;
  /** kube-apiserver's `/version` gitVersion, e.g. v1.36.3. */
  version: string;
  /** How long the start took, in ms. */
  startedInMs: number;
  /**
   * A kubeconfig file that authenticates as a ServiceAccount with a token from the TokenRequest API, so the
   * RBAC bound to that ServiceAccount is all its user may do.
   */
  serviceAccountKubeconfig(namespace: string, name: string): Promise<string>;
  /** POSTs a raw JSON object as the admin (for objects client-node cannot serialize faithfully). */
  post(path: string, body: unknown): Promise<{ status: number; json: unknown }>;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Bound on the whole start; a component not ready by then fails it with its log's tail. */
  startTimeoutMs?: number;
  /**
   * Also start the controller manager, the scheduler and kwok, so Deployments get ReplicaSets and Pods that
   * become Running and Ready (default true; the API contract needs etcd and kube-apiserver only).
   */
  workloads?: boolean;
  /** Fake Nodes kwok manages, each with room for PODS_PER_NODE pods (default 1: every test fits on one). */
  nodes?: number;
  /**
   * The controller manager's own client limit (its --kube-api-qps, burst twice that; default its own 20 / 30),
   * for a bench whose thousands of ReplicaSets and Pods would otherwise wait on it.
   */
  controllerManagerQps?: number;
}

export const FAKE_NODE = 'kwok-node-0';
/** Pods one fake Node takes; the scheduler spreads the rest over the other Nodes. */
export const PODS_PER_NODE = 500;

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const started = Date.now();
  const deadline = started + (options.startTimeoutMs ?? 180_000);
  const left = () => Math.max(1_000, deadline - Date.now());
  const workloads = options.workloads ?? true;
  const nodes = options.nodes ?? 1;
  if (!Number.isInteger(nodes) || nodes < 1)
    throw new Error(`nodes must be a whole number of at least 1 (fake Nodes for kwok), got ${nodes}`);
  // Every binary is looked up before anything starts, so a missing build fails at once with its cause.
  const binaries = {
    etcd: toolBinary('etcd'),
    apiserver: toolBinary('kubernetes', 'kube-apiserver'),
  };
  const workloadBinaries = workloads
    ? {
        controllerManager: toolBinary('kubernetes', 'kube-controller-manager'),
        scheduler: toolBinary('kubernetes', 'kube-scheduler'),
        kwok: toolBinary('kwok'),
      }
    : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-control-plane-'));
  const components: Component[] = [];
  const stopAll = async () => {
    for (const component of components.reverse()) await component.stop().catch(() => undefined);
    components.length = 0;
  };
  try {
    const certs = makeCerts(dir);
    const [etcdPort, peerPort, apiPort, kcmPort, schedulerPort, kwokPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcd = startComponent(
      'etcd',
      binaries.etcd,
      [
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
        '--unsafe-no-fsync',
      ],
      join(dir, 'etcd.log'),
    );
    components.push(etcd);
    await etcd.waitUntil(async () => (await fetch(`${etcdUrl}/health`)).ok, left());

    const url = `https://127.0.0.1:${apiPort}`;
    const apiserver = startComponent(
      'kube-apiserver',
      binaries.apiserver,
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(dir, 'apiserver')}`,
        `--tls-cert-file=${certs.servingCert}`,
        `--tls-private-key-file=${certs.servingKey}`,
        `--client-ca-file=${certs.caCert}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        '--authorization-mode=RBAC',
        // As envtest: pods need no ServiceAccount token volume (kwok runs no containers).
        '--disable-admission-plugins=ServiceAccount',
        `--service-account-issuer=${url}`,
        `--service-account-key-file=${certs.serviceAccountPublicKey}`,
        `--service-account-signing-key-file=${certs.serviceAccountKey}`,
      ],
      join(dir, 'kube-apiserver.log'),
    );
    components.push(apiserver);
    await apiserver.waitUntil(async () => (await get(url, '/readyz', certs)).status === 200, left());

    const kubeConfig = adminKubeConfig(url, certs);
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    writeFileSync(kubeconfigPath, kubeConfig.exportConfig());
    const core = kubeConfig.makeApiClient(CoreV1Api);

    if (workloadBinaries) {
      await startWorkloadComponents({
        binaries: workloadBinaries,
        ports: { kcmPort, schedulerPort, kwokPort },
        dir,
        certs,
        kubeconfigPath,
        core,
        components,
        left,
        nodes,
        controllerManagerQps: options.controllerManagerQps,
      });
    }

    const version = ((await get(url, '/version', certs)).json as { gitVersion?: string }).gitVersion ?? '?';
    return {
      url,
      kubeConfig,
      kubeconfigPath,
      dir,
      version,
      startedInMs: Date.now() - started,
      async serviceAccountKubeconfig(namespace, name) {
        const token = await core.createNamespacedServiceAccountToken({
          namespace,
          name,
          body: { spec: { audiences: [], expirationSeconds: 3600 } },
        });
        const config = new KubeConfig();
        config.loadFromOptions({
          clusters: [{ name: 'control-plane', server: url, caData: base64(pem(certs.caCert)) }],
          users: [{ name: `${namespace}-${name}`, token: token.status?.token }],
          contexts: [{ name: 'sa', cluster: 'control-plane', user: `${namespace}-${name}`, namespace }],
          currentContext: 'sa',
        });
        const path = join(dir, `${namespace}-${name}.kubeconfig`);
        writeFileSync(path, config.exportConfig());
        return path;
      },
      post: (path, body) => send('POST', url, path, certs, body),
      async stop() {
        await stopAll();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

interface WorkloadSetup {
  binaries: { controllerManager: string; scheduler: string; kwok: string };
  ports: { kcmPort: number; schedulerPort: number; kwokPort: number };
  dir: string;
  certs: Certs;
  kubeconfigPath: string;
  core: CoreV1Api;
  /** Started components are added here, to be stopped with the rest. */
  components: Component[];
  /** Time left of the start budget, in ms. */
  left: () => number;
  nodes: number;
  controllerManagerQps: number | undefined;
}

/** The controller manager, the scheduler and kwok with its fake Nodes, until pods could become Ready. */
async function startWorkloadComponents(setup: WorkloadSetup): Promise<void> {
  const { binaries, dir, certs, kubeconfigPath, core, components, left } = setup;
  const { kcmPort, schedulerPort, kwokPort } = setup.ports;
  // Both serve /healthz on a loopback port of their own, with a self-signed certificate in their cert dir.
  const controller = (name: string, binary: string, port: number, extra: string[]) =>
    startComponent(
      name,
      binary,
      [
        `--kubeconfig=${kubeconfigPath}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${join(dir, name)}`,
        ...extra,
      ],
      join(dir, `${name}.log`),
    );
  const controllerManager = controller('kube-controller-manager', binaries.controllerManager, kcmPort, [
    `--service-account-private-key-file=${certs.serviceAccountKey}`,
    `--root-ca-file=${certs.caCert}`,
    ...(setup.controllerManagerQps
      ? [`--kube-api-qps=${setup.controllerManagerQps}`, `--kube-api-burst=${2 * setup.controllerManagerQps}`]
      : []),
  ]);
  components.push(controllerManager);
  const scheduler = controller('kube-scheduler', binaries.scheduler, schedulerPort, []);
  components.push(scheduler);
  const kwok = startComponent(
    'kwok',
    binaries.kwok,
    [
      `--kubeconfig=${kubeconfigPath}`,
      `--config=${writeKwokConfig(join(dir, 'kwok.yaml'))}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      `--server-address=127.0.0.1:${kwokPort}`,
      '--node-ip=10.0.1.1',
      '--cidr=10.0.2.0/24',
    ],
    join(dir, 'kwok.log'),
  );
  components.push(kwok);

  await controllerManager.waitUntil(
    async () => (await get(`https://127.0.0.1:${kcmPort}`, '/healthz', undefined)).status === 200,
    left(),
  );
  await scheduler.waitUntil(
    async () => (await get(`https://127.0.0.1:${schedulerPort}`, '/healthz', undefined)).status === 200,
    left(),
  );
  // kwok manages every Node with the annotation its flag selects, however many there are.
  const names = Array.from({ length: setup.nodes }, (_, i) => `kwok-node-${i}`);
  for (const name of names) await core.createNode({ body: fakeNode(name) });
  await kwok.waitUntil(async () => {
    const { items } = await core.listNode({ labelSelector: 'type=kwok' });
    const ready = items.filter((n) =>
      n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    return ready.length === names.length;
  }, left());
  // The ServiceAccount controller creating `default` shows the controller manager runs its controllers.
  await controllerManager.waitUntil(
    async () => !!(await core.readNamespacedServiceAccount({ namespace: 'default', name: 'default' })),
    left(),
  );
}

function adminKubeConfig(url: string, certs: Certs): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'control-plane', server: url, caData: base64(pem(certs.caCert)) }],
    users: [{ name: 'admin', certData: base64(pem(certs.adminCert)), keyData: base64(pem(certs.adminKey)) }],
    contexts: [{ name: 'admin', cluster: 'control-plane', user: 'admin', namespace: 'default' }],
    currentContext: 'admin',
  });
  return config;
}

/** A Node kwok manages (the annotation) with room for PODS_PER_NODE pods, without a NoSchedule taint. */
function fakeNode(name: string) {
  const room = { cpu: '64', memory: '256Gi', pods: String(PODS_PER_NODE) };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', type: 'kwok' },
    },
    status: { allocatable: room, capacity: room },
  };
}

const base64 = (text: string) => Buffer.from(text).toString('base64');

/**
 * One request on loopback HTTPS, with the admin client certificate when `certs` is given, else anonymous;
 * the body is sent as JSON exactly as given (client-node's typed serializer would drop fields it has no
 * model for, such as the `x-kubernetes-*` keys of Istio's CRD schemas).
 */
function send(
  method: string,
  base: string,
  path: string,
  certs: Certs | undefined,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      {
        method,
        timeout: 10_000,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(certs
          ? { ca: pem(certs.caCert), cert: pem(certs.adminCert), key: pem(certs.adminKey) }
          : // The controller manager and scheduler serve /healthz with a self-signed certificate of their own.
            { rejectUnauthorized: false }),
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = text;
          }
          resolve({ status: response.statusCode ?? 0, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const get = (base: string, path: string, certs: Certs | undefined) => send('GET', base, path, certs);
