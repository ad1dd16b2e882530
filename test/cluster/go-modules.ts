// Files that published Go modules ship (CRDs, kwok's stages), read from the Go module cache at the
// versions a tools/ module pins: `go mod download -json` fetches only what the cache lacks and says where.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const TOOLS = join(import.meta.dirname, '..', '..', 'tools');

export interface ModuleDir {
  path: string;
  version: string;
  dir: string;
}

/** Where each module is, at the version tools/<toolsModule>/go.mod pins. */
export function moduleDirs(toolsModule: string, modules: string[]): Map<string, ModuleDir> {
  const output = execFileSync('go', ['mod', 'download', '-json', ...modules], {
    cwd: join(TOOLS, toolsModule),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 600_000,
  });
  const dirs = new Map<string, ModuleDir>();
  // The output is one JSON object per module, back to back.
  for (const text of output.split(/(?<=^\})\s*(?=^\{)/m)) {
    const info = JSON.parse(text) as { Path: string; Version: string; Dir?: string; Error?: string };
    if (info.Error || !info.Dir) throw new Error(`go mod download ${info.Path}: ${info.Error ?? 'no Dir'}`);
    dirs.set(info.Path, { path: info.Path, version: info.Version, dir: info.Dir });
  }
  for (const module of modules) {
    if (!dirs.has(module))
      throw new Error(`go mod download did not report ${module} (tools/${toolsModule}/go.mod)`);
  }
  return dirs;
}
