import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { validateSpec } from '../../src/api/validate.js';
import { matchesGlob } from '../../src/trigger/image-glob.js';

describe('allowedImages globs', () => {
  it('matches * within a path segment and ** across segments', () => {
    expect(matchesGlob('reg.io/team/*', 'reg.io/team/app:1.0')).toBe(true);
    expect(matchesGlob('reg.io/team/*', 'reg.io/team/sub/app:1.0')).toBe(false);
    expect(matchesGlob('reg.io/**', 'reg.io/team/sub/app:1.0')).toBe(true);
    expect(matchesGlob('reg.io/**/app:*', 'reg.io/a/b/app:2')).toBe(true);
    expect(matchesGlob('reg.io/**/app:*', 'reg.io/a/b/app:2/x')).toBe(false);
    expect(matchesGlob('reg.io/app:1.*', 'reg.io/app:2.0')).toBe(false);
    expect(matchesGlob('reg.io/app.x', 'reg.io/appXx')).toBe(false);
    expect(matchesGlob('*', '')).toBe(true);
    expect(matchesGlob('a*', 'b')).toBe(false);
    expect(matchesGlob('**', 'a/b/c')).toBe(true);
    expect(matchesGlob('a***b', 'a/x/b')).toBe(true);
    // Patterns longer than 32 tokens: the state bits span several words.
    expect(matchesGlob(`${'a'.repeat(40)}*`, 'a'.repeat(45))).toBe(true);
    expect(matchesGlob(`${'a'.repeat(40)}*b`, 'a'.repeat(45))).toBe(false);
    expect(matchesGlob(`${'x/'.repeat(40)}**:1`, `${'x/'.repeat(40)}y/z:1`)).toBe(true);
    expect(matchesGlob(`${'x/'.repeat(40)}*:1`, `${'x/'.repeat(40)}y/z:1`)).toBe(false);
  });

  it('agrees with the glob written as a regular expression on every short input', () => {
    const toRegex = (glob: string) =>
      new RegExp(
        `^${glob.replace(/\*\*|\*|[.]/g, (m) => (m === '**' ? '.*' : m === '*' ? '[^/]*' : '\\.'))}$`,
      );
    const alphabet = ['a', '/', '.'];
    const words = (n: number): string[] =>
      n === 0 ? [''] : words(n - 1).flatMap((w) => [w, ...alphabet.map((c) => w + c)]);
    const texts = [...new Set(words(4))];
    for (const glob of ['a*', '*a*', 'a/**', '**/a', '*/*', 'a**a', '*.*', '**a*']) {
      for (const text of texts)
        expect(matchesGlob(glob, text), `${glob} ~ ${text}`).toBe(toRegex(glob).test(text));
    }
  });

  it('matches twelve stars against a 60-character image in one pass over the image, where backtracking takes hours', async () => {
    // A separate process, so that a backtracking matcher is stopped instead of blocking the test runner.
    const module = new URL('../../src/trigger/image-glob.ts', import.meta.url).href;
    const code = `import(${JSON.stringify(module)}).then((m) => console.log(m.matchesGlob('${'*a'.repeat(12)}*b', '${'a'.repeat(60)}')))`;
    const output = await new Promise<string>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', '-e', code], { timeout: 20_000 }, (error, stdout) =>
        resolve(error ? `stopped: ${error.message}` : stdout.trim()),
      );
    });
    expect(output).toBe('false');
  }, 30_000);

  it('bounds the patterns in the Rollout schema, naming the field', () => {
    const spec = (allowedImages: string[]) => ({
      targetRef: { name: 'app' },
      trafficRouting: { istio: { virtualService: { name: 'app' }, destinationRule: { name: 'app' } } },
      trigger: { allowedImages },
    });
    const problems = (allowedImages: string[]) => {
      const result = validateSpec(spec(allowedImages));
      return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
    };
    expect(problems(Array.from({ length: 32 }, (_, i) => `reg.io/${i}/**`))).toEqual([]);
    expect(problems(Array.from({ length: 33 }, (_, i) => `reg.io/${i}/**`)).join()).toMatch(
      /^spec\.trigger\.allowedImages: /,
    );
    expect(problems([`reg.io/${'a'.repeat(300)}`]).join()).toMatch(/^spec\.trigger\.allowedImages\[0\]: /);
  });
});
