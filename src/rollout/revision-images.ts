// A revision is named by its pod-template hash; a human knows it by its image. Messages say both:
// `revision 7c9f5d8b6 (image shop/api:1.4.2)`, with the images of the containers that make it differ from the other
// track, bounded so that one status message stays one readable line.
import type { V1PodTemplateSpec } from '@kubernetes/client-node';

/** Images named in one message, at most; the rest are counted. */
export const MAX_IMAGES = 2;
/** Characters of one image reference shown, at most: the end (name and tag) is kept. */
export const MAX_IMAGE_CHARS = 64;

/** The template's images as `name=image`, in its order. */
export const imagesOf = (template: V1PodTemplateSpec | undefined) =>
  template?.spec?.containers.map((c) => `${c.name}=${c.image ?? ''}`) ?? [];

/** A digest cut to 12 hex digits, then at most MAX_IMAGE_CHARS, keeping the end. */
function shortImage(image: string): string {
  const short = image.replace(/@sha256:([0-9a-f]{12})[0-9a-f]{4,}/, '@sha256:$1…');
  return short.length <= MAX_IMAGE_CHARS ? short : `…${short.slice(-(MAX_IMAGE_CHARS - 1))}`;
}

/**
 * `hash (image …)`: the images of the containers whose image differs from `other`'s template (all of them when
 * none does, or `other` is not known); only the hash when the template is not observed.
 */
export function describeRevision(
  templateOf: (revision: string | undefined) => V1PodTemplateSpec | undefined,
  revision: string,
  other?: string,
): string {
  const containers = templateOf(revision)?.spec?.containers ?? [];
  if (containers.length === 0) return revision;
  const before = new Map((templateOf(other)?.spec?.containers ?? []).map((c) => [c.name, c.image] as const));
  const changed = containers.filter((c) => before.size > 0 && before.get(c.name) !== c.image);
  const shown = changed.length > 0 ? changed : containers;
  const named = containers.length > 1;
  const listed = shown
    .slice(0, MAX_IMAGES)
    .map((c) => `${named ? `${c.name}=` : ''}${shortImage(c.image ?? '')}`);
  if (shown.length > MAX_IMAGES) listed.push(`+${shown.length - MAX_IMAGES} more`);
  return `${revision} (${shown.length > 1 ? 'images' : 'image'} ${listed.join(', ')})`;
}
