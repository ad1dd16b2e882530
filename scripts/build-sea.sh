#!/usr/bin/env bash
# Builds dist/sea/stepwise: the CLI as one Linux executable (Node's single executable applications,
# https://nodejs.org/api/single-executable-applications.html), which needs no Node on the machine.
# The CLI and its dependencies are bundled into one CommonJS file (a SEA runs one CommonJS script),
# that file and the dashboard's page files become a blob Node embeds, and postject injects the blob into a
# copy of the Node binary.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
out=dist/sea
rm -rf "$out" && mkdir -p "$out"

# program.ts, not main.ts: the embedded Node is this Node, so the launcher's version check has nothing to do.
# import.meta does not exist in CommonJS: it becomes the executable's own file URL and folder.
esbuild src/cli/program.ts --bundle --platform=node --target=node22 --format=cjs \
  --define:import.meta.url=__stepwise_url --define:import.meta.dirname=__dirname \
  --banner:js='const __stepwise_url = require("node:url").pathToFileURL(__filename).href;' \
  --outfile="$out/stepwise.cjs" --log-level=warning
# The dashboard's page files go in as the executable's assets (src/dashboard/page-assets.ts reads them back).
tsx scripts/sea-config.ts "$out/stepwise.cjs" "$out/stepwise.blob" >"$out/sea-config.json"
node --experimental-sea-config "$out/sea-config.json"
cp "$(command -v node)" "$out/stepwise"
# The fuse is the sentinel string Node's binary carries for postject (see the Node docs above).
postject "$out/stepwise" NODE_SEA_BLOB "$out/stepwise.blob" \
  --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 >"$out/postject.log" 2>&1 \
  || { cat "$out/postject.log"; exit 1; }
chmod +x "$out/stepwise"
rm "$out/stepwise.blob" "$out/sea-config.json" "$out/postject.log"

# The kubectl plugin for krew: a tarball holding the executable, and the manifest that names its checksum.
version=$(node -p 'require("./package.json").version')
release_url=${STEPWISE_RELEASE_URL:-https://github.com/stepwise-dev/stepwise/releases/download/v$version}
tar -C "$out" -czf "$out/kubectl-stepwise-linux-amd64.tar.gz" stepwise
sha=$(sha256sum "$out/kubectl-stepwise-linux-amd64.tar.gz" | cut -d' ' -f1)
sed -e "s|@VERSION@|$version|g" -e "s|@URL@|$release_url/kubectl-stepwise-linux-amd64.tar.gz|" \
  -e "s|@SHA256@|$sha|" deploy/krew/stepwise.yaml >"$out/stepwise.krew.yaml"
echo "built $out/stepwise ($(du -h "$out/stepwise" | cut -f1)), Node $(node --version)"
