#!/usr/bin/env bash
# Packs dist/govern as the release archive the GitLab template downloads (govern-cli-VERSION.tar.gz,
# reproducible: sorted names, fixed owner and time, no gzip timestamp) and pins its SHA-256 and the
# version in gitlab-template/govern.gitlab-ci.yml. Usage: scripts/release-archive.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
version="$(node -p "require('./package.json').version")"
out_dir="${1:-release}"
archive="$out_dir/govern-cli-$version.tar.gz"
mkdir -p "$out_dir"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='1970-01-01 00:00Z' -C dist -cf - govern | gzip -9n > "$archive"
digest="$(sha256sum "$archive" | cut -d' ' -f1)"
sed -i \
  -e "s|^\(    GOVERN_VERSION: \)\"[^\"]*\"|\1\"$version\"|" \
  -e "s|^\(    GOVERN_ARCHIVE_SHA256: \)[0-9a-f]*|\1$digest|" \
  gitlab-template/govern.gitlab-ci.yml
# The CI/CD component's defaults: the input after `version:` and `archive_sha256:`.
sed -i \
  -e "/^    version:/,/default:/ s|^\(      default: \)\"[^\"]*\"|\1\"$version\"|" \
  -e "/^    archive_sha256:/,/default:/ s|^\(      default: \)[0-9a-f]*|\1$digest|" \
  gitlab-template/templates/govern/template.yml
echo "$archive $digest"
