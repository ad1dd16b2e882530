import { Option } from 'commander';
import { stringify } from 'yaml';
import { CliError } from './exit.js';

export const OUTPUT_FORMATS = ['json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** `-o json|yaml` for commands whose output is data. */
export const outputOption = () =>
  new Option('-o, --output <format>', 'print the data as json or yaml instead of text').choices(
    OUTPUT_FORMATS,
  );

export function parseOutputFormat(text: string | undefined): OutputFormat | undefined {
  if (text === undefined) return undefined;
  if ((OUTPUT_FORMATS as readonly string[]).includes(text)) return text as OutputFormat;
  throw new CliError(`-o ${JSON.stringify(text)} is not supported; use -o json or -o yaml`);
}

export function formatData(data: unknown, format: OutputFormat): string {
  return format === 'json' ? JSON.stringify(data, null, 2) : stringify(data).trimEnd();
}
