// `stepwise validate`: every Rollout document of a YAML text checked offline, each problem mapped back to
// the line of the field it names (the yaml package keeps each node's source range).
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Document,
  type Node,
} from 'yaml';
import { GROUP, KIND } from '../api/schema.js';
import { validateRollout } from '../api/validate.js';

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

function isStepwiseRollout(object: unknown): boolean {
  const o = object as { kind?: unknown; apiVersion?: unknown } | null;
  if (o?.kind !== KIND) return false;
  // Other projects have a kind Rollout too (Argo Rollouts): only ours, or one without apiVersion, is checked.
  return (
    o.apiVersion === undefined || (typeof o.apiVersion === 'string' && o.apiVersion.startsWith(`${GROUP}/`))
  );
}

/** `file:line: path: message` for every problem of every Rollout document in `text`. */
export function manifestProblems(file: string, text: string): string[] {
  const lineCounter = new LineCounter();
  const lines: string[] = [];
  const at = (offset: number) => `${file}:${lineCounter.linePos(offset).line}`;
  for (const doc of parseAllDocuments(text, { lineCounter })) {
    if (doc.errors.length > 0) {
      for (const error of doc.errors)
        lines.push(`${at(error.pos[0])}: YAML: ${error.message.split('\n')[0]}`);
      continue;
    }
    const object: unknown = doc.toJS();
    if (!isStepwiseRollout(object)) continue;
    const result = validateRollout(object);
    if (result.ok) continue;
    for (const problem of result.problems) {
      lines.push(`${at(offsetOf(doc, pathKeys(problem.path)))}: ${problem.path}: ${problem.message}`);
    }
  }
  return lines;
}
