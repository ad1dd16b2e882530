import { Argument, type Command } from 'commander';
import { bashCompletion, zshCompletion } from '../completion-script.js';

export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .addHelpText(
      'after',
      '\nExample:\n  source <(stepwise completion bash)\n  stepwise completion zsh > "${fpath[1]}/_stepwise"',
    )
    .action((shell: 'bash' | 'zsh') => {
      process.stdout.write(shell === 'bash' ? bashCompletion(program) : zshCompletion(program));
    });
}
