import { describe, expect, it } from 'vitest';
import { selectedGroups, withSection } from '../../bench/results-sections.js';

describe('a results file of sections', () => {
  it('rewrites the section of a group and keeps the others as they were', () => {
    const both = withSection(withSection('', 'weights', '## A\nold'), 'mirror', '## B\nfirst');
    const again = withSection(both, 'mirror', '## B\nsecond');
    expect(again).toContain('## A\nold');
    expect(again).toContain('## B\nsecond');
    expect(again).not.toContain('first');
    expect(withSection(again, 'weights', '## A\nnew')).toBe(again.replace('old', 'new'));
  });

  it('runs every group without --only, the named ones with it, and refuses an unknown name, listing the known', () => {
    const groups = ['weights', 'mirror'] as const;
    expect(selectedGroups([], groups)).toEqual(['weights', 'mirror']);
    expect(selectedGroups(['--only', 'mirror'], groups)).toEqual(['mirror']);
    expect(() => selectedGroups(['--only', 'mirorr'], groups)).toThrow(
      '--only "mirorr" is not valid; name one or more of weights, mirror, comma-separated, e.g. --only weights',
    );
  });
});
