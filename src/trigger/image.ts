// Image references and the rule that decides which images a trigger may set.
import { matchesGlob } from './image-glob.js';
import { parseImageReference, referenceParts } from './image-reference.js';

export interface ImageRequest {
  /** Container to change; optional when the pod template has exactly one. */
  container?: string;
  image: string;
}

/** `[<container>=]<image>` as `--image` takes it. */
export function parseImageFlag(text: string): ImageRequest {
  const eq = text.indexOf('=');
  const container = eq >= 0 ? text.slice(0, eq) : undefined;
  const image = eq >= 0 ? text.slice(eq + 1) : text;
  if (!image || container === '') {
    throw new Error(
      `--image ${JSON.stringify(text)} is not valid; write <image> or <container>=<image>, e.g. app=registry.example.com/app:1.2.3`,
    );
  }
  parseImageReference(image, '--image');
  return container === undefined ? { image } : { container, image };
}

/** The repository of an image reference: without `@digest` and without the `:tag` after the last `/`. */
export const repositoryOf = (image: string): string => referenceParts(image).name;

/**
 * Why an image may not be set, or undefined when it may: it must keep the container's current
 * repository, unless one of the Rollout's `spec.trigger.allowedImages` patterns matches it.
 */
export function imageRefusal(
  currentImage: string,
  image: string,
  allowedImages: string[],
): string | undefined {
  if (repositoryOf(currentImage) === repositoryOf(image)) return undefined;
  if (allowedImages.some((pattern) => matchesGlob(pattern, image))) return undefined;
  return (
    `image ${image} is not from the container's repository ${repositoryOf(currentImage)}` +
    (allowedImages.length
      ? ` and matches none of spec.trigger.allowedImages (${allowedImages.join(', ')})`
      : '') +
    "; add a pattern to the Rollout's spec.trigger.allowedImages to allow it"
  );
}
