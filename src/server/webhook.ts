// POST /v1/trigger: CI sets a new image on a Rollout's target without cluster credentials.
// Checks run cheapest first (rate, size, auth, body, policy); a refused request changes nothing.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'winston';
import type { Cluster } from '../kube/cluster.js';
import { setRolloutImage, TriggerError, type TriggerErrorKind } from '../trigger/set-image.js';
import { RateLimiter } from './token-bucket.js';
import {
  authenticate,
  parseSecretRef,
  secretCredentials,
  SIGNATURE_HEADER,
  type WebhookCredentials,
} from './webhook-auth.js';

export const TRIGGER_PATH = '/v1/trigger';
export const MAX_BODY_BYTES = 64 * 1024;

export interface WebhookOptions {
  cluster: Cluster;
  credentials: () => Promise<WebhookCredentials>;
  logger: Logger;
  /** Per client address: `burst` requests at once, then `perSecond` (default 10, 1). */
  rateLimit?: { burst: number; perSecond: number };
}

interface TriggerRequest {
  namespace: string;
  rollout: string;
  container?: string;
  image: string;
}

const STATUS_OF: Record<TriggerErrorKind, number> = {
  notFound: 404,
  invalid: 400,
  forbidden: 403,
  conflict: 409,
};

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge());
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const tooLarge = () => new Refusal(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function parseRequest(body: Buffer): TriggerRequest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Refusal(400, 'the body is not JSON; send {"namespace", "rollout", "image", "container"?}');
  }
  const o = (typeof json === 'object' && json !== null && !Array.isArray(json) ? json : {}) as Record<
    string,
    unknown
  >;
  const problems: string[] = [];
  const text = (field: string, required: boolean, pattern?: RegExp) => {
    const value = o[field];
    if (value === undefined && !required) return undefined;
    if (typeof value !== 'string' || value === '' || (pattern && !pattern.test(value))) {
      problems.push(`${field} ${value === undefined ? 'is required' : 'is not valid'}`);
      return undefined;
    }
    return value;
  };
  const request = {
    namespace: text('namespace', true, NAME),
    rollout: text('rollout', true, NAME),
    container: text('container', false, NAME),
    image: text('image', true, /^\S+$/),
  };
  const unknown = Object.keys(o).filter((k) => !['namespace', 'rollout', 'container', 'image'].includes(k));
  if (unknown.length) problems.push(`unknown field(s) ${unknown.join(', ')}`);
  if (problems.length)
    throw new Refusal(400, `${problems.join('; ')}; send {"namespace", "rollout", "image", "container"?}`);
  return request as TriggerRequest;
}

const clientOf = (req: IncomingMessage) => req.socket.remoteAddress ?? 'unknown';

export function createTriggerWebhook(
  options: WebhookOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const limiter = new RateLimiter(options.rateLimit?.burst ?? 10, options.rateLimit?.perSecond ?? 1);
  const reply = (res: ServerResponse, status: number, body: object) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);

  return (req, res) => {
    const client = clientOf(req);
    const log: Record<string, unknown> = { client, method: req.method, path: TRIGGER_PATH };
    const handle = async () => {
      if (req.method !== 'POST') throw new Refusal(405, 'use POST');
      if (!limiter.take(client)) throw new Refusal(429, 'too many requests from this client; slow down');
      const body = await readBody(req);
      let credentials;
      try {
        credentials = await options.credentials();
      } catch (error) {
        options.logger.error('trigger webhook: cannot read its credentials', {
          error: (error as Error).message,
        });
        throw new Refusal(503, 'the webhook credentials cannot be read; see the controller log');
      }
      const auth = authenticate(
        {
          authorization: req.headers.authorization,
          signature: req.headers[SIGNATURE_HEADER] as string | undefined,
        },
        body,
        credentials,
      );
      if (!auth.ok) throw new Refusal(401, auth.reason);
      log.auth = auth.method;
      const request = parseRequest(body);
      Object.assign(log, request);
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
        options.logger.info('trigger webhook: image set', { ...log, status: 202 });
        reply(res, 202, result);
      })
      .catch((error: unknown) => {
        const status =
          error instanceof Refusal
            ? error.status
            : error instanceof TriggerError
              ? STATUS_OF[error.kind]
              : 500;
        const message = error instanceof Error ? error.message : String(error);
        if (status === 500)
          options.logger.error('trigger webhook failed', { ...log, status, error: message });
        else options.logger.warn('trigger webhook refused a request', { ...log, status, error: message });
        if (status === 429) res.setHeader('retry-after', '1');
        // The connection may still carry an unread oversize body: close it instead of draining it.
        if (status === 413) res.setHeader('connection', 'close');
        reply(res, status, { error: message });
      });
  };
}

/** The routes `stepwise controller --webhook-secret <namespace>/<name>` adds to its HTTP server. */
export function triggerWebhookRoutes(
  cluster: Cluster,
  secretRef: string | undefined,
  logger: Logger,
  rateLimit?: WebhookOptions['rateLimit'],
): Record<string, (req: IncomingMessage, res: ServerResponse) => void> {
  if (!secretRef) return {};
  const { namespace, name } = parseSecretRef(secretRef);
  return {
    [TRIGGER_PATH]: createTriggerWebhook({
      ...(rateLimit ? { rateLimit } : {}),
      cluster,
      credentials: secretCredentials(cluster, namespace, name),
      logger,
    }),
  };
}
