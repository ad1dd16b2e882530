import { describe, expect, it } from 'vitest';
import { imageRefusal, parseImageFlag, repositoryOf } from '../../src/trigger/image.js';

describe('--image [container=]image', () => {
  it('takes an image alone or with its container', () => {
    expect(parseImageFlag('reg.io/app:1.2')).toEqual({ image: 'reg.io/app:1.2' });
    expect(parseImageFlag('web=reg.io/app:1.2')).toEqual({ container: 'web', image: 'reg.io/app:1.2' });
  });

  it('refuses an empty container or image with the expected form', () => {
    expect(() => parseImageFlag('=reg.io/app')).toThrow(/write <image> or <container>=<image>/);
    expect(() => parseImageFlag('web=')).toThrow(/--image "web="/);
  });

  it('refuses a malformed image before connecting, naming the flag and the expected form', () => {
    expect(() => parseImageFlag('web=reg.io/app:1.3.0@evil.example.com/x:latest')).toThrow(
      /--image "reg\.io\/app:1\.3\.0@evil\.example\.com\/x:latest" is not a valid image reference: the digest .* write <name>\[:<tag>\]/,
    );
    expect(() => parseImageFlag('reg.io/app:')).toThrow(/the tag after ":" is empty/);
  });
});

describe('image repositories', () => {
  it('drops the tag and digest but keeps a registry port', () => {
    expect(repositoryOf('reg.io:5000/team/app:1.2')).toBe('reg.io:5000/team/app');
    expect(repositoryOf('reg.io:5000/team/app')).toBe('reg.io:5000/team/app');
    expect(repositoryOf('reg.io/app@sha256:abc')).toBe('reg.io/app');
    expect(repositoryOf('app:1')).toBe('app');
  });

  it('allows a new tag of the current repository, and other repositories only by allowedImages', () => {
    expect(imageRefusal('reg.io/app:1.0', 'reg.io/app:1.1', [])).toBeUndefined();
    expect(imageRefusal('reg.io/app:1.0', 'evil.io/app:1.1', [])).toMatch(
      /not from the container's repository reg\.io\/app; add a pattern to the Rollout's spec\.trigger\.allowedImages/,
    );
    expect(imageRefusal('reg.io/app:1.0', 'mirror.io/app:1.1', ['mirror.io/*'])).toBeUndefined();
    expect(imageRefusal('reg.io/app:1.0', 'evil.io/app:1.1', ['mirror.io/*'])).toMatch(/matches none of/);
  });
});
