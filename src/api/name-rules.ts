// Rules between names that the schema cannot say field by field; the controller and `validate` both apply them.
import { DNS1123_SUBDOMAIN } from './schema.js';
import type { Problem } from './validate.js';

// Stepwise creates `<target>-canary`, whose ReplicaSets are `<target>-canary-<pod-template-hash>` (up to 10
// characters, k8s.io/kubernetes pkg/controller/deployment): all must stay within the 253 of an object name.
export const MAX_TARGET_NAME = 253 - '-canary'.length - '-'.length - 10;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

type Raw = Record<string, unknown> | undefined;

const field = (object: unknown, key: string): unknown =>
  typeof object === 'object' && object !== null ? (object as Record<string, unknown>)[key] : undefined;

function duplicates(values: unknown[], path: string, what: string): Problem[] {
  const seen = new Map<string, number>();
  return values.flatMap((value, i) => {
    const key = JSON.stringify(value);
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, i);
      return [];
    }
    return [
      {
        path: `${path}[${i}]`,
        message: `${key} is listed twice (also ${path}[${first}]); list each ${what} once`,
      },
    ];
  });
}

/** The relations a Rollout's routing names must keep; `spec` is parsed or raw (defaults are applied here). */
export function routingNameProblems(spec: unknown): Problem[] {
  const problems: Problem[] = [];
  const target = field(field(spec, 'targetRef'), 'name');
  if (typeof target === 'string' && target.length > MAX_TARGET_NAME) {
    problems.push({
      path: 'spec.targetRef.name',
      message:
        `is ${target.length} characters long; Stepwise names its Deployments ${target.slice(0, 12)}…-stable and ` +
        `…-canary, and their ReplicaSets add a hash: use a Deployment name of at most ${MAX_TARGET_NAME} characters`,
    });
  }
  const istio = field(field(spec, 'trafficRouting'), 'istio');
  const vs = field(istio, 'virtualService') as Raw;
  const dr = field(istio, 'destinationRule') as Raw;
  const stable = field(dr, 'stableSubset') ?? 'stable';
  const canary = field(dr, 'canarySubset') ?? 'canary';
  if (stable === canary) {
    problems.push({
      path: 'spec.trafficRouting.istio.destinationRule.canarySubset',
      message: `${JSON.stringify(canary)} is the stableSubset too; the canary needs a subset of its own, e.g. canary`,
    });
  }
  if (istio !== undefined)
    problems.push(...hostSplitProblems(istio, dr, target, 'spec.trafficRouting.istio'));
  problems.push(...routingChoiceProblems(field(spec, 'trafficRouting'), target));
  const base = 'spec.trafficRouting.istio.virtualService';
  for (const [key, what] of [
    ['routes', 'route'],
    ['tlsRoutes', 'tls route'],
    ['tcpRoutes', 'tcp route'],
  ] as const) {
    const list = field(vs, key);
    if (Array.isArray(list)) problems.push(...duplicates(list, `${base}.${key}`, what));
  }
  return problems;
}

/** metadata.name is an object name (DNS-1123 subdomain); metadata.namespace, when given, a DNS-1123 label. */
export function metadataNameProblems(metadata: unknown): Problem[] {
  const problems: Problem[] = [];
  const name = field(metadata, 'name');
  if (typeof name === 'string' && name !== '' && (name.length > 253 || !DNS1123_SUBDOMAIN.test(name))) {
    problems.push({
      path: 'metadata.name',
      message: `${JSON.stringify(name)} is not a valid Kubernetes object name; use at most 253 lower-case letters and digits, with "-" or "." only between them`,
    });
  }
  const namespace = field(metadata, 'namespace');
  if (
    namespace !== undefined &&
    (typeof namespace !== 'string' || namespace.length > 63 || !DNS1123_LABEL.test(namespace))
  ) {
    problems.push({
      path: 'metadata.namespace',
      message: `${JSON.stringify(namespace)} is not a valid namespace name; use at most 63 lower-case letters and digits, with "-" only between them`,
    });
  }
  return problems;
}

/** A route is split by subsets (destinationRule) or between two Services (stableService/canaryService), not both. */
/** Exactly one way of routing, and for Gateway API exactly one route kind, with two distinct Services. */
function routingChoiceProblems(routing: unknown, target: unknown): Problem[] {
  if (routing === undefined || typeof routing !== 'object' || routing === null) return [];
  const istio = field(routing, 'istio');
  const gateway = field(routing, 'gatewayAPI');
  const base = 'spec.trafficRouting';
  if (istio === undefined && gateway === undefined) {
    return [
      {
        path: base,
        message:
          'names no routing; add istio (a VirtualService) or gatewayAPI (an HTTPRoute or GRPCRoute with weighted backendRefs)',
      },
    ];
  }
  if (istio !== undefined && gateway !== undefined) {
    return [
      {
        path: `${base}.gatewayAPI`,
        message: 'is set together with istio; a Rollout moves one routing object: keep istio or gatewayAPI',
      },
    ];
  }
  if (gateway === undefined) return [];
  const routes = ['httpRoute', 'grpcRoute'].filter((key) => field(gateway, key) !== undefined);
  if (routes.length !== 1) {
    return [
      {
        path: `${base}.gatewayAPI`,
        message:
          routes.length === 0
            ? 'names no route; add httpRoute: {name: <HTTPRoute>} or grpcRoute: {name: <GRPCRoute>}'
            : 'names both httpRoute and grpcRoute; a Rollout moves the weights of one route: keep one',
      },
    ];
  }
  return hostSplitProblems(gateway, undefined, target, `${base}.gatewayAPI`);
}

function hostSplitProblems(istio: unknown, dr: unknown, target: unknown, base: string): Problem[] {
  const stable = field(istio, 'stableService');
  const canary = field(istio, 'canaryService');
  if (dr === undefined && typeof target === 'string') {
    // The default Services are <target>-stable / <target>-canary, which must be DNS-1035 labels.
    const problems: Problem[] = [];
    for (const [key, given, track] of [
      ['stableService', stable, 'stable'],
      ['canaryService', canary, 'canary'],
    ] as const) {
      const name = `${target}-${track}`;
      if (given !== undefined || (name.length <= 63 && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name))) continue;
      problems.push({
        path: `${base}.${key}`,
        message:
          `defaults to ${JSON.stringify(name)}, which is not a valid Service name (a letter first, no dots, at ` +
          `most 63 characters); set ${key} to the ${track} Service's name`,
      });
    }
    if (problems.length > 0) return problems;
  }
  if (dr !== undefined && (stable !== undefined || canary !== undefined)) {
    return [
      {
        path: `${base}.${stable !== undefined ? 'stableService' : 'canaryService'}`,
        message:
          'is a host split, but destinationRule names a subset split; keep destinationRule (one host split into ' +
          'subsets) or stableService/canaryService (two Services), not both',
      },
    ];
  }
  if (stable !== undefined && stable === canary) {
    return [
      {
        path: `${base}.canaryService`,
        message: `${JSON.stringify(canary)} is the stableService too; the canary needs a Service of its own`,
      },
    ];
  }
  return [];
}
