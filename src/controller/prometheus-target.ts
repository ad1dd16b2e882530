// Where and how to reach Prometheus for a Rollout: its own address and Secret-based auth, or the controller default.
//
// The controller may read every Secret of a namespace, a Rollout author perhaps none: credentials must not let a
// Rollout carry any Secret to any URL. So a Secret is sent only when it opts in with CREDENTIALS_LABEL, and only
// to the controller's own --prometheus-address or an address the operator allowed (--prometheus-credentials-address).
import type { V1Secret } from '@kubernetes/client-node';
import type { RolloutSpec } from '../api/schema.js';
import type { Problem } from '../api/validate.js';
import type { PrometheusTarget } from '../analysis/types.js';
import { unreadableSecret } from '../kube/unreadable-secret.js';
import type { ClusterAccess } from './cluster-access.js';

/** The label a Secret must carry, with the value "true", before a Rollout may send it to Prometheus. */
export const CREDENTIALS_LABEL = 'stepwise.dev/prometheus-credentials';

export interface PrometheusPolicy {
  /** --prometheus-address: for Rollouts that name no address; always allowed to receive credentials. */
  defaultAddress?: string;
  /** --prometheus-credentials-address: further URL prefixes that may receive credentials from Secrets. */
  credentialsAddresses?: readonly string[];
}

export type PrometheusResolution =
  | { ok: true; resolve(cluster: ClusterAccess, namespace: string): Promise<PrometheusTarget> }
  | { ok: false; problem: Problem };

function optedIn(secret: V1Secret): boolean {
  return secret.metadata?.labels?.[CREDENTIALS_LABEL] === 'true';
}

async function secretValue(
  cluster: ClusterAccess,
  namespace: string,
  field: string,
  { name, key }: { name: string; key: string },
): Promise<string> {
  const shown = JSON.stringify(name);
  const secret = await cluster.getSecret(namespace, name).catch((error: unknown) => {
    throw unreadableSecret(error, namespace, name, field);
  });
  if (!secret) throw new Error(`Secret ${shown} not found in namespace ${namespace}`);
  if (!optedIn(secret)) {
    throw new Error(
      `Secret ${shown} is not labelled ${CREDENTIALS_LABEL}=true, so it is not sent; label it (kubectl label secret ${name} ${CREDENTIALS_LABEL}=true) if it is meant for Prometheus`,
    );
  }
  const encoded = secret.data?.[key];
  if (encoded === undefined) {
    throw new Error(`Secret ${shown} has no key ${JSON.stringify(key)} in namespace ${namespace}`);
  }
  return Buffer.from(encoded, 'base64').toString('utf8');
}

/** True when `address` is `allowed` or below it: same scheme, host and port, and a path under its path. */
export function isUnder(address: string, allowed: string): boolean {
  let target: URL;
  let prefix: URL;
  try {
    target = new URL(address);
    prefix = new URL(allowed);
  } catch {
    return false;
  }
  const dir = (path: string) => (path.endsWith('/') ? path : `${path}/`);
  return target.origin === prefix.origin && dir(target.pathname).startsWith(dir(prefix.pathname));
}

function credentialsProblem(address: string, policy: PrometheusPolicy, field: string): Problem | undefined {
  const allowed = [policy.defaultAddress, ...(policy.credentialsAddresses ?? [])].filter(
    (entry): entry is string => entry !== undefined && entry !== '',
  );
  if (allowed.some((entry) => isUnder(address, entry))) return undefined;
  const where = allowed.length
    ? `only to ${allowed.join(', ')}`
    : 'to no address (the controller has neither --prometheus-address nor --prometheus-credentials-address)';
  return {
    path: 'spec.analysis.prometheus.address',
    message: `${JSON.stringify(address)} may not receive the credentials of ${field}: the controller sends Secrets ${where}; use one of those addresses, remove ${field}, or ask the operator to allow the address with --prometheus-credentials-address`,
  };
}

export function resolvePrometheus(spec: RolloutSpec, policy: PrometheusPolicy): PrometheusResolution {
  const own = spec.analysis.prometheus;
  const address = own?.address ?? policy.defaultAddress;
  if (!address) {
    return {
      ok: false,
      problem: {
        path: 'spec.analysis.prometheus.address',
        message: 'is not set and the controller has no --prometheus-address; set one of them',
      },
    };
  }
  const field = own?.bearerTokenSecretRef
    ? 'spec.analysis.prometheus.bearerTokenSecretRef'
    : own?.basicAuthSecretRef
      ? 'spec.analysis.prometheus.basicAuthSecretRef'
      : undefined;
  const problem = field ? credentialsProblem(address, policy, field) : undefined;
  if (problem) return { ok: false, problem };
  return {
    ok: true,
    async resolve(cluster, namespace) {
      const headers: Record<string, string> = { ...own?.headers };
      if (own?.bearerTokenSecretRef) {
        const token = await secretValue(cluster, namespace, field!, own.bearerTokenSecretRef);
        headers.Authorization = `Bearer ${token.trim()}`;
      } else if (own?.basicAuthSecretRef) {
        const { name } = own.basicAuthSecretRef;
        const user = await secretValue(cluster, namespace, field!, { name, key: 'username' });
        const password = await secretValue(cluster, namespace, field!, { name, key: 'password' });
        headers.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      }
      return { address, headers };
    },
  };
}
