// `stepwise validate`: every Rollout document of a YAML text checked offline, each problem mapped back to
// the line of the field it names (the yaml package keeps each node's source range).
import { isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';
import { API_VERSION, GROUP, KIND, type RolloutSpec } from '../api/schema.js';
import { validateRollout, type Problem } from '../api/validate.js';
import { MAX_ALIAS_COUNT, mergeOrderProblems, parseManifestDocuments } from './manifest-yaml.js';

/** One object of a manifest file, with where its fields are, for checks that read it with other objects. */
export interface ManifestObject {
  value: Record<string, unknown>;
  /** `file:line` of the field at `path` (of its nearest parent that is written). */
  lineOf(path: string): string;
  /** `path` as it reads in the document: `items[2].spec.host` inside a List. */
  pathOf(path: string): string;
  /** A Stepwise Rollout that passed validation: its spec, defaults filled in. */
  rolloutSpec?: RolloutSpec;
}

/** What one file holds for `validate`. */
export interface ManifestReport {
  /** `file:line: path: message`, one per problem. */
  problems: string[];
  /** `file:line: …` for documents that look meant as a Rollout but are not Stepwise's, so were not checked. */
  skipped: string[];
  /** Stepwise Rollouts found, valid or not. */
  rollouts: number;
}

/** `spec.steps[2].weight` -> ['spec', 'steps', 2, 'weight']. */
export function pathKeys(path: string): (string | number)[] {
  const keys: (string | number)[] = [];
  for (const [, name, index] of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    keys.push(index !== undefined ? Number(index) : name!);
  }
  return keys;
}

/** Source offset of the deepest node along `keys` that exists: the key itself for a map entry. */
function offsetOf(doc: Document, keys: (string | number)[]): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (const key of keys) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number' && node.items[key]) {
      node = node.items[key];
      offset = (node as Node).range?.[0] ?? offset;
    } else break;
  }
  return offset;
}

/** Edit distance, to tell a misspelt `Rollout` or `stepwise.dev` from another project's kind. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        previous[j]! + 1,
        row[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length]!;
}

const near = (text: string, wanted: string) => distance(text.toLowerCase(), wanted.toLowerCase()) <= 2;

type Verdict = { check: true } | { check: false; problem?: Problem; skipped?: string } | { list: unknown[] };

/** Whether a manifest object is a Stepwise Rollout to check, a List to walk, a near miss, or something else. */
function classify(object: unknown): Verdict {
  if (typeof object !== 'object' || object === null) return { check: false };
  const { kind, apiVersion, items } = object as { kind?: unknown; apiVersion?: unknown; items?: unknown };
  if (kind === 'List' && Array.isArray(items)) return { list: items };
  if (typeof kind !== 'string') return { check: false };
  const version = typeof apiVersion === 'string' ? apiVersion : '';
  const group = version.includes('/') ? version.slice(0, version.indexOf('/')) : '';
  // A Rollout without apiVersion, or of our group in any version, is checked (validateRollout names the fix).
  if (kind === KIND && (apiVersion === undefined || group === GROUP)) return { check: true };
  if (group === GROUP) {
    return {
      check: false,
      problem: {
        path: 'kind',
        message: `${JSON.stringify(kind)} is not a kind of ${GROUP}; set it to ${KIND}`,
      },
    };
  }
  // The core group has no Rollout: `apiVersion: v1alpha1` lost its group.
  if (kind === KIND && (group === '' || near(group, GROUP))) {
    return {
      check: false,
      problem: {
        path: 'apiVersion',
        message: `${JSON.stringify(apiVersion)} is not a version of ${GROUP}; set it to ${API_VERSION}`,
      },
    };
  }
  const shown = `kind ${kind}${version ? ` of ${version}` : ''}`;
  if (kind === KIND) {
    return {
      check: false,
      skipped: `skipped ${shown}: not a Stepwise Rollout (${API_VERSION}), not checked`,
    };
  }
  if (near(kind, KIND)) {
    return {
      check: false,
      skipped: `skipped ${shown}: not checked; a Stepwise Rollout has apiVersion: ${API_VERSION} and kind: ${KIND}`,
    };
  }
  return { check: false };
}

/**
 * Every problem of every Stepwise Rollout in `text`, with the documents skipped that look meant as one. Every object
 * of the file (List items one by one) is added to `objects`, for the checks that read several files together.
 */
export function checkManifests(file: string, text: string, objects: ManifestObject[] = []): ManifestReport {
  const lineCounter = new LineCounter();
  const report: ManifestReport = { problems: [], skipped: [], rollouts: 0 };
  const at = (offset: number) => `${file}:${lineCounter.linePos(offset).line}`;
  for (const doc of parseManifestDocuments(text, lineCounter)) {
    if (doc.errors.length > 0) {
      for (const error of doc.errors)
        report.problems.push(`${at(error.pos[0])}: YAML: ${error.message.split('\n')[0]}`);
      continue;
    }
    const merges = mergeOrderProblems(doc);
    for (const merge of merges) report.problems.push(`${at(merge.offset)}: YAML: ${merge.message}`);
    if (merges.length > 0) continue;
    let object: unknown;
    try {
      object = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      report.problems.push(`${at(doc.range[0])}: YAML: ${(error as Error).message}`);
      continue;
    }
    const visit = (value: unknown, prefix: (string | number)[]) => {
      const verdict = classify(value);
      const line = (path: string) => at(offsetOf(doc, [...prefix, ...pathKeys(path)]));
      const where = (path: string) => (prefix.length > 0 ? `${pathText(prefix)}.${path}` : path);
      if ('list' in verdict) return verdict.list.forEach((item, i) => visit(item, [...prefix, 'items', i]));
      const object: ManifestObject | undefined =
        typeof value === 'object' && value !== null && !Array.isArray(value)
          ? { value: value as Record<string, unknown>, lineOf: line, pathOf: where }
          : undefined;
      if (object) objects.push(object);
      if (!verdict.check) {
        if (verdict.problem) {
          report.rollouts += 1;
          report.problems.push(
            `${line(verdict.problem.path)}: ${where(verdict.problem.path)}: ${verdict.problem.message}`,
          );
        }
        if (verdict.skipped) report.skipped.push(`${line('kind')}: ${verdict.skipped}`);
        return;
      }
      report.rollouts += 1;
      const result = validateRollout(value);
      if (result.ok) {
        if (object) object.rolloutSpec = result.spec;
        return;
      }
      for (const problem of result.problems) {
        report.problems.push(`${line(problem.path)}: ${where(problem.path)}: ${problem.message}`);
      }
    };
    visit(object, []);
  }
  return report;
}

/** ['items', 2] -> `items[2]`. */
function pathText(keys: (string | number)[]): string {
  return keys.reduce<string>(
    (text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${key}` : key),
    '',
  );
}

/** `file:line: path: message` for every problem of every Rollout document in `text`. */
export function manifestProblems(file: string, text: string): string[] {
  return checkManifests(file, text).problems;
}
