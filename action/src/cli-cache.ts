// The govern CLI for the job's later steps: the bundled gateway is kept in the runner's tool cache by
// version (self-hosted runners reuse it from job to job) and its directory goes on PATH, so a step can
// run `govern status`, `govern approve`, `govern replay` or `govern verify` by name.
import * as core from '@actions/core';
import * as toolCache from '@actions/tool-cache';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import pkg from '../../package.json' with { type: 'json' };

const TOOL = 'govern';

/**
 * The cache key: the release version, and a digest of the bundle, so that two builds of one version
 * (a branch, a commit) never share a cached copy.
 */
function cacheVersion(bundleDir: string): string {
  const hash = createHash('sha256');
  // Every file of the bundle, folders included (ncc keeps a dependency's assets at their own paths).
  const files = readdirSync(bundleDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
  for (const path of files.sort()) hash.update(relative(bundleDir, path)).update('\0').update(readFileSync(path));
  return `${pkg.version}-${hash.digest('hex').slice(0, 12)}`;
}

/**
 * Runs the bundled CLI beside it with the node this action ran on (the runner's own, which the bundle is
 * built for), or the node on PATH when that one has gone (a runner upgrade).
 */
function launcher(node: string): string {
  return `#!/bin/sh
# govern: the CLI of the govern action, cached by the action's main step.
node='${node.replaceAll("'", "'\\''")}'
[ -x "$node" ] || node=node
exec "$node" "$(dirname "$0")/index.js" "$@"
`;
}

/**
 * Caches the bundle (unless this version is cached already) and puts it on PATH for the later steps.
 * A runner without a tool cache still gets its gateway: the steps then run the bundle with node.
 */
export async function putCliOnPath(bundleDir: string): Promise<void> {
  try {
    await cacheAndAddPath(bundleDir);
  } catch (e) {
    core.warning(`govern: the CLI is not on PATH (${(e as Error).message}); later steps can run node ${join(bundleDir, 'index.js')}`);
  }
}

async function cacheAndAddPath(bundleDir: string): Promise<void> {
  const version = cacheVersion(bundleDir);
  let dir = toolCache.find(TOOL, version);
  if (dir) {
    core.info(`govern: the CLI ${version} is in the tool cache already (${dir})`);
  } else {
    dir = await toolCache.cacheDir(bundleDir, TOOL, version);
    core.info(`govern: cached the CLI ${version} in ${dir}`);
  }
  const script = join(dir, TOOL);
  if (!existsSync(script)) {
    // Written under another name first, so that no step ever runs half a script.
    const staged = `${script}.${process.pid}`;
    writeFileSync(staged, launcher(process.execPath));
    chmodSync(staged, 0o755);
    renameSync(staged, script);
  }
  core.addPath(dir);
}
