import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { zipDirectory } from '../fixtures/artifact-service.js';
import { GOVERN_BIN, govern, REPO_ROOT } from '../fixtures/cli.js';
import { runClient } from '../fixtures/postgres.js';
import { startFakeGitHub, startFakeGitLab, type FakeGitHub, type FakeGitLab } from '../fixtures/forges.js';
import { startIssuer, type TestIssuer } from '../fixtures/oidc-issuer.js';

const { startBillingApi } = (await import(new URL('../../../../examples/demo/billing.js', import.meta.url).href)) as {
  startBillingApi(): Promise<{ url: string; token: string; served: string[]; close(): Promise<void> }>;
};
const JOB = fileURLToPath(new URL('../fixtures/rollout-job.js', import.meta.url));
const CLAIMS = { aud: 'govern', sub: 'repo:acme/payments:ref:refs/heads/main', repository: 'acme/payments', repository_id: '4242', ref: 'refs/heads/main', event_name: 'push', actor: 'octo-dev' };

// The pull-request flow: session artifacts of the default branch's last runs found through the GitHub
// REST API, downloaded with @actions/artifact, verified, tested, and the result posted as one comment.
describe('policy test on a pull request', () => {
  let issuer: TestIssuer;
  let billingApi: Awaited<ReturnType<typeof startBillingApi>>;
  let github: FakeGitHub;
  let root: string;
  let policy: string;
  let gitlab: FakeGitLab;
  /** The recorded bundles of runs 3001, 3002, 3003, and 3002's altered copy. */
  const bundles: string[] = [];
  let tampered: string;

  before(async () => {
    [issuer, billingApi, github, gitlab] = await Promise.all([startIssuer(), startBillingApi(), startFakeGitHub(), startFakeGitLab()]);
    root = mkdtempSync(join(tmpdir(), 'govern-rollout-pr-'));
    policy = join(root, 'govern.yml');
    const trust = `  trust: [{ issuer: "${issuer.url}", claims: { repository_id: "4242", ref: refs/heads/main } }]`;
    const billing = '  billing: { http: { url: "${BILLING_API_URL}", headers: { Authorization: "Bearer ${BILLING_TOKEN}" } }, export: BILLING_URL }';
    writeFileSync(policy, `version: 1\nidentity:\n  audience: govern\n${trust}\nconnections:\n${billing}\nrules:\n  - name: no-deletes\n    block: { http: ["DELETE /**"] }\n`);
    // Three runs of main recorded a session each; one of them is altered after the fact.
    for (const runId of ['3001', '3002', '3003']) {
      const out = join(root, `session-${runId}`);
      const r = await govern(['run', '--policy', policy, '--out', out, '--', process.execPath, JOB], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, BILLING_API_URL: billingApi.url, BILLING_TOKEN: billingApi.token, GOVERN_ID_TOKEN: await issuer.sign({ ...CLAIMS, run_id: runId }) },
      });
      assert.equal(r.status, 0, r.stderr);
      bundles.push(out);
    }
    tampered = join(root, 'tampered');
    cpSync(bundles[1]!, tampered, { recursive: true });
    const events = join(tampered, 'events.jsonl');
    writeFileSync(events, readFileSync(events, 'utf8').replace('"verdict":"allow"', '"verdict":"block"'));
    const artifact = (id: number, dir: string) => ({ id, name: `govern-session-deploy-1`, zip: zipDirectory(dir) });
    github.runs.push(
      { id: 903, head_branch: 'main', event: 'push', artifacts: [artifact(13, bundles[2]!)] },
      { id: 902, head_branch: 'main', event: 'push', artifacts: [artifact(12, tampered), { id: 99, name: 'coverage', zip: Buffer.alloc(0) }] },
      { id: 880, head_branch: 'feature', event: 'push', artifacts: [{ id: 80, name: 'govern-session-deploy-1', zip: Buffer.alloc(0) }] },
      { id: 901, head_branch: 'main', event: 'push', artifacts: [] },
      { id: 900, head_branch: 'main', event: 'push', artifacts: [artifact(10, bundles[0]!)] },
    );
  });
  after(async () => {
    await Promise.all([issuer?.close(), billingApi?.close(), github?.close(), gitlab?.close()]);
    rmSync(root, { recursive: true, force: true });
  });

  const onPullRequest = async (policyFile: string, extra: string[] = []) => {
    const event = join(root, 'event.json');
    writeFileSync(event, JSON.stringify({ pull_request: { number: 7 } }));
    const summary = join(root, 'summary.md');
    writeFileSync(summary, '');
    const r = await govern(['policy', 'test', policyFile, '--runs', '3', '--comment', ...extra], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        RUNNER_TEMP: root,
        GITHUB_API_URL: github.url,
        GITHUB_REPOSITORY: 'acme/payments',
        GOVERN_GITHUB_TOKEN: github.token,
        GITHUB_EVENT_PATH: event,
        GITHUB_STEP_SUMMARY: summary,
      },
      timeoutMs: 60_000,
    });
    return { ...r, summary: readFileSync(summary, 'utf8') };
  };

  test('artifacts of the last runs are found and verified, a tampered one is named and skipped, and one comment is created', async () => {
    const stricter = join(root, 'stricter.yml');
    writeFileSync(stricter, readFileSync(policy, 'utf8').replace('["DELETE /**"]', '["DELETE /**", "POST /v1/payments"]'));
    const r = await onPullRequest(stricter);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /3 session artifacts in the last 3 runs of main/);
    assert.deepEqual(github.downloads.sort(), [10, 12, 13], 'only session artifacts of main are downloaded');
    assert.match(r.stderr, /skipped \S+run-902\S+, it does not verify: event \d+ \(operation\) was altered/);
    assert.match(r.stdout, /of 2 sessions \(run 3003, run 3001\)/);
    assert.match(r.stdout, /^Newly blocked: 2, 2 of them ran$/m);
    assert.match(r.stdout, /^FAILED: 2 operations that ran would now be blocked$/m);
    const posted = github.posted('issue:7');
    assert.equal(posted.length, 1);
    assert.match(posted[0]!.body, /^<!-- govern-policy-test -->\n### govern policy test: ❌ would refuse what ran/);
    assert.match(posted[0]!.body, /Skipped \(did not verify\)/);
    assert.match(posted[0]!.body, /\| billing \| `POST \/v1\/payments` \| allow \| block \| no-deletes \| 2 \|/);
    assert.match(r.stderr, /posted the comment on pull request #7/);
    assert.equal(r.summary, `${posted[0]!.body}\n`, 'the job summary has the same report');
  });

  // The action's policy-test input, as the runner passes inputs (INPUT_*): the same flow through the CLI it bundles.
  test('the action with policy-test fails the check and updates the comment', async () => {
    const stricter = join(root, 'stricter-action.yml');
    writeFileSync(stricter, readFileSync(policy, 'utf8').replace('["DELETE /**"]', '["DELETE /**", "GET /v1/customers/*"]'));
    const event = join(root, 'event.json');
    writeFileSync(event, JSON.stringify({ pull_request: { number: 7 } }));
    const entry = `${REPO_ROOT}build/action/src/policy-test.js`;
    const script = `const { testPolicyOnPullRequest } = await import(${JSON.stringify(entry)}); await testPolicyOnPullRequest(${JSON.stringify(GOVERN_BIN)}, ${JSON.stringify(stricter)});`;
    const r = await runClient(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        RUNNER_TEMP: root,
        'INPUT_POLICY-TEST-RUNS': '2',
        'INPUT_POLICY-TEST-FAIL-ON': 'blocked',
        'INPUT_GITHUB-TOKEN': github.token,
        GITHUB_API_URL: github.url,
        GITHUB_REPOSITORY: 'acme/payments',
        GITHUB_EVENT_PATH: event,
      },
      timeoutMs: 60_000,
    });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /::error::govern: the policy test of \S+stricter-action\.yml found operations that ran and would now be refused/);
    assert.match(r.stderr, /session artifacts in the last 2 runs of main/);
    const posted = github.posted('issue:7');
    assert.equal(posted.length, 1);
    assert.match(posted[0]!.body, /`GET \/v1\/customers\/1` \| allow \| block \| no-deletes/);
  });

  test('the next push updates the same comment in place, and a policy that refuses nothing passes', async () => {
    const first = github.posted('issue:7')[0]!;
    const r = await onPullRequest(policy);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const posted = github.posted('issue:7');
    assert.equal(posted.length, 1, 'no second comment');
    assert.equal(posted[0]!.id, first.id);
    assert.match(posted[0]!.body, /✅ nothing that ran would be refused/);
    assert.match(r.stderr, /updated the comment on pull request #7/);
  });

  test('on a GitLab merge request: the bundles of the default branch\'s last pipelines, one note created then updated', async () => {
    const files = (dir: string) =>
      new Map((readdirSync(dir, { recursive: true }) as string[]).filter((f) => statSync(join(dir, f)).isFile()).map((f) => [`.govern-session/${f}`, readFileSync(join(dir, f))]));
    gitlab.pipelines.push(
      { id: 71, ref: 'main', status: 'success', jobs: [{ id: 711, name: 'deploy', files: files(bundles[2]!) }, { id: 712, name: 'lint', files: new Map() }] },
      { id: 70, ref: 'main', status: 'success', jobs: [{ id: 701, name: 'deploy', files: files(tampered) }] },
      { id: 69, ref: 'main', status: 'failed', jobs: [{ id: 691, name: 'deploy', files: files(bundles[1]!) }] },
      { id: 68, ref: 'main', status: 'success', jobs: [{ id: 681, name: 'deploy', files: files(bundles[0]!) }] },
    );
    const inMergeRequest = (policyFile: string) =>
      govern(['policy', 'test', policyFile, '--runs', '3', '--comment'], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, GITLAB_CI: 'true', CI_API_V4_URL: gitlab.url, CI_PROJECT_ID: gitlab.projectId, CI_DEFAULT_BRANCH: 'main', CI_MERGE_REQUEST_IID: '7', GOVERN_GITLAB_TOKEN: gitlab.token, CI_BUILDS_DIR: root },
        timeoutMs: 60_000,
      });
    const stricter = join(root, 'stricter-gitlab.yml');
    writeFileSync(stricter, readFileSync(policy, 'utf8').replace('["DELETE /**"]', '["DELETE /**", "GET /v1/customers/*"]'));
    const r = await inMergeRequest(stricter);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /3 session bundles in the last 3 pipelines of main/);
    assert.match(r.stderr, /skipped \S+pipeline-70\S+, it does not verify/);
    assert.match(r.stdout, /of 2 sessions \(run 3003, run 3001\)/);
    assert.match(r.stdout, /^  billing: GET \/v1\/customers\/1 — allow → block \(rule no-deletes\) ×2/m);
    const notes = () => gitlab.notes.filter((n) => n.author.bot);
    assert.equal(notes().length, 1);
    assert.match(notes()[0]!.body, /❌ would refuse what ran/);
    assert.match(r.stderr, /posted the note on merge request !7/);

    const again = await inMergeRequest(policy);
    assert.equal(again.status, 0, again.stdout + again.stderr);
    assert.equal(notes().length, 1, 'the same note, updated');
    assert.match(notes()[0]!.body, /✅ nothing that ran would be refused/);
    assert.match(again.stderr, /updated the note on merge request !7/);
  });
});
