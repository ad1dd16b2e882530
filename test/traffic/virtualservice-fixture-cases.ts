// The real VirtualService shapes of ../shared/fixtures/virtualservices (Istio, Argo Rollouts and Flagger sources), read
// at test time, never copied, and what Stepwise must do with each: the router's test and validate's test judge them
// by the same table.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { rolloutSpecSchema } from '../../src/api/schema.js';
import type { IstioSpec } from '../../src/traffic/istio.js';
import { TRACK_LABEL } from '../../src/workload/labels.js';

export const DIR = fileURLToPath(new URL('../../../shared/fixtures/virtualservices/', import.meta.url));

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Case {
  id: string;
  file: string;
  rollout: {
    vs: string;
    dr: string;
    stableSubset?: string;
    canarySubset?: string;
    routes?: string[];
    namespace?: string;
  };
}

/** A host split: the Rollout names the two Services (no DestinationRule) and, where needed, the routes to move. */
export interface HostSplit {
  stableService: string;
  canaryService: string;
  virtualService?: Json;
}

/**
 * What the router must do with each shape: manage it (a subset split as the case names it, or a host split
 * between the two Services given), or refuse it with a message matching every pattern.
 */
export const EXPECTED: Record<
  string,
  'managed' | { hostSplit: HostSplit } | RegExp[] | { hostSplit: HostSplit; refused: RegExp[] }
> = {
  '01-bookinfo-reviews-50-v3': 'managed',
  '02-bookinfo-reviews-jason': [/no http route with destinations to both subset v3 and subset v2/],
  '03-bookinfo-gateway': [/no http route with destinations to both/, /subset: stable/],
  '04-bookinfo-ratings-abort': [/no http route with destinations to both subset v1 and subset v2/],
  '05-bookinfo-details-fault': [/no http route with destinations to both subset v1 and subset v2/],
  '06-bookinfo-reviews-v2-v3': 'managed',
  '07-tcp-echo-20-v2': [/no http routes, only tcp\[0\] \(port 31400\)/, /HTTP request metrics/],
  '08-websockets': [/no http route with destinations to both/],
  '09-expose-istiod-tls': [/no http routes, only tls\[0\] \(port 15012; sniHosts \*\), tls\[1\]/],
  '10-rule-weighted-route': 'managed',
  '11-virtual-service-all': 'managed',
  '12-rule-content-route': [/no http route with destinations to both subset v1 and subset v2/],
  '13-cors-policy': [/no http route with destinations to both/],
  '14-traffic-shifting-3-hosts': {
    hostSplit: { stableService: 'a', canaryService: 'b' },
    refused: [/http\[0\] \(unnamed\) also sends traffic to c/, /route of their own/],
  },
  '15-traffic-mirroring': [/no http route with destinations to both/],
  '16-api-named-routes-rewrite': [/http\[1\] "reviews-v1-route" has no destination with subset v2/],
  '17-api-delegate-root': [
    /http\[0\] \(unnamed\) delegates to VirtualService nsA\/productpage/,
    /virtualService\.name/,
  ],
  '18-api-delegate-child': [/no http route with destinations to both/],
  '19-api-dest-headers-25-75': 'managed',
  // Neither host is a Service name (DNS-1035 label), so it cannot be a host split of two Services.
  '20-api-two-domains': [
    /splits traffic between hosts dev\.reviews\.com and reviews\.com/,
    /stableService: dev\.reviews\.com/,
    /subset: stable/,
  ],
  '21-api-retries': [/no http route with destinations to both subset v1 and subset v2/],
  '22-api-tcp-mongo': [/no http routes, only tcp\[0\] \(port 27017\)/],
  '23-argo-subset-split-named': 'managed',
  '24-argo-subset-single-route': 'managed',
  '25-argo-host-http-tls-split': {
    hostSplit: {
      stableService: 'istio-host-split-stable',
      canaryService: 'istio-host-split-canary',
      virtualService: { tlsRoutes: [{ port: 3000, sniHosts: ['istio-host-split'] }] },
    },
  },
  '26-argo-multiple-vs': {
    hostSplit: {
      stableService: 'rollouts-demo-stable',
      canaryService: 'rollouts-demo-canary',
      virtualService: { tlsRoutes: [{ port: 3000 }] },
    },
  },
  '27-argo-mixed-http-tls-tcp': {
    hostSplit: {
      stableService: 'stable',
      canaryService: 'canary',
      virtualService: {
        routes: ['primary', 'secondary'],
        tlsRoutes: [{ port: 3000 }, { port: 3001 }],
        tcpRoutes: [{ port: 3000 }, { port: 3001 }],
      },
    },
  },
  '28-argo-three-destinations': [
    /also sends traffic to additional-service subset stable-subset/,
    /route of their own/,
  ],
  '29-argo-duplicate-stable-subset': [
    /names subset stable 2 times \(rollout-service subset stable and example-service subset stable\)/,
  ],
  '30-argo-extra-fields-ports': { hostSplit: { stableService: 'stable', canaryService: 'canary' } },
  '31-argo-subset-names': 'managed',
  '32-argo-header-routes-managed': { hostSplit: { stableService: 'stable', canaryService: 'canary' } },
  '33-argo-additional-subset': [/also sends traffic to/, /route of their own/],
  '34-flagger-generated-frontend': {
    hostSplit: { stableService: 'podinfo-primary', canaryService: 'podinfo-canary' },
  },
  '35-flagger-delegate-backend': {
    hostSplit: { stableService: 'podinfo-primary', canaryService: 'podinfo-canary' },
  },
  '36-flagger-root-vs-delegate': [/delegates to VirtualService test\/podinfo/, /virtualService\.name/],
  'D1-mixed-http-tls-tcp': [
    /tls\[0\] \(port 3000\) also splits between subsets stable and canary/,
    /tlsRoutes/,
  ],
  'D2-retries-cors-ports': 'managed',
  'D3a-header-routes-unnamed-config': [/2 http routes to both subsets/, /routes: \[/],
  'D3b-header-routes-named': 'managed',
  'D4-flagger-frontend': 'managed',
  'D5-delegate-child': 'managed',
  'D6-mirror-split': 'managed',
  'D7-vs-all-dr-host-mismatch': [
    /DestinationRule all is for host reviews\.default\.svc\.cluster\.local/,
    /spec\.host/,
  ],
};

export function loadCases(): Case[] {
  if (!existsSync(DIR)) return [];
  return ['cases.json', 'cases-derived.json'].flatMap(
    (file) => JSON.parse(readFileSync(`${DIR}${file}`, 'utf8')) as Case[],
  );
}

export function documents(file: string): Json[] {
  return parseAllDocuments(readFileSync(`${DIR}${file}`, 'utf8'))
    .map((d) => d.toJS() as Json | null)
    .filter((d): d is Json => d !== null);
}

export function istioSpec(rollout: Case['rollout'], extra: Json = {}, hostSplit?: HostSplit): IstioSpec {
  const virtualService = {
    name: rollout.vs,
    ...(rollout.routes && { routes: rollout.routes }),
    ...hostSplit?.virtualService,
    ...extra,
  };
  const tracks = hostSplit
    ? { stableService: hostSplit.stableService, canaryService: hostSplit.canaryService }
    : {
        destinationRule: {
          name: rollout.dr,
          ...(rollout.stableSubset && { stableSubset: rollout.stableSubset }),
          ...(rollout.canarySubset && { canarySubset: rollout.canarySubset }),
        },
      };
  return rolloutSpecSchema.parse({
    targetRef: { name: 'app' },
    trafficRouting: { istio: { virtualService, ...tracks } },
  }).trafficRouting.istio!;
}

/** Which track a destination is: by subset in a subset split, by Service (as the fixtures write it) in a host split. */
export function trackOf(d: Json, spec: IstioSpec): 'stable' | 'canary' | undefined {
  const dr = spec.destinationRule;
  const [stable, canary, value] = dr
    ? [dr.stableSubset, dr.canarySubset, d.destination?.subset]
    : [spec.stableService, spec.canaryService, d.destination?.host];
  return value === stable ? 'stable' : value === canary ? 'canary' : undefined;
}

/**
 * The DestinationRule the user has once they follow the contract: the file's own rule (its host, other subsets and
 * traffic policy as written), its two subsets selecting the track label; without one in the file, a rule for the
 * host of the VirtualService's first destination. Subsets selecting `version: v1` are refused on their own
 * (test/traffic/istio.test.ts); here the VirtualService shape is judged.
 */
export function destinationRule(docs: Json[], vs: Json, dr: NonNullable<IstioSpec['destinationRule']>): Json {
  const { name, stableSubset, canarySubset } = dr;
  const given = docs.find((d) => d.kind === 'DestinationRule' && d.metadata?.name === name);
  const firstHost = (['http', 'tls', 'tcp'] as const)
    .flatMap((kind) => (vs.spec?.[kind] ?? []) as Json[])
    .flatMap((r) => (r.route ?? []) as Json[])[0]?.destination?.host as string;
  const rule: Json = structuredClone(given ?? { metadata: { name }, spec: { host: firstHost, subsets: [] } });
  rule.spec.subsets ??= [];
  for (const [subset, track] of [
    [stableSubset, 'stable'],
    [canarySubset, 'canary'],
  ] as const) {
    const found = (rule.spec.subsets as Json[]).find((s) => s.name === subset);
    if (found) found.labels = { [TRACK_LABEL]: track };
    else rule.spec.subsets.push({ name: subset, labels: { [TRACK_LABEL]: track } });
  }
  return rule;
}
