import { describe, expect, it } from 'vitest';
import { cookieRegex } from '../../src/traffic/header-matches.js';

// The expressions use only what RE2 and JavaScript share (no lookaround, no backreferences), so JavaScript can check them.
describe('cookie matches written as a regular expression on the cookie header', () => {
  const matches = (regex: string, header: string) => new RegExp(regex).test(header);

  it('finds an exact cookie anywhere among the pairs, and nothing that only looks like it', () => {
    const regex = cookieRegex([{ name: 'canary', value: 'on', type: 'Exact' }]);
    expect(matches(regex, 'canary=on')).toBe(true);
    expect(matches(regex, 'a=1; canary=on; b=2')).toBe(true);
    expect(matches(regex, 'a=1;canary=on')).toBe(true);
    expect(matches(regex, 'canary=only')).toBe(false);
    expect(matches(regex, 'xcanary=on')).toBe(false);
    expect(matches(regex, 'a=canary=on')).toBe(false);
  });

  it('escapes the value of an Exact cookie and keeps a RegularExpression one', () => {
    expect(matches(cookieRegex([{ name: 'v', value: '1.2', type: 'Exact' }]), 'v=1x2')).toBe(false);
    expect(
      matches(cookieRegex([{ name: 'v', value: '1\\.[0-9]+', type: 'RegularExpression' }]), 'v=1.25'),
    ).toBe(true);
  });

  it('needs every cookie of a match, in any order', () => {
    const regex = cookieRegex([
      { name: 'a', value: '1', type: 'Exact' },
      { name: 'b', value: '2', type: 'Exact' },
    ]);
    expect(matches(regex, 'a=1; b=2')).toBe(true);
    expect(matches(regex, 'b=2; x=0; a=1')).toBe(true);
    expect(matches(regex, 'a=1; b=3')).toBe(false);
  });
});
