// kwok alone (without kwokctl) needs its Stages in a config file: the node and pod lifecycles that make a
// fake Node Ready and its pods Running and Ready, and remove deleted pods. These are kwok's own default
// stages, read from its module at the version tools/kwok pins, as kwokctl assembles them
// (pkg/kwokctl/runtime/cluster.go: getDefaultNodeStages, getDefaultPodStages).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { moduleDirs } from './go-modules.js';

const KWOK = 'sigs.k8s.io/kwok';
const STAGES = [
  'kustomize/stage/node/fast/node-initialize.yaml',
  'kustomize/stage/node/heartbeat/node-heartbeat.yaml',
  'kustomize/stage/pod/fast/pod-ready.yaml',
  'kustomize/stage/pod/fast/pod-complete.yaml',
  'kustomize/stage/pod/fast/pod-delete.yaml',
];
// A heartbeat every 5–6 s keeps the Node well inside the controller manager's grace period on a busy machine.
const HEARTBEAT_MS = { durationMilliseconds: 5_000, jitterDurationMilliseconds: 6_000 };

/** Writes kwok's config (its default Stages) to `file` and returns the path. */
export function writeKwokConfig(file: string): string {
  const kwok = moduleDirs('kwok', [KWOK]).get(KWOK)!;
  const documents = STAGES.map((stage) => {
    const object = parseDocument(readFileSync(join(kwok.dir, stage), 'utf8')).toJS() as {
      metadata: { name: string };
      spec: { delay?: Record<string, number> };
    };
    if (object.metadata.name === 'node-heartbeat')
      object.spec.delay = { ...object.spec.delay, ...HEARTBEAT_MS };
    return stringify(object);
  });
  writeFileSync(file, documents.join('---\n'));
  return file;
}
