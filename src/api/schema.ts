import { z } from 'zod';
import { METRICS_PROVIDERS } from '../analysis/providers/provider.js';
import { DURATION_PATTERN } from './duration.js';

// The Rollout spec is defined here and only here: the TypeScript types, the CRD's OpenAPI schema
// (scripts/generate-crd.ts) and the controller's validation (validate.ts) all derive from it.

export const GROUP = 'stepwise.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'Rollout';
export const PLURAL = 'rollouts';

// Every string and list has an upper bound, in the CRD too: the controller reads these on every pass, and a
// megabyte-long field must be refused by the API server and `validate`, not processed.
export const MAX_QUERY_LENGTH = 4096;
export const MAX_METRICS = 20;
export const MAX_HEADERS = 32;

/** A bounded string: at least one character (unless `min` is 0), at most `max`. */
const text = (max: number, min = 1) => z.string().min(min).max(max);

/**
 * HTTP headers a Rollout adds to its requests: bounded in number, names and values. Names are RFC 9110 tokens and
 * values have no line breaks or NUL, which Node's HTTP client would refuse only when the request is sent.
 */
const headers = (description: string) =>
  z
    .record(
      text(256).regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'headerName' }),
      text(4096, 0).regex(/^[^\r\n\0]*$/, { error: 'headerValue' }),
    )
    .refine((value) => Object.keys(value).length <= MAX_HEADERS, { error: 'tooManyHeaders' })
    .meta({ maxProperties: MAX_HEADERS })
    .describe(description);

const duration = (description: string) =>
  z
    .string()
    .max(64)
    .regex(new RegExp(DURATION_PATTERN), { error: 'duration' })
    .describe(`${description} A duration such as 500ms, 15s, 1m or 1h30m.`);

// DNS-1123 subdomain: what Kubernetes accepts as an object name (k8s.io/apimachinery IsDNS1123Subdomain):
// dot-separated labels of lower-case letters, digits and inner '-'.
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const objectName = (description: string) =>
  z.string().min(1).max(253).regex(DNS1123_SUBDOMAIN, { error: 'objectName' }).describe(description);

// Istio's subset names: a DNS-1123 label, upper case allowed (istio/istio pkg/config/validation
// validateSubsetName, pkg/config/labels IsDNS1123Label).
const subsetName = (fallback: string, description: string) =>
  z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/, { error: 'subsetName' })
    .default(fallback)
    .describe(description);

const portNumber = z.int().min(1).max(65535);

// A Service name is a DNS-1035 label (k8s.io/apimachinery IsDNS1035Label, what ValidateServiceName checks).
const serviceName = (description: string) =>
  z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, { error: 'serviceName' })
    .describe(description);

const secretKeyRef = z
  .strictObject({
    name: objectName('Secret in the Rollout namespace.'),
    key: text(253).describe('Key inside the Secret.'),
  })
  .describe('A key of a Secret in the Rollout namespace.');

// Gateway API (gateway.networking.k8s.io/v1): a rule's backendRefs carry weights 0–1,000,000, each backend's share
// being weight / sum of the rule's weights, an unset weight 1 (sigs.k8s.io/gateway-api apis/v1 shared_types.go
// BackendRef.Weight). Stepwise writes the two weights as percents that sum to 100.
const gatewayRouteRef = (kind: string) =>
  z
    .strictObject({
      name: objectName(`${kind} in the Rollout namespace.`),
      rule: z
        .string()
        .min(1)
        .max(253)
        .optional()
        .describe(
          `The name of the ${kind} rule whose two backendRefs Stepwise weighs; omitted = the one rule with both Services.`,
        ),
    })
    .describe(`A ${kind} whose managed rule splits between stableService and canaryService.`);

const gatewayApiSchema = z
  .strictObject({
    httpRoute: gatewayRouteRef('HTTPRoute').optional(),
    grpcRoute: gatewayRouteRef('GRPCRoute').optional(),
    stableService: serviceName(
      'The backendRef Service of the stable pods; default <targetRef.name>-stable (created when missing).',
    ).optional(),
    canaryService: serviceName(
      'The backendRef Service of the canary pods; default <targetRef.name>-canary (created when missing).',
    ).optional(),
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: 'has(self.httpRoute) != has(self.grpcRoute)',
        message: 'set exactly one of httpRoute and grpcRoute',
      },
    ],
  })
  .describe(
    'Gateway API: an HTTPRoute or GRPCRoute (parentRef a Gateway, or a Service for GAMMA east-west meshes) with weighted backendRefs.',
  );

// Header and cookie matches of a headerRoute step, shaped after Gateway API's HTTPHeaderMatch (sigs.k8s.io/gateway-api
// apis/v1 httproute_types.go: name an HTTP token of at most 256 characters, value at most 4096, type Exact or
// RegularExpression, at most 16 per match) so that the same step reads the same on Istio and on Gateway API.
export const MAX_ROUTE_MATCHES = 8;
export const MAX_MATCH_HEADERS = 16;
// Cookies become one regular expression on the `cookie` header that tries every order of them: kept to a few.
export const MAX_MATCH_COOKIES = 3;
const httpToken = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const stringMatchType = z
  .enum(['Exact', 'RegularExpression'])
  .default('Exact')
  .describe('Exact (default) or RegularExpression (RE2, matching the whole value).');

const headerMatchSchema = z
  .strictObject({
    name: text(256)
      .regex(httpToken, { error: 'headerName' })
      .refine((name) => name.toLowerCase() !== 'cookie', { error: 'cookieHeader' })
      .describe('HTTP header name, case-insensitive; not `cookie` (match those in `cookies`).'),
    value: text(4096)
      .regex(/^[^\r\n\0]*$/, { error: 'headerValue' })
      .describe('The value to match.'),
    type: stringMatchType,
  })
  .describe('A request header that must match.');

// A cookie is matched as the `cookie` request header (RFC 6265 §4.2: `name=value` pairs joined by "; "): Stepwise
// writes a RegularExpression header match on `cookie` that finds the pair anywhere in the header.
const cookieMatchSchema = z
  .strictObject({
    name: text(256).regex(httpToken, { error: 'cookieName' }).describe('Cookie name, case-sensitive.'),
    value: text(4096)
      .regex(/^[^\r\n\0;]*$/, { error: 'cookieValue' })
      .describe('The value to match.'),
    type: stringMatchType,
  })
  .describe('A cookie that must match; written as a match on the `cookie` header.');

const routeMatchSchema = z
  .strictObject({
    headers: z.array(headerMatchSchema).max(MAX_MATCH_HEADERS).optional().describe('All must match.'),
    cookies: z.array(cookieMatchSchema).max(MAX_MATCH_COOKIES).optional().describe('All must match.'),
  })
  .refine((m) => (m.headers?.length ?? 0) + (m.cookies?.length ?? 0) > 0, { error: 'emptyRouteMatch' })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: '(has(self.headers) ? size(self.headers) : 0) + (has(self.cookies) ? size(self.cookies) : 0) > 0',
        message: 'give at least one header or cookie',
      },
    ],
  })
  .describe('Requests match when all its headers and cookies match.');

/** The fields of a step that say what it does to traffic; a step has exactly one. */
export const STEP_KINDS = ['weight', 'mirror', 'headerRoute'] as const;

export const stepSchema = z
  .strictObject({
    weight: z
      .int()
      .min(1)
      .max(100)
      .optional()
      .describe('Percent of the managed route sent to the canary in this step.'),
    mirror: z
      .strictObject({
        percent: z
          .int()
          .min(1)
          .max(100)
          .describe(
            "Percent of the managed route's requests copied to the canary; their answers are dropped.",
          ),
      })
      .optional()
      .describe(
        'Shadow step: the canary gets a copy of these requests and is judged on them; users stay 100% on stable. Only before the first weight step.',
      ),
    headerRoute: z
      .strictObject({
        match: z
          .array(routeMatchSchema)
          .min(1)
          .max(MAX_ROUTE_MATCHES)
          .describe('Requests matching any of these go to the canary.'),
      })
      .optional()
      .describe(
        'Matching requests go to the canary, the rest by the current weight; in force until the rollout ends.',
      ),
    pause: z
      .boolean()
      .optional()
      .describe('Manual gate: once the analysis passed, wait in Paused for `stepwise promote`.'),
    duration: duration('Minimum observation of this step; overrides analysis.stepDuration.').optional(),
  })
  .refine((s) => STEP_KINDS.filter((kind) => s[kind] !== undefined).length === 1, { error: 'stepKind' })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: '(has(self.weight) ? 1 : 0) + (has(self.mirror) ? 1 : 0) + (has(self.headerRoute) ? 1 : 0) == 1',
        message: 'set exactly one of weight, mirror and headerRoute',
      },
    ],
  })
  .describe('One step: a weight, a mirror or a header route.');

export const DEFAULT_STEPS = [{ weight: 5 }, { weight: 25 }, { weight: 50 }, { weight: 100 }];

const prometheusSchema = z
  .strictObject({
    address: z
      .url({ protocol: /^https?$/, error: 'url' })
      .max(2048)
      .describe('Prometheus base URL, e.g. http://prometheus.istio-system:9090.'),
    bearerTokenSecretRef: secretKeyRef.optional().describe('Bearer token sent to Prometheus.'),
    basicAuthSecretRef: z
      .strictObject({ name: objectName('Secret with the keys `username` and `password`.') })
      .optional()
      .describe('Basic auth credentials for Prometheus.'),
    headers: headers('Extra HTTP headers sent to Prometheus.').optional(),
  })
  .describe('Where the mesh metrics are read. Defaults to the controller flag --prometheus-address.');

export const metricSchema = z
  .strictObject({
    name: z
      .string()
      .max(63)
      .regex(/^[a-zA-Z][a-zA-Z0-9_-]*$/, { error: 'metricName' })
      .describe('Name shown in status and rollback reasons.'),
    query: text(MAX_QUERY_LENGTH).describe(
      'PromQL returning one value. {{ namespace }}, {{ canary }}, {{ stable }}, {{ interval }} are substituted (escaped).',
    ),
    min: z.number().optional().describe('The check fails below this value.'),
    max: z.number().optional().describe('The check fails above this value.'),
  })
  .describe('An extra PromQL check on the canary.');

/** The placeholders of a custom metrics provider's templates: each track's workload and its namespace. */
export const PROVIDER_PLACEHOLDERS = ['namespace', 'workload'] as const;

const providerTemplate = (description: string) =>
  text(MAX_QUERY_LENGTH).describe(
    `${description} A PromQL selector metric{...}; {{ namespace }} and {{ workload }} (each track's Deployment) are substituted (escaped).`,
  );

export const customMetricsSchema = z
  .strictObject({
    requests: providerTemplate(
      'The counter of a track\'s requests, e.g. http_requests_total{namespace="{{ namespace }}", deployment="{{ workload }}"}.',
    ),
    errors: providerTemplate('The counter of a track\'s failed requests, e.g. the same with code=~"5..".'),
    durationBuckets: providerTemplate(
      "The _bucket series of a track's request duration histogram; omitted = P99 and slow requests are not judged.",
    ).optional(),
    durationUnit: z
      .enum(['ms', 's'])
      .default('s')
      .describe('The unit of the histogram buckets (its le label): ms or s.'),
    bucketEdges: z
      .array(z.number().positive())
      .min(1)
      .max(64)
      .optional()
      .describe(
        "The histogram's bucket edges (le) in durationUnit, for the slow-request edge; default Envoy's (ms) or Prometheus clients' (s).",
      ),
    podLabels: z
      .array(
        z
          .string()
          .max(63)
          .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { error: 'labelName' }),
      )
      .min(1)
      .max(8)
      .default(['pod', 'instance'])
      .describe('Labels that tell apart the series of the pods that answered.'),
  })
  .describe('The queries of the custom metrics provider (analysis.metricsProvider: custom).');

export const analysisSchema = z
  .strictObject({
    prometheus: prometheusSchema.optional(),
    metricsProvider: z
      .enum(METRICS_PROVIDERS)
      .optional()
      .describe(
        'Whose metrics the analysis reads: istio (sidecars), istio-ambient (waypoint), linkerd, cilium (Hubble httpV2) or custom; default istio.',
      ),
    customMetrics: customMetricsSchema.optional(),
    // 10s, not a minute: the comparison is valid at any number of looks, so looking often costs only queries.
    interval: duration('How often metrics are read.').default('10s'),
    stepDuration: duration('Minimum observation of every step.').default('1m'),
    minRequests: z.int().min(0).default(50).describe('Canary requests needed in a step before it can pass.'),
    thresholds: z
      .strictObject({
        maxErrorRate: z
          .number()
          .min(0)
          .max(1)
          .default(0.01)
          .describe('Highest canary 5xx ratio (0..1), reporter="destination".'),
        maxP99LatencyMs: z.number().positive().default(500).describe('Highest canary P99 latency in ms.'),
      })
      .default({ maxErrorRate: 0.01, maxP99LatencyMs: 500 })
      .describe('Hard SLO guards on the canary.'),
    failureLimit: z.int().min(0).default(1).describe('Failed checks tolerated; the next one rolls back.'),
    comparison: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Compare the canary with stable on the same traffic.'),
        falseRollbackRate: z
          .number()
          .gt(0)
          .lt(0.5)
          .default(0.01)
          .describe('Chance of rolling back a canary that is as good as stable, for the whole rollout.'),
        tolerance: z
          .number()
          .min(1)
          .default(1.5)
          .describe('A step is held while the canary/stable rate ratio is shown to be above this.'),
        slowRequestMs: z
          .number()
          .positive()
          .optional()
          .describe('Latency bucket edge (ms) above which a request counts as slow; default: from stable.'),
      })
      .default({ enabled: true, falseRollbackRate: 0.01, tolerance: 1.5 })
      .describe('Anytime-valid sequential comparison of canary against stable.'),
    metrics: z.array(metricSchema).max(MAX_METRICS).default([]).describe('Extra PromQL checks.'),
    onInconclusive: z
      .enum(['hold', 'rollback'])
      .default('hold')
      .describe('What to do after inconclusiveLimit inconclusive checks in a row.'),
    inconclusiveLimit: z
      .int()
      .min(1)
      .default(10)
      .describe('Consecutive inconclusive checks before onInconclusive applies.'),
  })
  .describe('How each step is judged.');

export const ANALYSIS_DEFAULTS = analysisSchema.parse({});

export const NOTIFICATION_EVENTS = [
  'started',
  'stepPassed',
  'paused',
  'promoted',
  'rolledBack',
  'aborted',
] as const;

const notificationsSchema = z
  .strictObject({
    slack: z
      .strictObject({
        webhookUrlSecretRef: secretKeyRef.describe('Secret key holding the Slack incoming-webhook URL.'),
        channel: text(256)
          .optional()
          .describe('Channel to post to, e.g. #deploys (only legacy webhooks honour it).'),
      })
      .optional()
      .describe('Post to Slack through an incoming webhook.'),
    webhook: z
      .strictObject({
        urlSecretRef: secretKeyRef.describe('Secret key holding the URL that receives a JSON POST.'),
        headers: headers('Extra HTTP headers sent with every POST (e.g. an auth token).').optional(),
      })
      .optional()
      .describe('POST every notification as JSON to a URL.'),
    events: z
      .array(z.enum(NOTIFICATION_EVENTS))
      .min(1)
      .max(NOTIFICATION_EVENTS.length)
      .optional()
      .describe(
        'Which transitions to send: started, stepPassed, paused, promoted, rolledBack, aborted; omitted = all.',
      ),
  })
  .describe(
    "Where to announce this Rollout's transitions; omitted = the controller's defaults (--notify-slack-url-file, --notify-webhook-url-file).",
  );

export const rolloutSpecSchema = z
  .strictObject({
    targetRef: z
      .strictObject({
        kind: z
          .literal('Deployment', { error: 'targetKind' })
          .default('Deployment')
          .describe('Only Deployment is supported.'),
        name: objectName('The Deployment whose pod template is the desired version.'),
      })
      .describe('The user Deployment Stepwise takes the pod template from.'),
    trafficRouting: z
      .strictObject({
        istio: z
          .strictObject({
            virtualService: z.strictObject({
              name: objectName('VirtualService in the Rollout namespace.'),
              routes: z
                .array(text(253))
                .min(1)
                .max(32)
                .optional()
                .describe('Names of the weighted http routes to manage; omitted = the one weighted route.'),
              tlsRoutes: z
                .array(
                  z
                    .strictObject({
                      port: portNumber.optional().describe('A match of the tls route has this port.'),
                      sniHosts: z
                        .array(text(253))
                        .min(1)
                        .max(32)
                        .optional()
                        .describe('A match of the tls route lists all these SNI hosts.'),
                    })
                    .refine((s) => s.port !== undefined || s.sniHosts !== undefined, {
                      error: 'tlsRouteSelector',
                    })
                    .meta({
                      'x-kubernetes-validations': [
                        {
                          rule: 'has(self.port) || has(self.sniHosts)',
                          message: 'give port, sniHosts or both',
                        },
                      ],
                    }),
                )
                .min(1)
                .max(32)
                .optional()
                .describe(
                  'tls routes (by match port and/or sniHosts) whose weights move with the http routes.',
                ),
              tcpRoutes: z
                .array(
                  z.strictObject({ port: portNumber.describe('A match of the tcp route has this port.') }),
                )
                .min(1)
                .max(32)
                .optional()
                .describe('tcp routes (by match port) whose weights move with the http routes.'),
            }),
            destinationRule: z
              .strictObject({
                name: objectName('DestinationRule in the Rollout namespace.'),
                stableSubset: subsetName('stable', 'Subset selecting the stable pods.'),
                canarySubset: subsetName('canary', 'Subset selecting the canary pods; not the stable one.'),
              })
              // The API server refuses it too (defaults are applied before this rule runs).
              .meta({
                'x-kubernetes-validations': [
                  {
                    rule: 'self.stableSubset != self.canarySubset',
                    message: 'canarySubset must differ from stableSubset',
                  },
                ],
              })
              .optional()
              .describe(
                'Subset split: the DestinationRule whose two subsets the managed routes split between.',
              ),
            stableService: serviceName(
              'Host split: the Service the managed routes send stable traffic to; default <targetRef.name>-stable.',
            ).optional(),
            canaryService: serviceName(
              'Host split: the Service the managed routes send canary traffic to; default <targetRef.name>-canary.',
            ).optional(),
          })
          // validate (name-rules.ts) says the same with the fix; the API server refuses it too.
          .meta({
            'x-kubernetes-validations': [
              {
                rule: '!has(self.destinationRule) || !(has(self.stableService) || has(self.canaryService))',
                message:
                  'a subset split (destinationRule) or a host split (stableService/canaryService), not both',
              },
            ],
          })
          .describe(
            'Istio: a VirtualService split between two subsets of one host (destinationRule) or between two Services (host split).',
          )
          .optional(),
        gatewayAPI: gatewayApiSchema.optional(),
      })
      // validate (name-rules.ts) names the field to set; the API server refuses it too.
      .meta({
        'x-kubernetes-validations': [
          {
            rule: 'has(self.istio) != has(self.gatewayAPI)',
            message: 'set exactly one of istio and gatewayAPI',
          },
        ],
      })
      .describe('How traffic is split between stable and canary.'),
    steps: z
      .array(stepSchema)
      .min(1)
      .max(100)
      .default(DEFAULT_STEPS)
      .describe(
        'Steps: mirror steps first, then weights strictly increasing, a headerRoute anywhere; after the last one the canary is promoted.',
      ),
    analysis: analysisSchema.default(ANALYSIS_DEFAULTS),
    progressDeadline: duration('How long canary pods may take to become ready before rollback.').default(
      '10m',
    ),
    notifications: notificationsSchema.optional(),
    trigger: z
      .strictObject({
        allowedImages: z
          // Bounded so that matching all patterns stays cheap: the matcher's work is pattern × image length.
          .array(text(300))
          .max(32)
          .default([])
          .describe(
            "Images the trigger webhook may set besides the container's current repository; `*` matches within a path segment, `**` across `/`, e.g. registry.example.com/team/**.",
          ),
      })
      .optional()
      .describe('What callers of the trigger webhook may change.'),
  })
  .describe('Progressive canary delivery of a Deployment behind Istio.');

export type RolloutSpec = z.output<typeof rolloutSpecSchema>;
export type RolloutSpecInput = z.input<typeof rolloutSpecSchema>;
export type Step = z.output<typeof stepSchema>;
export type RouteMatch = z.output<typeof routeMatchSchema>;
export type StringMatch = z.output<typeof headerMatchSchema>;
export type AnalysisSpec = z.output<typeof analysisSchema>;
export type MetricSpec = z.output<typeof metricSchema>;
export type CustomMetricsSpec = z.output<typeof customMetricsSchema>;
export type NotificationsSpec = z.output<typeof notificationsSchema>;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];
