// Who is asking, and what they may see and do. `stepwise dashboard` on loopback acts for the one user whose
// kubeconfig it runs with (loopbackAccess); the controller's in-cluster dashboard asks the API server about
// each caller (token-review-access.ts), so a user sees and does only what their own RBAC allows on the Rollout.
import type { IncomingHttpHeaders } from 'node:http';
import { refuseHost, type GuardSettings } from './request-guard.js';

/** Verbs on a Rollout the dashboard needs: the pages read (get, list), the buttons patch. */
export type RolloutVerb = 'get' | 'list' | 'patch';

/** The caller as the API server names it (a TokenReview's status.user). */
export interface Caller {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export type Authentication =
  { caller: Caller } | { refused: { code: 401 | 421; message: string; headers?: Record<string, string> } };

export interface DashboardAccess {
  /** Who sent the request, or why it is refused before anything else. */
  authenticate(headers: IncomingHttpHeaders): Promise<Authentication>;
  /** Whether the caller may `verb` Rollouts in `namespace` (all namespaces when undefined), or the one named. */
  allowed(caller: Caller, verb: RolloutVerb, namespace?: string, name?: string): Promise<boolean>;
}

/** The kubeconfig's user, on loopback: every request that names the dashboard's address is theirs. */
export function loopbackAccess(guard: GuardSettings): DashboardAccess {
  const caller: Caller = { username: 'the kubeconfig user' };
  return {
    async authenticate(headers) {
      const hostProblem = refuseHost(headers, guard);
      return hostProblem ? { refused: { code: 421, message: hostProblem } } : { caller };
    },
    // The API server checks the kubeconfig's own rights on every read and command.
    allowed: async () => true,
  };
}
