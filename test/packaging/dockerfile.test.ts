import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helm.js';

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Dockerfile stages with their instructions (line continuations joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword, args] = /^(\w+)\s+(.*)$/.exec(line)!;
    if (keyword!.toUpperCase() === 'FROM') {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args!)!;
      stages.push({ from: from!, name, instructions: [] });
    } else {
      stages.at(-1)!.instructions.push({ keyword: keyword!.toUpperCase(), args: args! });
    }
  }
  return stages;
}

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const final = stages.at(-1)!;
const args = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

describe('Dockerfile', () => {
  it('builds with all dependencies, then runs on Node 24 with production dependencies only', () => {
    expect(stages.map((s) => s.from.split(':')[0])).toEqual(['node', 'node']);
    for (const stage of stages) expect(stage.from).toMatch(/^node:24[-.]/);
    const build = stages[0]!;
    expect(args(build, 'RUN')).toEqual(
      expect.arrayContaining([expect.stringMatching(/^npm ci\b(?!.*--omit)/)]),
    );
    expect(args(build, 'RUN')).toContain('npm run build');
    expect(args(final, 'RUN').filter((r) => r.startsWith('npm ci'))).toEqual([
      expect.stringContaining('--omit=dev'),
    ]);
    // Nothing of the build stage but the compiled output: its node_modules holds the dev dependencies.
    expect(args(final, 'COPY').filter((c) => c.includes('--from'))).toEqual([
      `--from=${build.name} /app/dist ./dist`,
    ]);
  });

  it('runs as a numeric non-root user, set after every build step', () => {
    const users = args(final, 'USER');
    expect(users).toHaveLength(1);
    const uid = Number(users[0]!.split(':')[0]);
    expect(uid).toBeGreaterThan(0);
    const keywords = final.instructions.map((i) => i.keyword);
    expect(keywords.lastIndexOf('RUN')).toBeLessThan(keywords.indexOf('USER'));
  });

  it('starts the compiled CLI in exec form, `controller` by default', () => {
    expect(args(final, 'ENTRYPOINT').map((e) => JSON.parse(e) as unknown)).toEqual([
      ['node', 'dist/cli/main.js'],
    ]);
    expect(args(final, 'CMD').map((c) => JSON.parse(c) as unknown)).toEqual([['controller']]);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(pkg.bin.stepwise).toBe('dist/cli/main.js');
    const build = JSON.parse(readFileSync(join(REPO_ROOT, 'tsconfig.build.json'), 'utf8')) as {
      compilerOptions: { rootDir: string; outDir: string };
    };
    expect(build.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    expect(pkg.scripts.build).toContain('tsconfig.build.json');
    expect(existsSync(join(REPO_ROOT, 'src/cli/main.ts'))).toBe(true);
  });

  it('puts stepwise and kubectl-stepwise on PATH, linked to the executable compiled CLI', () => {
    const runs = args(final, 'RUN').join(' && ');
    for (const bin of ['stepwise', 'kubectl-stepwise']) {
      expect(runs).toContain(`ln -s /app/dist/cli/main.js /usr/local/bin/${bin}`);
    }
    // A symlinked bin runs only if the build made it executable (npm does this on install, tsc does not).
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.build).toMatch(/&& chmod \+x dist\/cli\/main\.js dist\/cli\/kubectl-complete\.js$/);
  });

  it('keeps out of the build context nothing the Dockerfile copies, and keeps out node_modules and dist', () => {
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git']));
    const copied = stages
      .flatMap((s) => args(s, 'COPY'))
      .filter((c) => !c.startsWith('--from'))
      .flatMap((c) => c.split(/\s+/).slice(0, -1));
    expect(copied.length).toBeGreaterThan(0);
    for (const source of copied) {
      expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
      expect(ignored, source).not.toContain(source);
    }
  });
});
