#!/usr/bin/env bash
# The demo command (`npm run demo`): needs nothing beyond npm; the targets it governs are embedded.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/node-deps.sh
npx tsc -p tsconfig.json
node examples/demo/run-demo.js
