import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifyBundle } from '../../src/recording/verify.js';
import { REPO_ROOT } from '../fixtures/cli.js';
import { startIssuer, type TestIssuer } from '../fixtures/oidc-issuer.js';
import { startTarget, type Target } from '../fixtures/pg-gateway.js';
import { runClient } from '../fixtures/postgres.js';

const GITLAB_CI_LOCAL = join(REPO_ROOT, 'node_modules', '.bin', 'gitlab-ci-local');

/** Finds the session bundle gitlab-ci-local kept as the job's artifact. */
function artifactBundle(repo: string, job: string): string | undefined {
  const roots = [join(repo, '.gitlab-ci-local', 'artifacts', job, '.govern-session')];
  return roots.find((r) => existsSync(join(r, 'events.jsonl')));
}

describe('the GitLab template, run by gitlab-ci-local', () => {
  let target: Target;
  let issuer: TestIssuer;
  let repo: string;

  before(async () => {
    [target, issuer] = await Promise.all([startTarget(), startIssuer()]);
    await target.direct("CREATE TABLE people (id int, ssn text); INSERT INTO people VALUES (1, '536-22-4711')");
    repo = mkdtempSync(join(tmpdir(), 'govern-gitlab-'));
    copyFileSync(join(REPO_ROOT, 'gitlab-template', 'govern.gitlab-ci.yml'), join(repo, 'govern.gitlab-ci.yml'));
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
        'include:',
        '  - local: govern.gitlab-ci.yml',
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
    for (const args of [['init', '-q'], ['add', '-A'], ['-c', 'user.email=ci@example.com', '-c', 'user.name=ci', 'commit', '-qm', 'pipeline']]) {
      await runClient('git', ['-C', repo, ...args]);
    }
  });
  after(async () => {
    await Promise.all([target?.stop(), issuer?.close()]);
    rmSync(repo, { recursive: true, force: true });
  });

  async function runJob(job: string, cli: string[] = ['--variable', `GOVERN_CLI=${process.execPath} ${join(REPO_ROOT, 'dist', 'govern', 'index.js')}`]) {
    const token = await issuer.sign({ aud: 'govern', sub: 'project_path:acme/payments:ref_type:branch:ref:main', project_path: 'acme/payments', project_id: '815', ref: 'main', ref_protected: 'true', pipeline_source: 'push' });
    return runClient(GITLAB_CI_LOCAL, [
      '--shell-executor-no-image',
      '--variable', `GOVERN_ID_TOKEN=${token}`,
      '--variable', `PROD_DATABASE_URL=${target.appUrl}`,
      ...cli,
      job,
    ], { cwd: repo, timeoutMs: 180_000, env: { ...process.env, FORCE_COLOR: '0' } });
  }

  test('a job that extends .govern reaches PostgreSQL through the gateway, and its artifact verifies', async () => {
    const r = await runJob('migrate');
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /migrate > \[masked\]/);
    assert.match(r.stdout, /migrate > drop refused/);
    assert.match(r.stdout, /operations {3}2: 1 allowed, 1 blocked/);
    // GitLab has no step summary: the job log carries the headline and every exception.
    assert.match(r.stdout, /govern BLOCKED \(enforce mode\): 2 operations, 1 allowed, 1 blocked/);
    assert.match(r.stdout, / {4}BLOCK +#\d+ app_db: DROP TABLE \w+ \(rule \S+\)/);
    assert.match(r.stdout, /verify with {2}govern verify \S+ --key ed25519:/);
    assert.match(r.stdout, /migrate > the real URL is not in the job shell/);
    assert.match(r.stdout, /migrate > no token in the job shell/);
    assert.ok(!`${r.stdout}${r.stderr}`.includes('536-22-4711'));
    assert.ok(!`${r.stdout}${r.stderr}`.includes(target.appPassword));
    const bundle = artifactBundle(repo, 'migrate');
    assert.ok(bundle, `the session bundle is an artifact: ${readdirSync(join(repo, '.gitlab-ci-local')).join(', ')}`);
    const verified = verifyBundle(bundle);
    assert.equal(verified.ok, true, verified.problem);
    assert.equal((verified.manifest!.identity as { claims: Record<string, unknown> }).claims.project_path, 'acme/payments');
  });

  describe('the release archive it downloads', () => {
    let server: Server;
    let archiveUrl: string;
    let digest: string;

    before(async () => {
      // The release archive as scripts/release-archive.sh packs it, served as the release download is.
      const archive = join(repo, '..', `${repo.split('/').pop()}-govern-cli.tar.gz`);
      const packed = await runClient('tar', ['-czf', archive, '-C', join(REPO_ROOT, 'dist'), 'govern']);
      assert.equal(packed.status, 0, packed.stderr);
      const bytes = readFileSync(archive);
      rmSync(archive);
      digest = createHash('sha256').update(bytes).digest('hex');
      server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/gzip' }).end(bytes));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      archiveUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/govern-cli.tar.gz`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    const fromArchive = (sha256: string) => ['--variable', `GOVERN_ARCHIVE_URL=${archiveUrl}`, '--variable', `GOVERN_ARCHIVE_SHA256=${sha256}`];

    test('an archive whose SHA-256 is not the pinned one is never run, and the job says why', async () => {
      const wrong = createHash('sha256').update('another archive').digest('hex');
      const r = await runJob('migrate', fromArchive(wrong));
      assert.notEqual(r.status, 0);
      assert.match(`${r.stdout}${r.stderr}`, new RegExp(`govern: ${archiveUrl.replace(/[.]/g, '\\.')} has SHA-256 ${digest}, not the ${wrong} pinned for govern [\\d.]+; it is not run`));
      assert.doesNotMatch(r.stdout, /migrate > \[masked\]/, 'no step ran');
    });

    test('the archive with the pinned SHA-256 runs the gateway', async () => {
      // The shell executor runs every job in the same checkout: the session of the first test is still there.
      rmSync(join(repo, '.govern-session'), { recursive: true, force: true });
      const r = await runJob('migrate', fromArchive(digest));
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /migrate > \[masked\]/);
    });
  });

  test('a job whose script fails still stops the gateway and keeps a bundle that verifies', async () => {
    const r = await runJob('broken');
    assert.notEqual(r.status, 0);
    const bundle = artifactBundle(repo, 'broken');
    assert.ok(bundle, 'the artifact is kept when the job fails');
    assert.equal(verifyBundle(bundle).ok, true);
  });
});
