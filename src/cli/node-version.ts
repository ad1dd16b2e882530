// No imports: the launcher loads this before anything that could fail on an old Node.

/**
 * The oldest Node the CLI runs on, as in package.json `engines`: @kubernetes/client-node 2.x imports undici 8
 * at load time (its `Agent` in config.js), and undici 8 needs Node 22.19 (zlib's createZstdDecompress).
 */
export const MINIMUM_NODE = '22.19.0';

/** Whether `version` (as in `process.versions.node`) is at least `minimum`, compared part by part. */
export function isSupportedNode(version: string, minimum = MINIMUM_NODE): boolean {
  const have = version.split('.').map(Number);
  const need = minimum.split('.').map(Number);
  for (let i = 0; i < need.length; i++) {
    const a = have[i] ?? 0;
    const b = need[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

export const unsupportedNodeMessage = (version: string) =>
  `stepwise: Node ${version} is too old; Stepwise needs Node >= ${MINIMUM_NODE} ` +
  '(install a newer Node, e.g. from https://nodejs.org, or use the single-file executable)';
