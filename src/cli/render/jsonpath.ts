// kubectl's `-o jsonpath=` templates (k8s.io/client-go/util/jsonpath, as kubectl get uses it): text outside
// `{}` is printed as is; inside, a path like `.status.phase`, `.items[*].metadata.name` or `.items[0]`, a
// quoted string (`{"\n"}`), or `{range .items[*]}...{end}`. Several results are joined by a space, objects
// print as JSON, a missing key prints nothing (kubectl's --allow-missing-template-keys default). Libraries
// such as jsonpath-plus take `$.a.b`, not kubectl's template syntax, so this is the small subset kubectl users type.
import { CliError } from '../exit.js';

type Step = { field: string } | { index: number } | { all: true };
type Node = { text: string } | { path: Step[] } | { range: Step[]; body: Node[] };

function invalid(template: string, why: string): CliError {
  return new CliError(
    `-o jsonpath=${template}: ${why}; write a kubectl JSONPath template such as '{.status.phase}' or ` +
      `'{range .items[*]}{.metadata.name}{"\\n"}{end}'`,
  );
}

function parsePath(expression: string, template: string): Step[] {
  const steps: Step[] = [];
  const pattern = /\.([A-Za-z0-9_-]+)|\.\*|\[(\d+|\*|'[^']*'|"[^"]*")\]/y;
  let at = expression.startsWith('$') ? 1 : 0;
  while (at < expression.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(expression);
    if (!match) throw invalid(template, `cannot read ${JSON.stringify(expression.slice(at))}`);
    const [whole, field, bracket] = match;
    if (field !== undefined) steps.push({ field });
    else if (whole === '.*' || bracket === '*') steps.push({ all: true });
    else if (/^\d+$/.test(bracket!)) steps.push({ index: Number(bracket) });
    else steps.push({ field: bracket!.slice(1, -1) });
    at += whole.length;
  }
  return steps;
}

/** Parses the template once; throws a CliError naming the template for anything outside the subset. */
export function parseJsonPath(template: string): Node[] {
  const root: Node[] = [];
  const open: Node[][] = [root];
  const pattern = /\{([^}]*)\}/g;
  let last = 0;
  for (const match of template.matchAll(pattern)) {
    const body = open.at(-1)!;
    if (match.index > last) body.push({ text: template.slice(last, match.index) });
    last = match.index + match[0].length;
    const expression = match[1]!.trim();
    if (expression === 'end') {
      if (open.length === 1) throw invalid(template, '{end} without {range}');
      open.pop();
    } else if (expression.startsWith('range ')) {
      const node: Node = { range: parsePath(expression.slice(6).trim(), template), body: [] };
      body.push(node);
      open.push(node.body);
    } else if (/^(["']).*\1$/s.test(expression)) {
      body.push({ text: JSON.parse(`"${expression.slice(1, -1).replace(/"/g, '\\"')}"`) as string });
    } else if (expression.startsWith('.') || expression.startsWith('$') || expression.startsWith('[')) {
      body.push({ path: parsePath(expression, template) });
    } else {
      throw invalid(template, `{${expression}} is not a path (start it with a dot) or not supported`);
    }
  }
  if (open.length > 1) throw invalid(template, '{range} without {end}');
  if (last < template.length) open[0]!.push({ text: template.slice(last) });
  return root;
}

function select(values: unknown[], steps: Step[]): unknown[] {
  let current = values;
  for (const step of steps) {
    current = current.flatMap((value): unknown[] => {
      if (value === null || typeof value !== 'object') return [];
      if ('all' in step) return Object.values(value);
      const child =
        'index' in step
          ? Array.isArray(value)
            ? (value[step.index] as unknown)
            : undefined
          : (value as Record<string, unknown>)[step.field];
      return child === undefined ? [] : [child];
    });
  }
  return current;
}

const print = (value: unknown) =>
  typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);

function evaluate(nodes: Node[], data: unknown): string {
  return nodes
    .map((node) => {
      if ('text' in node) return node.text;
      if ('path' in node) return select([data], node.path).map(print).join(' ');
      return select([data], node.range)
        .map((item) => evaluate(node.body, item))
        .join('');
    })
    .join('');
}

/** `kubectl get -o jsonpath=<template>` applied to one object or a List. */
export function renderJsonPath(template: string, data: unknown): string {
  return evaluate(parseJsonPath(template), data);
}
