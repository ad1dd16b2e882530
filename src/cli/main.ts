#!/usr/bin/env node
import { Command } from 'commander';
import { registerControllerCommand } from './controller-command.js';

const program = new Command('stepwise')
  .description('Progressive canary delivery for Kubernetes services behind Istio')
  .version('0.1.0')
  .showHelpAfterError();

registerControllerCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`stepwise: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
