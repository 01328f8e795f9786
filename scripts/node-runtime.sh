#!/usr/bin/env bash
# The Node runtime the release archives carry and the tests run on as "Node 24": the npm registry's
# node-linux-<arch> package at a pinned version, checked against a pinned SHA-512, unpacked under
# .cache/node24/ (ignored by git): the host's arch as .cache/node24/VERSION, another as
# .cache/node24/VERSION-linux-ARCH. Prints the unpacked package directory (its node is bin/node).
# Usage: scripts/node-runtime.sh [x64|arm64]   (default: the host's arch)
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_RUNTIME_VERSION=24.22.3
host_arch="$(node -p process.arch)"
arch="${1:-$host_arch}"
case "$arch" in
  # npm's `dist.integrity` of each package (sha512, base64): a registry that serves other bytes is refused.
  x64) integrity=KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA== ;;
  arm64) integrity=IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw== ;;
  *) echo "scripts/node-runtime.sh: no Node runtime for the arch \"$arch\" (x64 or arm64)" >&2; exit 2 ;;
esac
dir=".cache/node24/$NODE_RUNTIME_VERSION"
[ "$arch" = "$host_arch" ] || dir="$dir-linux-$arch"
if [ ! -x "$dir/package/bin/node" ]; then
  echo "fetching node-linux-$arch@$NODE_RUNTIME_VERSION" >&2
  # Unpacked aside and moved in whole, so an interrupted fetch is never taken for a Node.
  rm -rf "$dir" "$dir.part" && mkdir -p "$dir.part"
  tarball="$dir.part/$(npm pack --silent --pack-destination "$dir.part" "node-linux-$arch@$NODE_RUNTIME_VERSION")"
  actual="$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  if [ "$actual" != "$integrity" ]; then
    echo "scripts/node-runtime.sh: node-linux-$arch@$NODE_RUNTIME_VERSION has sha512-$actual, not the pinned sha512-$integrity; it is not used" >&2
    rm -rf "$dir.part"
    exit 1
  fi
  tar -xzf "$tarball" -C "$dir.part" && rm "$tarball"
  mv "$dir.part" "$dir"
fi
echo "$PWD/$dir/package"
