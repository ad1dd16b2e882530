// Prints the sea config of the single-file executable (scripts/build-sea.sh): the bundled CLI, and the
// dashboard's page files as its assets, so `stepwise dashboard` serves them from the executable itself.
import { PAGE_ASSETS } from '../src/dashboard/page-assets.js';

const [main, output] = process.argv.slice(2);
const assets = Object.fromEntries(Object.entries(PAGE_ASSETS).map(([name, asset]) => [name, asset.path()]));
console.log(JSON.stringify({ main, output, disableExperimentalSEAWarning: true, assets }, null, 2));
