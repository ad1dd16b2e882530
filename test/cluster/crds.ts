// The CustomResourceDefinitions users run, installed into the control plane: Istio's and Gateway API's own
// files from the Go module cache at the versions tools/crds/go.mod pins, and the chart's Rollout CRD.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ApiextensionsV1Api, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { ControlPlane } from './control-plane.js';
import { moduleDirs } from './go-modules.js';
import { sleep } from './processes.js';

const REPO = join(import.meta.dirname, '..', '..');
const ISTIO = 'istio.io/istio';
const GATEWAY_API = 'sigs.k8s.io/gateway-api';

export interface CrdSource {
  /** e.g. `istio.io/istio@v0.0.0-…` or `charts/stepwise/crds` */
  origin: string;
  crds: V1CustomResourceDefinition[];
}

const crdsOf = (file: string): V1CustomResourceDefinition[] =>
  parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => doc.toJS() as V1CustomResourceDefinition | null)
    .filter((o): o is V1CustomResourceDefinition => o?.kind === 'CustomResourceDefinition');

const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));

/** Istio's, Gateway API's (standard channel) and the chart's CRDs. */
export function readCrds(): CrdSource[] {
  const modules = moduleDirs('crds', [ISTIO, GATEWAY_API]);
  const istio = modules.get(ISTIO)!;
  const gateway = modules.get(GATEWAY_API)!;
  return [
    {
      origin: `${ISTIO}@${istio.version}`,
      crds: crdsOf(join(istio.dir, 'manifests', 'charts', 'base', 'files', 'crd-all.gen.yaml')),
    },
    {
      origin: `${GATEWAY_API}@${gateway.version}`,
      crds: yamlFiles(join(gateway.dir, 'config', 'crd', 'standard')).flatMap(crdsOf),
    },
    {
      origin: 'charts/stepwise/crds',
      crds: yamlFiles(join(REPO, 'charts', 'stepwise', 'crds')).flatMap(crdsOf),
    },
  ];
}

/** Creates every CRD, exactly as its file has it, and waits until the API server serves them all (Established). */
export async function installCrds(plane: ControlPlane, sources: CrdSource[], timeoutMs = 60_000) {
  const api = plane.kubeConfig.makeApiClient(ApiextensionsV1Api);
  const crds = sources.flatMap((s) => s.crds);
  for (const crd of crds) {
    const created = await plane.post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    if (created.status !== 201) {
      const message = (created.json as { message?: string }).message ?? JSON.stringify(created.json);
      throw new Error(`CRD ${crd.metadata?.name} was refused (${created.status}): ${message}`);
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const crd of crds) {
    const name = crd.metadata!.name!;
    for (;;) {
      const current = await api.readCustomResourceDefinition({ name });
      if (current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline)
        throw new Error(`CRD ${name} was not Established within ${timeoutMs / 1000} s`);
      await sleep(100);
    }
  }
}
