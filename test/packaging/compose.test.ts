import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './helm.js';

interface Service {
  image?: string;
  build?: { context: string; target: string };
  command?: string[];
  network_mode?: string;
  read_only?: boolean;
  cap_drop?: string[];
  volumes?: string[];
}
const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;

/** Long flags a commander program declares in `file`. */
function declaredFlags(file: string): Set<string> {
  const source = readFileSync(join(REPO_ROOT, file), 'utf8');
  return new Set(
    [...source.matchAll(/\.(?:required)?[oO]ption\(\s*'(?:-\w, )?(--[\w-]+)/g)].map((m) => m[1]!),
  );
}
const flagsOf = (command: string[]) => command.filter((a) => a.startsWith('--') && a !== '--import');
const flagValue = (command: string[], flag: string) => command[command.indexOf(flag) + 1];

function composeBinary(): string[] | undefined {
  for (const candidate of [['docker-compose'], ['docker', 'compose']]) {
    const probe = spawnSync(candidate[0]!, [...candidate.slice(1), 'version'], { stdio: 'pipe' });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

describe('docker-compose.yml', () => {
  it('is a valid Compose file', (ctx) => {
    const binary = composeBinary();
    if (!binary)
      return ctx.skip(
        'neither docker-compose nor `docker compose` is installed (apt-get install docker-compose)',
      );
    const out = execFileSync(binary[0]!, [...binary.slice(1), '-f', 'docker-compose.yml', 'config'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: 'pipe',
    });
    const resolved = parse(out) as { services: Record<string, unknown> };
    expect(Object.keys(resolved.services).sort()).toEqual(Object.keys(services).sort());
  });

  it('starts the sandbox API server and mesh with flags their commands declare', () => {
    for (const [name, file] of [
      ['apiserver', 'sandbox/apiserver/main.ts'],
      ['mesh', 'sandbox/mesh/main.ts'],
    ] as const) {
      const command = services[name]!.command!;
      expect(command.slice(0, 4)).toEqual(['node', '--import', 'tsx', file]);
      const declared = declaredFlags(file);
      expect(
        flagsOf(command).filter((f) => !declared.has(f)),
        name,
      ).toEqual([]);
      expect(services[name]!.build?.target).toBe('build');
    }
    const kubeconfig = flagValue(services.apiserver!.command!, '--kubeconfig-out');
    expect(flagValue(services.mesh!.command!, '--kubeconfig')).toBe(kubeconfig);
    expect(flagValue(services.controller!.command!, '--kubeconfig')).toBe(kubeconfig);
  });

  it('runs the controller image as the chart does: read-only root, no capabilities, known flags', () => {
    const controller = services.controller!;
    expect(controller.build?.target).toBe(
      readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8').match(/AS (\w+)\s*\n(?![\s\S]*\bFROM\b)/)?.[1],
    );
    expect(controller.read_only).toBe(true);
    expect(controller.cap_drop).toEqual(['ALL']);
    expect(controller.command![0]).toBe('controller');
    const declared = declaredFlags('src/cli/controller-command.ts');
    expect(flagsOf(controller.command!).filter((f) => !declared.has(f))).toEqual([]);
  });

  it('mounts only files and folders that exist in the repository', () => {
    const sources = Object.values(services)
      .flatMap((s) => s.volumes ?? [])
      .map((v) => v.split(':')[0]!)
      .filter((source) => source.startsWith('./'));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
  });

  it('has Prometheus scrape the mesh and the controller where they listen', (ctx) => {
    const config = parse(readFileSync(join(REPO_ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = Object.fromEntries(
      config.scrape_configs.map((c) => [c.job_name, c.static_configs[0]!.targets]),
    );
    expect(targets['istio-mesh']).toEqual([`127.0.0.1:${flagValue(services.mesh!.command!, '--port')}`]);
    // The controller keeps its default --metrics-address.
    const metricsDefault = /'--metrics-address <host:port>',\s*'[^']*',\s*'[\d.]+:(\d+)'/.exec(
      readFileSync(join(REPO_ROOT, 'src/cli/controller-command.ts'), 'utf8'),
    )?.[1];
    expect(services.controller!.command).not.toContain('--metrics-address');
    expect(targets.stepwise).toEqual([`127.0.0.1:${metricsDefault}`]);
    if (!existsSync('/usr/bin/promtool')) return ctx.skip('promtool is not installed');
    execFileSync(
      '/usr/bin/promtool',
      ['check', 'config', join(REPO_ROOT, 'deploy/prometheus/prometheus.yml')],
      {
        stdio: 'pipe',
      },
    );
  });

  it('applies the example Rollout analysed by the Prometheus the controller is given', (ctx) => {
    const examples = services.examples!;
    expect(examples.command).toEqual(expect.arrayContaining(['apply', '-k', '/examples']));
    const probe = spawnSync('kubectl', ['version', '--client'], { stdio: 'pipe' });
    if (probe.status !== 0) return ctx.skip('kubectl is not installed');
    // Lay the mounts out as the container sees them, then render the kustomization.
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-examples-'));
    try {
      for (const volume of examples.volumes!.filter((v) => v.startsWith('./'))) {
        const [source, target] = volume.split(':') as [string, string];
        cpSync(join(REPO_ROOT, source), join(dir, target.replace(/^\/examples/, '')), { recursive: true });
      }
      const rendered = parseAllDocuments(
        execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' }),
      ).map(
        (d) =>
          d.toJS() as {
            kind: string;
            metadata: { namespace: string };
            spec: { analysis: { prometheus: { address: string } } };
          },
      );
      const rollout = rendered.find((o) => o.kind === 'Rollout')!;
      expect(rollout.spec.analysis.prometheus.address).toBe(
        flagValue(services.controller!.command!, '--prometheus-address'),
      );
      expect(new Set(rendered.map((o) => o.metadata.namespace))).toEqual(
        new Set([flagValue(services.mesh!.command!, '--namespace')]),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('provisions Grafana with the chart’s dashboard and the stack’s Prometheus', () => {
    const grafana = services.grafana!;
    const dashboards = grafana.volumes!.find((v) => v.startsWith('./charts/stepwise/dashboards:'))!;
    const provider = parse(
      readFileSync(join(REPO_ROOT, 'deploy/grafana/provisioning/dashboards/stepwise.yaml'), 'utf8'),
    ) as { providers: { options: { path: string } }[] };
    expect(dashboards.split(':')[1]).toBe(provider.providers[0]!.options.path);
    const datasources = parse(
      readFileSync(join(REPO_ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yaml'), 'utf8'),
    ) as { datasources: { url: string; type: string }[] };
    expect(datasources.datasources).toEqual([
      expect.objectContaining({
        type: 'prometheus',
        url: flagValue(services.controller!.command!, '--prometheus-address'),
      }),
    ]);
  });
});
