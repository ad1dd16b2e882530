#!/usr/bin/env node
// The bins' entry point. It checks the Node version before importing the program, whose dependencies fail
// on an old Node with an error that does not say why. Static imports load before any code runs, so the
// program is imported dynamically, after the check.
import { EXIT_UNAVAILABLE } from './exit.js';
import { isSupportedNode, unsupportedNodeMessage } from './node-version.js';

if (!isSupportedNode(process.versions.node)) {
  console.error(unsupportedNodeMessage(process.versions.node));
  process.exit(EXIT_UNAVAILABLE);
}
await import('./program.js');
