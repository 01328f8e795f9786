#!/usr/bin/env bash
# The test command (`npm test`): installs what the tests need when it is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/system-deps.sh
. scripts/node-deps.sh
# Node 24, which GitHub runs the action on: the bundles and Node's own proxy support are tested on it
# too. The npm registry has it as a package; it is kept under .cache/ (ignored by git) once fetched.
NODE24=24.22.3
node24_dir=".cache/node24/$NODE24"
if [ ! -x "$node24_dir/package/bin/node" ]; then
  echo "fetching Node $NODE24"
  # Unpacked aside and moved in whole, so an interrupted fetch is never taken for a Node.
  rm -rf "$node24_dir" "$node24_dir.part" && mkdir -p "$node24_dir.part"
  tarball=$(npm pack --silent --pack-destination "$node24_dir.part" "node-linux-$(node -p process.arch)@$NODE24")
  tar -xzf "$node24_dir.part/$tarball" -C "$node24_dir.part" && rm "$node24_dir.part/$tarball"
  mv "$node24_dir.part" "$node24_dir"
fi
export GOVERN_TEST_NODE24="$PWD/$node24_dir/package/bin/node"
npx tsc -p tsconfig.json
bash scripts/package.sh
# CI checks that the committed dist/ is what the sources build.
if [ -n "${CI:-}" ] && git rev-parse --is-inside-work-tree >/dev/null 2>&1 && ! git diff --quiet -- dist; then
  git diff --stat -- dist
  echo "dist/ differs from what the sources build: run npm run package and commit dist/" >&2
  exit 1
fi
node --test --test-reporter=spec --test-timeout=300000 build/runner-proxy/test/*/*.test.js
