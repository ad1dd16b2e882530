// Writes the Rollout CRD generated from src/api/schema.ts into the Helm chart.
import { writeFileSync } from 'node:fs';
import { crdYaml, CRD_PATH } from '../src/api/crd-file.js';

writeFileSync(CRD_PATH, crdYaml());
console.log(`wrote ${CRD_PATH}`);
