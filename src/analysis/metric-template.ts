import { escapeLabelValue, escapeRegex, promDuration } from './promql.js';

// Custom metric queries are templates: `{{ canary }}` and friends are filled in at every check. The query is
// scanned once, left to right, so that each placeholder is escaped for the PromQL string it stands in
// (double or single quotes, a regex matcher) and a hostile query costs time linear in its length.

/** Placeholders a custom metric query may use, e.g. `{{ canary }}`. */
export const METRIC_PLACEHOLDERS = ['namespace', 'canary', 'stable', 'interval'] as const;

export interface MetricQueryValues {
  namespace: string;
  canary: string;
  stable: string;
  windowMs: number;
}

/** Where in PromQL a placeholder stands: plain code, a '…' or "…" string, a `…` raw string, a # comment. */
type Context = 'code' | 'double' | 'single' | 'raw' | 'comment';

interface Use {
  name: string;
  start: number;
  end: number;
  context: Context;
  /** The string is the right side of `=~` or `!~`: a regular expression. */
  regex: boolean;
}

// Sticky, and the braces' content cannot contain a brace: from each `{{` the match runs to the next brace at most,
// and those runs never overlap, so scanning a whole query stays linear (the old /\{\{\s*([^{}]*?)\s*\}\}/g was cubic).
const PLACEHOLDER_AT = /\{\{([^{}]*)\}\}/y;

const QUOTES: Partial<Record<string, Context>> = { '"': 'double', "'": 'single', '`': 'raw' };
const CLOSING: Partial<Record<Context, string>> = { double: '"', single: "'", raw: '`', comment: '\n' };

function placeholderUses(query: string): Use[] {
  const uses: Use[] = [];
  let context: Context = 'code';
  let regex = false;
  for (let i = 0; i < query.length;) {
    if (query[i] === '{' && query[i + 1] === '{') {
      PLACEHOLDER_AT.lastIndex = i;
      const match = PLACEHOLDER_AT.exec(query);
      if (match) {
        uses.push({ name: match[1]!.trim(), start: i, end: i + match[0].length, context, regex });
        i += match[0].length;
        continue;
      }
    }
    const char = query[i]!;
    if (context === 'code') {
      const opened = QUOTES[char];
      if (opened) {
        context = opened;
        regex = regexMatcherBefore(query, i);
      } else if (char === '#') {
        context = 'comment';
      }
    } else if (char === '\\' && (context === 'double' || context === 'single')) {
      i += 2;
      continue;
    } else if (char === CLOSING[context]) {
      context = 'code';
    }
    i += 1;
  }
  return uses;
}

/** True when the string opening at `quote` follows `=~` or `!~` (spaces allowed in between). */
function regexMatcherBefore(query: string, quote: number): boolean {
  let i = quote - 1;
  while (i >= 0 && /\s/.test(query[i]!)) i -= 1;
  return query[i] === '~' && (query[i - 1] === '=' || query[i - 1] === '!');
}

const listed = (names: readonly string[]) => names.map((name) => `{{ ${name} }}`).join(', ');

/** What is wrong with one placeholder where it stands, or undefined when it can be filled in safely. */
function problemOf(use: Use, known: readonly string[]): string | undefined {
  const shown = `{{ ${use.name} }}`;
  if (!known.includes(use.name)) {
    return `${shown} is not a known placeholder; use ${listed(known)}`;
  }
  // A duration such as 90000ms is safe anywhere; names must sit in a string they can be escaped for.
  if (use.name === 'interval') return undefined;
  if (use.context === 'code') {
    return `${shown} is outside a quoted string; put it in double quotes, e.g. destination_workload="${shown}"`;
  }
  if (use.context === 'raw') {
    return `${shown} is inside a \`…\` raw string, which cannot be escaped; use double quotes instead`;
  }
  return undefined;
}

/**
 * Every problem of the placeholders in a custom metric query, as sentences that name the placeholder and the fix.
 * `known` are the placeholders the query may use (a metrics provider's templates have their own).
 */
export function metricQueryProblems(query: string, known: readonly string[] = METRIC_PLACEHOLDERS): string[] {
  return placeholderUses(query).flatMap((use) => problemOf(use, known) ?? []);
}

/**
 * The custom metric query with its placeholders filled in. Names are escaped for the string they stand in
 * (and regex-escaped in a `=~`/`!~` matcher); `{{ interval }}` becomes the window as a duration.
 */
export function renderMetricQuery(query: string, values: MetricQueryValues): string {
  const { windowMs, ...names } = values;
  return renderTemplate(query, { ...names, interval: promDuration(windowMs) }, METRIC_PLACEHOLDERS);
}

/**
 * A template with each of `known` filled in from `values`, escaped for where it stands; `interval` is put in as it
 * is (a duration is safe anywhere). Throws on a placeholder that is unknown or cannot be escaped where it stands.
 */
export function renderTemplate(
  query: string,
  values: Record<string, string>,
  known: readonly string[],
): string {
  const uses = placeholderUses(query);
  const problems = uses.flatMap((use) => problemOf(use, known) ?? []);
  if (problems.length > 0) throw new Error(`invalid query: ${problems.join('; ')}`);
  let rendered = '';
  let from = 0;
  for (const use of uses) {
    rendered += query.slice(from, use.start) + substitute(use, values[use.name] ?? '');
    from = use.end;
  }
  return rendered + query.slice(from);
}

function substitute(use: Use, value: string): string {
  if (use.name === 'interval') return value;
  return escapeLabelValue(use.regex ? escapeRegex(value) : value, use.context === 'single' ? "'" : '"');
}
