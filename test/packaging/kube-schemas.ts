// Validates rendered manifests against the Kubernetes OpenAPI schemas compiled into kubernetes-models
// (types, required fields, enums and formats; it does not reject unknown fields).
import * as apiextensionsV1 from 'kubernetes-models/apiextensions.k8s.io/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as coreV1 from 'kubernetes-models/v1';
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import type { Manifest } from './helm.js';

type Model = new (data: never) => { validate(): void };

const GROUPS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'policy/v1': policyV1,
  'rbac.authorization.k8s.io/v1': rbacV1,
  'apiextensions.k8s.io/v1': apiextensionsV1,
  'monitoring.coreos.com/v1': monitoringV1,
};

/** Problems of one manifest: "Kind name: what is wrong"; an unknown kind is a problem too. */
export function schemaProblems(manifest: Manifest): string[] {
  const where = `${manifest.kind} ${manifest.metadata.name}`;
  const model = GROUPS[manifest.apiVersion]?.[manifest.kind] as Model | undefined;
  if (!model) return [`${where}: no schema for ${manifest.apiVersion} ${manifest.kind}`];
  try {
    new model(manifest as never).validate();
    return [];
  } catch (error) {
    return [`${where}: ${error instanceof Error ? error.message : String(error)}`];
  }
}
