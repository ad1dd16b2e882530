// Where and how to reach Prometheus for a Rollout: its own address and Secret-based auth, or the controller default.
import type { RolloutSpec } from '../api/schema.js';
import type { Problem } from '../api/validate.js';
import type { PrometheusTarget } from '../analysis/types.js';
import type { ClusterAccess } from './cluster-access.js';

export type PrometheusResolution =
  | { ok: true; resolve(cluster: ClusterAccess, namespace: string): Promise<PrometheusTarget> }
  | { ok: false; problem: Problem };

async function secretValue(
  cluster: ClusterAccess,
  namespace: string,
  name: string,
  key: string,
): Promise<string> {
  const secret = await cluster.getSecret(namespace, name);
  const encoded = secret?.data?.[key];
  if (encoded === undefined) {
    throw new Error(
      `Secret ${JSON.stringify(name)} has no key ${JSON.stringify(key)} in namespace ${namespace}`,
    );
  }
  return Buffer.from(encoded, 'base64').toString('utf8');
}

export function resolvePrometheus(
  spec: RolloutSpec,
  defaultAddress: string | undefined,
): PrometheusResolution {
  const own = spec.analysis.prometheus;
  const address = own?.address ?? defaultAddress;
  if (!address) {
    return {
      ok: false,
      problem: {
        path: 'spec.analysis.prometheus.address',
        message: 'is not set and the controller has no --prometheus-address; set one of them',
      },
    };
  }
  return {
    ok: true,
    async resolve(cluster, namespace) {
      const headers: Record<string, string> = { ...own?.headers };
      if (own?.bearerTokenSecretRef) {
        const { name, key } = own.bearerTokenSecretRef;
        headers.Authorization = `Bearer ${(await secretValue(cluster, namespace, name, key)).trim()}`;
      } else if (own?.basicAuthSecretRef) {
        const { name } = own.basicAuthSecretRef;
        const user = await secretValue(cluster, namespace, name, 'username');
        const password = await secretValue(cluster, namespace, name, 'password');
        headers.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      }
      return { address, headers };
    },
  };
}
