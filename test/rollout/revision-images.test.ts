// How a message names a revision: its hash, then the images that set it apart from the other track's, bounded.
import { describe, expect, it } from 'vitest';
import { describeRevision, MAX_IMAGE_CHARS } from '../../src/rollout/revision-images.js';

const template = (containers: Record<string, string>) => ({
  spec: { containers: Object.entries(containers).map(([name, image]) => ({ name, image })) },
});
const lookup = (templates: Record<string, ReturnType<typeof template>>) => (revision: string | undefined) =>
  revision === undefined ? undefined : templates[revision];

describe('naming a revision in a message', () => {
  it('gives the one container’s image without its name', () => {
    const templates = lookup({
      new: template({ api: 'shop/api:1.4.2' }),
      old: template({ api: 'shop/api:1.4.1' }),
    });
    expect(describeRevision(templates, 'new', 'old')).toBe('new (image shop/api:1.4.2)');
  });

  it('names only the containers whose image changed, by container name when there are several', () => {
    const templates = lookup({
      new: template({ api: 'shop/api:2', worker: 'shop/worker:1', proxy: 'envoy:1.30' }),
      old: template({ api: 'shop/api:1', worker: 'shop/worker:1', proxy: 'envoy:1.30' }),
    });
    expect(describeRevision(templates, 'new', 'old')).toBe('new (image api=shop/api:2)');
  });

  it('gives every image when none changed (a change of env or resources) or the other is not known', () => {
    const same = template({ api: 'shop/api:1', worker: 'shop/worker:1' });
    expect(describeRevision(lookup({ new: same, old: same }), 'new', 'old')).toBe(
      'new (images api=shop/api:1, worker=shop/worker:1)',
    );
    expect(describeRevision(lookup({ new: same }), 'new', 'gone')).toBe(
      'new (images api=shop/api:1, worker=shop/worker:1)',
    );
  });

  it('counts the images past the second instead of listing them', () => {
    const templates = lookup({ new: template({ a: 'x/a:2', b: 'x/b:2', c: 'x/c:2', d: 'x/d:2' }) });
    expect(describeRevision(templates, 'new')).toBe('new (images a=x/a:2, b=x/b:2, +2 more)');
  });

  it('shortens a digest to 12 hex digits and a long reference to its end, where name and tag are', () => {
    const digest = `shop/api@sha256:${'0123456789abcdef'.repeat(4)}`;
    expect(describeRevision(lookup({ new: template({ api: digest }) }), 'new')).toBe(
      'new (image shop/api@sha256:0123456789ab…)',
    );
    const long = `registry.example.com/${'platform/'.repeat(10)}api:1.4.2`;
    const shown = describeRevision(lookup({ new: template({ api: long }) }), 'new');
    expect(shown).toMatch(/^new \(image …\S*\/api:1\.4\.2\)$/);
    expect(shown.length).toBe('new (image '.length + MAX_IMAGE_CHARS + 1);
  });

  it('is the hash alone when the revision’s template is not known', () => {
    expect(describeRevision(lookup({}), 'abc123')).toBe('abc123');
  });
});
