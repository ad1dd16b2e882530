// Who may call the trigger webhook: a bearer token, or an HMAC-SHA256 signature of the raw body
// (as GitHub signs its webhooks: `sha256=<hex>`). Both compared in constant time.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Cluster } from '../kube/cluster.js';

export interface WebhookCredentials {
  token?: string;
  hmacKey?: string;
}

export const SIGNATURE_HEADER = 'x-stepwise-signature';

// Hashing both sides first gives equal lengths, which timingSafeEqual needs, without leaking the length.
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export function signBody(hmacKey: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', hmacKey).update(body).digest('hex')}`;
}

export type AuthResult = { ok: true; method: 'token' | 'hmac' } | { ok: false; reason: string };

export function authenticate(
  headers: { authorization?: string; signature?: string },
  body: Buffer,
  credentials: WebhookCredentials,
): AuthResult {
  const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '')?.[1]?.trim();
  if (bearer !== undefined && credentials.token && sameSecret(bearer, credentials.token)) {
    return { ok: true, method: 'token' };
  }
  const signature = /^sha256=([0-9a-f]{64})$/i.exec(headers.signature?.trim() ?? '')?.[1];
  if (signature && credentials.hmacKey) {
    const expected = createHmac('sha256', credentials.hmacKey).update(body).digest();
    if (timingSafeEqual(Buffer.from(signature, 'hex'), expected)) return { ok: true, method: 'hmac' };
  }
  if (bearer === undefined && headers.signature === undefined) {
    return { ok: false, reason: `send Authorization: Bearer <token> or ${SIGNATURE_HEADER}: sha256=<hmac>` };
  }
  return { ok: false, reason: 'wrong token or signature' };
}

/**
 * Credentials from the Kubernetes Secret `namespace/name` (keys `token` and/or `hmacKey`), re-read at
 * most every `cacheMs`, so a rotated Secret takes effect without a restart.
 */
export function secretCredentials(
  cluster: Cluster,
  namespace: string,
  name: string,
  cacheMs = 10_000,
): () => Promise<WebhookCredentials> {
  let cached: { at: number; credentials: WebhookCredentials } | undefined;
  return async () => {
    if (cached && Date.now() - cached.at < cacheMs) return cached.credentials;
    const secret = await cluster.getSecret(namespace, name);
    if (!secret) throw new Error(`webhook Secret ${namespace}/${name} not found`);
    // Trimmed: keys created with `kubectl create secret --from-file` often end in a newline.
    const value = (key: string) => {
      const encoded = secret.data?.[key];
      const text = encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8').trim();
      return text || undefined;
    };
    const credentials: WebhookCredentials = {};
    const token = value('token');
    const hmacKey = value('hmacKey');
    if (token) credentials.token = token;
    if (hmacKey) credentials.hmacKey = hmacKey;
    if (!token && !hmacKey)
      throw new Error(`webhook Secret ${namespace}/${name} has neither a token nor an hmacKey key`);
    cached = { at: Date.now(), credentials };
    return credentials;
  };
}

/** `--webhook-secret <namespace>/<name>`. */
export function parseSecretRef(text: string): { namespace: string; name: string } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(text);
  if (!m) {
    throw new Error(
      `--webhook-secret ${JSON.stringify(text)} is not <namespace>/<name>; use e.g. stepwise-system/stepwise-webhook`,
    );
  }
  return { namespace: m[1]!, name: m[3]! };
}
