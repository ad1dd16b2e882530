import type { HttpMatchRequest, StringMatch } from './config.js';

/** One simulated request as the client's sidecar sees it (header names lower-case, as Envoy stores them). */
export interface SimulatedRequest {
  method: string;
  uri: string;
  headers: Record<string, string>;
  /** Labels and namespace of the calling workload, for sourceLabels/sourceNamespace matches. */
  sourceLabels: Record<string, string>;
  sourceNamespace: string;
}

export type RequestPredicate = (request: SimulatedRequest) => boolean;

const never: RequestPredicate = () => false;

/**
 * Compiles an http route's `match` list: the route applies when any entry matches, and an entry matches when
 * all its conditions hold (Istio's HTTPMatchRequest semantics). No `match` means every request.
 */
export function compileMatch(match: HttpMatchRequest[] | undefined): RequestPredicate {
  if (!match || match.length === 0) return () => true;
  const entries = match.map(compileMatchRequest);
  return (request) => entries.some((entry) => entry(request));
}

function compileMatchRequest(match: HttpMatchRequest): RequestPredicate {
  const conditions: RequestPredicate[] = [];
  const ignoreCase = match.ignoreUriCase === true;
  if (match.uri) {
    const uri = compileStringMatch(match.uri, ignoreCase);
    conditions.push((request) => uri(request.uri));
  }
  if (match.method) {
    const method = compileStringMatch(match.method, false);
    conditions.push((request) => method(request.method));
  }
  for (const [name, condition] of Object.entries(match.headers ?? {})) {
    const header = compileHeaderMatch(name, condition);
    conditions.push(header);
  }
  for (const [name, condition] of Object.entries(match.withoutHeaders ?? {})) {
    const header = compileHeaderMatch(name, condition);
    conditions.push((request) => !header(request));
  }
  if (match.sourceLabels !== undefined) {
    const wanted = Object.entries(match.sourceLabels as Record<string, string>);
    conditions.push((request) => wanted.every(([key, value]) => request.sourceLabels[key] === value));
  }
  if (match.sourceNamespace !== undefined) {
    conditions.push((request) => request.sourceNamespace === match.sourceNamespace);
  }
  if (Array.isArray(match.gateways)) {
    // Simulated traffic comes from sidecars, which Istio names the `mesh` gateway.
    const fromMesh = (match.gateways as unknown[]).includes('mesh');
    conditions.push(() => fromMesh);
  }
  if (match.queryParams !== undefined && Object.keys(match.queryParams as object).length > 0) {
    // Simulated requests carry no query string.
    conditions.push(never);
  }
  return (request) => conditions.every((condition) => condition(request));
}

function compileHeaderMatch(name: string, condition: StringMatch | undefined): RequestPredicate {
  const headerName = name.toLowerCase();
  const value = compileStringMatch(condition ?? {}, false);
  return (request) => {
    const actual = request.headers[headerName];
    return actual !== undefined && value(actual);
  };
}

/** exact / prefix / regex (RE2 matches the whole value); an empty match only asks for presence. */
export function compileStringMatch(match: StringMatch, ignoreCase: boolean): (value: string) => boolean {
  const fold = (value: string) => (ignoreCase ? value.toLowerCase() : value);
  if (match.exact !== undefined) {
    const exact = fold(match.exact);
    return (value) => fold(value) === exact;
  }
  if (match.prefix !== undefined) {
    const prefix = fold(match.prefix);
    return (value) => fold(value).startsWith(prefix);
  }
  if (match.regex !== undefined) {
    let pattern: RegExp;
    try {
      pattern = new RegExp(`^(?:${match.regex})$`, ignoreCase ? 'i' : '');
    } catch {
      // Istio's validation rejects such a route; the simulated proxy never matches it.
      return () => false;
    }
    return (value) => pattern.test(value);
  }
  return () => true;
}
