import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { validateRollout } from '../../src/api/validate.js';

const ROOT = fileURLToPath(new URL('../../rollouts', import.meta.url));

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

const rollouts = yamlFiles(ROOT).flatMap((file) =>
  parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => doc.toJS() as { kind?: string; metadata?: { name?: string } } | null)
    .filter((o) => o?.kind === 'Rollout')
    .map((o) => ({ file: file.slice(ROOT.length + 1), object: o })),
);

describe('the examples users copy from rollouts/', () => {
  it('include the product-service, manual-gate, custom-metric and Prometheus-auth Rollouts', () => {
    expect(rollouts.map((r) => r.file).sort()).toEqual([
      'custom-metric/rollout.yaml',
      'manual-gate/rollout.yaml',
      'product-service/rollout.yaml',
      'prometheus-auth/rollout.yaml',
    ]);
  });

  it.each(rollouts)('$file passes validation', ({ object }) => {
    const result = validateRollout(object);
    expect(result.ok ? [] : result.problems).toEqual([]);
  });
});

describe('the product-service routing example', () => {
  const docs = (path: string) =>
    parseAllDocuments(readFileSync(path, 'utf8'))
      .map((d) => d.toJS() as { kind?: string; spec?: unknown } | null)
      .filter((o) => o?.kind === 'VirtualService' || o?.kind === 'DestinationRule');
  const fixture = fileURLToPath(new URL('../sandbox/fixtures/istio-product-service.yaml', import.meta.url));
  const shared = fileURLToPath(
    new URL('../../../shared/examples/istio-product-service.yaml', import.meta.url),
  );

  it('is the VirtualService and DestinationRule of the shared example, unchanged', () => {
    expect(docs(join(ROOT, 'product-service/istio.yaml'))).toEqual(docs(fixture));
  });

  it.skipIf(!existsSync(shared))('matches ../shared/examples when it is there', () => {
    expect(docs(fixture)).toEqual(docs(shared));
  });
});
