#!/usr/bin/env bash
# The test command (`npm test`): installs what the tests need when it is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/system-deps.sh
. scripts/node-deps.sh
npx tsc -p tsconfig.json
node --test --test-reporter=spec --test-timeout=300000 build/runner-proxy/test/*/*.test.js
