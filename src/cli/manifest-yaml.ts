// Manifests are read the way kubectl reads them: sigs.k8s.io/yaml decodes YAML with go-yaml v2
// (go.yaml.in/yaml/v2, kubernetes-sigs/yaml go.mod), which speaks YAML 1.1: `yes`/`no`/`on`/`off`/`y`/`n` are
// booleans, `0777` is octal, `<<` merges a mapping. go-yaml v2 keeps timestamps and sexagesimal numbers
// (`12:30`) as strings when decoding into interface{}, so those two YAML 1.1 types are left out here.
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  visit,
  type Document,
  type Node,
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

const keyOf = (node: unknown) => (isScalar(node) ? node.value : undefined);
// With `merge: true` the yaml package resolves a plain `<<` key to a symbol named `<<`.
const isMergeKey = (node: unknown) => {
  const key = keyOf(node);
  return key === '<<' || (typeof key === 'symbol' && key.description === '<<');
};

/**
 * go-yaml v2 applies a `<<` merge where it stands, so it overwrites keys written before it (its decoder's
 * mapping() and merge()), while the YAML merge spec (and the yaml package) keeps them. Where the two disagree,
 * the user is told, at the overwritten key, so that the cluster never gets a value the file does not seem to say.
 */
export function mergeOrderProblems(doc: Document): { offset: number; message: string }[] {
  const problems: { offset: number; message: string }[] = [];
  visit(doc, {
    Map(_, map) {
      map.items.forEach((pair, i) => {
        if (!isMergeKey(pair.key)) return;
        const sources: unknown[] = isSeq(pair.value) ? pair.value.items : [pair.value];
        const merged = new Set<unknown>();
        for (const source of sources) {
          const resolved = isAlias(source) ? source.resolve(doc) : source;
          if (isMap(resolved)) for (const item of resolved.items) merged.add(keyOf(item.key));
        }
        for (const earlier of map.items.slice(0, i)) {
          const key = keyOf(earlier.key);
          if (key === undefined || !merged.has(key)) continue;
          problems.push({
            offset: (earlier.key as Node).range?.[0] ?? 0,
            message:
              `${String(key)} is set before a << merge that sets it too; kubectl takes the merged value, ` +
              `other YAML readers this one: put the << line first`,
          });
        }
      });
    },
  });
  return problems;
}
