import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { API_VERSION, KIND } from '../../api/schema.js';
import { CliError, EXIT_FAILED, EXIT_OK, runAction } from '../exit.js';
import { manifestSources, type ManifestSource } from '../manifest-files.js';
import { checkManifests, type ManifestObject } from '../manifest-problems.js';
import { routingProblems } from '../manifest-routing.js';

async function readInput(file: string): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/** What `validate` prints: problems on stdout; skipped documents and what was not checked on stderr. */
export interface Validation {
  problems: string[];
  skipped: string[];
  /** Routing objects a Rollout names that the files do not hold (not checked), and routing Stepwise waits for. */
  notes: string[];
}

/**
 * The problem lines, skipped-document lines and notes of every file the arguments name; stdin is read once for `-`.
 * Rollouts are checked against the routing objects of all the files together; objects without a namespace are in
 * `namespace`.
 */
export async function validateManifests(
  argumentsGiven: string[],
  recursive: boolean,
  read: (file: string) => Promise<string> = readInput,
  namespace = 'default',
): Promise<Validation> {
  const problems: string[] = [];
  const skipped: string[] = [];
  const objects: ManifestObject[] = [];
  const withoutRollout: { at: number; source: ManifestSource; objects: ManifestObject[] }[] = [];
  for (const source of await manifestSources(argumentsGiven, recursive)) {
    let rollouts = 0;
    const before = { problems: problems.length, objects: objects.length };
    for (const file of source.files) {
      const found = checkManifests(file === '-' ? '<stdin>' : file, await read(file), objects);
      problems.push(...found.problems);
      skipped.push(...found.skipped);
      rollouts += found.rollouts;
    }
    if (rollouts === 0 && problems.length === before.problems) {
      withoutRollout.push({ at: problems.length, source, objects: objects.slice(before.objects) });
    }
  }
  const routing = await routingProblems(objects, namespace);
  // A file that reaches the cluster without any Rollout in it is a mistake worth failing on (a typo in kind),
  // unless it holds routing objects or Services a Rollout of the other files was checked against.
  for (const empty of withoutRollout.reverse()) {
    if (empty.objects.some((object) => routing.used.has(object))) continue;
    problems.splice(empty.at, 0, noRolloutProblem(empty.source, recursive));
  }
  return { problems: [...problems, ...routing.problems], skipped, notes: routing.notes };
}

function noRolloutProblem(source: ManifestSource, recursive: boolean): string {
  const name = source.argument === '-' ? '<stdin>' : source.argument;
  return source.directory && source.files.length === 0
    ? `${name}: holds no .json, .yaml or .yml file${recursive ? '' : ' (give -R to read its subdirectories)'}`
    : `${name}: holds no Stepwise Rollout (apiVersion: ${API_VERSION}, kind: ${KIND}); ` +
        `check its apiVersion and kind, or leave ${source.directory ? 'the directory' : 'the file'} out`;
}

export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('check Rollout manifests offline (schema and meaning), read as kubectl reads them')
    .argument(
      '<file...>',
      'YAML or JSON files, several documents each, kind: List too; directories; - reads stdin',
    )
    .option('-R, --recursive', 'also read the subdirectories of a directory, as kubectl -R does')
    .option(
      '-n, --namespace <ns>',
      'namespace of the objects that name none, when matching a Rollout with its routing objects',
      'default',
    )
    .addHelpText(
      'after',
      '\nExample:\n  stepwise validate rollouts/\n  helm template ./chart | stepwise validate -\n\n' +
        'Prints file:line: spec.path: what is wrong, one line per problem, and on stderr the documents skipped\n' +
        'that look meant as a Rollout (another group, a misspelt kind). A valid Rollout is also checked, as the\n' +
        'controller checks it, against the VirtualService, DestinationRule, HTTPRoute, GRPCRoute and Services\n' +
        'it names that are in the files given (stderr says which are not, so were not checked). Exit status 1\n' +
        'if there is any problem, or if a file (or directory) holds no Stepwise Rollout.',
    )
    .action(
      runAction(async (argumentsGiven: string[], options: { recursive?: boolean; namespace: string }) => {
        const { problems, skipped, notes } = await validateManifests(
          argumentsGiven,
          options.recursive ?? false,
          readInput,
          options.namespace,
        );
        for (const line of [...skipped, ...notes]) console.error(line);
        for (const line of problems) console.log(line);
        return problems.length > 0 ? EXIT_FAILED : EXIT_OK;
      }),
    );
}
