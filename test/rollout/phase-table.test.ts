import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PHASES } from '../../src/api/status.js';
import { isAllowedMove, PHASE_TABLE, withPhaseTable } from '../../src/rollout/phase-table.js';

describe('the transition table', () => {
  it('in README.md is exactly what src/rollout/phase-table.ts generates (run `npm run gen:phases`)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toBe(withPhaseTable(readme));
  });

  it('has a row for every phase, and every move goes to a phase', () => {
    expect(Object.keys(PHASE_TABLE).sort()).toEqual([...PHASES].sort());
    for (const row of Object.values(PHASE_TABLE)) for (const next of row.next) expect(PHASES).toContain(next);
  });

  it('refuses moves that are not edges: a finished rollout never jumps back to Promoting', () => {
    expect(isAllowedMove({ from: 'Succeeded', to: 'Promoting', reason: 'x' })).toBe(false);
    expect(isAllowedMove({ from: 'Healthy', to: 'RolledBack', reason: 'x' })).toBe(false);
    expect(isAllowedMove({ from: undefined, to: 'Initializing', reason: 'Created' })).toBe(true);
  });
});
