#!/usr/bin/env bash
# Builds dist/: the action's main and post steps and the gateway they start, each bundled by ncc
# so that `node dist/…` runs with no node_modules. CI rebuilds it and fails when it differs.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/node-deps.sh
rm -rf dist
for entry in main post govern; do
  npx ncc build "action/src/${entry}.ts" -o "dist/${entry}" --quiet --license licenses.txt
done
# libpg-query finds its WebAssembly beside the bundle (action/src/govern.ts points __dirname there).
cp node_modules/libpg-query/wasm/libpg-query.wasm dist/govern/
