import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT } from '../fixtures/cli.js';
import { runClient } from '../fixtures/postgres.js';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const TEMPLATES = ['gitlab-template/govern.gitlab-ci.yml', 'gitlab-template/templates/govern/template.yml'];
const SLOW = { timeoutMs: 240_000 };

describe('the release archives and the templates’ pin', () => {
  let scratch: string;
  let packed: string;
  let sums: Map<string, string>;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'govern-release-'));
    packed = join(scratch, 'packed');
    const pack = await runClient('bash', [join(REPO_ROOT, 'scripts', 'release-archive.sh'), packed], SLOW);
    assert.equal(pack.status, 0, pack.stderr);
    sums = new Map(readFileSync(join(packed, 'SHA256SUMS'), 'utf8').trim().split('\n').map((line) => line.split(/\s+/).reverse() as [string, string]));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('each archive holds govern/ and the Node runtime, with fixed owners and times', async () => {
    for (const arch of ['x64', 'arm64']) {
      const name = `govern-cli-${VERSION}-linux-${arch}.tar.gz`;
      assert.match(sums.get(name) ?? '', /^[0-9a-f]{64}$/, `SHA256SUMS names ${name}`);
      const listed = await runClient('tar', ['-tvzf', join(packed, name), '--numeric-owner']);
      assert.equal(listed.status, 0, listed.stderr);
      const entries = listed.stdout.trim().split('\n').map((line) => line.split(/\s+/));
      assert.deepEqual(new Set(entries.map((e) => `${e[1]} ${e[3]} ${e[4]}`)), new Set(['0/0 1970-01-01 00:00']));
      const paths = entries.map((e) => e.at(-1));
      for (const path of ['govern/index.js', 'govern/libpg-query.wasm', 'node/bin/node', 'node/LICENSE']) assert.ok(paths.includes(path), `${name} holds ${path}`);
    }
  });

  test('the committed templates pin what this tree packs', async () => {
    const check = await runClient('node', [join(REPO_ROOT, 'scripts', 'pin.js'), '--check', '--archives', packed]);
    assert.equal(check.status, 0, check.stderr);
  });

  test('a changed dist/ with the pin not renewed fails the check with one sentence naming both digests, until npm run pin', async () => {
    // A copy of what the archive is packed from, with one byte of the bundle changed.
    const tree = join(scratch, 'tree');
    for (const path of ['package.json', 'scripts', 'dist/govern', ...TEMPLATES]) cpSync(join(REPO_ROOT, path), join(tree, path), { recursive: true });
    symlinkSync(join(REPO_ROOT, '.cache'), join(tree, '.cache'));
    appendFileSync(join(tree, 'dist', 'govern', 'index.js'), '\n');
    const x64 = sums.get(`govern-cli-${VERSION}-linux-x64.tar.gz`)!;

    const stale = await runClient('node', [join(tree, 'scripts', 'pin.js'), '--check'], SLOW);
    assert.equal(stale.status, 1);
    const sentence = new RegExp(`^gitlab-template/govern\\.gitlab-ci\\.yml pins linux-x64 at SHA-256 ${x64}, but this tree packs ([0-9a-f]{64}): run npm run pin and commit the templates$`, 'm');
    const renewed = sentence.exec(stale.stderr)?.[1];
    assert.ok(renewed, stale.stderr);
    assert.notEqual(renewed, x64);
    assert.equal(stale.stderr.trim().split('\n').length, 4, 'one sentence per stale pin: two arches in two templates');

    const pin = await runClient('node', [join(tree, 'scripts', 'pin.js')], SLOW);
    assert.equal(pin.status, 0, pin.stderr);
    assert.match(pin.stdout, new RegExp(`^govern ${VERSION.replace(/\./g, '\\.')}: linux-x64 ${renewed}, linux-arm64 [0-9a-f]{64} \\(pinned\\)$`, 'm'));
    for (const template of TEMPLATES) assert.ok(readFileSync(join(tree, template), 'utf8').includes(renewed), `${template} pins the renewed digest`);
  });
});
