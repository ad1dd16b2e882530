// Finds the binaries tools/build.sh put in the cache: ${STEPWISE_TOOLS_CACHE:-~/.cache/stepwise-tools}/<name>-<version>/.
// Same shape as test/support/tools.ts (toolBinary / toolVersion) so the two can be swapped.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const TOOLS_DIR = join(import.meta.dirname, '..', '..', 'tools');
const MODULES: Record<string, string> = {
  prometheus: 'github.com/prometheus/prometheus',
  etcd: 'go.etcd.io/etcd/server/v3',
  kwok: 'sigs.k8s.io/kwok',
  kubernetes: 'k8s.io/kubernetes',
};

export const toolsCache = () =>
  process.env.STEPWISE_TOOLS_CACHE ?? join(homedir(), '.cache', 'stepwise-tools');

/** The pinned version of a tool, read from its go.mod as tools/build.sh reads it. */
export function toolVersion(name: string): string {
  const module = MODULES[name];
  if (!module) throw new Error(`unknown tool ${name} (known: ${Object.keys(MODULES).join(', ')})`);
  const goMod = readFileSync(join(TOOLS_DIR, name, 'go.mod'), 'utf8');
  const escaped = module.replaceAll('.', '\\.');
  const version = new RegExp(`^(?:require\\s+|\\s+)${escaped}\\s+(v\\S+)`, 'm').exec(goMod)?.[1];
  if (!version) throw new Error(`tools/${name}/go.mod does not require ${module}`);
  return version;
}

/** Path of a built binary, or an error that names the tool and the command that builds it. */
export function toolBinary(name: string, binary = name): string {
  const dir = join(toolsCache(), `${name}-${toolVersion(name)}`);
  const path = join(dir, binary);
  if (!existsSync(join(dir, '.complete')) || !existsSync(path)) {
    const log = `${dir}.log`;
    const why = existsSync(log) ? `; its last build failed, see ${log}` : '';
    throw new Error(
      `${binary} (${name} ${toolVersion(name)}) is not built in ${dir}${why}: run tools/build.sh ${name}`,
    );
  }
  return path;
}

/** Whether every named tool is built (for a skip message), without throwing. */
export function missingTools(names: string[]): string[] {
  return names.filter((name) => !existsSync(join(toolsCache(), `${name}-${toolVersion(name)}`, '.complete')));
}
