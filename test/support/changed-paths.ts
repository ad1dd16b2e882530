type Json = Record<string, unknown>;

/** JSON-pointer paths (`/spec/rules/1/backendRefs/0/weight`) of the leaves that differ between two JSON values. */
export function changedPaths(before: unknown, after: unknown, path = ''): string[] {
  if (typeof before !== 'object' || typeof after !== 'object' || before === null || after === null) {
    return Object.is(before, after) ? [] : [path];
  }
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].flatMap((key) =>
    changedPaths((before as Json)[key], (after as Json)[key], `${path}/${key}`),
  );
}
