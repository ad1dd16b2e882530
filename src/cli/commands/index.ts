import type { Command } from 'commander';
import { registerCompletionCommand } from './completion.js';
import { registerManualCommands } from './manual.js';
import { registerPromoteCommand } from './promote.js';
import { registerStatusCommands } from './status.js';
import { registerTriggerCommand } from './trigger.js';
import { registerValidateCommand } from './validate.js';

/** The commands operators and CI run against a cluster (DESIGN §4), and shell completion. */
export function registerOperatorCommands(program: Command): void {
  registerStatusCommands(program);
  registerPromoteCommand(program);
  registerManualCommands(program);
  registerTriggerCommand(program);
  registerValidateCommand(program);
  // Last, so the script it prints knows every other command.
  registerCompletionCommand(program);
}
