import { describe, expect, it } from 'vitest';
import { promoteCommand } from '../../src/cli/commands/promote.js';

describe('stepwise promote', () => {
  it('sends promote-full-force only with --full --force, and refuses --force alone naming the fix', () => {
    expect(promoteCommand({})).toBe('promote');
    expect(promoteCommand({ full: true })).toBe('promote-full');
    expect(promoteCommand({ full: true, force: true })).toBe('promote-full-force');
    expect(() => promoteCommand({ force: true })).toThrow(/--force only applies to --full/);
  });
});
