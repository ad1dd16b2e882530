// `spec.trigger.allowedImages` globs: `*` matches within one path segment, `**` across `/`.
// Matched by simulating the pattern's automaton over the image once (Thompson's construction, as RE2 and Go's
// regexp do), so the work is at most pattern length × image length: a backtracking regex built from the same
// glob took 15.6 s for 8 `*` and a 60-character image.

type Token = { kind: 'literal'; char: string } | { kind: 'segment' } | { kind: 'any' };

function tokensOf(pattern: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '*') tokens.push({ kind: 'literal', char: pattern[i]! });
    else if (pattern[i + 1] === '*') {
      // `***` and longer are `**`: consecutive stars add nothing.
      while (pattern[i + 1] === '*') i++;
      tokens.push({ kind: 'any' });
    } else tokens.push({ kind: 'segment' });
  }
  return tokens;
}

/** The position reached from token `i` on reading `char`, or -1 when the token cannot read it. */
function advance(token: Token, char: string, i: number): number {
  if (token.kind === 'literal') return token.char === char ? i + 1 : -1;
  // A star stays where it is: it may read more characters.
  return token.kind === 'any' || char !== '/' ? i : -1;
}

/** True when the glob matches the whole image reference. */
export function matchesGlob(pattern: string, image: string): boolean {
  const tokens = tokensOf(pattern);
  // states[i]: the first i tokens matched the text read so far. A star may also match nothing, so
  // reaching a star's position reaches the position after it too.
  let states: Uint8Array = new Uint8Array(tokens.length + 1);
  const close = (set: Uint8Array) => {
    for (let i = 0; i < tokens.length; i++) if (set[i] && tokens[i]!.kind !== 'literal') set[i + 1] = 1;
    return set;
  };
  states[0] = 1;
  close(states);
  for (const char of image) {
    const next = new Uint8Array(tokens.length + 1);
    let alive = false;
    for (let i = 0; i < tokens.length; i++) {
      if (!states[i]) continue;
      const to = advance(tokens[i]!, char, i);
      if (to >= 0) {
        next[to] = 1;
        alive = true;
      }
    }
    if (!alive) return false;
    states = close(next);
  }
  return states[tokens.length] === 1;
}
