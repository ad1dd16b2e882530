import { z } from 'zod';
import { metricQueryProblems } from '../analysis/metric-template.js';
import { customMetricsProblems } from '../analysis/providers/custom.js';
import { formatDuration, parseDuration } from './duration.js';
import { metadataNameProblems, routingNameProblems } from './name-rules.js';
import {
  API_VERSION,
  DEFAULT_STEPS,
  KIND,
  MAX_HEADERS,
  metricSchema,
  STEP_KINDS,
  rolloutSpecSchema,
  stepSchema,
  type MetricSpec,
  type RolloutSpec,
  type Step,
} from './schema.js';

/** One thing wrong with a Rollout: the field to fix and what to do. */
export interface Problem {
  /** Field path as users write it: `spec.steps[2].weight`. */
  path: string;
  message: string;
}

export type SpecValidation = { ok: true; spec: RolloutSpec } | { ok: false; problems: Problem[] };

/** Validates a Rollout's spec: schema first, then meaning. Returns every problem, not just the first. */
export function validateSpec(spec: unknown): SpecValidation {
  const parsed = rolloutSpecSchema.safeParse(spec, { reportInput: true });
  if (!parsed.success) {
    // Relations are still judged on the parts that parse, so one run reports every problem.
    const schemaProblems = parsed.error.issues.flatMap((issue) => describeIssue(issue, 'spec'));
    return {
      ok: false,
      problems: [...schemaProblems, ...meaningProblems(partsThatParse(spec)), ...routingNameProblems(spec)],
    };
  }
  const problems = [...meaningProblems(parsed.data), ...routingNameProblems(parsed.data)];
  return problems.length ? { ok: false, problems } : { ok: true, spec: parsed.data };
}

/** Validates a whole Rollout object as found in a manifest. */
export function validateRollout(object: unknown): SpecValidation {
  const problems: Problem[] = [];
  const o = (object ?? {}) as Record<string, unknown>;
  if (o.apiVersion !== API_VERSION) {
    problems.push({
      path: 'apiVersion',
      message: `is ${JSON.stringify(o.apiVersion)}; set it to ${API_VERSION}`,
    });
  }
  if (o.kind !== KIND) {
    problems.push({ path: 'kind', message: `is ${JSON.stringify(o.kind)}; set it to ${KIND}` });
  }
  const name = (o.metadata as Record<string, unknown> | undefined)?.name;
  if (typeof name !== 'string' || name === '') {
    problems.push({ path: 'metadata.name', message: 'is missing; give the Rollout a name' });
  }
  problems.push(...metadataNameProblems(o.metadata));
  if (o.spec === undefined) {
    problems.push({
      path: 'spec',
      message: 'is missing; add spec.targetRef and spec.trafficRouting at least',
    });
    return { ok: false, problems };
  }
  const result = validateSpec(o.spec);
  if (!result.ok) problems.push(...result.problems);
  return problems.length ? { ok: false, problems } : result;
}

export function formatPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) => (typeof key === 'number' ? `${text}[${key}]` : `${text}.${String(key)}`),
    root,
  );
}

// Messages reach status and Events: a hostile megabyte-long value is quoted by its start only.
const SHOWN_CHARS = 80;

function show(value: unknown): string {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
  return shown.length > SHOWN_CHARS ? `${shown.slice(0, SHOWN_CHARS)}… (${shown.length} characters)` : shown;
}

// Schema refinements carry a short key as their error (schema.ts); here each key becomes a sentence with a fix.
const FORMAT_FIXES: Record<string, string> = {
  duration: 'is not a duration; use a positive duration such as 500ms, 15s, 1m or 1h30m',
  objectName:
    'is not a valid Kubernetes object name; use lower-case letters and digits, with "-" or "." only between them',
  serviceName:
    'is not a valid Service name; use at most 63 lower-case letters and digits, starting with a letter, with "-" only between them',
  subsetName: 'is not a valid Istio subset name; use letters and digits, with "-" only between them',
  url: 'is not an http(s) URL; use an address such as http://prometheus.istio-system:9090',
  metricName: 'is not a valid metric name; start with a letter, then letters, digits, "_" or "-"',
  targetKind: 'is not supported; set it to Deployment',
  tlsRouteSelector: 'selects no tls route; give the port of its match, its sniHosts, or both',
  headerName: 'is not an HTTP header name; use letters, digits and "-"',
  headerValue: 'contains a line break or NUL; write the header value on one line',
  cookieHeader: 'is matched by cookies; move the condition to `cookies` as {name, value}',
  cookieName: 'is not a cookie name; use letters, digits and "-"',
  cookieValue: 'contains ";", a line break or NUL; match one cookie value',
};

function describeIssue(issue: z.core.$ZodIssue, root: string): Problem[] {
  const path = formatPath(root, issue.path);
  const input = (issue as { input?: unknown }).input;
  if (issue.message === 'stepKind') {
    const set = STEP_KINDS.filter(
      (kind) => (input as Record<string, unknown> | undefined)?.[kind] !== undefined,
    );
    return [
      {
        path,
        message: set.length
          ? `sets ${set.join(' and ')}; a step has exactly one of weight, mirror and headerRoute: split it into ${set.length} steps`
          : 'sets none of weight, mirror and headerRoute; add one of them',
      },
    ];
  }
  if (issue.message === 'emptyRouteMatch') {
    return [{ path, message: 'matches every request; give at least one header or cookie' }];
  }
  if (issue.message === 'tooManyHeaders') {
    return [{ path, message: `has more than ${MAX_HEADERS} headers; send at most ${MAX_HEADERS}` }];
  }
  const fix = FORMAT_FIXES[issue.message];
  if (fix) return [{ path, message: `${show(input)} ${fix}` }];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        path: formatPath(root, [...issue.path, key]),
        message: 'is not a known field; remove it or check its spelling',
      }));
    case 'invalid_type':
      if (input === undefined) return [{ path, message: `is required; add it (${issue.expected})` }];
      return [
        {
          path,
          message: `${show(input)} is not ${article(issue.expected)}; write ${article(issue.expected)}`,
        },
      ];
    case 'too_small':
      if (issue.origin === 'array')
        return [{ path, message: `needs at least ${issue.minimum} item(s); add one` }];
      if (issue.origin === 'string') return [{ path, message: 'is empty; set a value' }];
      return [
        {
          path,
          message: `${show(input)} is below the minimum ${issue.inclusive ? '' : 'above '}${issue.minimum}; use a larger value`,
        },
      ];
    case 'too_big':
      if (issue.origin === 'string')
        return [{ path, message: `is longer than ${issue.maximum} characters; shorten it` }];
      if (issue.origin === 'array')
        return [{ path, message: `has more than ${issue.maximum} items; keep at most ${issue.maximum}` }];
      return [
        {
          path,
          message: `${show(input)} is above the maximum ${issue.inclusive ? '' : 'below '}${issue.maximum}; use a smaller value`,
        },
      ];
    case 'invalid_value':
      return [
        { path, message: `${show(input)} is not allowed; use one of ${issue.values.map(show).join(', ')}` },
      ];
    case 'invalid_key': {
      const parent = formatPath(root, issue.path.slice(0, -1));
      const key = show(issue.path.at(-1));
      return issue.issues.flatMap((inner) =>
        describeIssue(inner, parent).map(({ message }) => ({
          path: parent,
          message: message.startsWith(key) ? `key ${message}` : `key ${key} ${message}`,
        })),
      );
    }
    case 'invalid_format':
      return [{ path, message: `${show(input)} is not a valid ${issue.format}` }];
    default:
      return [{ path, message: issue.message }];
  }
}

function article(type: string): string {
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

/** The fields the meaning checks read. */
interface MeaningInput {
  steps: Step[];
  analysis: { interval?: string; metrics: MetricSpec[]; metricsProvider?: unknown; customMetrics?: unknown };
  progressDeadline?: string;
}

/** Of a spec that failed the schema, the parts the meaning checks can still read. */
function partsThatParse(raw: unknown): MeaningInput {
  const spec = (raw ?? {}) as Record<string, unknown>;
  const analysis = (spec.analysis ?? {}) as Record<string, unknown>;
  const steps = z.array(stepSchema).safeParse(spec.steps ?? DEFAULT_STEPS);
  const metrics = z.array(metricSchema).safeParse(analysis.metrics ?? []);
  const duration = (value: unknown) =>
    typeof value === 'string' && parseDuration(value) !== undefined ? value : undefined;
  return {
    steps: steps.success ? steps.data : [],
    analysis: {
      interval: duration(analysis.interval),
      metrics: metrics.success ? metrics.data : [],
      metricsProvider: analysis.metricsProvider,
      customMetrics: analysis.customMetrics,
    },
    progressDeadline: duration(spec.progressDeadline),
  };
}

// A shorter interval only multiplies Prometheus queries and status writes: no scrape is faster than this, and
// `interval: 1ms` made one Rollout send 225 queries/s. A deadline this short rolls back pods that cannot be ready yet.
export const MIN_DURATION_MS = 1_000;
const INTERVAL_FLOOR_WHY = 'a check between two Prometheus scrapes sees nothing new';
const DEADLINE_FLOOR_WHY = 'no pod becomes ready that fast';

/** What the schema cannot say: relations between fields, and floors of durations. */
function meaningProblems(spec: MeaningInput): Problem[] {
  const problems: Problem[] = [];
  problems.push(...stepOrderProblems(spec.steps));
  const floors: [string, string | undefined, string][] = [
    ['spec.analysis.interval', spec.analysis.interval, INTERVAL_FLOOR_WHY],
    ['spec.progressDeadline', spec.progressDeadline, DEADLINE_FLOOR_WHY],
  ];
  for (const [path, text, why] of floors) {
    const ms = text === undefined ? undefined : parseDuration(text);
    if (ms !== undefined && ms < MIN_DURATION_MS) {
      problems.push({
        path,
        message: `${show(text)} is below the minimum ${formatDuration(MIN_DURATION_MS)} (${why}); use e.g. 15s`,
      });
    }
  }
  const names = new Set<string>();
  spec.analysis.metrics.forEach((metric, i) => {
    const path = `spec.analysis.metrics[${i}]`;
    if (names.has(metric.name)) {
      problems.push({
        path: `${path}.name`,
        message: `${show(metric.name)} is used twice; give each metric its own name`,
      });
    }
    names.add(metric.name);
    if (metric.min === undefined && metric.max === undefined) {
      problems.push({ path, message: 'sets neither min nor max; add at least one limit' });
    }
    if (metric.min !== undefined && metric.max !== undefined && metric.min > metric.max) {
      problems.push({ path: `${path}.min`, message: `${metric.min} is above max ${metric.max}; swap them` });
    }
    for (const message of metricQueryProblems(metric.query))
      problems.push({ path: `${path}.query`, message });
  });
  problems.push(...customMetricsProblems(spec.analysis.metricsProvider, spec.analysis.customMetrics));
  return problems;
}

/**
 * Mirror steps run while users are 100% on stable, so only before the first weight step; weights increase; one
 * headerRoute step, since a header route stays until the rollout ends.
 */
function stepOrderProblems(steps: Step[]): Problem[] {
  const problems: Problem[] = [];
  let lastWeight: { index: number; weight: number } | undefined;
  let headerRoute: number | undefined;
  steps.forEach((step, i) => {
    if (step.weight !== undefined) {
      if (lastWeight && step.weight <= lastWeight.weight) {
        problems.push({
          path: `spec.steps[${i}].weight`,
          message: `${step.weight} is not above the previous step's ${lastWeight.weight}; weights must increase from step to step`,
        });
      }
      lastWeight = { index: i, weight: step.weight };
    }
    if (step.mirror && lastWeight) {
      problems.push({
        path: `spec.steps[${i}].mirror`,
        message: `comes after the weight step spec.steps[${lastWeight.index}]; a mirror step judges the canary while users are 100% on stable, so move it before the first weight step`,
      });
    }
    if (step.headerRoute) {
      if (headerRoute !== undefined) {
        problems.push({
          path: `spec.steps[${i}].headerRoute`,
          message: `is a second header route; one stays in force until the rollout ends, so put all its matches in spec.steps[${headerRoute}].headerRoute.match`,
        });
      }
      headerRoute ??= i;
    }
  });
  return problems;
}
