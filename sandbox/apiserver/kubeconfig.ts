import { stringify } from 'yaml';

/**
 * A kubeconfig with one cluster, user and context named "sandbox" (namespace default).
 * client-node needs `insecure-skip-tls-verify` to accept an http: server URL.
 */
export function sandboxKubeconfig(serverUrl: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'sandbox', cluster: { server: serverUrl, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'sandbox', user: { token: 'sandbox' } }],
    contexts: [{ name: 'sandbox', context: { cluster: 'sandbox', user: 'sandbox', namespace: 'default' } }],
    'current-context': 'sandbox',
    preferences: {},
  });
}
