#!/usr/bin/env node
import { Command, type CommanderError } from 'commander';
import { registerOperatorCommands } from './commands/index.js';
import { registerControllerCommand } from './controller-command.js';
import { registerSandboxCommand } from './sandbox-command.js';
import { EXIT_OK, EXIT_UNAVAILABLE } from './exit.js';
import { registerSimulateCommand } from './simulate-command.js';

const program = new Command('stepwise')
  .description('Progressive canary delivery for Kubernetes services behind Istio')
  .version('0.1.0')
  .showHelpAfterError()
  // A missing or unknown flag is bad input (exit 2), never a failed rollout (exit 1), which CI jobs branch on.
  // Set before the commands are added: they inherit it.
  .exitOverride((error: CommanderError) => process.exit(error.exitCode === 0 ? EXIT_OK : EXIT_UNAVAILABLE));

registerControllerCommand(program);
registerSimulateCommand(program);
registerOperatorCommands(program);
registerSandboxCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`stepwise: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(EXIT_UNAVAILABLE);
});
