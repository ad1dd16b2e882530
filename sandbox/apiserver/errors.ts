import type { ResourceType } from './resources.js';

/** The `Status` object every Kubernetes API error is returned as. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  retryAfterSeconds?: number;
  /** One per invalid field, as kube-apiserver lists them for a 422 (clients show `field`). */
  causes?: { reason: string; message: string; field: string }[];
}

/** An error that the server answers with a `Status` body and the given HTTP code. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toStatus(): Status {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** `deployments.apps`, `services`: how the real server names a resource in messages. */
export function qualifiedName(type: ResourceType): string {
  return type.group ? `${type.resource}.${type.group}` : type.resource;
}

function detailsFor(type: ResourceType, name: string): StatusDetails {
  return { name, group: type.group, kind: type.resource };
}

export function notFound(type: ResourceType, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedName(type)} "${name}" not found`, detailsFor(type, name));
}

export function alreadyExists(type: ResourceType, name: string): ApiError {
  return new ApiError(
    409,
    'AlreadyExists',
    `${qualifiedName(type)} "${name}" already exists`,
    detailsFor(type, name),
  );
}

export function conflict(type: ResourceType, name: string, why?: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedName(type)} "${name}": ${
      why ?? 'the object has been modified; please apply your changes to the latest version and try again'
    }`,
    detailsFor(type, name),
  );
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/** 422 for one invalid field; `message` reads `<field>: <what is wrong>`, as in kube-apiserver. */
export function invalid(type: ResourceType, name: string, message: string): ApiError {
  const separator = message.indexOf(': ');
  const field = separator < 0 ? '' : message.slice(0, separator);
  const problem = separator < 0 ? message : message.slice(separator + 2);
  const reason = problem.startsWith('Required value') ? 'FieldValueRequired' : 'FieldValueInvalid';
  return new ApiError(422, 'Invalid', `${type.kind} "${name}" is invalid: ${message}`, {
    ...detailsFor(type, name),
    causes: [{ reason, message: problem, field }],
  });
}

export function gone(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function unknownResource(path: string): ApiError {
  return new ApiError(404, 'NotFound', `the server could not find the requested resource (${path})`, {});
}

/** Any thrown value as an `ApiError`; unexpected failures become 500 InternalError. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError(
    500,
    'InternalError',
    `an error on the server has prevented the request from succeeding: ${message}`,
  );
}
