import { badRequest } from './errors.js';
import type { KubeObject } from './types.js';

type LabelRequirement =
  { key: string; op: 'exists' | 'notexists' } | { key: string; op: 'in' | 'notin'; values: string[] };

/** A parsed `labelSelector` query (=, ==, !=, in, notin, key, !key), all requirements ANDed. */
export type LabelSelector = LabelRequirement[];

/** Splits on commas outside parentheses, so `env in (a,b),tier` is two terms. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

const KEY = String.raw`[A-Za-z0-9][-A-Za-z0-9_./]*`;
const EQUALITY = new RegExp(String.raw`^(${KEY})\s*(==|=|!=)\s*([-A-Za-z0-9_.]*)$`);
const SET = new RegExp(String.raw`^(${KEY})\s+(in|notin)\s*\(([^()]*)\)$`);
const EXISTS = new RegExp(String.raw`^(!?)\s*(${KEY})$`);

export function parseLabelSelector(text: string | null | undefined): LabelSelector {
  if (!text) return [];
  return splitTerms(text).map((term): LabelRequirement => {
    const eq = EQUALITY.exec(term);
    if (eq) {
      const [, key = '', op, value = ''] = eq;
      return { key, op: op === '!=' ? 'notin' : 'in', values: [value] };
    }
    const set = SET.exec(term);
    if (set) {
      const [, key = '', op, values = ''] = set;
      return { key, op: op === 'notin' ? 'notin' : 'in', values: values.split(',').map((v) => v.trim()) };
    }
    const exists = EXISTS.exec(term);
    if (exists) {
      return { key: exists[2] ?? '', op: exists[1] === '!' ? 'notexists' : 'exists' };
    }
    throw badRequest(
      `unable to parse requirement "${term}" in labelSelector: use key=value, key!=value, key in (a,b), key notin (a,b), key or !key`,
    );
  });
}

export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  return selector.every((req) => {
    const value = labels?.[req.key];
    switch (req.op) {
      case 'exists':
        return value !== undefined;
      case 'notexists':
        return value === undefined;
      case 'in':
        return value !== undefined && req.values.includes(value);
      case 'notin':
        // As in Kubernetes, `key!=v` and `key notin (v)` also match objects without the label.
        return value === undefined || !req.values.includes(value);
    }
  });
}

/**
 * Field labels a fieldSelector may use: every object's metadata.name and metadata.namespace, and those of core v1
 * Events that `kubectl describe` filters by (ToSelectableFields in kubernetes pkg/registry/core/event/strategy.go).
 */
const SELECTABLE_FIELDS: Record<string, (obj: KubeObject) => unknown> = {
  'metadata.name': (obj) => obj.metadata.name,
  'metadata.namespace': (obj) => obj.metadata.namespace ?? '',
  ...Object.fromEntries(
    ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'].map((field) => [
      `involvedObject.${field}`,
      (obj: KubeObject) => (obj.involvedObject as Record<string, unknown> | undefined)?.[field],
    ]),
  ),
  reason: (obj) => obj.reason,
  type: (obj) => obj.type,
  reportingComponent: (obj) => obj.reportingComponent,
  source: (obj) => (obj.source as { component?: string } | undefined)?.component || obj.reportingComponent,
};

interface FieldRequirement {
  field: string;
  equals: boolean;
  value: string;
}

/** A parsed `fieldSelector` over SELECTABLE_FIELDS. */
export type FieldSelector = FieldRequirement[];

export function parseFieldSelector(text: string | null | undefined): FieldSelector {
  if (!text) return [];
  return splitTerms(text).map((term) => {
    const match = /^([A-Za-z.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!match) throw badRequest(`invalid fieldSelector term "${term}": use field=value or field!=value`);
    const [, field = '', op, value = ''] = match;
    if (!(field in SELECTABLE_FIELDS)) {
      throw badRequest(
        `field label not supported: ${field} (the sandbox supports ${Object.keys(SELECTABLE_FIELDS).join(', ')})`,
      );
    }
    return { field, equals: op !== '!=', value };
  });
}

export function matchesFields(selector: FieldSelector, obj: KubeObject): boolean {
  return selector.every((req) => {
    const actual = SELECTABLE_FIELDS[req.field]?.(obj);
    return (String(actual ?? '') === req.value) === req.equals;
  });
}

/** Both selectors of a list or watch request. */
export interface Selectors {
  labels: LabelSelector;
  fields: FieldSelector;
}

export function parseSelectors(labelSelector?: string | null, fieldSelector?: string | null): Selectors {
  return { labels: parseLabelSelector(labelSelector), fields: parseFieldSelector(fieldSelector) };
}

export function matches(selectors: Selectors, obj: KubeObject): boolean {
  return matchesLabels(selectors.labels, obj.metadata.labels) && matchesFields(selectors.fields, obj);
}
