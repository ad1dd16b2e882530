#!/usr/bin/env bash
# Runs the leader-election end-to-end test N times (default 20) and counts passes, to catch flakes that a
# single CI run would miss. Usage: bench/leader-election-repeat.sh [runs]   (each run's output: $out/run-N.log)
set -u
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
runs="${1:-20}"
out="${TMPDIR:-/tmp}/stepwise-leader-election-repeat"
mkdir -p "$out"
passed=0
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  if npx vitest run test/e2e/leader-election.e2e.test.ts >"$out/run-$i.log" 2>&1; then
    passed=$((passed + 1)); verdict=pass
  else
    verdict=FAIL
  fi
  echo "run $i/$runs: $verdict ($(($(date +%s) - start)) s)"
done
echo "leader election e2e: $passed of $runs runs passed"
[ "$passed" -eq "$runs" ]
