// Who may send a command through the dashboard. The server listens on loopback, but any web site the user
// opens can still make the browser post to 127.0.0.1 (CSRF) or rebind its own name to 127.0.0.1 (DNS
// rebinding). So a command needs the per-process token that only the dashboard's own page carries, a Host
// that names the dashboard's address, and, when the browser says where the request comes from, that origin.
// (Argo Rollouts' dashboard has none of these and listens on 0.0.0.0: argoproj/argo-rollouts#4747, #1323.)
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const TOKEN_HEADER = 'x-stepwise-token';

export const newToken = (): string => randomBytes(32).toString('hex');

export interface GuardSettings {
  /**
   * host:port the server is bound to, as the page's URL spells it; undefined in-cluster, where the page is
   * reached through Services and proxies under other names, and a bearer token authenticates every request.
   */
  host?: string;
  token: string;
}

/** Why a request may not be served at all (a Host other than the dashboard's), or undefined. */
export function refuseHost(headers: IncomingHttpHeaders, settings: GuardSettings): string | undefined {
  if (settings.host !== undefined && headers.host !== settings.host) {
    return `Host "${headers.host ?? ''}" is not the dashboard's address ${settings.host}; open http://${settings.host}/`;
  }
  return undefined;
}

/** Why a command request is refused, or undefined when it comes from the dashboard's own page. */
export function refuseCommand(headers: IncomingHttpHeaders, settings: GuardSettings): string | undefined {
  const host = refuseHost(headers, settings);
  if (host) return host;
  const origin = headers.origin;
  if (settings.host !== undefined && origin !== undefined && origin !== `http://${settings.host}`) {
    return `Origin "${origin}" is not the dashboard's own page http://${settings.host}`;
  }
  const token = headers[TOKEN_HEADER];
  if (typeof token !== 'string' || !sameSecret(token, settings.token)) {
    return `missing or wrong ${TOKEN_HEADER} header: send commands from the dashboard's page`;
  }
  return undefined;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
