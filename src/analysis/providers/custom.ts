import { PROVIDER_PLACEHOLDERS, type CustomMetricsSpec } from '../../api/schema.js';
import { metricQueryProblems, renderTemplate } from '../metric-template.js';
import { ENVOY_BUCKETS_MS } from '../comparison/slow-edge.js';
import { HUBBLE_BUCKETS_MS } from './cilium.js';
import type { MetricsProvider, Selector } from './provider.js';

// A mesh or gateway whose metrics only the user knows: three selector templates with {{ namespace }} and
// {{ workload }}, filled in per track (escaped as metric-template.ts does for analysis.metrics). They must be plain
// selectors because the builders add matchers (`le`) and the `@` modifier to them.

const SELECTOR = /^\s*[a-zA-Z_:][a-zA-Z0-9_:]*\s*\{[\s\S]*\}\s*$/;

type Template = 'requests' | 'errors' | 'durationBuckets';

/** What is wrong with the custom provider's settings, as problems that name the field and the fix. */
export function customMetricsProblems(
  provider: unknown,
  custom: unknown,
): { path: string; message: string }[] {
  const base = 'spec.analysis.customMetrics';
  if (provider !== 'custom') {
    return custom === undefined
      ? []
      : [
          {
            path: base,
            message:
              'is set but analysis.metricsProvider is not custom; set metricsProvider: custom or remove customMetrics',
          },
        ];
  }
  if (custom === undefined || custom === null || typeof custom !== 'object') {
    return [
      {
        path: base,
        message:
          'is required with metricsProvider: custom; give its requests and errors selectors, e.g. requests: http_requests_total{namespace="{{ namespace }}", deployment="{{ workload }}"}',
      },
    ];
  }
  const templates = custom as Partial<Record<Template, unknown>>;
  const problems: { path: string; message: string }[] = [];
  for (const field of ['requests', 'errors', 'durationBuckets'] as const) {
    const template = templates[field];
    if (typeof template !== 'string') continue;
    const path = `${base}.${field}`;
    for (const message of metricQueryProblems(template, PROVIDER_PLACEHOLDERS))
      problems.push({ path, message });
    if (!SELECTOR.test(template)) {
      problems.push({
        path,
        message:
          'is not a selector metric{...}; write one series selector, without functions or operators, e.g. http_requests_total{namespace="{{ namespace }}", deployment="{{ workload }}"}',
      });
    } else if (!/\{\{\s*workload\s*\}\}/.test(template)) {
      problems.push({
        path,
        message: 'does not use {{ workload }}, so it cannot tell canary from stable; select the track by it',
      });
    }
  }
  return problems;
}

/** The custom provider of a (validated) spec. */
export function customProvider(spec: CustomMetricsSpec): MetricsProvider {
  const fill =
    (template: string) =>
    (namespace: string, workload: string): Selector =>
      renderTemplate(template, { namespace, workload }, PROVIDER_PLACEHOLDERS);
  const msPerUnit = spec.durationUnit === 'ms' ? 1 : 1000;
  const errors = fill(spec.errors);
  return {
    name: 'custom',
    served: { requests: fill(spec.requests), errors: (namespace, workload) => [errors(namespace, workload)] },
    ...(spec.durationBuckets !== undefined && {
      duration: {
        buckets: fill(spec.durationBuckets),
        msPerUnit,
        edgesMs: spec.bucketEdges
          ? [...spec.bucketEdges].sort((a, b) => a - b).map((edge) => edge * msPerUnit)
          : msPerUnit === 1
            ? ENVOY_BUCKETS_MS
            : HUBBLE_BUCKETS_MS,
      },
    }),
    podLabels: spec.podLabels.join(', '),
    reportsUnanswered: false,
  };
}
