#!/usr/bin/env bash
# Packs the release archives the GitLab template downloads, one per arch: govern-cli-VERSION-linux-ARCH.tar.gz
# holds govern/ (the committed dist/govern) and node/ (bin/node and LICENSE of the pinned Node runtime,
# scripts/node-runtime.sh), and a SHA256SUMS beside them. Reproducible: names in a fixed order, fixed
# modes, owner and time, gzip without name or timestamp; the same tree always gives the same digests.
# Usage: scripts/release-archive.sh [OUT_DIR]   (default: release/; prints SHA256SUMS)
set -euo pipefail
cd "$(dirname "$0")/.."
version="$(node -p "require('./package.json').version")"
out_dir="${1:-release}"
mkdir -p "$out_dir"
: > "$out_dir/SHA256SUMS"
for arch in x64 arm64; do
  runtime="$(bash scripts/node-runtime.sh "$arch")"
  name="govern-cli-$version-linux-$arch.tar.gz"
  tar --format=gnu --sort=name --owner=0 --group=0 --numeric-owner --mode=u=rwX,go=rX \
    --mtime='1970-01-01 00:00Z' --transform='s,^bin/node$,node/bin/node,;s,^LICENSE$,node/LICENSE,' \
    -cf - -C dist govern -C "$runtime" bin/node LICENSE | gzip -n > "$out_dir/$name"
  (cd "$out_dir" && sha256sum "$name") >> "$out_dir/SHA256SUMS"
done
cat "$out_dir/SHA256SUMS"
