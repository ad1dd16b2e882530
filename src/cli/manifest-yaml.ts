// Manifests are read the way kubectl reads them: sigs.k8s.io/yaml decodes YAML with go-yaml v2
// (go.yaml.in/yaml/v2, kubernetes-sigs/yaml go.mod), which speaks YAML 1.1: `yes`/`no`/`on`/`off`/`y`/`n` are
// booleans, `0777` is octal, `<<` merges a mapping. go-yaml v2 keeps timestamps and sexagesimal numbers
// (`12:30`) as strings when decoding into interface{}, so those two YAML 1.1 types are left out here.
import {
  parseAllDocuments,
  type DocumentOptions,
  type LineCounter,
  type ParseOptions,
  type SchemaOptions,
} from 'yaml';

/** Aliases expanded per document before it is refused as a resource-exhaustion attack (the yaml default). */
export const MAX_ALIAS_COUNT = 100;

const KUBECTL_YAML: DocumentOptions & SchemaOptions = {
  version: '1.1',
  merge: true,
  customTags: (tags) =>
    tags.filter(
      (tag) =>
        !(typeof tag === 'object' && (tag.tag === 'tag:yaml.org,2002:timestamp' || tag.format === 'TIME')),
    ),
};

export function parseManifestDocuments(text: string, lineCounter: LineCounter) {
  const options: ParseOptions & DocumentOptions & SchemaOptions = { ...KUBECTL_YAML, lineCounter };
  return parseAllDocuments(text, options);
}
