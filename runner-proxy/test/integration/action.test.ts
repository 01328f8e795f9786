import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifyBundle } from '../../src/recording/verify.js';
import { startArtifactService, type ArtifactService } from '../fixtures/artifact-service.js';
import { startFakeGitHub } from '../fixtures/forges.js';
import { REPO_ROOT } from '../fixtures/cli.js';
import { BUNDLE_NODES } from '../fixtures/nodes.js';
import { startIssuer, type TestIssuer } from '../fixtures/oidc-issuer.js';
import { startTarget, type Target } from '../fixtures/pg-gateway.js';
import { runClient } from '../fixtures/postgres.js';

/** Reads a runner file-command file (NAME<<DELIMITER … DELIMITER, or NAME=value). */
function readCommandFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i]!);
    if (heredoc) {
      const value: string[] = [];
      for (i++; lines[i] !== heredoc[2]; i++) value.push(lines[i]!);
      out[heredoc[1]!] = value.join('\n');
    } else if (lines[i]!.includes('=')) {
      const at = lines[i]!.indexOf('=');
      out[lines[i]!.slice(0, at)] = lines[i]!.slice(at + 1);
    }
  }
  return out;
}

const POLICY = (issuer: string) => `version: 1
identity:
  audience: govern
  trust:
    - issuer: ${issuer}
      claims: { repository_id: "4711", ref: refs/heads/main }
connections:
  app_db:
    postgres: { url: "\${PROD_DATABASE_URL}" }
    export: DATABASE_URL
rules:
  - name: pii
    mask: { columns: ["people.ssn"], types: [email] }
  - name: no-destruction
    block: { sql: [drop, truncate] }
`;

describe('the GitHub Action, run as the runner runs it', () => {
  let target: Target;
  let issuer: TestIssuer;
  let artifacts: ArtifactService;
  let work: string;

  before(async () => {
    [target, issuer, artifacts] = await Promise.all([startTarget(), startIssuer(), startArtifactService()]);
    await target.direct("CREATE TABLE people (id int, name text, ssn text, email text); INSERT INTO people VALUES (1, 'Ada', '536-22-4711', 'ada@example.com')");
    issuer.requestClaims = { sub: 'repo:acme/payments:ref:refs/heads/main', repository: 'acme/payments', repository_id: '4711', ref: 'refs/heads/main', event_name: 'push', run_id: '77', actor: 'octo-dev' };
    work = mkdtempSync(join(tmpdir(), 'govern-runner-'));
  });
  after(async () => {
    await Promise.all([target?.stop(), issuer?.close(), artifacts?.close()]);
    rmSync(work, { recursive: true, force: true });
  });

  /**
   * A fresh runner: the action checked out with no node_modules near it, a workspace, the file commands,
   * and the node the runner runs actions with (the test runner's unless named).
   */
  function runnerFor(name: string, policy = POLICY(issuer.url), extraEnv: Record<string, string> = {}, node = BUNDLE_NODES[0]!) {
    const root = join(work, name);
    const actionDir = join(root, 'action');
    mkdirSync(actionDir, { recursive: true });
    cpSync(join(REPO_ROOT, 'dist'), join(actionDir, 'dist'), { recursive: true });
    cpSync(join(REPO_ROOT, 'action.yml'), join(actionDir, 'action.yml'));
    const workspace = join(root, 'workspace');
    mkdirSync(join(workspace, '.github'), { recursive: true });
    writeFileSync(join(workspace, '.github', 'govern.yml'), policy);
    const files = Object.fromEntries(['ENV', 'PATH', 'STATE', 'OUTPUT', 'STEP_SUMMARY'].map((k) => [`GITHUB_${k}`, join(root, k.toLowerCase())]));
    for (const f of Object.values(files)) writeFileSync(f, '');
    const runner = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...files,
      RUNNER_TEMP: join(root, 'runner-temp'),
      // One runner's tool cache, which every job on it shares (a self-hosted runner keeps it); a runner has one node.
      RUNNER_TOOL_CACHE: join(work, 'tool-cache', node.id),
      GITHUB_WORKSPACE: workspace,
      GITHUB_JOB: name,
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/payments',
      GITHUB_RUN_ID: '4242',
      RUNNER_TRACKING_ID: 'github_test',
      ...extraEnv,
    };
    mkdirSync(runner.RUNNER_TEMP);
    const main = () =>
      runClient(node.path, [join(actionDir, 'dist/main/index.js')], {
        env: {
          ...runner,
          'INPUT_FAIL-ON': 'blocked',
          ACTIONS_ID_TOKEN_REQUEST_URL: issuer.requestUrl,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.requestToken,
          // The step's env: the real credential, as a secret.
          PROD_DATABASE_URL: target.appUrl,
        },
        cwd: workspace,
      });
    const post = () => {
      const state = readCommandFile(files.GITHUB_STATE!);
      return runClient(node.path, [join(actionDir, 'dist/post/index.js')], {
        env: {
          ...runner,
          'INPUT_FAIL-ON': 'blocked',
          ...Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v])),
          ACTIONS_RUNTIME_TOKEN: artifacts.runtimeToken,
          ACTIONS_RESULTS_URL: artifacts.url,
        },
        cwd: workspace,
      });
    };
    return { root, files, main, post };
  }

  // GitHub runs the action on Node 24; the bundles must run there and on Node 20 with no node_modules.
  for (const actionNode of BUNDLE_NODES) {
    test(`on ${actionNode.name}: main exports loopback env, later steps are governed, post uploads a bundle that verifies`, { skip: actionNode.skip }, async () => {
      const job = `migrate-${actionNode.id}`;
      const { root: work, files, main: runMain, post: runPost } = runnerFor(job, undefined, {}, actionNode);
      const main = await runMain();
      assert.equal(main.status, 0, `${main.stdout}\n${main.stderr}`);
      const { pid } = JSON.parse(readCommandFile(files.GITHUB_STATE!).govern!) as { pid: number };
      assert.equal(realpathSync(`/proc/${pid}/exe`), realpathSync(actionNode.path), 'the gateway runs on the node the action ran on');
      const exported = readCommandFile(files.GITHUB_ENV!);
      assert.match(exported.DATABASE_URL!, /^postgresql:\/\/app:[\w-]+@127\.0\.0\.1:\d+\/app$/);
      const jobSecret = new URL(exported.DATABASE_URL!).password;
      assert.match(main.stdout, new RegExp(`::add-mask::${jobSecret}`), 'the job-scoped password is masked in logs');
      const outputs = readCommandFile(files.GITHUB_OUTPUT!);
      assert.match(outputs['public-key']!, /^ed25519:/);

      // Later steps: separate processes with only what the runner gives every step.
      const psql = (sql: string) => runClient('sh', ['-c', `${target.pg.bin}/psql "$DATABASE_URL" -X -A -t -c "$0"`, sql], { env: { PATH: process.env.PATH, DATABASE_URL: exported.DATABASE_URL } });
      assert.equal((await psql('SELECT name, ssn, email FROM people')).stdout, 'Ada|[masked]|[masked:email]\n');
      assert.match((await psql('DROP TABLE people')).stderr, /govern: blocked by rule "no-destruction"/);
      await psql('SELECT 1 AS "<script>alert(x)</script>"');
      const node = await runClient(process.execPath, ['--input-type=module', '-e', "import pg from 'pg'; const c = new pg.Client({ connectionString: process.env.DATABASE_URL }); await c.connect(); console.log((await c.query('SELECT ssn FROM people')).rows[0].ssn); await c.end();"], {
        env: { PATH: process.env.PATH, DATABASE_URL: exported.DATABASE_URL, NODE_PATH: join(REPO_ROOT, 'node_modules') },
      });
      assert.equal(node.stdout, '[masked]\n', node.stderr);

      // A later step finds `govern` on the PATH the runner builds from the GITHUB_PATH file command.
      const added = readFileSync(files.GITHUB_PATH!, 'utf8').trim().split('\n');
      assert.equal(added.length, 1);
      assert.match(added[0]!, new RegExp(`^${join(work, '..', 'tool-cache', actionNode.id, 'govern')}/[^/]+/${process.arch}$`));
      const step = (script: string) => runClient('sh', ['-c', script], { env: { PATH: `${added[0]}:${process.env.PATH}`, SESSION: outputs['session-dir']! } });
      assert.equal((await step('command -v govern')).stdout.trim(), join(added[0]!, 'govern'));
      assert.match(readFileSync(join(added[0]!, 'govern'), 'utf8'), new RegExp(`^node='${actionNode.path}'$`, 'm'), 'the CLI runs on that node too');
      const status = await step('govern status --out "$SESSION"');
      assert.equal(status.status, 0, status.stderr);
      assert.match(status.stdout, /app_db/);

      const state = readCommandFile(files.GITHUB_STATE!);
      const post = await runPost();
      assert.equal(post.status, 1, 'fail-on: blocked fails the job after a blocked DROP');
      assert.match(post.stdout, /::error title=govern blocked an operation \(rule no-destruction\)::app_db: DROP TABLE people/);
      assert.match(post.stdout, /::error::govern: 1 blocked and 0 denied operations \(--fail-on blocked\)/);

      const uploaded = artifacts.artifacts.get(`govern-session-${job}-1`);
      assert.ok(uploaded, `the bundle was uploaded: ${post.stdout}\n${post.stderr}`);
      const unpacked = join(work, 'unpacked');
      writeFileSync(join(work, 'bundle.zip'), uploaded.zip);
      const unzip = await runClient('python3', ['-m', 'zipfile', '-e', join(work, 'bundle.zip'), unpacked]);
      assert.equal(unzip.status, 0, unzip.stderr);
      // The forge bound the run's key to the job: the downloaded bundle names the run, and it must be this repository's.
      const byName = await step(`govern verify ${unpacked} --issuer ${issuer.url} --expect-repository 4711`);
      assert.equal(byName.status, 0, byName.stderr);
      assert.match(byName.stdout, /bound to the job by the forge: repository acme\/payments \(id 4711\), ref refs\/heads\/main, run 77;/);
      const stranger = await step(`govern verify ${unpacked} --issuer ${issuer.url} --expect-repository 666`);
      assert.equal(stranger.status, 1);
      assert.match(stranger.stderr, /FAILED — the bundle belongs to repository acme\/payments \(id 4711\), not 666/);
      const verified = verifyBundle(unpacked, { expectedKey: outputs['public-key']! });
      assert.equal(verified.ok, true, verified.problem);
      assert.equal((verified.manifest!.identity as { claims: Record<string, unknown> }).claims.repository, 'acme/payments');

      const summary = readFileSync(files.GITHUB_STEP_SUMMARY!, 'utf8');
      assert.match(summary, /^<h2>govern BLOCKED \(enforce mode\): \d+ operations, \d+ allowed, 1 blocked, \d+ values masked<\/h2>/);
      assert.match(summary, /<h3>Exceptions \(1\)<\/h3>\n<table>.*\n<tr><td>block<\/td><td>#\d+<\/td><td>app_db<\/td><td><code>DROP TABLE people<\/code><\/td><td>no-destruction/);
      assert.match(summary, new RegExp(`<a href="https://github\\.com/acme/payments/actions/runs/4242/artifacts/\\d+">govern-session-${job}-1</a>`));
      assert.match(summary, /govern verify \S+ --key ed25519:\S+ --issuer http:\/\/127\.0\.0\.1:\d+ --expect-repository 4711/);
      assert.match(summary, /The signing key is bound to this job by the forge: repository acme\/payments \(id 4711\)/);
      assert.match(summary, /&lt;script&gt;alert\(x\)&lt;\/script&gt;/);
      assert.ok(!summary.includes('<script>'), 'every value in the summary is escaped');
      assert.match(summary, /Signed by <code>ed25519:/);

      const gatewayLog = readFileSync(join(JSON.parse(state.govern!).outDir as string, 'gateway.log'), 'utf8');
      assert.match(gatewayLog, /gateway ready/);
      const everything = [main.stdout, main.stderr, post.stdout, post.stderr, summary, gatewayLog, ...Object.values(files).map((f) => readFileSync(f, 'utf8'))].join('\n');
      assert.ok(!everything.includes(target.appPassword), 'the real password reaches no env file, output, summary or log');
      assert.ok(!everything.includes('536-22-4711'), 'no unmasked value reaches them either');
      assert.ok(!existsSync(join(state.govern ? JSON.parse(state.govern).outDir : '', 'gateway.json')), 'the gateway stopped');
    });
  }

  test('a second job on the runner reuses the cached CLI', async () => {
    const { files, main, post } = runnerFor('second-job');
    const started = await main();
    assert.equal(started.status, 0, started.stderr);
    assert.match(started.stdout, /govern: the CLI [\w.-]+ is in the tool cache already/);
    const [dir] = readFileSync(files.GITHUB_PATH!, 'utf8').trim().split('\n');
    assert.equal(readdirSync(join(work, 'tool-cache', BUNDLE_NODES[0]!.id, 'govern')).length, 1, 'one cached version');
    const help = await runClient('sh', ['-c', 'govern --help'], { env: { PATH: `${dir}:${process.env.PATH}` } });
    assert.match(help.stdout, /Usage: govern COMMAND/);
    assert.equal((await post()).status, 0);
  });

  test('when the gateway died mid-job, post says so, uploads what was recorded and fails the job', async () => {
    const { files, main, post } = runnerFor('crashed');
    assert.equal((await main()).status, 0);
    const { pid } = JSON.parse(readCommandFile(files.GITHUB_STATE!).govern!) as { pid: number };
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const r = await post();
    assert.equal(r.status, 1);
    assert.match(r.stdout, /::warning::govern: the gateway was not running at the end of the job \(it stopped early or died\); uploading what it recorded/);
    assert.match(r.stdout, /the session bundle does not verify: manifest\.json is missing: the gateway never finalized this session/);
    assert.ok(artifacts.artifacts.has('govern-session-crashed-1'), 'what was recorded is uploaded');
  });

  test('a held DELETE is approved by a pull request comment, and the summary names the approver', async () => {
    const github = await startFakeGitHub();
    github.permissions.set('alice', 'write');
    try {
      const eventPath = join(work, 'event.json');
      writeFileSync(eventPath, JSON.stringify({ pull_request: { number: 12 } }));
      const policy = `${POLICY(issuer.url)}  - name: reviewed-writes\n    approve: { sql: [delete_without_where] }\napprovals: { via: github, approvers: [alice], timeout: 1m }\n`;
      const { files, main, post } = runnerFor('approve', policy, {
        GITHUB_REPOSITORY: 'acme/payments',
        GITHUB_SHA: 'f00d',
        GITHUB_API_URL: github.url,
        GITHUB_EVENT_PATH: eventPath,
        'INPUT_GITHUB-TOKEN': github.token,
        GOVERN_APPROVAL_POLL_MS: '50',
      });
      assert.equal((await main()).status, 0);
      const url = readCommandFile(files.GITHUB_ENV!).DATABASE_URL!;
      const held = runClient('sh', ['-c', `${target.pg.bin}/psql "$DATABASE_URL" -X -c "DELETE FROM people"`], { env: { PATH: process.env.PATH, DATABASE_URL: url } });
      let id: string | undefined;
      for (let i = 0; i < 200 && !id; i++) {
        id = /request `(apr_[0-9a-f]+)`/.exec(github.posted('issue:12').at(-1)?.body ?? '')?.[1];
        if (!id) await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(id, 'the gateway asked in the pull request');
      github.comment('issue:12', 'alice', `/govern approve ${id}`);
      const deleted = await held;
      assert.match(deleted.stdout, /DELETE 1/);
      const r = await post();
      assert.equal(r.status, 0, r.stdout);
      const summary = readFileSync(files.GITHUB_STEP_SUMMARY!, 'utf8');
      assert.match(summary, new RegExp(`<tr><td>approved</td><td>#\\d+</td><td>app_db</td><td><code>DELETE FROM people</code></td><td>reviewed-writes</td><td>${id}, by alice</td></tr>`));
      assert.match(github.posted('issue:12').at(-1)!.body, /\*\*Approved\*\* by @alice\./);
    } finally {
      await github.close();
    }
  });
});
