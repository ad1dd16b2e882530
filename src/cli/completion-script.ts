// Shell completion scripts. Each asks the CLI itself (`<bin> __complete <words>`, see complete-words.ts) what to
// offer, so commands, flags, Rollout names and namespaces are completed without touching this file.
import type { Command } from 'commander';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

function bash(bin: string): string {
  const fn = `_${bin.replace(/\W/g, '_')}_completion`;
  return `# bash completion for ${bin}: source <(${bin} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" out directive
  out=$("\${COMP_WORDS[0]}" __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return
  directive="\${out##*:}"
  COMPREPLY=($(compgen -W "$(printf '%s\\n' "$out" | grep -v '^:')" -- "$cur"))
  if [ "\${#COMPREPLY[@]}" -eq 0 ] && [ "$directive" = 0 ]; then COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -F ${fn} ${bin} kubectl-${bin}
`;
}

function zsh(bin: string): string {
  return `#compdef ${bin} kubectl-${bin}
# zsh completion for ${bin}: source <(${bin} completion zsh)
_${bin}() {
  local -a lines candidates
  lines=("\${(@f)$(\${words[1]} __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  candidates=(\${lines:#:*})
  if (( \${#candidates} )); then
    compadd -- \${candidates}
  elif [[ "\${lines[-1]}" == ":0" ]]; then
    _files
  fi
}
compdef _${bin} ${bin} kubectl-${bin}
`;
}

function fish(bin: string): string {
  const fn = `__${bin}_complete`;
  return `# fish completion for ${bin}: ${bin} completion fish | source
function ${fn}
    set -l words (commandline -opc) (commandline -ct)
    $words[1] __complete $words[2..-1] 2>/dev/null | string match -v -r '^:'
end
complete -c ${bin} -f -a '(${fn})'
complete -c kubectl-${bin} -f -a '(${fn})'
`;
}

export function completionScript(program: Command, shell: Shell): string {
  const bin = program.name();
  return shell === 'bash' ? bash(bin) : shell === 'zsh' ? zsh(bin) : fish(bin);
}
