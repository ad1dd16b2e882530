/**
 * Merge keys of the pod-spec lists that `kubectl set image`/`kubectl patch` address by element
 * (from the `patchMergeKey` tags of k8s.io/api core/v1 types). Other lists are replaced whole.
 */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  ports: 'containerPort',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  tolerations: 'key',
  conditions: 'type',
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergeList(current: unknown, patch: unknown[], key: string): unknown {
  const keyed = patch.every((item) => isPlainObject(item) && item[key] !== undefined);
  if (!Array.isArray(current) || !keyed) return strategicMerge(undefined, patch);
  if (patch.some((item) => isPlainObject(item) && item.$patch === 'replace')) {
    return patch
      .filter((item) => !(isPlainObject(item) && item.$patch === 'replace'))
      .map((item) => strategicMerge(undefined, item));
  }
  const result = [...current];
  for (const item of patch as Array<Record<string, unknown>>) {
    const index = result.findIndex((existing) => isPlainObject(existing) && existing[key] === item[key]);
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = strategicMerge(result[index], item);
    } else {
      result.push(strategicMerge(undefined, item));
    }
  }
  return result;
}

/**
 * Strategic merge patch for the fields clients patch in practice: like a merge patch, except that the
 * lists above merge element by element on their key, `$patch: delete|replace` is honoured, and the
 * other `$` directives (`$setElementOrder/…`, `$retainKeys`) are dropped.
 */
export function strategicMerge(current: unknown, patch: unknown): unknown {
  if (Array.isArray(patch)) return patch.map((item) => strategicMerge(undefined, item));
  if (!isPlainObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return strategicMerge(undefined, rest);
  }
  const result: Record<string, unknown> = isPlainObject(current) ? { ...current } : {};
  for (const [field, value] of Object.entries(patch)) {
    if (field.startsWith('$')) continue;
    if (value === null) {
      delete result[field];
    } else if (Array.isArray(value) && MERGE_KEYS[field] !== undefined) {
      result[field] = mergeList(result[field], value, MERGE_KEYS[field]);
    } else if (isPlainObject(value)) {
      if (value.$patch === 'delete') delete result[field];
      else result[field] = strategicMerge(result[field], value);
    } else {
      result[field] = structuredClone(value);
    }
  }
  return result;
}
