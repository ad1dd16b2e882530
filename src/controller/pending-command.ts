// The command annotation a Rollout carries and status does not answer yet (DESIGN §4).
import type { RolloutObject } from '../kube/cluster.js';
import { COMMAND_ANNOTATION, COMMAND_ID_ANNOTATION } from '../rollout/commands.js';
import { PRIORITY, type Priority } from './queue.js';

/** The name of the command waiting for its pass (`abort`, `promote`, ...), if there is one. */
export function pendingCommand(rollout: RolloutObject): string | undefined {
  const annotations = rollout.metadata.annotations ?? {};
  const id = annotations[COMMAND_ID_ANNOTATION];
  const name = annotations[COMMAND_ANNOTATION];
  if (!id || !name) return undefined;
  const status = rollout.status ?? {};
  const answered = [status.lastCommand, ...(status.recentCommands ?? [])].some((c) => c?.id === id);
  return answered ? undefined : name;
}

/** A command not answered yet goes ahead of everything else, an abort first. */
export function priorityOf(rollout: RolloutObject): Priority {
  const command = pendingCommand(rollout);
  if (command === undefined) return PRIORITY.change;
  return command === 'abort' ? PRIORITY.abort : PRIORITY.command;
}
