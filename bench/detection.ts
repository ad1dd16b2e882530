// Detection benchmark: Stepwise's defaults against a threshold-only Rollout set up like Flagger's tutorial, on the
// same simulated traffic (100 rps, stable at 0.1% errors and P99 200 ms, 1 s scrape), with Wald's lower bound.
// Run: npm run bench:detection [-- --only weights|mirror]. Prints a markdown table per group of scenarios and writes
// them to bench/results/detection.md (a run of some groups keeps the others' sections as they were).
// `-- --match 'pods differ'` runs only the weighted scenarios whose name contains the text and prints their rows and
// goals without writing the results file.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { durationMs } from '../src/api/duration.js';
import { bucketEdgeAtOrAbove } from '../src/analysis/comparison/slow-edge.js';
import { rolloutSpecSchema, type RolloutSpec, type RolloutSpecInput } from '../src/api/schema.js';
import { simulate, type SimulationSummary } from '../src/simulate/simulate.js';
import { BUCKETS_MS, DEFAULT_TRAFFIC, latencyCdf, type TrafficModel } from '../src/simulate/traffic.js';
import { selectedGroups, withSection } from './results-sections.js';

const SEED = 20260101;
const ALPHA = 0.01;
const BETA = 0.01;
/** The share the canary gets in Stepwise's first step, at which the bound is stated. */
const BOUND_WEIGHT = 0.05;

const routing: Pick<RolloutSpecInput, 'targetRef' | 'trafficRouting'> = {
  targetRef: { name: 'app' },
  trafficRouting: { istio: { virtualService: { name: 'app' }, destinationRule: { name: 'app' } } },
};

const stepwise: RolloutSpec = rolloutSpecSchema.parse({ ...routing });

// Flagger's Istio tutorial: interval 1m, stepWeight 10 up to maxWeight 50, request-success-rate >= 99%,
// request-duration <= 500 ms, threshold 5 (rollback on the 5th failed check); no minimum traffic.
const thresholdOnly: RolloutSpec = rolloutSpecSchema.parse({
  ...routing,
  steps: [10, 20, 30, 40, 50].map((weight) => ({ weight })),
  analysis: {
    interval: '1m',
    stepDuration: '1m',
    minRequests: 0,
    thresholds: { maxErrorRate: 0.01, maxP99LatencyMs: 500 },
    failureLimit: 4,
    comparison: { enabled: false },
  },
});

interface Scenario {
  name: string;
  runs: number;
  traffic: TrafficModel;
  /** Run the threshold-only Rollout too (the scenarios of the README's table). */
  thresholdOnly?: boolean;
  /** Seconds from a canary scale-up until its new pods are ready (0: at once). */
  podReadySeconds?: number;
}

const base = DEFAULT_TRAFFIC;
/** How long new canary pods take to be ready in the scenarios that say so (7 s: not a multiple of the interval). */
const POD_START_SECONDS = 7;
const errorsTimes = (k: number) => `errors ×${k} (${+(k * base.stableErrorRate * 100).toFixed(2)}%)`;
/** A dependency failing 0.5% of both tracks' requests for 30 s, starting within the first 240 s. */
const burst = { seconds: 30, errorRate: 0.005, startsWithinSeconds: 240 };
// Traffic the comparison does not model: each request drawn on its own, Istio's retries to other pods of the same
// subset (every attempt reported by the server sidecar, every retry failing again), bursts, pods that differ.
const realTraffic: [string, Partial<TrafficModel>][] = [
  ['1 retry', { retries: 1 }],
  ['2 retries (Istio default)', { retries: 2 }],
  ['burst 0.5% for 30 s, 2 retries', { retries: 2, burst }],
  ['pods differ (error-rate CV 0.5)', { podErrorRateSpread: 0.5 }],
  ['pods differ (error-rate CV 1)', { podErrorRateSpread: 1 }],
  ['2 retries, pods differ (error-rate CV 1)', { retries: 2, podErrorRateSpread: 1 }],
];
const scenarios: Scenario[] = [
  { name: 'canary = stable', runs: 2000, traffic: base, thresholdOnly: true },
  ...[2, 5, 10, 50].map((k) => ({
    name: errorsTimes(k),
    runs: 1000,
    traffic: { ...base, canaryErrorRate: k * base.stableErrorRate },
    thresholdOnly: true,
  })),
  ...[1.5, 3].map((f) => ({
    name: `P99 ×${f}`,
    runs: 1000,
    traffic: { ...base, canaryLatencyFactor: f },
    thresholdOnly: true,
  })),
  ...realTraffic.map(([name, model]) => ({
    name: `canary = stable, ${name}`,
    runs: 2000,
    traffic: { ...base, ...model },
  })),
  ...[5, 10, 50].map((k) => ({
    name: `${errorsTimes(k)}, 2 retries`,
    runs: 1000,
    traffic: { ...base, retries: 2, canaryErrorRate: k * base.stableErrorRate },
  })),
  // What allowing for pods that differ costs: a canary as bad as its pods' spread allows is only caught later.
  ...[10, 50].map((k) => ({
    name: `${errorsTimes(k)}, pods differ (CV 0.5)`,
    runs: 1000,
    traffic: { ...base, podErrorRateSpread: 0.5, canaryErrorRate: k * base.stableErrorRate },
  })),
  {
    name: `${errorsTimes(5)}, 2 retries, pods differ (CV 0.5)`,
    runs: 1000,
    traffic: { ...base, retries: 2, podErrorRateSpread: 0.5, canaryErrorRate: 5 * base.stableErrorRate },
  },
  // Pods that take time to start: each step begins between the checks' grid instants, and the canary keeps the
  // previous step's weight, still judged, while the pods of the next one start.
  ...[
    ['canary = stable', 1, 2000],
    [errorsTimes(5), 5, 1000],
    [errorsTimes(10), 10, 1000],
  ].map(([name, k, runs]) => ({
    name: `${name}, pods ready after ${POD_START_SECONDS} s`,
    runs: runs as number,
    traffic: { ...base, canaryErrorRate: (k as number) * base.stableErrorRate },
    podReadySeconds: POD_START_SECONDS,
  })),
];

const match = process.argv.indexOf('--match');
const filter = match >= 0 ? process.argv[match + 1] : undefined;
if (match >= 0 && !filter)
  throw new Error("--match needs the text a scenario's name contains, e.g. --match 'retries'");
const chosen = scenarios.filter((s) => filter === undefined || s.name.includes(filter));
if (chosen.length === 0) throw new Error(`--match ${filter}: no scenario's name contains it`);

/** Bernoulli Kullback-Leibler divergence D(p || q). */
function kl(p: number, q: number): number {
  const term = (a: number, b: number) => (a === 0 ? 0 : a * Math.log(a / b));
  return term(p, q) + term(1 - p, 1 - q);
}

/**
 * Wald's lower bound on the mean number of canary requests any test with error rates alpha, beta needs:
 * kl(1 - beta, alpha) / D(p1 || p0) (Wald 1945), for the share of failing (or slow) requests.
 */
function waldBound(traffic: TrafficModel): { seconds: number; failed: number } | undefined {
  let p0 = traffic.stableErrorRate;
  let p1 = traffic.canaryErrorRate;
  if (traffic.canaryLatencyFactor !== 1) {
    // Slow requests above the edge Stepwise picks from stable's P99.
    const edge = BUCKETS_MS.indexOf(bucketEdgeAtOrAbove(traffic.stableP99Ms));
    p0 = 1 - latencyCdf(traffic.stableP99Ms)[edge]!;
    p1 = 1 - latencyCdf(traffic.stableP99Ms * traffic.canaryLatencyFactor)[edge]!;
  }
  if (p1 <= p0) return undefined;
  const requests = kl(1 - BETA, ALPHA) / kl(p1, p0);
  return { seconds: requests / (traffic.rps * BOUND_WEIGHT), failed: requests * traffic.canaryErrorRate };
}

const pct = (n: number, runs: number) => `${((100 * n) / runs).toFixed(1)}%`;
const sec = (s: number | undefined) => (s === undefined ? '—' : `${Math.round(s)} s`);

function row(scenario: string, method: string, s: SimulationSummary): string {
  return [
    scenario,
    method,
    pct(s.rolledBack, s.runs),
    sec(s.secondsToRollback?.p50),
    sec(s.secondsToRollback?.p95),
    s.failedCanaryRequests.mean.toFixed(1),
    sec(s.secondsToPromote?.p50),
  ].join(' | ');
}

/** A section of the results: its title, what it simulated, the table, and each goal with whether it holds. */
function section(title: string, intro: string, lines: string[], goals: [string, boolean, string][]): string {
  return [
    `## ${title}`,
    '',
    intro,
    '',
    ...lines,
    '',
    'Goals:',
    '',
    ...goals.map(([goal, holds, value]) => `- ${holds ? 'holds' : 'does NOT hold'}: ${goal} — ${value}`),
    '',
  ].join('\n');
}

/** The weighted steps: Stepwise's defaults against threshold-only, and the goals the design sets for them. */
interface ScenarioResult {
  stepwise: SimulationSummary;
  thresholdOnly?: SimulationSummary;
}

function weightsSection(): string {
  const lines = [
    '| scenario | method | P(rollback) | time to rollback p50 | p95 | failed canary requests (mean) | time to promote p50 |',
    '|---|---|---|---|---|---|---|',
  ];
  const results = new Map<string, ScenarioResult>();
  for (const scenario of chosen) {
    const options = {
      traffic: scenario.traffic,
      runs: scenario.runs,
      seed: SEED,
      ...(scenario.podReadySeconds ? { podReadySeconds: scenario.podReadySeconds } : {}),
    };
    const pair = {
      stepwise: simulate(stepwise, options),
      ...(scenario.thresholdOnly ? { thresholdOnly: simulate(thresholdOnly, options) } : {}),
    };
    results.set(scenario.name, pair);
    const label = `${scenario.name} (${scenario.runs} runs)`;
    lines.push(`| ${row(label, 'Stepwise defaults', pair.stepwise)} |`);
    if (pair.thresholdOnly)
      lines.push(`| ${row('', 'threshold-only (Flagger tutorial)', pair.thresholdOnly)} |`);
    const bound = waldBound(scenario.traffic);
    if (bound) {
      lines.push(
        `| | Wald lower bound at 5% | — | ${sec(bound.seconds)} (mean) | — | ${bound.failed.toFixed(1)} | — |`,
      );
    }
  }

  // The goals the design sets for this table, checked on the numbers above (those whose scenarios ran).
  const get = (name: string) => results.get(name)!;
  const stepSeconds = stepwise.steps.length * 60;
  const interval = durationMs(stepwise.analysis.interval) / 1000;
  type Goal = [string, boolean, string];
  /** A goal on the scenarios it names, left out when one of them did not run (--only). */
  const goalOn = (names: string[], make: (...pairs: ScenarioResult[]) => Goal): Goal[] =>
    names.every((n) => results.has(n)) ? [make(...names.map(get))] : [];
  /** "rolled back in ≥ share of runs" (at least) or "≤ share" (at most) on one scenario. */
  const rollbackGoal = (name: string, label: string, bound: 'at least' | 'at most', share: number): Goal[] =>
    goalOn([name], ({ stepwise: s }) => [
      `${label}: rolled back in ${bound === 'at least' ? '≥' : '≤'} ${share * 100}% of runs`,
      bound === 'at least' ? s.rolledBack >= share * s.runs : s.rolledBack <= share * s.runs,
      pct(s.rolledBack, s.runs),
    ]);
  const goals: Goal[] = [
    ...goalOn(['errors ×50 (5%)'], ({ stepwise: s }) => [
      '5% canary: mean failed canary requests ≤ 5',
      s.failedCanaryRequests.mean <= 5,
      s.failedCanaryRequests.mean.toFixed(2),
    ]),
    ...goalOn(['errors ×50 (5%)'], ({ stepwise: s, thresholdOnly: t }) => [
      '5% canary: ≥ 10× fewer failed canary requests than threshold-only',
      t!.failedCanaryRequests.mean >= 10 * s.failedCanaryRequests.mean,
      `${(t!.failedCanaryRequests.mean / s.failedCanaryRequests.mean).toFixed(1)}×`,
    ]),
    ...rollbackGoal('errors ×5 (0.5%)', '0.5% canary', 'at least', 0.75),
    ...rollbackGoal('errors ×10 (1%)', '1% canary', 'at least', 0.99),
    ...rollbackGoal('canary = stable', 'canary = stable', 'at most', 0.01),
    ...goalOn(['canary = stable'], ({ stepwise: s }) => [
      `canary = stable: median time to promote ≤ step minimums + two intervals (${stepSeconds + 2 * interval} s)`,
      (s.secondsToPromote?.p50 ?? Infinity) <= stepSeconds + 2 * interval,
      sec(s.secondsToPromote?.p50),
    ]),
    ...realTraffic.flatMap(([name]) =>
      rollbackGoal(`canary = stable, ${name}`, `canary = stable, ${name}`, 'at most', 0.01),
    ),
    ...rollbackGoal('errors ×10 (1%), 2 retries', '1% canary with 2 retries', 'at least', 0.99),
    ...rollbackGoal(
      'errors ×10 (1%), pods differ (CV 0.5)',
      '1% canary, pods differ (CV 0.5)',
      'at least',
      0.9,
    ),
    ...rollbackGoal('P99 ×3', 'P99 ×3', 'at least', 0.99),
    ...rollbackGoal(
      `canary = stable, pods ready after ${POD_START_SECONDS} s`,
      `canary = stable, pods ready after ${POD_START_SECONDS} s`,
      'at most',
      0.01,
    ),
    ...rollbackGoal(
      `errors ×5 (0.5%), pods ready after ${POD_START_SECONDS} s`,
      `0.5% canary, pods ready after ${POD_START_SECONDS} s`,
      'at least',
      0.75,
    ),
  ];

  const title = 'Detection: Stepwise defaults vs threshold-only';
  const intro =
    `Simulated with \`stepwise simulate\`'s engine (real state machine and analysis code): ${base.rps} rps, stable at ` +
    `${base.stableErrorRate * 100}% errors and P99 ${base.stableP99Ms} ms, ${base.scrapeIntervalSeconds} s scrape, ` +
    `canary pods ready at once (but in the rows that say otherwise), seed ${SEED}. Stepwise defaults: steps 5/25/50/100%, interval ${stepwise.analysis.interval}, stepDuration 1m, ` +
    'minRequests 50, failureLimit 1, comparison on (falseRollbackRate 0.01). Threshold-only: steps 10/20/30/40/50%, ' +
    'interval 1m, maxErrorRate 1%, maxP99LatencyMs 500, rollback on the 5th failed check, no comparison; it runs ' +
    "Stepwise's own threshold guard, which fails a check only when the error rate (or the share of requests slower " +
    'than the P99 limit) is above its limit beyond sampling noise (99% Wilson lower bound) and holds while it is ' +
    'above the limit within noise, so it fails ' +
    "fewer checks than Flagger's plain comparison would (which promotes a 1% canary about half the time). Stable serves alone for 30 s first. Times are " +
    "from the new revision's arrival; failed canary requests are requests that reached the canary and failed " +
    'after all retries (what the users saw) before the decision. Every request is drawn on its own and routed to one ' +
    'of its track’s pods (stable 4; the canary 1 per 25% of weight, at least 1). The rows below the threshold-only ' +
    "ones model what the comparison's test does not: Istio's retries (a failed request is retried on another pod of " +
    'the same subset, every retry fails again, and the server sidecar reports every attempt), a dependency failing ' +
    '0.5% of both tracks’ requests for 30 s at a random time in the first 240 s, and pods of one version whose error ' +
    'rates differ (Gamma-distributed around the track’s rate, coefficient of variation 0.5 or 1, the same for both ' +
    'versions). Before the rollout stable has served all traffic for a day, and the comparison reads its pods’ ' +
    'requests and 5xx over that day (every attempt, as the server sidecars count them) for the spread of its pods. ' +
    'A step is held, not passed, while the evidence against the canary is at least 10 (halfway to the rollback ' +
    'level 100 on the log scale), so a worse canary that showed too few errors in a step is watched longer. With ' +
    'pods that differ, a good canary may land on a bad pod, and the spread of 4 stable pods bounds how bad that ' +
    'can be only loosely (Student t with 3 degrees of freedom): no test that keeps its false-rollback rate for every ' +
    'spread of pods rolls back a 1% canary at CV 0.5 in more than about half of the runs (47% even when the pods’ ' +
    'rates are known exactly and the whole budget goes to the pods), and the threshold guard catches the rest.';
  return section(title, intro, lines, goals);
}

/** The scenario groups, each a section of the results. */
const GROUPS = ['weights', 'mirror'] as const;
type Group = (typeof GROUPS)[number];

const MIRROR_SECONDS = 60;
const mirrorFirst: RolloutSpec = rolloutSpecSchema.parse({
  ...routing,
  steps: [{ mirror: { percent: 100 }, duration: `${MIRROR_SECONDS}s` }, ...stepwise.steps],
});

function mirrorRow(scenario: string, method: string, s: SimulationSummary): string {
  return [
    scenario,
    method,
    pct(s.rolledBack, s.runs),
    pct(s.rolledBackBeforeUserRequests, s.runs),
    sec(s.secondsToRollback?.p50),
    sec(s.secondsToRollback?.p95),
    s.failedUserRequests.mean.toFixed(1),
    s.failedCanaryRequests.mean.toFixed(1),
    sec(s.secondsToPromote?.p50),
  ].join(' | ');
}

/** A mirror step before the weights against the weights alone, on the same traffic. */
function mirrorSection(): string {
  const scenarios: Scenario[] = [
    { name: 'canary = stable', runs: 1000, traffic: base },
    { name: errorsTimes(50), runs: 1000, traffic: { ...base, canaryErrorRate: 50 * base.stableErrorRate } },
    { name: errorsTimes(10), runs: 500, traffic: { ...base, canaryErrorRate: 10 * base.stableErrorRate } },
    { name: 'P99 ×1.5', runs: 500, traffic: { ...base, canaryLatencyFactor: 1.5 } },
  ];
  const lines = [
    '| scenario | steps | P(rollback) | rolled back before any user request reached the canary | time to rollback p50 | p95 | failed user requests (mean) | failed canary requests, copies included (mean) | time to promote p50 |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const results = new Map<string, { mirror: SimulationSummary; weights: SimulationSummary }>();
  for (const scenario of scenarios) {
    const options = { traffic: scenario.traffic, runs: scenario.runs, seed: SEED };
    const pair = { mirror: simulate(mirrorFirst, options), weights: simulate(stepwise, options) };
    results.set(scenario.name, pair);
    lines.push(
      `| ${mirrorRow(`${scenario.name} (${scenario.runs} runs)`, `mirror 100% for ${MIRROR_SECONDS} s, then 5/25/50/100`, pair.mirror)} |`,
    );
    lines.push(`| ${mirrorRow('', '5/25/50/100 (defaults)', pair.weights)} |`);
  }
  const get = (name: string) => results.get(name)!;
  const bad = get(errorsTimes(50)).mirror;
  const onePercent = get(errorsTimes(10)).mirror;
  const good = get('canary = stable');
  const promoteLimit = (good.weights.secondsToPromote?.p50 ?? Infinity) + MIRROR_SECONDS;
  const goals: [string, boolean, string][] = [
    [
      '5% canary with a mirror step: rolled back before any user request reached it in ≥ 99% of runs',
      bad.rolledBackBeforeUserRequests >= 0.99 * bad.runs,
      `${pct(bad.rolledBackBeforeUserRequests, bad.runs)}, median ${sec(bad.secondsToRollback?.p50)}, ` +
        `${bad.failedUserRequests.mean.toFixed(2)} failed user requests on average`,
    ],
    [
      '1% canary with a mirror step: rolled back in ≥ 99% of runs',
      onePercent.rolledBack >= 0.99 * onePercent.runs,
      `${pct(onePercent.rolledBack, onePercent.runs)} (${pct(onePercent.rolledBackBeforeUserRequests, onePercent.runs)} before any user request)`,
    ],
    [
      'canary = stable with a mirror step: rolled back in ≤ 1% of runs',
      good.mirror.rolledBack <= 0.01 * good.mirror.runs,
      pct(good.mirror.rolledBack, good.mirror.runs),
    ],
    [
      `canary = stable: the mirror step holds promotion back by no more than its own ${MIRROR_SECONDS} s (median ≤ ${sec(promoteLimit)})`,
      (good.mirror.secondsToPromote?.p50 ?? Infinity) <= promoteLimit,
      `${sec(good.mirror.secondsToPromote?.p50)} against ${sec(good.weights.secondsToPromote?.p50)} without it`,
    ],
  ];
  const title = 'Detection with a mirror step: judged on copies before any user is exposed';
  const intro =
    `The same engine and traffic as above (${base.rps} rps, stable at ${base.stableErrorRate * 100}% errors and P99 ` +
    `${base.stableP99Ms} ms, ${base.scrapeIntervalSeconds} s scrape, seed ${SEED}), Stepwise's defaults with one ` +
    `step \`mirror: {percent: 100}\` of ${MIRROR_SECONDS} s before the weights, against the weights alone. During ` +
    'the mirror step users stay on stable; every request is also copied to the canary, whose answers are dropped: ' +
    "the canary's sidecar counts the copies (each once, never retried), the callers' sidecars report nothing for " +
    'them. Failed user requests are requests users sent that reached the canary (by weight) and failed; failed ' +
    'canary requests add the copies that failed. "Before any user request" counts the runs rolled back while no ' +
    'user request had reached the canary.';
  return section(title, intro, lines, goals);
}

const started = Date.now();
const sections: Record<Group, () => string> = { weights: weightsSection, mirror: mirrorSection };
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'detection.md');
const groups =
  filter === undefined ? selectedGroups(process.argv.slice(2), GROUPS) : (['weights'] as Group[]);
let results = existsSync(out) ? readFileSync(out, 'utf8') : '';
for (const group of groups) {
  const text = sections[group]();
  console.log(text);
  results = withSection(results, group, text);
}
if (filter === undefined) {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, results);
  console.error(`wrote ${groups.join(', ')} to ${out} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
} else {
  console.error(
    `--match ${filter}: ${chosen.length} scenarios in ${((Date.now() - started) / 1000).toFixed(0)} s; results file unchanged`,
  );
}
