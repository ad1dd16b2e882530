import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CHART_DIR, REPO_ROOT } from './helm.js';

interface Panel {
  title: string;
  targets: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(join(CHART_DIR, 'dashboards/stepwise.json'), 'utf8')) as {
  uid: string;
  panels: Panel[];
};
const queries = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));

/** Metric name -> label names, as src/telemetry/metrics.ts declares them to prom-client. */
function exportedMetrics(): Map<string, string[]> {
  const source = readFileSync(join(REPO_ROOT, 'src/telemetry/metrics.ts'), 'utf8');
  const metrics = new Map<string, string[]>();
  for (const m of source.matchAll(/name: '(stepwise_\w+)',[\s\S]*?labelNames: \[([^\]]*)\]/g)) {
    metrics.set(
      m[1]!,
      [...m[2]!.matchAll(/'(\w+)'/g)].map((l) => l[1]!),
    );
  }
  return metrics;
}

describe('Grafana dashboard charts/stepwise/dashboards/stepwise.json', () => {
  const metrics = exportedMetrics();

  it('shows every Rollout metric the controller exports, and no metric it does not', () => {
    expect(metrics.size).toBeGreaterThan(0);
    // A histogram is queried through its _bucket series.
    const shown = new Set(
      queries.flatMap((q) =>
        [...q.expr.matchAll(/\bstepwise_\w+/g)].map((m) => m[0].replace(/_seconds_bucket$/, '_seconds')),
      ),
    );
    expect([...shown].sort()).toEqual([...metrics.keys()].sort());
  });

  it('selects and groups only by labels the metric carries', () => {
    const problems: string[] = [];
    for (const { panel, expr } of queries) {
      for (const [, name, selector] of expr.matchAll(/\b(stepwise_\w+)\{([^}]*)\}/g)) {
        const labels = metrics.get(name!) ?? [];
        const inExpr = [
          ...[...selector!.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]!),
          ...[...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim())),
        ];
        for (const label of inExpr)
          if (!labels.includes(label)) problems.push(`${panel}: ${name} has no label ${label}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('has queries Prometheus parses, once Grafana variables are filled in', (ctx) => {
    if (!existsSync('/usr/bin/promtool')) return ctx.skip('promtool is not installed');
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-dashboard-'));
    try {
      const fill = (expr: string) =>
        expr
          .replaceAll('$namespace', '.*')
          .replaceAll('$rollout', '.*')
          .replace(/\$__\w+/g, '5m');
      const rules = queries.map((q, i) => ({ record: `stepwise:dashboard_query_${i}`, expr: fill(q.expr) }));
      writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
      const out = execFileSync('/usr/bin/promtool', ['check', 'rules', join(dir, 'rules.yaml')], {
        encoding: 'utf8',
      });
      expect(out).toContain(`SUCCESS: ${rules.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
