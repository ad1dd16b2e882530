import type { Command } from 'commander';
import type { CommandName } from '../../api/status.js';
import { CliError, EXIT_FAILED, runAction } from '../exit.js';
import { manual, run, type ManualFlags } from './manual.js';

interface PromoteFlags extends ManualFlags {
  full?: boolean;
  force?: boolean;
}

/** `--full` skips the remaining analysis; of a revision that was rolled back, only with `--force`. */
export function promoteCommand(flags: { full?: boolean; force?: boolean }): CommandName {
  if (flags.force && !flags.full) {
    throw new CliError('--force only applies to --full; use `stepwise promote --full --force`', EXIT_FAILED);
  }
  if (!flags.full) return 'promote';
  return flags.force ? 'promote-full-force' : 'promote-full';
}

export function registerPromoteCommand(program: Command): void {
  manual(
    program,
    'promote',
    'pass the current gate or hold; --full skips the remaining steps',
    'stepwise promote product-service -n production',
  )
    .option('--full', 'skip the remaining steps and promote the canary now')
    .option('--force', 'with --full: promote even a revision that was rolled back or aborted before')
    .action(runAction((name: string, flags: PromoteFlags) => run(name, promoteCommand(flags), flags)));
}
