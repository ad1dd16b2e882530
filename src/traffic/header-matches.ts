import type { RouteMatch, StringMatch } from '../api/schema.js';
import { headerRouteId } from '../api/steps.js';

// A headerRoute step's matches, written in each mesh's own terms. Both meshes AND the conditions of one match and OR
// the matches (istio/api networking/v1alpha3 virtual_service.proto HTTPRoute.match; sigs.k8s.io/gateway-api apis/v1
// httproute_types.go HTTPRouteRule.Matches), so a match of the step and a match of the user's managed route combine
// into one: both must hold. A header both constrain differently cannot be said in one match (Istio keys headers by
// name; Gateway API considers only the first entry of a name): that pair is left out, so the added route never
// catches a request the managed route would not.

/** The header name of the cookie pairs (RFC 6265 §4.2). */
const COOKIE = 'cookie';

/** RE2 metacharacters, escaped so that a value is matched literally. */
function literal(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

/**
 * One regular expression on the `cookie` header that holds when every cookie matches, in any order among the other
 * pairs. Anchored, so that it means the same whether the mesh matches the whole value (Envoy's safe_regex) or
 * searches it.
 */
export function cookieRegex(cookies: StringMatch[]): string {
  const pair = (c: StringMatch) =>
    `${literal(c.name)}=${c.type === 'Exact' ? literal(c.value) : `(?:${c.value})`}`;
  const orders = permutations(cookies).map((order) => order.map(pair).join(';\\s*(?:.*;\\s*)?'));
  return `^(?:.*;\\s*)?(?:${orders.join('|')})(?:\\s*;.*)?$`;
}

/** A match's conditions as header matches: its headers (names in lower case), then its cookies as one. */
export function headerConditions(match: RouteMatch): StringMatch[] {
  const headers = (match.headers ?? []).map((h) => ({ ...h, name: h.name.toLowerCase() }));
  const cookies = match.cookies ?? [];
  return cookies.length === 0
    ? headers
    : [...headers, { name: COOKIE, value: cookieRegex(cookies), type: 'RegularExpression' }];
}

export { headerRouteId };

/** The name prefix that marks a route or rule as Stepwise's header route for `owner` (the target Deployment). */
export function headerRoutePrefix(owner: string | undefined): string {
  // A Gateway API rule name is a DNS-1123 label-like SectionName: no dots.
  return `stepwise-${(owner ?? 'rollout').replace(/\./g, '-')}-header-`;
}

/** The name of the added route: `stepwise-<owner>-header-<id>`, `-<n>` for the n-th managed route after the first. */
export function headerRouteName(owner: string | undefined, matches: RouteMatch[], nth = 0): string {
  return `${headerRoutePrefix(owner)}${headerRouteId(matches)}${nth > 0 ? `-${nth + 1}` : ''}`;
}

/** The id in an added route's name, or undefined when the name is not one of this owner's header routes. */
export function headerRouteIdOf(name: unknown, owner: string | undefined): string | undefined {
  const prefix = headerRoutePrefix(owner);
  if (typeof name !== 'string' || !name.startsWith(prefix)) return undefined;
  return name.slice(prefix.length).split('-')[0];
}

/**
 * Every combination of a user match and a step match, ANDed, skipping the pairs that constrain one header
 * differently. `combine` merges a user match with the step's header conditions, or returns undefined for such a pair.
 */
export function combinedMatches<M>(
  userMatches: M[] | undefined,
  stepMatches: RouteMatch[],
  combine: (user: M | undefined, conditions: StringMatch[]) => M | undefined,
): M[] {
  const users: (M | undefined)[] = userMatches && userMatches.length > 0 ? userMatches : [undefined];
  return users.flatMap((user) =>
    stepMatches.flatMap((step) => {
      const merged = combine(user, headerConditions(step));
      return merged === undefined ? [] : [merged];
    }),
  );
}
