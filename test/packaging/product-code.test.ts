import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The build (tsconfig.build.json: rootDir src), the npm package and the image hold what src/ imports. The sandbox,
// the tests and the benchmarks live beside src/, so product code must never import them.
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SRC = join(REPO_ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative specifiers of static imports, re-exports and literal dynamic imports. */
function relativeImports(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(
    /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]+)\1/gm,
  )) {
    found.push(match[2]!);
  }
  return found;
}

describe('product code', () => {
  it('imports nothing from outside src/: the sandbox is not in the build, the package or the image', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(50);
    const outside = files.flatMap((file) =>
      relativeImports(readFileSync(file, 'utf8'))
        .map((specifier) => resolve(dirname(file), specifier))
        .filter((target) => relative(SRC, target).startsWith('..'))
        .map((target) => `${relative(REPO_ROOT, file)} imports ${relative(REPO_ROOT, target)}`),
    );
    expect(outside).toEqual([]);
  });

  it('finds an import of the sandbox when one is written (the scan is not blind)', () => {
    const specimen = "import { runSandbox } from '../../sandbox/sandbox-command.js';";
    const target = resolve(join(SRC, 'cli'), relativeImports(specimen)[0]!);
    expect(relative(REPO_ROOT, target)).toBe(join('sandbox', 'sandbox-command.js'));
  });

  it('keeps the sandbox out of src/', () => {
    expect(readdirSync(SRC)).not.toContain('sandbox');
    expect(readdirSync(REPO_ROOT)).toContain('sandbox');
  });
});
