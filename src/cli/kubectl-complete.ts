#!/usr/bin/env node
// kubectl_complete-stepwise: kubectl (>= 1.26) runs it with the words after `kubectl stepwise` to complete
// them, and reads cobra's format, which `stepwise __complete` prints.
process.argv.splice(2, 0, '__complete');
await import('./main.js');
