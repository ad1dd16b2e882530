// Signed requests expire: a timestamp outside the window is refused, and a signature seen within it is refused
// the second time. This memory is the replica's own fast path; the record on the Rollout
// (webhook-replay-shared.ts) makes the refusal hold on every replica. Memory stays bounded: a signature is forgotten once its timestamp left the window (the window
// check refuses it from then on), and only verified signatures are remembered, at most `capacity` of them.

export const REPLAY_WINDOW_SECONDS = 300;

export type ReplayVerdict = { ok: true } | { ok: false; status: 401 | 503; reason: string };

export class ReplayGuard {
  // digest → the Unix second after which its timestamp is outside the window.
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowSeconds = REPLAY_WINDOW_SECONDS,
    private readonly capacity = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether `timestamp` (the header, Unix seconds) is inside the window; checked before the body is read. */
  checkTimestamp(timestamp: string | undefined): ReplayVerdict {
    const seconds = this.now() / 1000;
    if (timestamp === undefined || !/^[0-9]{1,12}$/.test(timestamp))
      return {
        ok: false,
        status: 401,
        reason: 'x-stepwise-timestamp must be the signing time in Unix seconds',
      };
    if (Math.abs(seconds - Number(timestamp)) > this.windowSeconds)
      return {
        ok: false,
        status: 401,
        reason: `x-stepwise-timestamp is more than ${this.windowSeconds} s from the controller's clock; sign each request when it is sent (and check the clocks)`,
      };
    return { ok: true };
  }

  /** Records a verified signature; refuses it when it was used already. */
  use(digest: string, timestamp: string): ReplayVerdict {
    const seconds = this.now() / 1000;
    for (const [known, until] of this.seen) if (until < seconds) this.seen.delete(known);
    if (this.seen.has(digest))
      return { ok: false, status: 401, reason: 'this signature was used already; sign every request anew' };
    if (this.seen.size >= this.capacity)
      return {
        ok: false,
        status: 503,
        reason: `more than ${this.capacity} signed requests within ${this.windowSeconds} s; try again later`,
      };
    this.seen.set(digest, Number(timestamp) + this.windowSeconds);
    return { ok: true };
  }

  /** Forgets a signature that was not accepted after all (the shared record could not be written). */
  forget(digest: string): void {
    this.seen.delete(digest);
  }
}
