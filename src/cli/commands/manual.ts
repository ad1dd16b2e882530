import type { Command } from 'commander';
import type { CommandName } from '../../api/status.js';
import { connect, withClusterOptions, type ClusterFlags } from '../cluster-options.js';
import { durationFlag } from '../duration-flag.js';
import { EXIT_FAILED, EXIT_OK, runAction } from '../exit.js';
import { formatData, outputOption, parseOutputFormat } from '../output.js';
import { sendCommand } from '../send-command.js';

export interface ManualFlags extends ClusterFlags {
  timeout: string;
  output?: string;
}

export async function run(name: string, command: CommandName, flags: ManualFlags): Promise<number> {
  const format = parseOutputFormat(flags.output);
  const timeoutMs = durationFlag('timeout', flags.timeout);
  const { cluster, namespace } = connect(flags);
  const record = await sendCommand(cluster, namespace, name, command, { timeoutMs });
  if (format) console.log(formatData(record, format));
  else if (record.accepted) console.log(`${command} ${namespace}/${name}: ${record.message}`);
  else console.error(`stepwise: ${command} ${namespace}/${name} rejected: ${record.message}`);
  return record.accepted ? EXIT_OK : EXIT_FAILED;
}

const EXIT_HELP =
  'Exit status: 0 done, 1 rejected by the controller (the message says why), 2 no such Rollout or no answer in time.';

export function manual(program: Command, verb: string, description: string, example: string): Command {
  return withClusterOptions(
    program
      .command(verb)
      .description(description)
      .argument('<rollout>', 'name of the Rollout')
      .option('--timeout <duration>', 'how long to wait for the controller to answer', '30s')
      .addOption(outputOption()),
  ).addHelpText('after', `\nExample:\n  ${example}\n\n${EXIT_HELP}`);
}

/** `abort` and `retry`; `promote` is in promote.ts. */
export function registerManualCommands(program: Command): void {
  manual(
    program,
    'abort',
    'roll back now: all traffic to stable (phase Aborted)',
    'stepwise abort product-service -n production',
  ).action(runAction((name: string, flags: ManualFlags) => run(name, 'abort', flags)));
  manual(
    program,
    'retry',
    'start the rolled-back or aborted revision again from step 1',
    'stepwise retry product-service -n production',
  ).action(runAction((name: string, flags: ManualFlags) => run(name, 'retry', flags)));
}
