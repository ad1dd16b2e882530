// Time to roll back a bad canary on the sandbox, end to end: real controller process, real Prometheus (1 s
// scrape), the simulated mesh at 50 rps. Releases a canary answering 5% errors (stable 0.1%) again and again and
// measures, at the mesh, the time from the first request the canary served to all traffic back on stable.
// Usage: npm run bench:sandbox-rollback [-- --runs 20]
import { mkdirSync, writeFileSync } from 'node:fs';
import { IMAGE, startE2E } from '../test/e2e/harness.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 20;

interface Config {
  name: string;
  analysis: Record<string, unknown>;
  steps?: Record<string, unknown>[];
}

const CONFIGS: Config[] = [
  { name: 'defaults, interval 1s (steps 5/25/50/100)', analysis: { interval: '1s' } },
  {
    name: 'defaults, interval 1s, steps 25/50/100',
    analysis: { interval: '1s' },
    steps: [{ weight: 25 }, { weight: 50 }, { weight: 100 }],
  },
  {
    name: 'comparison only, interval 1s, steps 25/50/100',
    analysis: { interval: '1s', thresholds: { maxErrorRate: 0.5 } },
    steps: [{ weight: 25 }, { weight: 50 }, { weight: 100 }],
  },
];
// `--only <text>` runs the configurations whose name contains it.
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

const rows: string[] = [];
for (const config of CONFIGS.filter((c) => !only || c.name.includes(only))) {
  const e2e = await startE2E({ analysis: config.analysis, ...(config.steps ? { steps: config.steps } : {}) });
  const seconds: number[] = [];
  const reasons = new Map<string, number>();
  try {
    await e2e.adopted();
    for (let i = 0; i < runs; i++) {
      await e2e.canaryScaledDown();
      const firstRequest = await e2e.releaseUntilCanaryServes(`${IMAGE}:9.${i}.0-bad-errors`);
      await e2e.waitFor('start', (s) => s.phase === 'Progressing');
      const status = await e2e.waitFor(
        'rollback',
        (s) => s.phase === 'RolledBack' || s.phase === 'Succeeded',
        120_000,
      );
      reasons.set(status.reason ?? '?', (reasons.get(status.reason ?? '?') ?? 0) + 1);
      await e2e.meshRoutesCanaryWeight(0);
      const backToStable = e2e.canaryWeights().at(-1)!.at;
      if (status.phase === 'RolledBack') seconds.push((backToStable - firstRequest) / 1000);
      process.stderr.write(
        `${config.name}: run ${i + 1}/${runs} ${status.phase} ${seconds.at(-1)?.toFixed(1) ?? ''} s\n`,
      );
      await e2e.release(`${IMAGE}:1.0.0`);
      await e2e.waitFor('back to the stable image', (s) => s.phase === 'Healthy', 60_000);
      await e2e.meshRoutesCanaryWeight(0);
    }
  } finally {
    await e2e.close();
  }
  const sorted = [...seconds].sort((a, b) => a - b);
  const fmt = (v: number | undefined) => (v === undefined ? '—' : `${v.toFixed(1)} s`);
  rows.push(
    `| ${config.name} | ${seconds.length}/${runs} | ${fmt(quantile(sorted, 0.5))} | ${fmt(quantile(sorted, 0.95))} | ${fmt(sorted.at(-1))} | ${sorted.filter((s) => s < 15).length}/${seconds.length} | ${[...reasons].map(([r, n]) => `${r} ${n}`).join(', ')} |`,
  );
}

const table = [
  '## Rollback of a 5% canary on the sandbox (50 rps, stable 0.1%, 1 s scrape)',
  '',
  'Time from the first request the canary served to all traffic back on stable, as the mesh routed it. Real',
  'controller process, real Prometheus. The mesh sends 10% of the requests with `x-canary: "true"`, which the',
  "example VirtualService's header route sends to the canary as soon as its pods are ready, before any weight moves.",
  '',
  `Run: \`npm run bench:sandbox-rollback -- ${process.argv
    .slice(2)
    .map((a) => (a.includes(' ') ? `'${a}'` : a))
    .join(' ')}\` (${new Date().toISOString().slice(0, 10)}).`,
  '',
  '| configuration | rolled back | p50 | p95 | max | under 15 s | reasons |',
  '|---|---|---|---|---|---|---|',
  ...rows,
  '',
].join('\n');
console.log(table);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
// A run of some configurations only keeps its own file, next to the full table.
const slug = only
  ? `-${only
      .replace(/[^a-z0-9]+/gi, '-')
      .replace(/^-|-$/g, '')
      .toLowerCase()}`
  : '';
writeFileSync(new URL(`./results/sandbox-rollback${slug}.md`, import.meta.url), table);
