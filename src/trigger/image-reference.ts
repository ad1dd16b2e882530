// Image references by the grammar of distribution/reference (reference.go, regexp.go):
//   reference := name [":" tag] ["@" digest]      name := [domain "/"] path-component ["/" path-component]*
// Parsed by splitting at the characters the grammar reserves ("@", the last ":" after the last "/", "/") and
// checking each piece with a pattern whose repetitions cannot overlap, so the work is linear in the length.

export const MAX_NAME_LENGTH = 255; // RepositoryNameTotalLengthMax
export const MAX_TAG_LENGTH = 128; // tag := /[\w][\w.-]{0,127}/
// The grammar sets no upper bound on the hex; sha512 (128 hex digits) with a long algorithm name fits.
const MAX_DIGEST_LENGTH = 256;

export interface ImageReference {
  /** `[domain/]path`, without tag or digest: what the repository check compares. */
  name: string;
  tag?: string;
  digest?: string;
}

const ALNUM_RUN = /^[a-z0-9]+$/;
// separator := /[_.]|__|[-]+/
const SEPARATOR = /^(?:[._]|__|-+)$/;
const DOMAIN_COMPONENT = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const IPV6 = /^\[[a-fA-F0-9:]+\]$/;
const PORT = /^[0-9]+$/;
const TAG = /^\w[\w.-]*$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

/** path-component := alpha-numeric [separator alpha-numeric]* */
function isPathComponent(text: string): boolean {
  const pieces = text.split(/([^a-z0-9]+)/);
  return pieces.every((piece, i) => (i % 2 === 0 ? ALNUM_RUN.test(piece) : SEPARATOR.test(piece)));
}

/** domain := host [":" port-number], host := domain-name | "[" IPv6 "]" */
function isDomain(text: string): boolean {
  const ipv6 = text.startsWith('[');
  const portAt = ipv6 ? text.indexOf(']:') + 1 : text.indexOf(':');
  const host = portAt > 0 ? text.slice(0, portAt) : text;
  if (portAt > 0 && !PORT.test(text.slice(portAt + 1))) return false;
  return ipv6 ? IPV6.test(host) : host.split('.').every((c) => DOMAIN_COMPONENT.test(c));
}

const FORM = 'write <name>[:<tag>][@<algorithm>:<hex>], e.g. registry.example.com/team/app:1.4.2';

/** Splits at the characters the grammar reserves, without checking the pieces. */
export function referenceParts(image: string): ImageReference {
  const at = image.indexOf('@');
  const named = at >= 0 ? image.slice(0, at) : image;
  // A ":" after the last "/" starts the tag; one before it belongs to the registry's port.
  const colon = named.lastIndexOf(':');
  const hasTag = colon > named.lastIndexOf('/');
  return {
    name: hasTag ? named.slice(0, colon) : named,
    ...(hasTag ? { tag: named.slice(colon + 1) } : {}),
    ...(at >= 0 ? { digest: image.slice(at + 1) } : {}),
  };
}

/** name := [domain "/"] path-component ["/" path-component]* */
function isName(name: string): boolean {
  const [first, ...rest] = name.split('/');
  return (isPathComponent(first!) || (rest.length > 0 && isDomain(first!))) && rest.every(isPathComponent);
}

function problemOf({ name, tag, digest }: ImageReference): string | undefined {
  if (digest !== undefined) {
    if (digest === '') return 'the digest after "@" is empty';
    if (digest.length > MAX_DIGEST_LENGTH || !DIGEST.test(digest))
      return `the digest ${JSON.stringify(digest)} is not <algorithm>:<at least 32 hex digits>`;
  }
  if (tag !== undefined) {
    if (tag === '') return 'the tag after ":" is empty';
    if (tag.length > MAX_TAG_LENGTH) return `the tag is longer than ${MAX_TAG_LENGTH} characters`;
    if (!TAG.test(tag))
      return 'the tag may hold only letters, digits, "_", "." and "-", and may not start with "." or "-"';
  }
  if (name === '') return 'the name is empty';
  if (name.length > MAX_NAME_LENGTH) return `the name is longer than ${MAX_NAME_LENGTH} characters`;
  if (isName(name)) return undefined;
  if (isName(name.toLowerCase())) return 'the repository path must be lowercase';
  return (
    'the name is not [<registry>[:<port>]/]<path>, each path component lowercase letters and digits ' +
    'joined by ".", "_", "__" or "-"'
  );
}

/** Parses an image reference, or throws an error that names `field`, the problem and the expected form. */
export function parseImageReference(image: string, field = 'image'): ImageReference {
  let problem: string | undefined;
  // Checked before the pieces are: each piece is then short.
  if (image === '') problem = 'it is empty';
  else if (image.length > MAX_NAME_LENGTH + 1 + MAX_TAG_LENGTH + 1 + MAX_DIGEST_LENGTH)
    problem = 'it is too long';
  else if (/[^\x21-\x7e]/.test(image)) problem = 'it contains whitespace, control or non-ASCII characters';
  const reference = referenceParts(image);
  problem ??= problemOf(reference);
  if (problem) {
    const shown = image.length > 80 ? `${JSON.stringify(image.slice(0, 80))}…` : JSON.stringify(image);
    throw new Error(`${field} ${shown} is not a valid image reference: ${problem}; ${FORM}`);
  }
  return reference;
}
