import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import type { RolloutSpec } from '../api/schema.js';
import { validateRollout } from '../api/validate.js';

/** Thrown with one `file: field: what is wrong` line per problem. */
export class InvalidRolloutFile extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
    this.name = 'InvalidRolloutFile';
  }
}

/** The first Rollout in a YAML file (other kinds are skipped), validated like the controller validates it. */
export async function loadRolloutSpec(file: string): Promise<RolloutSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InvalidRolloutFile([`${file}: cannot read the file: ${(error as Error).message}`]);
  }
  const documents = parseAllDocuments(text);
  const docs = Array.isArray(documents) ? documents : [documents];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      throw new InvalidRolloutFile(doc.errors.map((e) => `${file}: not valid YAML: ${e.message}`));
    }
  }
  const objects = docs.map((doc) => doc.toJS() as unknown);
  const rollout = objects.find((o) => (o as { kind?: unknown } | null)?.kind === 'Rollout') ?? objects[0];
  const result = validateRollout(rollout);
  if (!result.ok) {
    throw new InvalidRolloutFile(result.problems.map((p) => `${file}: ${p.path}: ${p.message}`));
  }
  return result.spec;
}
