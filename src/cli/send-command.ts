// promote / abort / retry: write the command annotations, then wait for the controller's answer in
// status.lastCommand (DESIGN §4), so the user learns whether the command was carried out.
import { randomBytes } from 'node:crypto';
import type { CommandName, CommandRecord } from '../api/status.js';
import type { Cluster } from '../kube/cluster.js';
import { COMMAND_ANNOTATION, COMMAND_ID_ANNOTATION } from '../rollout/commands.js';
import { CliError, EXIT_UNAVAILABLE } from './exit.js';

/** Unique per invocation: the controller executes each id once. */
export function newCommandId(command: CommandName, now = new Date()): string {
  return `${command}-${now.getTime().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export function commandAnnotations(command: CommandName, id: string): Record<string, string> {
  return { [COMMAND_ANNOTATION]: command, [COMMAND_ID_ANNOTATION]: id };
}

export interface SendOptions {
  timeoutMs: number;
  pollMs?: number;
  /** Called right before the annotations are written (benchmarks time from here). */
  onWrite?: () => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes the command and resolves with the controller's record of it (accepted or rejected). */
export async function sendCommand(
  cluster: Cluster,
  namespace: string,
  name: string,
  command: CommandName,
  options: SendOptions,
): Promise<CommandRecord> {
  if (!(await cluster.getRollout(namespace, name))) {
    throw new CliError(`Rollout ${namespace}/${name} not found; check the name and -n/--namespace`);
  }
  const id = newCommandId(command);
  options.onWrite?.();
  await cluster.patchRolloutMetadata(namespace, name, { annotations: commandAnnotations(command, id) });
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const rollout = await cluster.getRollout(namespace, name);
    if (!rollout) throw new CliError(`Rollout ${namespace}/${name} was deleted while waiting for ${command}`);
    const last = rollout.status?.lastCommand;
    if (last?.id === id) return last;
    if (Date.now() >= deadline) {
      throw new CliError(
        `the controller did not answer ${command} within ${options.timeoutMs / 1000} s; ` +
          'is `stepwise controller` running and watching this namespace? The command stays pending on the Rollout.',
        EXIT_UNAVAILABLE,
      );
    }
    await sleep(options.pollMs ?? 100);
  }
}
