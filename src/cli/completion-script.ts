// Shell completion generated from the registered commands (commander has none built in), so a new
// command or flag is completed without touching this file.
import type { Command } from 'commander';

interface CommandWords {
  name: string;
  description: string;
  flags: string[];
}

function words(program: Command): CommandWords[] {
  return program.commands.map((c) => ({
    name: c.name(),
    description: c.description(),
    flags: [...c.options.flatMap((o) => [o.short, o.long]), '--help'].filter((f): f is string => !!f),
  }));
}

const bin = (program: Command) => program.name();

export function bashCompletion(program: Command): string {
  const fn = `_${bin(program).replace(/\W/g, '_')}_completion`;
  const cases = words(program)
    .map((c) => `    ${c.name}) flags="${c.flags.join(' ')}" ;;`)
    .join('\n');
  return `# bash completion for ${bin(program)}: source <(${bin(program)} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" command="\${COMP_WORDS[1]}" flags=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${words(program)
      .map((c) => c.name)
      .join(' ')}" -- "$cur"))
    return
  fi
  case "$command" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$flags" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -F ${fn} ${bin(program)} kubectl-${bin(program)}
`;
}

const zshQuote = (text: string) => text.replace(/'/g, "'\\''").replace(/:/g, '\\:');

export function zshCompletion(program: Command): string {
  const commands = words(program);
  const list = commands.map((c) => `    '${zshQuote(c.name)}:${zshQuote(c.description)}'`).join('\n');
  const cases = commands
    .map((c) => `    ${c.name}) _arguments ${c.flags.map((f) => `'${f}'`).join(' ')} '*:file:_files' ;;`)
    .join('\n');
  return `#compdef ${bin(program)} kubectl-${bin(program)}
# zsh completion for ${bin(program)}: source <(${bin(program)} completion zsh)
_${bin(program)}() {
  local -a commands
  commands=(
${list}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case "$words[2]" in
${cases}
  esac
}
compdef _${bin(program)} ${bin(program)} kubectl-${bin(program)}
`;
}
