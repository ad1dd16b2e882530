import type { Command } from 'commander';
import type { RolloutSpec } from '../../api/schema.js';
import { validateSpec } from '../../api/validate.js';
import { parseImageFlag } from '../../trigger/image.js';
import { followRelease } from '../../trigger/follow.js';
import { setRolloutImage, TriggerError } from '../../trigger/set-image.js';
import { connect, withClusterOptions, type ClusterFlags } from '../cluster-options.js';
import { rolloutArgument } from '../rollout-argument.js';
import { durationFlag } from '../duration-flag.js';
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, runAction } from '../exit.js';
import { statusLine } from '../render/status-view.js';

interface TriggerFlags extends ClusterFlags {
  image: string;
  wait?: boolean;
  timeout: string;
}

const stamp = (start: number) => `[${String(Math.round((Date.now() - start) / 1000)).padStart(4)}s]`;

async function trigger(name: string, flags: TriggerFlags): Promise<number> {
  let request;
  try {
    request = parseImageFlag(flags.image);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  const timeoutMs = durationFlag('timeout', flags.timeout);
  const { cluster, namespace } = connect(flags);
  const start = Date.now();
  let result;
  try {
    result = await setRolloutImage(cluster, namespace, name, request);
  } catch (error) {
    if (error instanceof TriggerError) throw new CliError(error.message, EXIT_UNAVAILABLE);
    throw error;
  }
  const where = `${result.deployment}/${result.container}`;
  console.log(
    result.changed
      ? `${stamp(start)} set ${where} to ${result.image} (was ${result.previousImage}); revision ${result.revision}`
      : `${stamp(start)} ${where} already runs ${result.image}; nothing changed; revision ${result.revision}`,
  );
  if (!flags.wait) return EXIT_OK;

  let spec: RolloutSpec | undefined;
  const followed = await followRelease({
    revision: result.revision,
    timeoutMs,
    read: async () => {
      const rollout = await cluster.getRollout(namespace, name);
      if (!rollout) throw new CliError(`Rollout ${namespace}/${name} was deleted while waiting`);
      const checked = validateSpec(rollout.spec);
      spec = checked.ok ? checked.spec : undefined;
      return rollout.status ?? {};
    },
    describe: (status) => statusLine(status, spec),
    print: (line) => console.log(`${stamp(start)} ${line}`),
  });
  if (followed.outcome === 'succeeded') {
    console.log(`${stamp(start)} Succeeded: ${followed.summary}`);
    return EXIT_OK;
  }
  if (followed.outcome === 'failed') {
    console.log(`${stamp(start)} FAILED: ${followed.summary}`);
    return EXIT_FAILED;
  }
  console.log(
    `${stamp(start)} TIMED OUT after ${flags.timeout}: revision ${result.revision} is not judged yet ` +
      `(${statusLine(followed.last, spec)}); the rollout goes on without this command`,
  );
  return EXIT_UNAVAILABLE;
}

export function registerTriggerCommand(program: Command): void {
  withClusterOptions(
    program
      .command('trigger')
      .description(
        "for CI after an image push: set the image on the Rollout's target Deployment and optionally follow it",
      )
      .addArgument(rolloutArgument())
      .requiredOption(
        '--image <[container=]image>',
        'new image; the container name may be left out when there is one',
      )
      .option('--wait', 'follow the rollout to its end, one line per change')
      .option('--timeout <duration>', 'with --wait: give up after this long', '30m'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  stepwise trigger product-service -n production --image app=registry.example.com/app:1.4.2 --wait --timeout 20m\n\n' +
        'Exit status: 0 Succeeded, 1 RolledBack/Aborted/Failed (the reason is printed), 2 could not run or timed out.\n' +
        'Setting the image that is already being rolled out changes nothing and just waits.',
    )
    .action(runAction(trigger));
}
