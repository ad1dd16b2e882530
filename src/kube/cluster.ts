import {
  ApisApi,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1Namespace,
  type V1ObjectMeta,
  type V1Secret,
  type V1Service,
} from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../api/schema.js';
import type { RolloutStatus } from '../api/status.js';
import { boundedApiClient, CALL_TIMEOUT_MS, isTimeout } from './bounded-client.js';
import { httpStatus, isNotFound } from './errors.js';
import { withRetry } from './retry.js';

export interface RolloutObject {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta & { name: string; namespace: string };
  spec?: unknown;
  status?: RolloutStatus;
}

export interface CustomResource {
  group: string;
  version: string;
  plural: string;
  /** Older versions of the same schema, used when the cluster does not serve `version` (see `served`). */
  fallbackVersions?: string[];
}

export const ROLLOUTS: CustomResource = { group: GROUP, version: VERSION, plural: PLURAL };
// Istio serves networking.istio.io/v1 from 1.22 on; 1.21 and older serve only v1alpha3 and v1beta1, with the same
// schema (istio/istio manifests/charts/base/crds/crd-all.gen.yaml at tags 1.21.6 and 1.22.0).
export const VIRTUAL_SERVICES: CustomResource = {
  group: 'networking.istio.io',
  version: 'v1',
  plural: 'virtualservices',
  fallbackVersions: ['v1beta1'],
};
export const DESTINATION_RULES: CustomResource = {
  group: 'networking.istio.io',
  version: 'v1',
  plural: 'destinationrules',
  fallbackVersions: ['v1beta1'],
};

// Gateway API: HTTPRoute is v1 from Gateway API 1.0 (v1beta1 before), GRPCRoute v1 from 1.1 (v1alpha2 before),
// the same schema at each version (sigs.k8s.io/gateway-api apis/v1).
export const HTTP_ROUTES: CustomResource = {
  group: 'gateway.networking.k8s.io',
  version: 'v1',
  plural: 'httproutes',
  fallbackVersions: ['v1beta1'],
};
export const GRPC_ROUTES: CustomResource = {
  group: 'gateway.networking.k8s.io',
  version: 'v1',
  plural: 'grpcroutes',
  fallbackVersions: ['v1alpha2'],
};

/** Told about every Kubernetes request the controller makes, with its outcome. */
export type KubernetesRequestObserver = (request: { verb: string; resource: string; code: number }) => void;

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

async function orUndefined<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * The Kubernetes calls Stepwise makes, in one place (the RBAC rules of the chart mirror this file).
 * Reads return undefined for 404; transient failures are retried; 409 is left to the caller.
 */
export class Cluster {
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly apis: ApisApi;
  /** API group → served versions, read once from discovery (GET /apis, open to every authenticated user). */
  private servedGroups?: Promise<Map<string, string[]>>;

  private readonly timeoutMs: number;

  constructor(
    readonly kubeConfig: KubeConfig,
    private readonly onRequest?: KubernetesRequestObserver,
    options: { timeoutMs?: number } = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? CALL_TIMEOUT_MS;
    this.apps = boundedApiClient(kubeConfig, AppsV1Api, this.timeoutMs);
    this.core = boundedApiClient(kubeConfig, CoreV1Api, this.timeoutMs);
    this.custom = boundedApiClient(kubeConfig, CustomObjectsApi, this.timeoutMs);
    this.apis = boundedApiClient(kubeConfig, ApisApi, this.timeoutMs);
  }

  /**
   * The resource at the version the cluster serves: its `version` when served, else the first served of its
   * `fallbackVersions`. Unknown (discovery failed, or the group is not installed): `version`, so the error a
   * later call gets names the version Stepwise prefers.
   */
  async served(resource: CustomResource): Promise<CustomResource> {
    if (!resource.fallbackVersions?.length) return resource;
    this.servedGroups ??= this.discoverGroups();
    const versions = (await this.servedGroups).get(resource.group);
    if (versions === undefined) {
      this.servedGroups = undefined; // not installed yet, or discovery failed: ask again next time
      return resource;
    }
    const version = [resource.version, ...resource.fallbackVersions].find((v) => versions.includes(v));
    return version === undefined || version === resource.version ? resource : { ...resource, version };
  }

  /** Does the cluster serve the resource at its version or a fallback (is its CRD installed)? */
  async isServed(resource: CustomResource): Promise<boolean> {
    this.servedGroups ??= this.discoverGroups();
    const versions = (await this.servedGroups).get(resource.group) ?? [];
    return [resource.version, ...(resource.fallbackVersions ?? [])].some((v) => versions.includes(v));
  }

  private async discoverGroups(): Promise<Map<string, string[]>> {
    try {
      const list = await withRetry(this.counted('get', 'discovery', () => this.apis.getAPIVersions()));
      return new Map(list.groups.map((g) => [g.name, g.versions.map((v) => v.version)]));
    } catch {
      return new Map();
    }
  }

  /** Each attempt of a call, counted with its HTTP status (0 = no answer: network error or timeout). */
  private counted<T>(verb: string, resource: string, call: () => Promise<T>): () => Promise<T> {
    return async () => {
      try {
        const result = await call();
        this.onRequest?.({ verb, resource, code: verb === 'create' ? 201 : 200 });
        return result;
      } catch (error) {
        this.onRequest?.({ verb, resource, code: httpStatus(error) ?? 0 });
        if (isTimeout(error)) {
          const seconds = this.timeoutMs / 1000;
          throw Object.assign(
            new Error(`the Kubernetes API did not answer ${verb} ${resource} within ${seconds} s`),
            { name: 'TimeoutError' },
          );
        }
        throw error;
      }
    };
  }

  getRollout(namespace: string, name: string): Promise<RolloutObject | undefined> {
    return this.getCustom(ROLLOUTS, namespace, name) as Promise<RolloutObject | undefined>;
  }

  async listRollouts(namespace?: string): Promise<{ items: RolloutObject[]; resourceVersion?: string }> {
    const list = (await withRetry(
      this.counted('list', 'rollouts', () =>
        namespace
          ? this.custom.listNamespacedCustomObject({ ...ROLLOUTS, namespace })
          : this.custom.listClusterCustomObject(ROLLOUTS),
      ),
    )) as { items: RolloutObject[]; metadata?: { resourceVersion?: string } };
    return { items: list.items, resourceVersion: list.metadata?.resourceVersion };
  }

  /** Merge patch of /status carrying the resourceVersion read, so a pass decided on stale input gets 409. */
  async patchRolloutStatus(
    namespace: string,
    name: string,
    status: Record<string, unknown>,
    resourceVersion: string | undefined,
  ): Promise<RolloutObject> {
    const body = { metadata: resourceVersion ? { resourceVersion } : {}, status };
    return (await withRetry(
      this.counted('patch', 'rollouts/status', () =>
        this.custom.patchNamespacedCustomObjectStatus({ ...ROLLOUTS, namespace, name, body }, mergePatch),
      ),
    )) as RolloutObject;
  }

  /** Metadata merge patch of a Rollout (the CLI writes command annotations this way). */
  async patchRolloutMetadata(
    namespace: string,
    name: string,
    metadata: Record<string, unknown>,
  ): Promise<RolloutObject> {
    return (await withRetry(
      this.counted('patch', 'rollouts', () =>
        this.custom.patchNamespacedCustomObject(
          { ...ROLLOUTS, namespace, name, body: { metadata } },
          mergePatch,
        ),
      ),
    )) as RolloutObject;
  }

  getCustom(
    resource: CustomResource,
    namespace: string,
    name: string,
  ): Promise<Record<string, unknown> | undefined> {
    return this.served(resource).then(
      ({ version }) =>
        orUndefined(
          withRetry(
            this.counted('get', resource.plural, () =>
              this.custom.getNamespacedCustomObject({ ...resource, version, namespace, name }),
            ),
          ),
        ) as Promise<Record<string, unknown> | undefined>,
    );
  }

  async patchCustom(
    resource: CustomResource,
    namespace: string,
    name: string,
    body: object,
  ): Promise<Record<string, unknown>> {
    const { version } = await this.served(resource);
    return withRetry(
      this.counted('patch', resource.plural, () =>
        this.custom.patchNamespacedCustomObject({ ...resource, version, namespace, name, body }, mergePatch),
      ),
    );
  }

  /** JSON patch (RFC 6902): changes only the paths it names, where a merge patch would replace whole lists. */
  async jsonPatchCustom(
    resource: CustomResource,
    namespace: string,
    name: string,
    operations: object[],
  ): Promise<void> {
    const { version } = await this.served(resource);
    await withRetry(
      this.counted('patch', resource.plural, () =>
        this.custom.patchNamespacedCustomObject(
          { ...resource, version, namespace, name, body: operations },
          jsonPatch,
        ),
      ),
    );
  }

  getDeployment(namespace: string, name: string): Promise<V1Deployment | undefined> {
    return orUndefined(
      withRetry(
        this.counted('get', 'deployments', () => this.apps.readNamespacedDeployment({ namespace, name })),
      ),
    );
  }

  async createDeployment(namespace: string, body: V1Deployment): Promise<V1Deployment> {
    return withRetry(
      this.counted('create', 'deployments', () => this.apps.createNamespacedDeployment({ namespace, body })),
    );
  }

  async patchDeployment(namespace: string, name: string, body: object): Promise<V1Deployment> {
    return withRetry(
      this.counted('patch', 'deployments', () =>
        this.apps.patchNamespacedDeployment({ namespace, name, body }, mergePatch),
      ),
    );
  }

  getService(namespace: string, name: string): Promise<V1Service | undefined> {
    return orUndefined(
      withRetry(this.counted('get', 'services', () => this.core.readNamespacedService({ namespace, name }))),
    );
  }

  async createService(namespace: string, body: V1Service): Promise<V1Service> {
    return withRetry(
      this.counted('create', 'services', () => this.core.createNamespacedService({ namespace, body })),
    );
  }

  getSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    return orUndefined(
      withRetry(this.counted('get', 'secrets', () => this.core.readNamespacedSecret({ namespace, name }))),
    );
  }

  getNamespace(name: string): Promise<V1Namespace | undefined> {
    return orUndefined(withRetry(this.counted('get', 'namespaces', () => this.core.readNamespace({ name }))));
  }

  async createEvent(
    namespace: string,
    rollout: RolloutObject,
    event: { type: string; reason: string; message: string; name?: string },
  ): Promise<void> {
    const now = new Date();
    await withRetry(
      this.counted('create', 'events', () =>
        this.core.createNamespacedEvent({
          namespace,
          body: {
            metadata: {
              // A fixed name makes a repeated create fail with 409 instead of recording the Event twice.
              name:
                event.name ??
                `${rollout.metadata.name}.${now.getTime().toString(16)}${Math.random().toString(16).slice(2, 6)}`,
              namespace,
            },
            involvedObject: {
              apiVersion: rollout.apiVersion,
              kind: rollout.kind,
              name: rollout.metadata.name,
              namespace,
              uid: rollout.metadata.uid,
              resourceVersion: rollout.metadata.resourceVersion,
            },
            type: event.type,
            reason: event.reason,
            message: event.message.slice(0, 1024),
            source: { component: 'stepwise' },
            reportingComponent: 'stepwise.dev/controller',
            reportingInstance: process.env.HOSTNAME ?? 'stepwise',
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        }),
      ),
    );
  }
}
