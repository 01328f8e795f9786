import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT } from '../fixtures/cli.js';
import { BUNDLE_NODES } from '../fixtures/nodes.js';
import { runClient } from '../fixtures/postgres.js';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('the npm package (npm pack), installed with no network', () => {
  let scratch: string;
  let project: string;
  let files: string[];

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'govern-pack-'));
    const packed = await runClient('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: REPO_ROOT, timeoutMs: 120_000 });
    assert.equal(packed.status, 0, packed.stderr);
    const [info] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
    files = info.files.map((f) => f.path);
    project = join(scratch, 'project');
    // An empty project, and a registry that answers nothing: whatever the install would fetch fails it.
    const init = await runClient('mkdir', ['-p', project]);
    assert.equal(init.status, 0);
    writeFileSync(join(project, 'package.json'), '{ "name": "uses-govern", "version": "1.0.0", "private": true }\n');
    const installed = await runClient('npm', ['install', '--offline', '--no-audit', '--no-fund', join(scratch, info.filename)], {
      cwd: project,
      timeoutMs: 120_000,
      env: { ...process.env, npm_config_registry: 'http://127.0.0.1:9/', npm_config_cache: join(scratch, 'npm-cache') },
    });
    assert.equal(installed.status, 0, `${installed.stdout}\n${installed.stderr}`);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('holds the bundled CLI and nothing to install beside it', () => {
    assert.ok(files.includes('dist/govern/index.js'), files.join(', '));
    assert.deepEqual(files.filter((f) => !f.startsWith('dist/govern/') && f !== 'package.json' && f !== 'README.md'), []);
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies?: object };
    assert.equal(manifest.dependencies, undefined, 'the bundle carries every runtime dependency');
  });

  for (const node of BUNDLE_NODES) {
    test(`${node.name}: the installed bin runs \`govern --version\``, { skip: node.skip }, async () => {
      // The bin's `#!/usr/bin/env node` finds this node first on PATH, as it finds the job's.
      const r = await runClient(join(project, 'node_modules', '.bin', 'govern'), ['--version'], {
        cwd: project,
        env: { ...process.env, PATH: `${dirname(node.path)}${delimiter}${process.env.PATH}` },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `govern ${VERSION}\n`);
    });
  }
});
