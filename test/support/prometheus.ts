// The real Prometheus versions the Prometheus-dependent tests run on: Debian's 2.x (users still run it) and the
// 3.x that tools/build.sh builds (it stores classic histogram buckets differently: `le="500.0"`).
import { existsSync } from 'node:fs';
import { describe, it } from 'vitest';
import { prometheusVersion } from '../../sandbox/prometheus.js';
import { inCI, toolBinary, whyToolMissing } from './tools.js';

export interface PrometheusBuild {
  /** "Prometheus 3.16.0" */
  name: string;
  /** "3.16.0" */
  version: string;
  major: number;
  binary: string;
  /** The promtool of the same version (for backfilling blocks), when there is one. */
  promtool: string | undefined;
}

interface Missing {
  name: string;
  why: string;
}

const SYSTEM_PROMETHEUS = '/usr/bin/prometheus';
const SYSTEM_PROMTOOL = '/usr/bin/promtool';

function describeBinary(binary: string, promtool: string | undefined): PrometheusBuild | Missing {
  const version = prometheusVersion(binary);
  if (!version) return { name: binary, why: `\`${binary} --version\` printed no version` };
  return { name: `Prometheus ${version}`, version, major: Number(version.split('.')[0]), binary, promtool };
}

/** Debian's Prometheus 2.x (`apt-get install prometheus`), the one .ci/run installs. */
function systemPrometheus(): PrometheusBuild | Missing {
  if (!existsSync(SYSTEM_PROMETHEUS)) {
    return {
      name: 'Prometheus 2.x (Debian)',
      why: `${SYSTEM_PROMETHEUS} is missing; install it with: apt-get install -y prometheus`,
    };
  }
  return describeBinary(SYSTEM_PROMETHEUS, existsSync(SYSTEM_PROMTOOL) ? SYSTEM_PROMTOOL : undefined);
}

/** The Prometheus 3 of tools/prometheus, with its own promtool. */
function cachedPrometheus(): PrometheusBuild | Missing {
  const binary = toolBinary('prometheus', 'prometheus');
  if (!binary)
    return { name: 'Prometheus 3 (tools/prometheus)', why: whyToolMissing('prometheus', 'prometheus')! };
  return describeBinary(binary, toolBinary('prometheus', 'promtool'));
}

const isBuild = (p: PrometheusBuild | Missing): p is PrometheusBuild => 'binary' in p;

let versions: (PrometheusBuild | Missing)[] | undefined;
/** Both versions, each either found or with the reason it is not there. */
export function prometheusVersions(): (PrometheusBuild | Missing)[] {
  versions ??= [systemPrometheus(), cachedPrometheus()];
  return versions;
}

/** The version of this major that is there (with its promtool), if any. */
export function prometheusOfMajor(major: number): PrometheusBuild | undefined {
  return prometheusVersions()
    .filter(isBuild)
    .find((p) => p.major === major);
}

/**
 * One `describe` per Prometheus version. A version that is not there is a failing test naming the cause in CI
 * and a skipped one with a message elsewhere (a laptop without Go or without Debian's package).
 */
export function describeOnEachPrometheus(
  title: string,
  body: (prometheus: PrometheusBuild) => void,
  options: { needsPromtool?: boolean } = {},
): void {
  for (const candidate of prometheusVersions()) {
    const why = !isBuild(candidate)
      ? candidate.why
      : options.needsPromtool && !candidate.promtool
        ? `${candidate.name} has no promtool beside it (${candidate.binary}) to backfill with`
        : undefined;
    if (why === undefined && isBuild(candidate)) {
      describe(`${title} (${candidate.name})`, () => body(candidate));
    } else if (inCI) {
      describe(`${title} (${candidate.name})`, () => {
        it(`has ${candidate.name} to run on`, () => {
          throw new Error(`${candidate.name} is not available: ${why}`);
        });
      });
    } else {
      console.warn(`skipping "${title}" on ${candidate.name}: ${why}`);
      describe.skip(`${title} (${candidate.name})`, () => it('needs it', () => undefined));
    }
  }
}
