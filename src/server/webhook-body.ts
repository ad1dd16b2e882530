// Reading a trigger body without letting slow or vanishing clients hold the webhook: the body must arrive
// within a deadline and a size, and the bodies read before their sender is authenticated (HMAC needs the body)
// share a fixed number of slots; when all are taken, the one waiting longest is dropped for the newcomer, so
// clients trickling bodies cannot keep a signed call out (a valid body arrives in milliseconds).
import type { IncomingMessage } from 'node:http';

export const MAX_BODY_BYTES = 64 * 1024;

/** A refusal with its HTTP status; `close` drops the connection instead of reading what is left of it. */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly close = false,
  ) {
    super(message);
  }
}

/** The client closed its connection: there is nobody left to answer. */
export class ClientGone extends Error {
  constructor() {
    super('the client closed the connection before the request was answered');
  }
}

export interface BodyLimits {
  maxBytes: number;
  timeoutMs: number;
}

const tooLarge = (max: number) => new Refusal(413, `the body is larger than ${max} bytes`, true);

/** Reads the whole body; `abort` lets the caller drop the read (it then rejects with `reason`). */
export function readBody(
  req: IncomingMessage,
  limits: BodyLimits,
  abort?: (drop: (reason: Refusal) => void) => void,
): Promise<Buffer> {
  if (Number(req.headers['content-length']) > limits.maxBytes)
    return Promise.reject(tooLarge(limits.maxBytes));
  if (req.destroyed) return Promise.reject(new ClientGone());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.removeListener('data', onData);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBytes) finish(tooLarge(limits.maxBytes));
      else chunks.push(chunk);
    };
    const timer = setTimeout(
      () => finish(new Refusal(408, `the body did not arrive within ${limits.timeoutMs / 1000} s`, true)),
      limits.timeoutMs,
    );
    req.on('data', onData);
    req.on('end', () => finish());
    // 'close' before 'end' (or an 'error' such as ECONNRESET): the client went away mid-body.
    req.on('close', () => finish(new ClientGone()));
    req.on('error', () => finish(new ClientGone()));
    abort?.((reason) => finish(reason));
  });
}

/** Slots for bodies read before their sender is authenticated. */
export class UnauthenticatedReads {
  private readonly waiting = new Set<(reason: Refusal) => void>();

  constructor(private readonly slots: number) {}

  /** Reads the body in a slot, dropping the longest-waiting read when all slots are taken. */
  async read(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
    if (this.waiting.size >= this.slots) {
      const oldest = this.waiting.values().next().value!;
      // Out of the set at once: a second newcomer in the same tick must drop another read, not this one.
      this.waiting.delete(oldest);
      oldest(
        new Refusal(
          503,
          'dropped: too many unauthenticated bodies arriving at once; send the body at once',
          true,
        ),
      );
    }
    let drop: ((reason: Refusal) => void) | undefined;
    try {
      return await readBody(req, limits, (d) => {
        drop = d;
        this.waiting.add(d);
      });
    } finally {
      if (drop) this.waiting.delete(drop);
    }
  }
}
