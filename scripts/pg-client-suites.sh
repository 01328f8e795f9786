#!/usr/bin/env bash
# Runs node-postgres's own integration suite straight to a throwaway PostgreSQL and through a gateway
# with a rule-less policy, and lists the test files that pass direct but fail through the gateway.
# Usage: scripts/pg-client-suites.sh <node-postgres checkout>  (after `npx tsc -p tsconfig.json`;
# the checkout's packages/pg needs its test dependencies: async bluebird co pg-copy-streams pg-protocol
# pg-pool pg-types pg-connection-string pgpass).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
suite=${1:?usage: $0 <node-postgres checkout>}/packages/pg
work=$(mktemp -d)
node "$repo/build/runner-proxy/test/client-suites/gateway.js" "$work/env" & gateway=$!
trap 'kill $gateway; wait $gateway; rm -rf "$work"' EXIT
while [ ! -s "$work/env" ]; do sleep 0.5; done
# shellcheck disable=SC1091
source "$work/env"
run() { # run <DIRECT|GATEWAY> <test file>: its exit status
  local p=$1
  env PGHOST="$(eval echo \$${p}_PGHOST)" PGPORT="$(eval echo \$${p}_PGPORT)" PGUSER="$(eval echo \$${p}_PGUSER)" \
    PGPASSWORD="$(eval echo \$${p}_PGPASSWORD)" PGDATABASE="$(eval echo \$${p}_PGDATABASE)" \
    timeout 60 node "$2" >"$work/out" 2>&1
}
direct=0 through=0
cd "$suite"
for file in $(find test/integration -name '*-tests.js' | sort); do
  if run DIRECT "$file"; then
    direct=$((direct + 1))
    if run GATEWAY "$file"; then through=$((through + 1)); else echo "FAILS THROUGH THE GATEWAY: $file"; sed 's/^/    /' "$work/out" | tail -15; fi
  else
    echo "fails direct (not compared): $file"
  fi
done
echo "node-postgres: $direct test files pass direct, $through of them through the gateway"
