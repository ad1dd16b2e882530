// The in-cluster dashboard's access: every request carries a bearer token, which the API server resolves to
// a user with a TokenReview; every read and command is then allowed only if a SubjectAccessReview says that
// user may do it on the Rollout. The controller's own rights never decide: it only serves what the user may see.
// (The same checks kube-rbac-proxy makes in front of a service, brancz/kube-rbac-proxy.)
import { createHash } from 'node:crypto';
import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { GROUP } from '../api/schema.js';
import { boundedApiClient, CALL_TIMEOUT_MS } from '../kube/bounded-client.js';
import type { Authentication, Caller, DashboardAccess } from './access.js';

/** The page polls every second: one review per token or question per 10 s is plenty, and bounds the load. */
const REMEMBER_MS = 10_000;
const MAX_REMEMBERED = 1_000;

class ShortMemory<T> {
  private readonly entries = new Map<string, { value: T; until: number }>();

  async get(key: string, compute: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.until > now) return hit.value;
    const value = await compute();
    if (this.entries.size >= MAX_REMEMBERED) this.entries.clear();
    this.entries.set(key, { value, until: now + REMEMBER_MS });
    return value;
  }
}

const UNAUTHORIZED = (message: string): Authentication => ({
  refused: { code: 401, message, headers: { 'WWW-Authenticate': 'Bearer realm="stepwise"' } },
});

export function tokenReviewAccess(kubeConfig: KubeConfig): DashboardAccess {
  const authn = boundedApiClient(kubeConfig, AuthenticationV1Api, CALL_TIMEOUT_MS);
  const authz = boundedApiClient(kubeConfig, AuthorizationV1Api, CALL_TIMEOUT_MS);
  const users = new ShortMemory<Caller | undefined>();
  const answers = new ShortMemory<boolean>();
  return {
    async authenticate(headers) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
      if (!match) {
        return UNAUTHORIZED(
          'no bearer token: send "Authorization: Bearer <token>" with a token the Kubernetes API accepts (e.g. from an authenticating proxy, or `kubectl create token`)',
        );
      }
      const token = match[1]!;
      const caller = await users.get(createHash('sha256').update(token).digest('hex'), async () => {
        const review = await authn.createTokenReview({ body: { spec: { token } } });
        const user = review.status?.user;
        return review.status?.authenticated && user?.username
          ? { username: user.username, uid: user.uid, groups: user.groups, extra: user.extra }
          : undefined;
      });
      return caller ? { caller } : UNAUTHORIZED('the Kubernetes API did not accept the bearer token');
    },
    allowed(caller, verb, namespace, name) {
      const resourceAttributes = { group: GROUP, resource: 'rollouts', verb, namespace, name };
      return answers.get(JSON.stringify([caller, resourceAttributes]), async () => {
        const review = await authz.createSubjectAccessReview({
          body: {
            spec: {
              user: caller.username,
              uid: caller.uid,
              groups: caller.groups,
              extra: caller.extra,
              resourceAttributes,
            },
          },
        });
        return review.status?.allowed === true;
      });
    },
  };
}
