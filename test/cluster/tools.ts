// The cluster tier cannot run without its binaries: the one lookup (test/support/tools.ts), failing with the cause.
import { toolBinary as builtBinary, whyToolMissing } from '../support/tools.js';

/** Path of a built binary, or an error that names the tool, how to build it and the tail of its build log. */
export function toolBinary(name: string, binary = name): string {
  const path = builtBinary(name, binary);
  if (!path) throw new Error(whyToolMissing(name, binary));
  return path;
}
