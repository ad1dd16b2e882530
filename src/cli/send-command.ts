// promote / abort / retry: write the command annotations, then wait for the controller's answer in
// status.lastCommand (DESIGN §4), so the user learns whether the command was carried out.
//
// The annotations hold one command at a time. So that two commands sent at once are each executed or
// refused, never silently replaced, the CLI writes only when no command is pending (its id not yet answered
// in status) and with the resourceVersion it read: of two writers, one gets 409, reads again, sees the other's
// command pending and waits for its answer before writing its own. Answers stay in status.recentCommands, so
// a CLI finds its own even after a later command was answered.
import { randomBytes } from 'node:crypto';
import type { CommandName, CommandRecord, RolloutStatus } from '../api/status.js';
import type { Cluster, RolloutObject } from '../kube/cluster.js';
import { isConflict } from '../kube/errors.js';
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

/** The controller's record of command `id`, if it answered it. */
export function answerTo(status: RolloutStatus | undefined, id: string): CommandRecord | undefined {
  if (status?.lastCommand?.id === id) return status.lastCommand;
  return status?.recentCommands?.find((record) => record.id === id);
}

/** The command on the Rollout that the controller has not answered yet. */
function pendingCommand(rollout: RolloutObject): { name: string; id: string } | undefined {
  const annotations = rollout.metadata.annotations ?? {};
  const id = annotations[COMMAND_ID_ANNOTATION];
  const name = annotations[COMMAND_ANNOTATION];
  if (!id || !name || answerTo(rollout.status, id)) return undefined;
  return { name, id };
}

/** Writes the command and resolves with the controller's record of it (accepted or rejected). */
export async function sendCommand(
  cluster: Cluster,
  namespace: string,
  name: string,
  command: CommandName,
  options: SendOptions,
): Promise<CommandRecord> {
  const deadline = Date.now() + options.timeoutMs;
  const pollMs = options.pollMs ?? 100;
  const id = newCommandId(command);
  const read = async (what: string) => {
    const rollout = await cluster.getRollout(namespace, name);
    if (!rollout) throw new CliError(`Rollout ${namespace}/${name} ${what}`);
    return rollout;
  };

  let rollout = await read('not found; check the name and -n/--namespace');
  for (;;) {
    // The controller runs no command on a Rollout being deleted: it is handing traffic back to stable.
    if (rollout.metadata.deletionTimestamp) {
      throw new CliError(`Rollout ${namespace}/${name} is being deleted; ${command} was not sent`);
    }
    const pending = pendingCommand(rollout);
    if (!pending) {
      options.onWrite?.();
      try {
        await cluster.patchRolloutMetadata(namespace, name, {
          resourceVersion: rollout.metadata.resourceVersion,
          annotations: commandAnnotations(command, id),
        });
        break;
      } catch (error) {
        // Someone wrote the Rollout since we read it (maybe another command): look again.
        if (!isConflict(error)) throw error;
      }
    } else if (Date.now() >= deadline) {
      throw new CliError(
        `${command} was not sent: the ${pending.name} command sent before it (id ${pending.id}) is still ` +
          `waiting for the controller after ${options.timeoutMs / 1000} s; is \`stepwise controller\` running and watching this namespace?`,
        EXIT_UNAVAILABLE,
      );
    } else {
      await sleep(pollMs);
    }
    rollout = await read(`was deleted before ${command} could be sent`);
  }

  for (;;) {
    const current = await read(`was deleted while waiting for ${command}`);
    const answer = answerTo(current.status, id);
    if (answer) return answer;
    if (Date.now() >= deadline) {
      throw new CliError(
        `the controller did not answer ${command} within ${options.timeoutMs / 1000} s; ` +
          'is `stepwise controller` running and watching this namespace? The command stays pending on the Rollout.',
        EXIT_UNAVAILABLE,
      );
    }
    await sleep(pollMs);
  }
}
