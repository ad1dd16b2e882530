// The demo needs a real Prometheus binary. On a fresh Debian/Ubuntu machine running as root (a container,
// a CI runner) it installs one with apt; everywhere else it says in one line how to get it.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { findPrometheusBinary } from '../prometheus.js';

export const PROMETHEUS_HINT =
  'Prometheus is needed for the demo: build Prometheus 3 with `bash tools/build.sh prometheus` (needs Go), install 2.x with `sudo apt-get install -y prometheus` (Debian/Ubuntu), or pass `--prometheus-bin <path>`, then run `npm run demo` again.';

export interface PrometheusSetupDeps {
  /** The binary's path; throws when there is none. */
  find(): string;
  isRoot(): boolean;
  hasApt(): boolean;
  /** Runs a command with its output shown; true when it exited 0. */
  run(command: string, args: string[]): boolean;
  print(line: string): void;
}

export const systemSetup: PrometheusSetupDeps = {
  find: () => findPrometheusBinary(),
  isRoot: () => process.getuid?.() === 0,
  hasApt: () => {
    try {
      accessSync('/usr/bin/apt-get', constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
  run(command, args) {
    const result = spawnSync(command, args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    return result.status === 0;
  },
  print: (line) => console.log(line),
};

/** The Prometheus binary to use, installed with apt when possible; undefined when there is none. */
export function ensurePrometheus(deps: PrometheusSetupDeps = systemSetup): string | undefined {
  const found = tryFind(deps);
  if (found) return found;
  if (!deps.isRoot() || !deps.hasApt()) return undefined;

  const install = ['install', '-y', 'prometheus'];
  deps.print('Prometheus not found; installing it: apt-get install -y prometheus');
  if (!deps.run('apt-get', install)) {
    // A fresh image has empty package lists: refresh them once and try again.
    deps.print('apt-get install failed; refreshing the package lists: apt-get update');
    if (!deps.run('apt-get', ['update']) || !deps.run('apt-get', install)) return undefined;
  }
  return tryFind(deps);
}

function tryFind(deps: PrometheusSetupDeps): string | undefined {
  try {
    return deps.find();
  } catch {
    return undefined;
  }
}
