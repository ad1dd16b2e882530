import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { CliError } from './exit.js';

// The extensions kubectl takes from a directory given to -f (k8s.io/cli-runtime resource.FileExtensions).
const MANIFEST_EXTENSIONS = new Set(['.json', '.yaml', '.yml']);

/** One argument of `validate`: a file (or - for stdin), or a directory and the manifest files in it. */
export interface ManifestSource {
  argument: string;
  directory: boolean;
  files: string[];
}

async function filesIn(directory: string, recursive: boolean): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) {
      if (recursive) files.push(...(await filesIn(path, true)));
    } else if (MANIFEST_EXTENSIONS.has(extname(entry.name))) {
      files.push(path);
    }
  }
  return files;
}

/** Expands directories as `kubectl apply -f DIR` does (its .json, .yaml and .yml files; subfolders with -R). */
export async function manifestSources(
  argumentsGiven: string[],
  recursive: boolean,
): Promise<ManifestSource[]> {
  const sources: ManifestSource[] = [];
  for (const argument of argumentsGiven) {
    if (argument === '-') {
      sources.push({ argument, directory: false, files: ['-'] });
      continue;
    }
    const info = await stat(argument).catch((error: Error) => {
      throw new CliError(`cannot read ${argument}: ${error.message}`);
    });
    const directory = info.isDirectory();
    sources.push({ argument, directory, files: directory ? await filesIn(argument, recursive) : [argument] });
  }
  return sources;
}
