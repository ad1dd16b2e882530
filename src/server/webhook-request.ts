// The body of POST /v1/trigger: {"namespace", "rollout", "image", "container"?}, nothing else.
import { Refusal } from './webhook-body.js';

export interface TriggerRequest {
  namespace: string;
  rollout: string;
  container?: string;
  image: string;
}

const FORM = 'send {"namespace", "rollout", "image", "container"?}';
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const FIELDS = ['namespace', 'rollout', 'container', 'image'];

export function parseRequest(body: Buffer): TriggerRequest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Refusal(400, `the body is not JSON; ${FORM}`);
  }
  const o = (typeof json === 'object' && json !== null && !Array.isArray(json) ? json : {}) as Record<
    string,
    unknown
  >;
  const problems: string[] = [];
  const text = (field: string, required: boolean, pattern?: RegExp) => {
    const value = o[field];
    if (value === undefined && !required) return undefined;
    if (typeof value !== 'string' || value === '' || (pattern && !pattern.test(value))) {
      problems.push(`${field} ${value === undefined ? 'is required' : 'is not valid'}`);
      return undefined;
    }
    return value;
  };
  const request = {
    namespace: text('namespace', true, NAME),
    rollout: text('rollout', true, NAME),
    container: text('container', false, NAME),
    // Its grammar is checked where every trigger passes (setRolloutImage), with the reason.
    image: text('image', true),
  };
  const unknown = Object.keys(o).filter((k) => !FIELDS.includes(k));
  if (unknown.length) problems.push(`unknown field(s) ${unknown.join(', ')}`);
  if (problems.length) throw new Refusal(400, `${problems.join('; ')}; ${FORM}`);
  return request as TriggerRequest;
}
