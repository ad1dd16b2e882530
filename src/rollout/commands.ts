// Manual commands arrive as the annotations stepwise.dev/command + stepwise.dev/command-id (DESIGN §4);
// each id is executed once and recorded in status.lastCommand.
import { advance, rollback, startPromotion, startRollout } from './moves.js';
import type { Pass } from './pass.js';

export const COMMAND_ANNOTATION = 'stepwise.dev/command';
export const COMMAND_ID_ANNOTATION = 'stepwise.dev/command-id';
export const COMMANDS = ['promote', 'promote-full', 'promote-full-force', 'abort', 'retry'] as const;
/** Command records kept in status.recentCommands. */
export const RECENT_COMMANDS = 10;

interface Outcome {
  accepted: boolean;
  message: string;
}

const rejected = (message: string): Outcome => ({ accepted: false, message });

/** Why there is nothing to promote; after a rollback, which one and what to do instead. */
function nothingToPromote(p: Pass): Outcome {
  const last = p.status.lastRollback;
  const phase = p.phase ?? 'Initializing';
  if ((phase === 'RolledBack' || phase === 'Aborted') && last) {
    return rejected(
      `nothing to promote: revision ${p.revisionText(last.revision)} was ${phase === 'Aborted' ? 'aborted' : 'rolled back'} (${last.reason}: ${last.message}); \`stepwise retry\` runs it again from step 1`,
    );
  }
  return rejected(`nothing to promote: the rollout is ${phase}`);
}

/** `invalid`: no usable spec; `guarding`: the spec is invalid mid-rollout, the last valid one still guards. */
export type CommandMode = 'valid' | 'invalid' | 'guarding';

function execute(p: Pass, command: string, mode: CommandMode): Outcome {
  const phase = p.phase ?? 'Initializing';
  if (mode === 'invalid') return rejected(`the Rollout is ${phase}: fix the problems in its status first`);
  if (mode === 'guarding' && command !== 'abort') {
    return rejected(`${p.hold}: fix it first; \`abort\` is accepted meanwhile`);
  }
  const inRollout = phase === 'Progressing' || phase === 'Paused';
  switch (command) {
    case 'promote': {
      if (!inRollout) return nothingToPromote(p);
      const at = p.stepLabel();
      advance(p, 'promoted by command');
      return { accepted: true, message: `promoted past ${at}` };
    }
    case 'promote-full':
    case 'promote-full-force': {
      if (!inRollout) return nothingToPromote(p);
      const last = p.status.lastRollback;
      if (command === 'promote-full' && last && last.revision === p.status.canaryRevision) {
        return rejected(
          `revision ${p.revisionText(last.revision)} was ${last.phase === 'Aborted' ? 'aborted' : 'rolled back'} at ${last.at} (${last.reason}: ${last.message}); promoting it without the remaining steps needs \`stepwise promote --full --force\``,
        );
      }
      const at = p.stepLabel();
      startPromotion(
        p,
        `promoted to the end by command at ${at}; promoting revision ${p.revisionText(p.status.canaryRevision)}`,
      );
      return { accepted: true, message: `skipping the remaining steps from ${at}` };
    }
    case 'abort': {
      if (phase === 'Promoting') {
        rollback(
          p,
          'Aborted',
          'Aborted',
          `aborted by command during the promotion of revision ${p.revisionText(p.status.canaryRevision)}`,
        );
        return { accepted: true, message: 'aborted during promotion' };
      }
      if (!inRollout) return rejected(`nothing to abort: the rollout is ${phase}`);
      const at = p.stepLabel();
      rollback(p, 'Aborted', 'Aborted', `aborted by command at ${at}; all traffic back to stable`);
      return { accepted: true, message: `aborted at ${at}` };
    }
    case 'retry': {
      if (phase !== 'RolledBack' && phase !== 'Aborted')
        return rejected(`nothing to retry: the rollout is ${phase}`);
      const previous = p.status.previousStable;
      if (previous) {
        // Step 1 starts with all traffic on stable, which is not back on its template yet (promotion.ts).
        return rejected(
          `the stable Deployment is still going back to revision ${p.revisionText(previous.revision)} after the abandoned promotion; retry once it is ready`,
        );
      }
      const revision = p.observed.target!.revision;
      if (revision === p.status.stableRevision) {
        return rejected(`nothing to retry: the target runs the stable revision ${p.revisionText(revision)}`);
      }
      startRollout(p, revision, 'Retry');
      return { accepted: true, message: `retrying revision ${p.revisionText(revision)} from step 1` };
    }
    default:
      return rejected(`unknown command ${JSON.stringify(command)}; use one of ${COMMANDS.join(', ')}`);
  }
}

/** Runs the command on the Rollout if its id was not executed yet. */
export function runCommand(p: Pass, mode: CommandMode): void {
  const command = p.observed.command;
  if (!command || command.id === p.status.lastCommand?.id) return;
  const outcome = execute(p, command.name, mode);
  p.status.lastCommand = { id: command.id, command: command.name, ...outcome, at: p.nowIso };
  p.status.recentCommands = [...(p.status.recentCommands ?? []), p.status.lastCommand].slice(
    -RECENT_COMMANDS,
  );
  if (!outcome.accepted) p.announce('Warning', 'CommandRejected', `${command.name}: ${outcome.message}`);
}
