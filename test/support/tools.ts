// The one way tests find the pinned real components that tools/build.sh builds (Prometheus 3, etcd,
// kube-apiserver, kwok...): toolBinary('etcd', 'etcd') is the binary's path, or undefined when it is not built.
import { readFileSync } from 'node:fs';
import { toolBinary, toolBuildLog, toolDir, toolVersion } from '../../sandbox/tools.js';

export { toolBinary, toolBuildLog, toolDir, toolVersion, toolsCache } from '../../sandbox/tools.js';

/** CI (`CI=true`, as .ci/run runs) must not pass by skipping what it could not build. */
export const inCI = /^(1|true)$/i.test(process.env.CI ?? '');

/**
 * Why a tool's binary is not there, in words a test failure can show: the expected path, how to build it, and the
 * tail of build.sh's log when a build was tried. Undefined when the binary is there.
 */
export function whyToolMissing(
  name: string,
  binary: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (toolBinary(name, binary, env)) return undefined;
  const version = toolVersion(name);
  if (!version) return `no tools/${name}/go.mod with a "require <module> <version>" line`;
  const log = toolBuildLog(name, env);
  const lines = log ? logTail(log) : '';
  const tail = !log
    ? ' (no build was tried yet)'
    : lines
      ? `; last lines of ${log}:\n${lines}`
      : ` (${log} is empty: a build may be under way)`;
  return (
    `${name} ${version} is not built: ${toolDir(name, env)}/${binary} is missing; ` +
    `build it with \`bash tools/build.sh ${name}\` (needs Go)${tail}`
  );
}

function logTail(file: string, lines = 8): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(unreadable)';
  }
}
