import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { API_VERSION, KIND } from '../../api/schema.js';
import { CliError, EXIT_FAILED, EXIT_OK, runAction } from '../exit.js';
import { manifestSources } from '../manifest-files.js';
import { checkManifests } from '../manifest-problems.js';

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

/** The problem lines and skipped-document lines of every file the arguments name; stdin is read once for `-`. */
export async function validateManifests(
  argumentsGiven: string[],
  recursive: boolean,
  read: (file: string) => Promise<string> = readInput,
): Promise<{ problems: string[]; skipped: string[] }> {
  const problems: string[] = [];
  const skipped: string[] = [];
  for (const source of await manifestSources(argumentsGiven, recursive)) {
    let rollouts = 0;
    const before = problems.length;
    for (const file of source.files) {
      const found = checkManifests(file === '-' ? '<stdin>' : file, await read(file));
      problems.push(...found.problems);
      skipped.push(...found.skipped);
      rollouts += found.rollouts;
    }
    // A file that reaches the cluster without any Rollout in it is a mistake worth failing on (a typo in kind).
    if (rollouts === 0 && problems.length === before) {
      const name = source.argument === '-' ? '<stdin>' : source.argument;
      problems.push(
        source.directory && source.files.length === 0
          ? `${name}: holds no .json, .yaml or .yml file${recursive ? '' : ' (give -R to read its subdirectories)'}`
          : `${name}: holds no Stepwise Rollout (apiVersion: ${API_VERSION}, kind: ${KIND}); ` +
              `check its apiVersion and kind, or leave ${source.directory ? 'the directory' : 'the file'} out`,
      );
    }
  }
  return { problems, skipped };
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
    .addHelpText(
      'after',
      '\nExample:\n  stepwise validate rollouts/\n  helm template ./chart | stepwise validate -\n\n' +
        'Prints file:line: spec.path: what is wrong, one line per problem, and on stderr the documents skipped\n' +
        'that look meant as a Rollout (another group, a misspelt kind). Exit status 1 if there is any problem,\n' +
        'or if a file (or directory) holds no Stepwise Rollout.',
    )
    .action(
      runAction(async (argumentsGiven: string[], options: { recursive?: boolean }) => {
        const { problems, skipped } = await validateManifests(argumentsGiven, options.recursive ?? false);
        for (const line of skipped) console.error(line);
        for (const line of problems) console.log(line);
        return problems.length > 0 ? EXIT_FAILED : EXIT_OK;
      }),
    );
}
