import {
  type Configuration,
  createConfiguration,
  type KubeConfig,
  ServerConfiguration,
} from '@kubernetes/client-node';

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
 * A generated client-node API client whose every request is aborted after `timeoutMs` (a TimeoutError, which
 * withRetry treats as transient). Same server, credentials and TLS as client-node's own makeApiClient.
 */
export function boundedApiClient<T>(
  kubeConfig: KubeConfig,
  apiType: new (configuration: Configuration) => T,
  timeoutMs: number,
): T {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster; choose one with --context');
  return new apiType(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeConfig },
      promiseMiddleware: [
        {
          pre: (context) => {
            context.setHeaderParam('User-Agent', 'stepwise');
            context.setSignal(AbortSignal.timeout(timeoutMs));
            return Promise.resolve(context);
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
