import { Argument, type Command } from 'commander';
import { registerCompleteCommand } from '../complete-words.js';
import { completionScript, SHELLS, type Shell } from '../completion-script.js';

export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (commands, flags, Rollout names, namespaces)')
    .addArgument(new Argument('<shell>', SHELLS.join(', ')).choices(SHELLS))
    .addHelpText(
      'after',
      '\nExample:\n  source <(stepwise completion bash)\n  stepwise completion zsh > "${fpath[1]}/_stepwise"\n' +
        '  stepwise completion fish > ~/.config/fish/completions/stepwise.fish\n\n' +
        'kubectl stepwise <TAB> completes through the kubectl_complete-stepwise command (kubectl >= 1.26).',
    )
    .action((shell: Shell) => {
      process.stdout.write(completionScript(program, shell));
    });
  registerCompleteCommand(program);
}
