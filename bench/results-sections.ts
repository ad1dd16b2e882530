// A results file made of sections, one per scenario group, each between markers: a run of some groups rewrites
// their sections and keeps the others as the last run of theirs left them.

const begin = (group: string) => `<!-- section: ${group} -->`;
const end = (group: string) => `<!-- /section: ${group} -->`;

/** `text` with the section of `group` replaced by `section` (appended when it has none yet). */
export function withSection(text: string, group: string, section: string): string {
  const block = `${begin(group)}\n${section.trimEnd()}\n${end(group)}\n`;
  const from = text.indexOf(begin(group));
  const to = text.indexOf(end(group));
  if (from < 0 || to < from) return `${text}${text === '' || text.endsWith('\n\n') ? '' : '\n'}${block}`;
  return `${text.slice(0, from)}${block}${text.slice(to + end(group).length).replace(/^\n/, '')}`;
}

/** The groups `--only a,b` names (every group without it); an unknown name is refused with the known ones. */
export function selectedGroups<G extends string>(args: string[], groups: readonly G[]): G[] {
  const at = args.indexOf('--only');
  if (at < 0) return [...groups];
  const names = (args[at + 1] ?? '').split(',').filter((name) => name !== '');
  const unknown = names.filter((name) => !(groups as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(
      `--only ${JSON.stringify(args[at + 1] ?? '')} is not valid; name one or more of ${groups.join(', ')}, comma-separated, e.g. --only ${groups[0]}`,
    );
  }
  return names as G[];
}
