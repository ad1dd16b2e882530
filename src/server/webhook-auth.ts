// Who may call the trigger webhook: a bearer token (checked from the headers alone, before any body is read),
// or an HMAC-SHA256 signature over a timestamp and the raw body. Signing the timestamp too, as Slack signs
// `v0:<timestamp>:<body>` (api.slack.com/authentication/verifying-requests-from-slack) and Stripe
// `<timestamp>.<body>`, lets a captured request expire; the replay guard refuses it within its window.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Cluster } from '../kube/cluster.js';

export interface WebhookCredentials {
  token?: string;
  hmacKey?: string;
}

export const SIGNATURE_HEADER = 'x-stepwise-signature';
export const TIMESTAMP_HEADER = 'x-stepwise-timestamp';
const VERSION = 'v1';

// Hashing both sides first gives equal lengths, which timingSafeEqual needs, without leaking the length.
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

const mac = (hmacKey: string, timestamp: string, body: Buffer | string) =>
  createHmac('sha256', hmacKey).update(`${VERSION}:${timestamp}:`).update(body).digest();

/** The `X-Stepwise-Signature` value for a body sent at `timestamp` (Unix seconds). */
export function signRequest(hmacKey: string, timestamp: number | string, body: Buffer | string): string {
  return `${VERSION}=${mac(hmacKey, String(timestamp), body).toString('hex')}`;
}

export type AuthResult = { ok: true; method: 'token' | 'hmac' } | { ok: false; reason: string };

const SIGNED_FORM =
  `${TIMESTAMP_HEADER}: <Unix seconds> with ` +
  `${SIGNATURE_HEADER}: ${VERSION}=<hex HMAC-SHA256 of "${VERSION}:<timestamp>:<body>">`;
export const MISSING_CREDENTIALS = `send Authorization: Bearer <token>, or ${SIGNED_FORM}`;

/** What the headers claim, before anything is verified. */
export type Claim =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  | { kind: 'signature'; signature: string; timestamp: string | undefined };

export function claimOf(headers: { authorization?: string; signature?: string; timestamp?: string }): Claim {
  const token = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '')?.[1]?.trim();
  if (token !== undefined) return { kind: 'token', token };
  if (headers.signature !== undefined)
    return { kind: 'signature', signature: headers.signature.trim(), timestamp: headers.timestamp?.trim() };
  return { kind: 'none' };
}

export function checkToken(token: string, credentials: WebhookCredentials): AuthResult {
  return credentials.token && sameSecret(token, credentials.token)
    ? { ok: true, method: 'token' }
    : { ok: false, reason: 'wrong token or signature' };
}

/** The signature's digest when its form is right (what the replay guard remembers), else why not. */
export function signatureDigest(signature: string): { digest: string } | { reason: string } {
  const v1 = new RegExp(`^${VERSION}=([0-9a-f]{64})$`, 'i').exec(signature)?.[1];
  if (v1) return { digest: v1.toLowerCase() };
  if (/^sha256=/i.test(signature))
    return {
      reason: `a signature of the body alone (sha256=...) can be replayed and is no longer accepted; send ${SIGNED_FORM}`,
    };
  return { reason: `${SIGNATURE_HEADER} is not ${VERSION}=<64 hex digits>` };
}

export function checkSignature(
  digest: string,
  timestamp: string,
  body: Buffer,
  credentials: WebhookCredentials,
): AuthResult {
  if (
    credentials.hmacKey &&
    timingSafeEqual(Buffer.from(digest, 'hex'), mac(credentials.hmacKey, timestamp, body))
  )
    return { ok: true, method: 'hmac' };
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
