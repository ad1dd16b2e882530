import { isDeepStrictEqual } from 'node:util';

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The JSON merge patch (RFC 7386) that turns `from` into `to`. Merge patch merges objects key by key,
 * so a key the user removed must be sent as `null`, or the old value would survive; arrays are sent
 * whole. A `null` value inside `to` cannot be expressed (it means "delete") and ends up removed.
 */
export function mergePatchBetween(from: unknown, to: unknown): unknown {
  if (!isObject(from) || !isObject(to)) return to;
  const patch: JsonObject = {};
  for (const key of Object.keys(from)) {
    if (to[key] === undefined) patch[key] = null;
  }
  for (const [key, value] of Object.entries(to)) {
    if (value === undefined || isDeepStrictEqual(from[key], value)) continue;
    patch[key] = key in from ? mergePatchBetween(from[key], value) : value;
  }
  return patch;
}
