import { describe, expect, it } from 'vitest';
import { type PrometheusSetupDeps, ensurePrometheus } from '../../sandbox/demo/prometheus-setup.js';

function machine(options: {
  installed?: boolean;
  root?: boolean;
  apt?: boolean;
  installWorksAfter?: 'install' | 'update' | 'never';
}) {
  let installed = options.installed ?? false;
  const commands: string[] = [];
  const printed: string[] = [];
  let updated = false;
  const deps: PrometheusSetupDeps = {
    find: () => {
      if (!installed) throw new Error('Prometheus binary not found');
      return '/usr/bin/prometheus';
    },
    isRoot: () => options.root ?? false,
    hasApt: () => options.apt ?? false,
    run: (command, args) => {
      commands.push([command, ...args].join(' '));
      if (args[0] === 'update') {
        updated = true;
        return true;
      }
      const when = options.installWorksAfter ?? 'install';
      if (when === 'install' || (when === 'update' && updated)) installed = true;
      return installed;
    },
    print: (line) => printed.push(line),
  };
  return { deps, commands, printed };
}

describe('ensurePrometheus', () => {
  it('uses an installed Prometheus without running anything', () => {
    const m = machine({ installed: true, root: true, apt: true });
    expect(ensurePrometheus(m.deps)).toBe('/usr/bin/prometheus');
    expect(m.commands).toEqual([]);
  });

  it('installs it with apt when running as root, and says so', () => {
    const m = machine({ root: true, apt: true });
    expect(ensurePrometheus(m.deps)).toBe('/usr/bin/prometheus');
    expect(m.commands).toEqual(['apt-get install -y prometheus']);
    expect(m.printed.join('\n')).toContain('apt-get install -y prometheus');
  });

  it('refreshes empty package lists once when the first install fails', () => {
    const m = machine({ root: true, apt: true, installWorksAfter: 'update' });
    expect(ensurePrometheus(m.deps)).toBe('/usr/bin/prometheus');
    expect(m.commands).toEqual([
      'apt-get install -y prometheus',
      'apt-get update',
      'apt-get install -y prometheus',
    ]);
  });

  it('gives up when apt cannot install it', () => {
    const m = machine({ root: true, apt: true, installWorksAfter: 'never' });
    expect(ensurePrometheus(m.deps)).toBeUndefined();
  });

  it('never runs apt without root or without apt', () => {
    for (const options of [
      { root: false, apt: true },
      { root: true, apt: false },
    ]) {
      const m = machine(options);
      expect(ensurePrometheus(m.deps)).toBeUndefined();
      expect(m.commands).toEqual([]);
    }
  });
});
