#!/usr/bin/env bash
# The demo command (`npm run demo`): the committed bundle (dist/govern) against an embedded PostgreSQL.
# A fresh clone installs only what the demo itself needs (PGlite and node-postgres, at the versions of
# package-lock.json) into examples/demo/node_modules, not the build and test toolchain (npm test does).
set -euo pipefail
cd "$(dirname "$0")/.."
deps="$(node -e '
  const lock = require("./package-lock.json").packages;
  console.log(["@electric-sql/pglite", "@electric-sql/pglite-socket", "pg"].map((n) => `${n}@${lock[`node_modules/${n}`].version}`).join(" "));
')"
have() { for d in "$@"; do [ -f "$d/node_modules/pg/package.json" ] && [ -f "$d/node_modules/@electric-sql/pglite-socket/package.json" ] || return 1; done; }
marker=examples/demo/node_modules/.govern-demo-deps
if ! have . && [ "$(cat "$marker" 2>/dev/null)" != "$deps" ]; then
  echo "govern demo: installing $deps"
  # shellcheck disable=SC2086
  npm install --prefix examples/demo --no-save --no-package-lock --no-audit --no-fund --loglevel=error $deps
  echo "$deps" > "$marker"
fi
node examples/demo/run-demo.js
