// The page's files, by the name the page asks for. Read next to this module (src/dashboard/assets under tsx,
// dist/dashboard/assets once built), or, in the single-file executable, from the assets embedded in it:
// scripts/build-sea.sh embeds this same list (Node's "Single executable applications": the sea config's
// `assets`, read back with sea.getAsset).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { getAsset, isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';

export interface PageAsset {
  type: string;
  /** Where the file is when not running as the single-file executable. */
  path: () => string;
}

const require = createRequire(import.meta.url);
const beside = (name: string) => () => fileURLToPath(new URL(`./assets/${name}`, import.meta.url));

export const PAGE_ASSETS: Record<string, PageAsset> = {
  'index.html': { type: 'text/html', path: beside('index.html') },
  'app.js': { type: 'text/javascript', path: beside('app.js') },
  'style.css': { type: 'text/css', path: beside('style.css') },
  // The charting library from node_modules: the page works offline, no CDN.
  'uPlot.js': { type: 'text/javascript', path: () => require.resolve('uplot/dist/uPlot.iife.min.js') },
  'uPlot.css': { type: 'text/css', path: () => require.resolve('uplot/dist/uPlot.min.css') },
};

export function readPageAsset(name: string): string {
  return isSea() ? getAsset(name, 'utf8') : readFileSync(PAGE_ASSETS[name]!.path(), 'utf8');
}
