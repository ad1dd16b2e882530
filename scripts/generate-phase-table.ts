// Writes the phase table of README.md from the transition table in src/rollout/phase-table.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { withPhaseTable } from '../src/rollout/phase-table.js';

const README = new URL('../README.md', import.meta.url);
writeFileSync(README, withPhaseTable(readFileSync(README, 'utf8')));
console.log('wrote the phase table of README.md');
