import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { rolloutCrd } from './crd.js';

export const CRD_PATH = fileURLToPath(
  new URL('../../charts/stepwise/crds/rollouts.stepwise.dev.yaml', import.meta.url),
);

export function crdYaml(): string {
  return `# Generated from src/api/schema.ts by \`npm run gen:crd\`; do not edit by hand.\n${stringify(rolloutCrd(), { lineWidth: 0 })}`;
}
