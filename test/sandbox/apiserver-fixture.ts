import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  ApiException,
} from '@kubernetes/client-node';
import type { V1Deployment } from '@kubernetes/client-node';
import { startApiServer } from '../../sandbox/apiserver/index.js';
import type { ApiServer, ApiServerOptions } from '../../sandbox/apiserver/index.js';

export interface Sandbox {
  server: ApiServer;
  kc: KubeConfig;
  apps: AppsV1Api;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  coordination: CoordinationV1Api;
}

/** A running sandbox API with real client-node clients configured from its kubeconfig. */
export async function startSandbox(options: ApiServerOptions = {}): Promise<Sandbox> {
  const server = await startApiServer({ podReadyDelayMs: 50, ...options });
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig());
  return {
    server,
    kc,
    apps: kc.makeApiClient(AppsV1Api),
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    coordination: kc.makeApiClient(CoordinationV1Api),
  };
}

export function deployment(name: string, image: string, replicas = 1): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image }] },
      },
    },
  };
}

export const ROLLOUTS = { group: 'stepwise.dev', version: 'v1alpha1', plural: 'rollouts' } as const;

export function rollout(name: string, namespace = 'default'): Record<string, unknown> {
  return {
    apiVersion: 'stepwise.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace },
    spec: { targetRef: { kind: 'Deployment', name } },
  };
}

/** The `Status` body and HTTP code of a failed client-node call. */
export async function failure(
  call: Promise<unknown>,
): Promise<{ code: number; status: Record<string, unknown>; headers: Record<string, string> }> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const body: unknown = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    return {
      code: err.code,
      status: body as Record<string, unknown>,
      headers: err.headers as Record<string, string>,
    };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Retries `check` until it stops throwing (the last error is rethrown after `timeoutMs`). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
