#!/usr/bin/env node
import { Command } from 'commander';
import { registerOperatorCommands } from './commands/index.js';
import { registerControllerCommand } from './controller-command.js';
import { registerSimulateCommand } from './simulate-command.js';

const program = new Command('stepwise')
  .description('Progressive canary delivery for Kubernetes services behind Istio')
  .version('0.1.0')
  .showHelpAfterError();

registerControllerCommand(program);
registerSimulateCommand(program);
registerOperatorCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`stepwise: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
