import { describe, expect, it } from 'vitest';
import { parseImageReference } from '../../src/trigger/image-reference.js';

describe('image references (the distribution/reference grammar)', () => {
  it.each([
    ['app', { name: 'app' }],
    ['reg.io/team/app:1.2.3', { name: 'reg.io/team/app', tag: '1.2.3' }],
    ['reg.io:5000/team/app', { name: 'reg.io:5000/team/app' }],
    ['localhost:5000/app:v1', { name: 'localhost:5000/app', tag: 'v1' }],
    ['[::1]:5000/app:v1', { name: '[::1]:5000/app', tag: 'v1' }],
    [
      'My.Registry.io/a__b/c-d.e_f/g---h:V_1.0-rc',
      { name: 'My.Registry.io/a__b/c-d.e_f/g---h', tag: 'V_1.0-rc' },
    ],
    [`app@sha256:${'a'.repeat(64)}`, { name: 'app', digest: `sha256:${'a'.repeat(64)}` }],
    [`app:1@sha256:${'F'.repeat(64)}`, { name: 'app', tag: '1', digest: `sha256:${'F'.repeat(64)}` }],
  ])('accepts %s', (image, parsed) => {
    expect(parseImageReference(image)).toEqual(parsed);
  });

  it.each([
    ['repo@', /the digest after "@" is empty/],
    ['repo:', /the tag after ":" is empty/],
    ['repo@sha256:', /the digest "sha256:" is not <algorithm>:<at least 32 hex digits>/],
    ['repo:1.3.0@evil.example.com/x:latest', /the digest "evil\.example\.com\/x:latest" is not/],
    ['repo:1.3.0\u0000', /control/],
    ['repo: 1', /whitespace/],
    [`repo:${'a'.repeat(5000)}`, /it is too long/],
    [`repo:${'a'.repeat(129)}`, /the tag is longer than 128 characters/],
    [`${'a'.repeat(256)}:1`, /the name is longer than 255 characters/],
    ['repo:-1', /may not start with "\." or "-"/],
    ['Reg.io/App:1', /the repository path must be lowercase/],
    ['reg.io//app', /the name is not \[<registry>\[:<port>\]\/\]<path>/],
    ['-app', /the name is not/],
    ['app-', /the name is not/],
    ['a...b', /the name is not/],
    ['reg.io:x/app', /the name is not/],
    ['', /it is empty/],
  ])('refuses %j with the problem and the expected form', (image, problem) => {
    const parse = () => parseImageReference(image, 'image');
    expect(parse).toThrow(problem);
    expect(parse).toThrow(
      /^image ".*"…? is not a valid image reference: .*; write <name>\[:<tag>\]\[@<algorithm>:<hex>\]/s,
    );
  });
});
