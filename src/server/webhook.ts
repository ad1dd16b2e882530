// POST /v1/trigger: CI sets a new image on a Rollout's target without cluster credentials.
// The caller is authenticated before anything else is done for it: a bearer token from the headers alone; a
// signature once the (bounded, timed) body is in. Unauthenticated and authenticated callers are limited apart,
// so a flood of bad requests from an address (behind an Ingress: every client's) never refuses a valid call.
// A signature is accepted once by all replicas together: each records it on the target Rollout.
// A refused request changes nothing.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'winston';
import type { Cluster } from '../kube/cluster.js';
import { apiMessage } from '../kube/errors.js';
import { setRolloutImage, TriggerError, type TriggerErrorKind } from '../trigger/set-image.js';
import { RateLimiter } from './token-bucket.js';
import {
  checkSignature,
  checkToken,
  claimOf,
  MISSING_CREDENTIALS,
  parseSecretRef,
  secretCredentials,
  SIGNATURE_HEADER,
  signatureDigest,
  TIMESTAMP_HEADER,
  type WebhookCredentials,
} from './webhook-auth.js';
import {
  ClientGone,
  MAX_BODY_BYTES,
  readBody,
  Refusal,
  UnauthenticatedReads,
  type BodyLimits,
} from './webhook-body.js';
import { ReplayGuard, type ReplayVerdict } from './webhook-replay.js';
import { recordOnRollout } from './webhook-replay-shared.js';
import { parseRequest, type TriggerRequest } from './webhook-request.js';

export { MAX_BODY_BYTES } from './webhook-body.js';
export const TRIGGER_PATH = '/v1/trigger';

export interface RateLimit {
  burst: number;
  perSecond: number;
}

export interface WebhookOptions {
  cluster: Cluster;
  credentials: () => Promise<WebhookCredentials>;
  logger: Logger;
  /** The namespaces the controller watches; empty or absent = all. A Rollout elsewhere is not triggered. */
  namespaces?: string[];
  /** Authenticated calls per client address (default burst 10, then 1 per second). */
  rateLimit?: RateLimit;
  /** Failed authentications per client address before they are answered 429 (default 10, then 1/s). */
  unauthenticatedRateLimit?: RateLimit;
  /** How long a body may take to arrive (default 10 s). */
  bodyTimeoutMs?: number;
  /** Signed bodies read at once before their signature is checked (default 32). */
  unauthenticatedReads?: number;
  replayGuard?: ReplayGuard;
}

const STATUS_OF: Record<TriggerErrorKind, number> = {
  notFound: 404,
  invalid: 400,
  forbidden: 403,
  conflict: 409,
};

const clientOf = (req: IncomingMessage) => req.socket.remoteAddress ?? 'unknown';
const header = (req: IncomingMessage, name: string) => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

function statusOf(error: unknown): number {
  if (error instanceof Refusal) return error.status;
  if (error instanceof TriggerError) return STATUS_OF[error.kind];
  return 500;
}

function reply(res: ServerResponse, status: number, body: object, close: boolean): void {
  if (status === 429) res.setHeader('retry-after', '1');
  if (close) {
    // The connection may still carry an unread body: close it instead of reading it, and do not let a
    // client that keeps sending hold the socket half-open.
    res.setHeader('connection', 'close');
    const socket = res.socket;
    res.once('finish', () => setTimeout(() => socket?.destroy(), 1_000).unref());
  }
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

export function createTriggerWebhook(
  options: WebhookOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const authenticated = new RateLimiter(options.rateLimit?.burst ?? 10, options.rateLimit?.perSecond ?? 1);
  const unauthenticated = new RateLimiter(
    options.unauthenticatedRateLimit?.burst ?? 10,
    options.unauthenticatedRateLimit?.perSecond ?? 1,
  );
  const limits: BodyLimits = { maxBytes: MAX_BODY_BYTES, timeoutMs: options.bodyTimeoutMs ?? 10_000 };
  const unauthenticatedReads = new UnauthenticatedReads(options.unauthenticatedReads ?? 32);
  const replay = options.replayGuard ?? new ReplayGuard();
  const watched = options.namespaces?.length ? new Set(options.namespaces) : undefined;

  const readCredentials = async () => {
    try {
      return await options.credentials();
    } catch (error) {
      options.logger.error('trigger webhook: cannot read its credentials', {
        error: (error as Error).message,
      });
      throw new Refusal(503, 'the webhook credentials cannot be read; see the controller log');
    }
  };

  /** The request's target, refused when it lies outside the watched namespaces. */
  const targetOf = (body: Buffer, log: Record<string, unknown>): TriggerRequest => {
    const request = parseRequest(body);
    Object.assign(log, request);
    if (watched && !watched.has(request.namespace)) {
      throw new Refusal(
        403,
        `namespace ${request.namespace} is not watched by this controller (it watches ${[...watched].join(', ')}); ` +
          'call the controller that manages it, or add the namespace to its --namespace flags',
      );
    }
    return request;
  };

  /** A verified signature is used once on any replica: first this process's memory, then the Rollout's record. */
  const useSignature = async (request: TriggerRequest, digest: string, timestamp: string) => {
    const local = replay.use(digest, timestamp);
    if (!local.ok) return local;
    let shared: ReplayVerdict;
    try {
      shared = await recordOnRollout(
        options.cluster,
        request.namespace,
        request.rollout,
        digest,
        Number(timestamp),
      );
    } catch (error) {
      replay.forget(digest);
      if (error instanceof TriggerError) throw error;
      throw new Refusal(
        503,
        `the signature could not be recorded on the Rollout (${apiMessage(error)}); sign anew and try again`,
      );
    }
    if (!shared.ok && shared.status !== 401) replay.forget(digest);
    return shared;
  };

  /** Who sent this request, from its headers and (for a signature) its body; refuses anyone else. */
  const authenticate = async (
    req: IncomingMessage,
    log: Record<string, unknown>,
  ): Promise<TriggerRequest> => {
    const client = clientOf(req);
    const refuse = (reason: string) =>
      unauthenticated.take(client)
        ? new Refusal(401, reason, true)
        : new Refusal(429, 'too many unauthenticated requests from this client; slow down', true);
    const admit = (method: 'token' | 'hmac') => {
      log.auth = method;
      if (!authenticated.take(client))
        throw new Refusal(429, 'too many triggers from this client; slow down', true);
    };
    const claim = claimOf({
      authorization: header(req, 'authorization'),
      signature: header(req, SIGNATURE_HEADER),
      timestamp: header(req, TIMESTAMP_HEADER),
    });
    if (claim.kind === 'none') throw refuse(MISSING_CREDENTIALS);
    if (claim.kind === 'token') {
      const auth = checkToken(claim.token, await readCredentials());
      if (!auth.ok) throw refuse(auth.reason);
      admit('token');
      return targetOf(await readBody(req, limits), log);
    }
    const form = signatureDigest(claim.signature);
    if ('reason' in form) throw refuse(form.reason);
    const fresh = replay.checkTimestamp(claim.timestamp);
    if (!fresh.ok) throw refuse(fresh.reason);
    const credentials = await readCredentials();
    const body = await unauthenticatedReads.read(req, limits);
    const auth = checkSignature(form.digest, claim.timestamp!, body, credentials);
    if (!auth.ok) throw refuse(auth.reason);
    const request = targetOf(body, log);
    // Used up before the rate limit is applied: replaying a captured call cannot drain the valid callers' budget.
    const first = await useSignature(request, form.digest, claim.timestamp!);
    if (!first.ok)
      throw first.status === 401 ? refuse(first.reason) : new Refusal(first.status, first.reason);
    admit('hmac');
    return request;
  };

  return (req, res) => {
    const log: Record<string, unknown> = { client: clientOf(req), method: req.method, path: TRIGGER_PATH };
    const handle = async () => {
      if (req.method !== 'POST') throw new Refusal(405, 'use POST', true);
      const request = await authenticate(req, log);
      const { container, image } = request;
      const result = await setRolloutImage(
        options.cluster,
        request.namespace,
        request.rollout,
        container === undefined ? { image } : { container, image },
        { enforceRepository: true },
      );
      log.changed = result.changed;
      log.revision = result.revision;
      return result;
    };
    handle()
      .then((result) => {
        // Set even when the client left meanwhile: say so, the CI job saw no answer.
        const answered = !req.socket.destroyed;
        options.logger.info('trigger webhook: image set', { ...log, status: 202, answered });
        if (answered) reply(res, 202, result, false);
      })
      .catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        if (error instanceof ClientGone) {
          options.logger.info('trigger webhook: the client disconnected before it was answered', log);
          return;
        }
        const status = statusOf(error);
        if (status === 500)
          options.logger.error('trigger webhook failed', { ...log, status, error: message });
        else options.logger.warn('trigger webhook refused a request', { ...log, status, error: message });
        if (!res.destroyed) reply(res, status, { error: message }, error instanceof Refusal && error.close);
      });
  };
}

export interface WebhookRouteOptions {
  namespaces?: string[];
  rateLimit?: RateLimit;
  unauthenticatedRateLimit?: RateLimit;
}

/** The routes `stepwise controller --webhook-secret <namespace>/<name>` adds to its HTTP server. */
export function triggerWebhookRoutes(
  cluster: Cluster,
  secretRef: string | undefined,
  logger: Logger,
  options: WebhookRouteOptions = {},
): Record<string, (req: IncomingMessage, res: ServerResponse) => void> {
  if (!secretRef) return {};
  const { namespace, name } = parseSecretRef(secretRef);
  return {
    [TRIGGER_PATH]: createTriggerWebhook({
      ...options,
      cluster,
      credentials: secretCredentials(cluster, namespace, name),
      logger,
    }),
  };
}
