import {
  type Configuration,
  createConfiguration,
  type KubeConfig,
  type RequestContext,
  ServerConfiguration,
} from '@kubernetes/client-node';
import { type ClientRateLimit, ClientRateLimiter, type RateLimitObserver } from './client-rate-limit.js';

// Without a bound, undici waits up to 300 s for an answer, and withRetry makes that four attempts: one stalled
// API server would hold a reconcile pass (and the key's queue slot) for 20 minutes.

/** Per attempt of a single-object call (get, create, patch): a healthy API server answers in milliseconds. */
export const CALL_TIMEOUT_MS = 15_000;
/**
 * Per list. kube-apiserver gives up on a non-watch request after its --request-timeout (default 60 s)
 * and answers 504, so waiting longer only waits for a server that already stopped working on it.
 */
export const LIST_TIMEOUT_MS = 60_000;

/**
 * What all clients of one kubeconfig share: the token bucket and one connection pool. client-node 2.0.1 builds a
 * new undici Agent for every request (KubeConfig.applySecurityAuthentication → createDispatcher), so every call
 * opened a new TCP connection, and over HTTPS a new TLS handshake. The first request's Agent (built with the
 * kubeconfig's CA and client certificate) is kept and given to every later request, which then reuse its
 * kept-alive connections, for POOL_MAX_AGE_MS.
 */
interface Shared {
  limiter: ClientRateLimiter;
  pool?: { dispatcher: NonNullable<ReturnType<RequestContext['getDispatcher']>>; since: number };
}

/**
 * How long one pool is kept. client-node reads the kubeconfig's certificate and CA files anew for every request's
 * Agent (applyHTTPSOptions), so renewing the pool this often lets a rotated client certificate (cert-manager,
 * kubeadm's kubelet-style rotation) take effect within minutes instead of at the next restart; the cost is one
 * TLS handshake per period.
 */
export const POOL_MAX_AGE_MS = 5 * 60_000;

/** The pool for this request: the kept one, or the request's fresh Agent once the kept one is too old. */
function pooledDispatcher(shared: Shared, fresh: ReturnType<RequestContext['getDispatcher']>) {
  const now = Date.now();
  if (fresh && (!shared.pool || now - shared.pool.since >= POOL_MAX_AGE_MS)) {
    const old = shared.pool?.dispatcher;
    shared.pool = { dispatcher: fresh, since: now };
    // Graceful: the old pool finishes the requests it carries (a watch included), then closes its sockets.
    void old?.close().catch(() => undefined);
  }
  return shared.pool?.dispatcher;
}
const sharedByKubeConfig = new WeakMap<KubeConfig, Shared>();

function sharedFor(kubeConfig: KubeConfig): Shared {
  let shared = sharedByKubeConfig.get(kubeConfig);
  if (!shared) {
    shared = { limiter: new ClientRateLimiter() };
    sharedByKubeConfig.set(kubeConfig, shared);
  }
  return shared;
}

/**
 * Sets the client-side rate limit of every client of this kubeconfig (--kube-api-qps, --kube-api-burst): the
 * clients built before and after share the new bucket.
 */
export function limitRequests(
  kubeConfig: KubeConfig,
  { qps, burst }: ClientRateLimit,
  onWaited?: RateLimitObserver,
): void {
  sharedFor(kubeConfig).limiter = new ClientRateLimiter(qps, burst, Date.now, onWaited);
}

/**
 * A generated client-node API client whose every request waits for the client's rate limit, reuses the shared
 * connection pool and is aborted after `timeoutMs` (a TimeoutError, which withRetry treats as transient).
 * Same server, credentials and TLS as client-node's own makeApiClient.
 */
export function boundedApiClient<T>(
  kubeConfig: KubeConfig,
  apiType: new (configuration: Configuration) => T,
  timeoutMs: number,
): T {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster; choose one with --context');
  const shared = sharedFor(kubeConfig);
  return new apiType(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeConfig },
      promiseMiddleware: [
        {
          pre: async (context) => {
            await shared.limiter.wait();
            context.setHeaderParam('User-Agent', 'stepwise');
            // Middleware runs after the kubeconfig's authentication, which set a fresh Agent on the request.
            const dispatcher = pooledDispatcher(shared, context.getDispatcher());
            if (dispatcher) context.setDispatcher(dispatcher);
            context.setSignal(AbortSignal.timeout(timeoutMs));
            return context;
          },
          post: (response) => Promise.resolve(response),
        },
      ],
    }),
  );
}

/** A call that ran out of time, as undici reports the abort of AbortSignal.timeout. */
export function isTimeout(error: unknown): boolean {
  return error instanceof Error && error.name === 'TimeoutError';
}
