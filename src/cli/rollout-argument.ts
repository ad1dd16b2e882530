// The Rollout argument as kubectl takes it: `name`, or `TYPE/NAME` with the type in any of the forms
// `kubectl get` accepts for this CRD (singular or plural, bare, with the group, or with version and group).
import { Argument, InvalidArgumentError } from 'commander';
import { GROUP, VERSION } from '../api/schema.js';

const TYPES = ['rollout', 'rollouts'].flatMap((t) => [t, `${t}.${GROUP}`, `${t}.${VERSION}.${GROUP}`]);

export function parseRolloutName(text: string): string {
  const slash = text.indexOf('/');
  if (slash < 0) return text;
  const type = text.slice(0, slash).toLowerCase();
  const name = text.slice(slash + 1);
  if (!TYPES.includes(type) || !name || name.includes('/')) {
    throw new InvalidArgumentError(
      `${JSON.stringify(text)} is not a Rollout; give its name or rollout/<name> (also rollouts.${GROUP}/<name>).`,
    );
  }
  return name;
}

/** `<rollout>`: a name or rollout/<name>; commands with it complete Rollout names (see completion). */
export const rolloutArgument = () =>
  new Argument('<rollout>', 'name of the Rollout (or rollout/<name>)').argParser(parseRolloutName);
