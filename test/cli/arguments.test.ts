import { KubeConfig } from '@kubernetes/client-node';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { namespaceOf } from '../../src/cli/cluster-options.js';
import { registerOperatorCommands } from '../../src/cli/commands/index.js';
import { durationFlag } from '../../src/cli/duration-flag.js';
import { CliError } from '../../src/cli/exit.js';
import { formatData, parseOutputFormat } from '../../src/cli/output.js';

function kubeConfig(namespace?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u', ...(namespace ? { namespace } : {}) }],
    currentContext: 'ctx',
  });
  return kc;
}

function program(): Command {
  const p = new Command('stepwise').exitOverride();
  registerOperatorCommands(p);
  return p;
}

describe('common flags', () => {
  it('takes -n, else the context namespace, else default', () => {
    expect(namespaceOf(kubeConfig('shop'), 'other')).toBe('other');
    expect(namespaceOf(kubeConfig('shop'))).toBe('shop');
    expect(namespaceOf(kubeConfig())).toBe('default');
  });

  it('reads --timeout as a duration, a bare number as seconds, and names the flag when wrong', () => {
    expect(durationFlag('timeout', '30m')).toBe(1_800_000);
    expect(durationFlag('timeout', '45')).toBe(45_000);
    expect(() => durationFlag('timeout', 'soon')).toThrow(
      /--timeout "soon" is not a duration; use e\.g\. 30s/,
    );
    expect(() => durationFlag('timeout', '0s')).toThrow(CliError);
  });

  it('prints data as json or yaml and refuses other formats', () => {
    expect(parseOutputFormat(undefined)).toBeUndefined();
    expect(JSON.parse(formatData({ phase: 'Healthy' }, parseOutputFormat('json')!))).toEqual({
      phase: 'Healthy',
    });
    expect(formatData({ phase: 'Healthy' }, 'yaml')).toBe('phase: Healthy');
    expect(() => parseOutputFormat('table')).toThrow(/use -o json or -o yaml/);
  });

  it('gives every operator command the cluster flags, -o where output is data, and an example', () => {
    const p = program();
    for (const name of ['status', 'list', 'promote', 'abort', 'retry', 'trigger']) {
      const command = p.commands.find((c) => c.name() === name)!;
      const longs = command.options.map((o) => o.long);
      expect(longs, name).toEqual(expect.arrayContaining(['--namespace', '--kubeconfig', '--context']));
      expect(command.options.find((o) => o.long === '--namespace')?.short).toBe('-n');
      if (name !== 'trigger') expect(longs, name).toContain('--output');
    }
    // __complete is the hidden command the completion scripts call.
    for (const command of p.commands.filter((c) => c.name() !== '__complete')) {
      let help = '';
      command.configureOutput({ writeOut: (s) => (help += s) });
      command.outputHelp();
      expect(help, command.name()).toMatch(/Example:\n {2}(stepwise|source)/);
    }
  });

  it('refuses a missing --image and an unknown -o before touching a cluster', async () => {
    await expect(program().parseAsync(['node', 'stepwise', 'trigger', 'app'])).rejects.toThrow(/--image/);
    await expect(program().parseAsync(['node', 'stepwise', 'status', 'app', '-o', 'table'])).rejects.toThrow(
      /-o, --output <format>' argument 'table' is invalid\. use one of json, yaml, name, wide or jsonpath=<template>/,
    );
  });
});
