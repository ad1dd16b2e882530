import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CliError, EXIT_FAILED, EXIT_OK, runAction } from '../exit.js';
import { manifestProblems } from '../manifest-problems.js';

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

export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('check Rollout manifests offline (schema and meaning); other kinds are skipped')
    .argument('<file...>', 'YAML files, several documents each; - reads stdin')
    .addHelpText(
      'after',
      '\nExample:\n  stepwise validate rollouts/*.yaml\n  helm template ./chart | stepwise validate -\n\n' +
        'Prints file:line: spec.path: what is wrong, one line per problem; exit status 1 if there is any.',
    )
    .action(
      runAction(async (files: string[]) => {
        let problems = 0;
        for (const file of files) {
          const lines = manifestProblems(file === '-' ? '<stdin>' : file, await readInput(file));
          for (const line of lines) console.log(line);
          problems += lines.length;
        }
        return problems > 0 ? EXIT_FAILED : EXIT_OK;
      }),
    );
}
