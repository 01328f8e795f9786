#!/usr/bin/env bash
# The test command (`npm test`): installs what the tests need when it is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/system-deps.sh
. scripts/node-deps.sh
# Node 24, which GitHub runs the action on: the bundles and Node's own proxy support are tested on it
# too. It is the runtime the release archives carry (scripts/node-runtime.sh fetches it into .cache/).
node24_runtime="$(bash scripts/node-runtime.sh)"
export GOVERN_TEST_NODE24="$node24_runtime/bin/node"
npx tsc -p tsconfig.json
bash scripts/package.sh
# CI checks that the committed dist/ is what the sources build.
if [ -n "${CI:-}" ] && git rev-parse --is-inside-work-tree >/dev/null 2>&1 && ! git diff --quiet -- dist; then
  git diff --stat -- dist
  echo "dist/ differs from what the sources build: run npm run package and commit dist/" >&2
  exit 1
fi
# The GitLab templates pin the release archives this tree packs (the one sentence names both digests).
node scripts/pin.js --check
node --test --test-reporter=spec --test-timeout=300000 build/runner-proxy/test/*/*.test.js
