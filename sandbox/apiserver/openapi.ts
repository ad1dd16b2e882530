import { groupVersion, type ResourceRegistry, type ResourceType } from './resources.js';

// The OpenAPI v3 documents kubectl reads before `create -f` / `apply`. Its validator asks the server whether the
// PATCH operation of the object's kind takes the `fieldValidation` query parameter; if so it leaves validation to the
// server, otherwise it validates client-side from /openapi/v2 and fails when that is missing
// (kubectl pkg/cmd/util/factory_client_access.go Validator, pkg/validation/schema.go paramVerifyingSchema;
// cli-runtime resource.NewQueryParamVerifierV3). `apply` also reads the PATCH request body's media types to choose a
// strategic merge patch (kubectl pkg/cmd/apply/patcher.go gvkSupportsPatchOpenAPIV3). No schemas are served: kubectl
// then builds strategic merge patches from its compiled-in types and JSON merge patches for custom resources, as it
// does against a cluster whose CRDs have no schema.

const ROOT = '/openapi/v3';

/** `api/v1` or `apis/<group>/<version>`: the key of a group version in the OpenAPI v3 root. */
const gvPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : 'api/v1');

/** Answers `/openapi/v3` and `/openapi/v3/<gvPath>`, or undefined for any other path. */
export function openApiV3(registry: ResourceRegistry, path: string): unknown {
  const trimmed = path.replace(/\/+$/, '');
  const versions = servedGroupVersions(registry);
  if (trimmed === ROOT) {
    return {
      paths: Object.fromEntries(
        [...versions.keys()].map((key) => [key, { serverRelativeURL: `${ROOT}/${key}` }]),
      ),
    };
  }
  if (!trimmed.startsWith(`${ROOT}/`)) return undefined;
  const served = versions.get(trimmed.slice(ROOT.length + 1));
  return served && groupVersionDocument(served.types, served.group, served.version);
}

function servedGroupVersions(
  registry: ResourceRegistry,
): Map<string, { group: string; version: string; types: ResourceType[] }> {
  const served = new Map<string, { group: string; version: string; types: ResourceType[] }>();
  for (const [group, types] of registry.groups()) {
    for (const version of new Set(types.flatMap((t) => t.versions))) {
      served.set(gvPath(group, version), {
        group,
        version,
        types: types.filter((t) => t.versions.includes(version)),
      });
    }
  }
  return served;
}

function groupVersionDocument(types: ResourceType[], group: string, version: string): unknown {
  return {
    openapi: '3.0.0',
    info: { title: 'Stepwise sandbox', version: groupVersion(group, version) },
    paths: Object.fromEntries(
      types.map((type) => [objectPath(type, group, version), objectOperations(type, group, version)]),
    ),
    components: { schemas: {} },
  };
}

function objectPath(type: ResourceType, group: string, version: string): string {
  const base = group ? `/apis/${group}/${version}` : '/api/v1';
  return `${base}${type.namespaced ? '/namespaces/{namespace}' : ''}/${type.resource}/{name}`;
}

const query = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });

function objectOperations(type: ResourceType, group: string, version: string): unknown {
  const patchTypes = [
    'application/json-patch+json',
    'application/merge-patch+json',
    // Strategic merge patch exists for built-in kinds only, as in kube-apiserver.
    ...(type.custom ? [] : ['application/strategic-merge-patch+json']),
  ];
  return {
    patch: {
      operationId: `patch${type.kind}`,
      'x-kubernetes-action': 'patch',
      'x-kubernetes-group-version-kind': { group, version, kind: type.kind },
      parameters: [query('dryRun'), query('fieldManager'), query('fieldValidation')],
      requestBody: {
        required: true,
        content: Object.fromEntries(patchTypes.map((media) => [media, { schema: { type: 'object' } }])),
      },
      responses: { '200': { description: 'OK' } },
    },
  };
}
