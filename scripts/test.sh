#!/usr/bin/env bash
# The test command (`npm test`): installs what the tests need when it is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/system-deps.sh
. scripts/node-deps.sh
npx tsc -p tsconfig.json
bash scripts/package.sh
# CI checks that the committed dist/ is what the sources build.
if [ -n "${CI:-}" ] && git rev-parse --is-inside-work-tree >/dev/null 2>&1 && ! git diff --quiet -- dist; then
  git diff --stat -- dist
  echo "dist/ differs from what the sources build: run npm run package and commit dist/" >&2
  exit 1
fi
node --test --test-reporter=spec --test-timeout=300000 build/runner-proxy/test/*/*.test.js
