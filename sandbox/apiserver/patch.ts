import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { ApiError, badRequest } from './errors.js';
import { strategicMerge } from './strategic-merge.js';

export const MERGE_PATCH = 'application/merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
export const APPLY_PATCH = 'application/apply-patch+yaml';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386 JSON Merge Patch: objects merge key by key, `null` deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (err) {
    throw badRequest(`the patch body is not valid JSON: ${(err as Error).message}`);
  }
}

const SUPPORTED = [MERGE_PATCH, STRATEGIC_MERGE_PATCH, JSON_PATCH];

function mediaTypeOf(contentType: string): string {
  return contentType.split(';')[0]?.trim().toLowerCase() ?? '';
}

/** 415 for a PATCH Content-Type the sandbox does not apply (server-side apply among them). */
export function checkPatchType(contentType: string): void {
  const mediaType = mediaTypeOf(contentType);
  if (!SUPPORTED.includes(mediaType)) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${SUPPORTED.join(', ')} (got "${mediaType}"${
        mediaType === APPLY_PATCH ? '; server-side apply is not supported by the sandbox' : ''
      })`,
    );
  }
}

/**
 * Applies a PATCH body of the given Content-Type to a copy of `current`. Custom resources have no patch
 * strategy metadata, so kube-apiserver refuses a strategic merge patch on them with 415.
 */
export function applyPatch<T extends object>(
  current: T,
  contentType: string,
  body: string,
  options: { custom?: boolean } = {},
): T {
  checkPatchType(contentType);
  const mediaType = mediaTypeOf(contentType);
  if (options.custom && mediaType === STRATEGIC_MERGE_PATCH) {
    const accepted = SUPPORTED.filter((type) => type !== STRATEGIC_MERGE_PATCH);
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')} (strategic merge patch is not supported on custom resources; use a merge patch)`,
    );
  }
  switch (mediaType) {
    case MERGE_PATCH:
    case STRATEGIC_MERGE_PATCH: {
      const patch = parseJson(body);
      if (!isPlainObject(patch)) throw badRequest('a merge patch must be a JSON object');
      return (mediaType === MERGE_PATCH ? mergePatch(current, patch) : strategicMerge(current, patch)) as T;
    }
    case JSON_PATCH: {
      const ops = parseJson(body);
      if (!Array.isArray(ops)) throw badRequest('a JSON patch must be a JSON array of operations');
      try {
        return fastJsonPatch.applyPatch(structuredClone(current), ops as Operation[], true, false)
          .newDocument;
      } catch (err) {
        const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
        throw new ApiError(422, 'Invalid', `the JSON patch could not be applied: ${message}`);
      }
    }
    default:
      throw new Error(`unreachable: ${mediaType} passed checkPatchType`);
  }
}
