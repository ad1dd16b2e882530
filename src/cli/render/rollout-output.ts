// `-o` for commands that print Rollouts, as `kubectl get` does: the objects themselves (json, yaml; a `List`
// for several), `name` (rollout.stepwise.dev/<name>), `wide` (more columns) and `jsonpath=<template>`.
import { InvalidArgumentError, Option } from 'commander';
import { stringify } from 'yaml';
import { GROUP } from '../../api/schema.js';
import type { RolloutObject } from '../../kube/cluster.js';
import { parseJsonPath, renderJsonPath } from './jsonpath.js';

export type RolloutOutput =
  { format: 'json' | 'yaml' | 'name' | 'wide' } | { format: 'jsonpath'; template: string };

const NAMED = ['json', 'yaml', 'name', 'wide'] as const;

/** Parses `-o`; a bad value is a usage error (exit 2) that lists what is accepted. */
export function parseRolloutOutput(text: string): RolloutOutput {
  if ((NAMED as readonly string[]).includes(text)) return { format: text as (typeof NAMED)[number] };
  const jsonpath = /^jsonpath=(.*)$/s.exec(text);
  if (jsonpath) {
    try {
      parseJsonPath(jsonpath[1]!);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
    return { format: 'jsonpath', template: jsonpath[1]! };
  }
  throw new InvalidArgumentError(`use one of ${NAMED.join(', ')} or jsonpath=<template>.`);
}

export const rolloutOutputOption = () =>
  new Option(
    '-o, --output <format>',
    'json|yaml (the Rollout object; a List for several), name, wide, or jsonpath=<template>',
  ).argParser(parseRolloutOutput);

/** A kubectl `List` of the Rollouts, as `kubectl get rollouts -o json` prints it. */
export const rolloutList = (items: RolloutObject[]) => ({
  apiVersion: 'v1',
  kind: 'List',
  metadata: { resourceVersion: '' },
  items,
});

/** The Rollout (or the List) in a data format; undefined for the text formats (wide). */
export function formatRollouts(
  data: RolloutObject | RolloutObject[],
  output: RolloutOutput,
): string | undefined {
  const object = Array.isArray(data) ? rolloutList(data) : data;
  switch (output.format) {
    case 'json':
      return JSON.stringify(object, null, 2);
    case 'yaml':
      return stringify(object).trimEnd();
    case 'name':
      return (Array.isArray(data) ? data : [data])
        .map((r) => `rollout.${GROUP}/${r.metadata.name}`)
        .join('\n');
    case 'jsonpath':
      return renderJsonPath(output.template, object);
    case 'wide':
      return undefined;
  }
}
