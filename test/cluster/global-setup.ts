// Before any cluster test: every component must be built (else the tier fails at once, naming what is
// missing and how to build it), and the log shows the versions the tier runs against.
import { componentVersions } from './versions.js';

export default function setup(): void {
  process.stdout.write(
    `cluster tier runs against:\n${componentVersions()
      .map((l) => `  ${l}\n`)
      .join('')}`,
  );
}
