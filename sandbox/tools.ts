// Where the pinned test infrastructure (tools/<name>/go.mod) lands once `tools/build.sh` built it:
// ${STEPWISE_TOOLS_CACHE:-~/.cache/stepwise-tools}/<name>-<version>/<binary>, complete when `.complete` exists.
// The layout is build.sh's; this file only reads it. Tests use it through test/support/tools.ts.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TOOLS_DIR = fileURLToPath(new URL('../tools/', import.meta.url));

/** The cache folder build.sh builds into. */
export function toolsCache(env: NodeJS.ProcessEnv = process.env): string {
  return env.STEPWISE_TOOLS_CACHE || join(homedir(), '.cache', 'stepwise-tools');
}

/**
 * The version a tool's module pins (`v0.316.0` for prometheus): the single-line `require <module> <version>` of
 * tools/<name>/go.mod. Undefined when there is no such tool (e.g. an installed package without tools/).
 */
export function toolVersion(name: string): string | undefined {
  const goMod = join(TOOLS_DIR, name, 'go.mod');
  if (!existsSync(goMod)) return undefined;
  return /^require\s+\S+\s+(v\S+)\s*$/m.exec(readFileSync(goMod, 'utf8'))?.[1];
}

/** The folder a tool is (or would be) built into: `<cache>/<name>-<version>`. */
export function toolDir(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const version = toolVersion(name);
  return version ? join(toolsCache(env), `${name}-${version}`) : undefined;
}

/** The path of a built tool's binary, e.g. toolBinary('prometheus', 'prometheus'); undefined when not built. */
export function toolBinary(
  name: string,
  binary: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const dir = toolDir(name, env);
  if (!dir || !existsSync(join(dir, '.complete'))) return undefined;
  const path = join(dir, binary);
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return undefined;
  }
}

/** The log build.sh wrote for a tool (`<cache>/<name>-<version>.log`), when there is one. */
export function toolBuildLog(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = toolDir(name, env);
  return dir && existsSync(`${dir}.log`) ? `${dir}.log` : undefined;
}
