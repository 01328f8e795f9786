import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifyBundle } from '../../src/recording/verify.js';
import { REPO_ROOT } from '../fixtures/cli.js';
import { startIssuer, type TestIssuer } from '../fixtures/oidc-issuer.js';
import { startTarget, type Target } from '../fixtures/pg-gateway.js';
import { runClient } from '../fixtures/postgres.js';

const GITLAB_CI_LOCAL = join(REPO_ROOT, 'node_modules', '.bin', 'gitlab-ci-local');
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const ARCH = process.arch === 'arm64' ? 'arm64' : 'x64';
const ARCHIVE = `govern-cli-${VERSION}-linux-${ARCH}.tar.gz`;
/** What a job needs on PATH to check and unpack the archive and to run its script, besides a downloader: no node. */
const JOB_TOOLS = ['sh', 'bash', 'env', 'tar', 'gzip', 'sha256sum', 'cut', 'tr', 'uname', 'mkdir', 'rm', 'ls', 'chmod', 'cat', 'grep', 'git'];

/** Why the musl test cannot run here: it needs a private mount namespace (root, unshare, overlayfs). */
const MUSL_SKIP = (() => {
  const empty = mkdtempSync(join(tmpdir(), 'govern-musl-probe-'));
  const probe = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t overlay overlay -o lowerdir=${empty}:/lib /lib`], { stdio: 'ignore' });
  rmSync(empty, { recursive: true });
  return probe.status === 0 ? false : 'needs unshare -m and overlayfs (root) to give a job a musl /lib';
})();

/** Finds the session bundle gitlab-ci-local kept as the job's artifact. */
function artifactBundle(repo: string, job: string): string | undefined {
  const roots = [join(repo, '.gitlab-ci-local', 'artifacts', job, '.govern-session')];
  return roots.find((r) => existsSync(join(r, 'events.jsonl')));
}

/** A directory of links to the job's tools and the downloader given, the PATH of a job whose image has no node. */
async function pathWithoutNode(downloader: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'govern-no-node-'));
  for (const tool of [...JOB_TOOLS, downloader]) {
    // python3 may be a version manager's shim, which needs more than PATH gives: link the interpreter.
    const found = await runClient('sh', ['-c', tool === 'python3' ? `python3 -c 'import sys; print(sys.executable)'` : `command -v ${tool}`]);
    assert.equal(found.status, 0, `${tool} is installed`);
    symlinkSync(found.stdout.trim(), join(dir, tool));
  }
  return dir;
}

describe('the GitLab template, run by gitlab-ci-local', () => {
  let target: Target;
  let issuer: TestIssuer;
  let releases: Server;
  let releasesUrl: string;
  const requested: string[] = [];
  let noNodePath: string;
  let onlyPythonPath: string;
  const scratch: string[] = [];

  /** A project whose .gitlab-ci.yml includes govern as `include` says and runs two jobs with it. */
  async function project(include: string[], seed: (repo: string) => void = () => undefined): Promise<string> {
    const repo = mkdtempSync(join(tmpdir(), 'govern-gitlab-'));
    scratch.push(repo);
    writeFileSync(
      join(repo, '.govern.yml'),
      `version: 1\nidentity:\n  audience: govern\n  trust:\n    - issuer: ${issuer.url}\n      claims: { project_id: 815, ref_protected: "true" }\n` +
        'connections:\n  app_db:\n    postgres: { url: "${PROD_DATABASE_URL}" }\n    export: DATABASE_URL\n' +
        'rules:\n  - name: pii\n    mask: { columns: ["people.ssn"] }\n  - name: no-destruction\n    block: { sql: [drop] }\n',
    );
    const psql = `${target.pg.bin}/psql "$DATABASE_URL" -X -A -t`;
    writeFileSync(
      join(repo, '.gitlab-ci.yml'),
      [
        ...include,
        'migrate:',
        '  extends: .govern',
        '  script:',
        `    - ${psql} -c "SELECT ssn FROM people"`,
        `    - ${psql} -c "DROP TABLE people" || echo "drop refused"`,
        '    - test -z "${PROD_DATABASE_URL:-}" && echo "the real URL is not in the job shell"',
        '    - env | grep -c "GOVERN_ID_TOKEN" || echo "no token in the job shell"',
        'broken:',
        '  extends: .govern',
        '  script:',
        `    - ${psql} -c "SELECT count(*) FROM people"`,
        '    - exit 3',
        '',
      ].join('\n'),
    );
    for (const args of [['init', '-q'], ['remote', 'add', 'origin', 'https://gitlab.example.com/acme/payments.git'], ['add', '-A'], ['-c', 'user.email=ci@example.com', '-c', 'user.name=ci', 'commit', '-qm', 'pipeline']]) {
      await runClient('git', ['-C', repo, ...args]);
    }
    seed(repo);
    return repo;
  }

  before(async () => {
    [target, issuer] = await Promise.all([startTarget(), startIssuer()]);
    await target.direct("CREATE TABLE people (id int, ssn text); INSERT INTO people VALUES (1, '536-22-4711')");
    [noNodePath, onlyPythonPath] = await Promise.all([pathWithoutNode('curl'), pathWithoutNode('python3')]);
    scratch.push(noNodePath, onlyPythonPath);
    // The release as scripts/release-archive.sh packs it from this tree, served as the GitHub release
    // serves its files, beside the raw template `include: remote:` reads, and a tampered copy.
    const packed = mkdtempSync(join(tmpdir(), 'govern-release-'));
    scratch.push(packed);
    const pack = await runClient('bash', [join(REPO_ROOT, 'scripts', 'release-archive.sh'), packed], { timeoutMs: 240_000 });
    assert.equal(pack.status, 0, pack.stderr);
    const archive = readFileSync(join(packed, ARCHIVE));
    const tampered = Buffer.from(archive);
    tampered[tampered.length - 9] ^= 0xff;
    const files = new Map<string, Buffer>([
      [`/releases/v${VERSION}/${ARCHIVE}`, archive],
      [`/tampered/v${VERSION}/${ARCHIVE}`, tampered],
      ['/raw/govern.gitlab-ci.yml', readFileSync(join(REPO_ROOT, 'gitlab-template', 'govern.gitlab-ci.yml'))],
    ]);
    releases = createServer((req, res) => {
      requested.push(req.url ?? '');
      const body = files.get(req.url ?? '');
      if (body) res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => releases.listen(0, '127.0.0.1', r));
    releasesUrl = `http://127.0.0.1:${(releases.address() as AddressInfo).port}`;
  });
  after(async () => {
    await Promise.all([target?.stop(), issuer?.close(), new Promise<void>((r) => (releases ? releases.close(() => r()) : r()))]);
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a job; `prefix` is a command line gitlab-ci-local runs under (a mount namespace). */
  async function runJob(repo: string, job: string, variables: Record<string, string>, prefix: string[] = []) {
    const token = await issuer.sign({ aud: 'govern', sub: 'project_path:acme/payments:ref_type:branch:ref:main', project_path: 'acme/payments', project_id: '815', ref: 'main', ref_protected: 'true', pipeline_source: 'push' });
    // The shell executor runs every job in the same checkout: a session of an earlier job is still there.
    rmSync(join(repo, '.govern-session'), { recursive: true, force: true });
    const all = { GOVERN_ID_TOKEN: token, PROD_DATABASE_URL: target.appUrl, ...variables };
    const args = ['--shell-executor-no-image', ...Object.entries(all).flatMap(([k, v]) => ['--variable', `${k}=${v}`]), job];
    return runClient(prefix[0] ?? GITLAB_CI_LOCAL, prefix.length ? [...prefix.slice(1), GITLAB_CI_LOCAL, ...args] : args, {
      cwd: repo,
      timeoutMs: 180_000,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
  }

  function assertGoverned(r: { status: number | null; stdout: string; stderr: string }, repo: string) {
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /migrate > \[masked\]/);
    assert.match(r.stdout, /migrate > drop refused/);
    assert.match(r.stdout, /operations {3}2: 1 allowed, 1 blocked/);
    assert.match(r.stdout, /migrate > the real URL is not in the job shell/);
    assert.match(r.stdout, /migrate > no token in the job shell/);
    assert.ok(!`${r.stdout}${r.stderr}`.includes('536-22-4711'));
    assert.ok(!`${r.stdout}${r.stderr}`.includes(target.appPassword));
    const bundle = artifactBundle(repo, 'migrate');
    assert.ok(bundle, `the session bundle is an artifact: ${readdirSync(join(repo, '.gitlab-ci-local')).join(', ')}`);
    const verified = verifyBundle(bundle);
    assert.equal(verified.ok, true, verified.problem);
    assert.equal((verified.manifest!.identity as { claims: Record<string, unknown> }).claims.project_path, 'acme/payments');
  }

  describe('with GOVERN_CLI naming a govern on the runner', () => {
    let repo: string;
    before(async () => {
      repo = await project(['include:', '  - local: govern.gitlab-ci.yml'], (r) => copyFileSync(join(REPO_ROOT, 'gitlab-template', 'govern.gitlab-ci.yml'), join(r, 'govern.gitlab-ci.yml')));
    });
    const onRunner = { GOVERN_CLI: `${process.execPath} ${join(REPO_ROOT, 'dist', 'govern', 'index.js')}` };

    test('a job that extends .govern reaches PostgreSQL through the gateway, and its artifact verifies', async () => {
      const r = await runJob(repo, 'migrate', onRunner);
      assertGoverned(r, repo);
      // GitLab has no step summary: the job log carries the headline and every exception.
      assert.match(r.stdout, /govern BLOCKED \(enforce mode\): 2 operations, 1 allowed, 1 blocked/);
      assert.match(r.stdout, / {4}BLOCK +#\d+ app_db: DROP TABLE \w+ \(rule \S+\)/);
      assert.match(r.stdout, /verify with {2}govern verify \S+ --key ed25519:/);
    });

    test('a job whose script fails still stops the gateway and keeps a bundle that verifies', async () => {
      const r = await runJob(repo, 'broken', onRunner);
      assert.notEqual(r.status, 0);
      const bundle = artifactBundle(repo, 'broken');
      assert.ok(bundle, 'the artifact is kept when the job fails');
      assert.equal(verifyBundle(bundle).ok, true);
    });
  });

  describe('included as the README shows, downloading the pinned release', () => {
    let repo: string;
    before(async () => {
      repo = await project(['include:', `  - remote: ${releasesUrl}/raw/govern.gitlab-ci.yml`]);
    });

    test('on an image without node, the gateway runs on the archive’s Node runtime and the job’s psql is governed', async () => {
      const r = await runJob(repo, 'migrate', { GOVERN_RELEASES_URL: `${releasesUrl}/releases`, PATH: noNodePath });
      assert.match(r.stdout, new RegExp(`govern ${VERSION} runs on the archive's Node v\\d+\\.\\d+\\.\\d+: the job has no node 20\\.12 or newer`), `${r.stdout}\n${r.stderr}`);
      assertGoverned(r, repo);
    });

    test('on an image with node 20.12 or newer, the gateway runs on the job’s node', async () => {
      const r = await runJob(repo, 'migrate', { GOVERN_RELEASES_URL: `${releasesUrl}/releases`, PATH: `${dirname(process.execPath)}${delimiter}${noNodePath}` });
      assert.match(r.stdout, new RegExp(`govern ${VERSION} runs on the job's Node ${process.version.replace(/\./g, '\\.')} \\(${process.execPath}\\)`), `${r.stdout}\n${r.stderr}`);
      assertGoverned(r, repo);
    });

    test('on an image whose node is older than 20.12, the gateway runs on the archive’s Node runtime', async () => {
      // This node reports itself as 18.19.1 to the scripts it runs, as an image's old node would.
      const oldNode = join(noNodePath, '..', `${noNodePath.split('/').pop()}-old-node`);
      mkdirSync(oldNode);
      scratch.push(oldNode);
      const reports = 'data:text/javascript,Object.defineProperty(process,"versions",{value:{...process.versions,node:"18.19.1"}})';
      writeFileSync(join(oldNode, 'node'), `#!/bin/sh\nexec ${process.execPath} --import '${reports}' "$@"\n`, { mode: 0o755 });
      assert.equal((await runClient(join(oldNode, 'node'), ['-p', 'process.versions.node'])).stdout.trim(), '18.19.1');
      const r = await runJob(repo, 'migrate', { GOVERN_RELEASES_URL: `${releasesUrl}/releases`, PATH: `${oldNode}${delimiter}${noNodePath}` });
      assert.match(r.stdout, /runs on the archive's Node v\d+\.\d+\.\d+: the job has no node 20\.12 or newer/, `${r.stdout}\n${r.stderr}`);
      assertGoverned(r, repo);
    });

    test('on a musl image without node, the job says what to install, before it downloads anything', { skip: MUSL_SKIP }, async () => {
      // A private mount namespace where /lib also holds musl's loader, which is how the template knows
      // an Alpine image; the machine's own /lib is untouched.
      const musl = mkdtempSync(join(tmpdir(), 'govern-musl-'));
      scratch.push(musl);
      writeFileSync(join(musl, `ld-musl-${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}.so.1`), '');
      const asMusl = ['unshare', '-m', 'sh', '-c', `mount -t overlay overlay -o lowerdir=${musl}:/lib /lib && exec "$@"`, 'sh'];
      const before = requested.length;
      const r = await runJob(repo, 'migrate', { GOVERN_RELEASES_URL: `${releasesUrl}/releases`, PATH: noNodePath }, asMusl);
      assert.notEqual(r.status, 0);
      assert.match(`${r.stdout}${r.stderr}`, /govern: this image uses musl libc \(Alpine\), where the archive's Node runtime \(built for glibc\) cannot run; install Node 20\.12 or newer in the image \(apk add nodejs\) and govern runs on it/);
      assert.deepEqual(requested.slice(before).filter((url) => url.endsWith('.tar.gz')), [], 'no archive was downloaded');
      assert.doesNotMatch(r.stdout, /migrate > \[masked\]/, 'no step ran');
    });

    test('on an image with python3 but neither curl nor wget (python:3.12-slim), python3 downloads the archive', async () => {
      const r = await runJob(repo, 'migrate', { GOVERN_RELEASES_URL: `${releasesUrl}/releases`, PATH: onlyPythonPath });
      assert.match(r.stdout, /runs on the archive's Node/, `${r.stdout}\n${r.stderr}`);
      assertGoverned(r, repo);
    });

    test('a tampered archive is never run, and the job names both digests', async () => {
      const pinned = pinnedDigest(readFileSync(join(REPO_ROOT, 'gitlab-template', 'govern.gitlab-ci.yml'), 'utf8'));
      const r = await runJob(repo, 'migrate', { GOVERN_RELEASES_URL: `${releasesUrl}/tampered`, PATH: noNodePath });
      assert.notEqual(r.status, 0);
      const served = `${releasesUrl}/tampered/v${VERSION}/${ARCHIVE}`;
      const tampered = await fetch(served).then(async (res) => createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex'));
      assert.match(`${r.stdout}${r.stderr}`, new RegExp(`govern: ${served.replace(/[.]/g, '\\.')} has SHA-256 ${tampered}, not the ${pinned} pinned for govern ${VERSION} linux-${ARCH}; it is not run`));
      assert.doesNotMatch(r.stdout, /migrate > \[masked\]|runs on the/, 'no step ran');
      assert.deepEqual(readdirSync(join(repo, '.govern-cli')), [], 'nothing of the archive is unpacked');
    });
  });

  describe('included as the CI/CD component', () => {
    let repo: string;
    before(async () => {
      // gitlab-ci-local reads a component of another project from its include cache: the catalog project's file.
      repo = await project(['include:', `  - component: $CI_SERVER_FQDN/hoop/govern/govern@${VERSION}`, `    inputs: { releases_url: "${releasesUrl}/releases" }`], (r) => {
        const cached = join(r, '.gitlab-ci-local', 'includes', 'gitlab.example.com', 'hoop', 'govern', VERSION, 'templates', 'govern');
        mkdirSync(cached, { recursive: true });
        copyFileSync(join(REPO_ROOT, 'gitlab-template', 'templates', 'govern', 'template.yml'), join(cached, 'template.yml'));
      });
    });

    test('on an image without node, the gateway runs on the archive’s Node runtime and the job’s psql is governed', async () => {
      const r = await runJob(repo, 'migrate', { PATH: noNodePath });
      assert.match(r.stdout, new RegExp(`govern ${VERSION} runs on the archive's Node`), `${r.stdout}\n${r.stderr}`);
      assertGoverned(r, repo);
    });
  });
});

/** The SHA-256 the template pins for this machine's arch. */
function pinnedDigest(template: string): string {
  const pin = new RegExp(`GOVERN_ARCHIVE_SHA256_LINUX_${ARCH.toUpperCase()}: ([0-9a-f]{64})`).exec(template);
  assert.ok(pin, 'the template pins a digest');
  return pin[1]!;
}
