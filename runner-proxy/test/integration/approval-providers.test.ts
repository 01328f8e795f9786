import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { GitHubApprovals } from '../../src/approvals/github.js';
import { GitLabApprovals } from '../../src/approvals/gitlab.js';
import { Approvals, type ApprovalProvider, type ApprovalResult } from '../../src/core/approvals.js';
import type { Operation } from '../../src/policy/operation.js';
import { Recorder } from '../../src/recording/recorder.js';
import { startFakeGitHub, startFakeGitLab, type FakeGitHub, type FakeGitLab } from '../fixtures/forges.js';

const op = (text: string): Operation => ({ connection: 'app_db', protocol: 'postgres', text, classes: new Set(['delete_without_where']), writes: true });
const quietly = () => undefined;

/** The engine with a provider and a real recorder, as the gateway builds them. */
async function engine(dir: string, provider: ApprovalProvider, timeoutMs = 5000): Promise<Approvals> {
  const recorder = await Recorder.create(join(dir, `s-${Math.random().toString(36).slice(2)}`));
  return new Approvals({ spec: { via: 'github', approvers: [], timeoutMs, allowSelfApproval: false, maxPending: 5 }, recorder, provider, warn: quietly });
}

/** Waits until the gateway's comment for the next request is there, and returns the request id in it. */
async function announcedId(read: () => string[], known: Set<string>): Promise<string> {
  for (let i = 0; i < 1000; i++) {
    for (const body of read()) {
      const id = /request `(apr_[0-9a-f]+)`/.exec(body)?.[1];
      if (id && !known.has(id)) {
        known.add(id);
        return id;
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the request was never announced');
}

describe('approvals in GitHub pull requests', () => {
  let github: FakeGitHub;
  let dir: string;
  const providers: ApprovalProvider[] = [];
  const known = new Set<string>();
  const thread = 'issue:12';

  before(async () => {
    github = await startFakeGitHub();
    github.permissions.set('alice', 'write').set('mallory', 'write').set('octo-dev', 'admin').set('bob', 'maintain').set('reader', 'read');
    github.teams.set('acme/dba', new Set(['bob']));
    dir = mkdtempSync(join(tmpdir(), 'govern-approvals-'));
  });
  afterEach(() => providers.splice(0).forEach((p) => p.stop()));
  after(async () => {
    await github.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function provider(extra: Partial<ConstructorParameters<typeof GitHubApprovals>[0]> = {}): GitHubApprovals {
    const p = new GitHubApprovals({
      token: github.token,
      repository: 'acme/payments',
      apiUrl: github.url,
      sha: 'f00d',
      event: { pull_request: { number: 12 } },
      actor: 'octo-dev',
      approvers: ['alice', 'octo-dev', 'reader', 'dependabot[bot]', '@acme/dba'],
      allowSelfApproval: false,
      timeoutMs: 5000,
      pollMs: 20,
      warn: quietly,
      ...extra,
    });
    providers.push(p);
    return p;
  }
  const bodies = () => github.posted(thread).map((c) => c.body);

  test('an approver’s comment releases exactly the held operation, and the comment shows who approved', async () => {
    const approvals = await engine(dir, provider());
    const held = approvals.request(op('DELETE FROM jobs'), 'reviewed-writes', 1);
    const id = await announcedId(bodies, known);
    assert.match(bodies().at(-1)!, /Connection `app_db`, rule `reviewed-writes`, run by @octo-dev/);
    assert.match(bodies().at(-1)!, /```sql\nDELETE FROM jobs\n```/);
    github.comment(thread, 'alice', `LGTM\n/govern approve ${id}`);
    const result = await held;
    assert.deepEqual({ outcome: result.outcome, by: result.by }, { outcome: 'approved', by: 'alice' });
    await waitFor(() => bodies().some((b) => b.includes(id) && b.includes('**Approved** by @alice.')));
    assert.ok(github.reactions.some((r) => r.content === '+1'));
  });

  test('a deny carries its reason', async () => {
    const approvals = await engine(dir, provider());
    const held = approvals.request(op('DELETE FROM audit'), 'reviewed-writes', 2);
    const id = await announcedId(bodies, known);
    github.comment(thread, 'alice', `/govern deny ${id} the audit table stays`);
    const result = await held;
    assert.deepEqual({ outcome: result.outcome, reason: result.reason }, { outcome: 'denied', reason: 'the audit table stays' });
    await waitFor(() => bodies().some((b) => b.includes('**Denied** by @alice: the audit table stays.')));
  });

  test('without an answer the request times out, denied', async () => {
    const approvals = await engine(dir, provider(), 300);
    const held = approvals.request(op('UPDATE jobs SET x = 1'), 'reviewed-writes', 3);
    await announcedId(bodies, known);
    assert.equal((await held).outcome, 'timeout');
    await waitFor(() => bodies().some((b) => b.includes('**Timed out**')));
  });

  test('a non-approver, a bot, the run’s own actor, a reader and an edited comment decide nothing', async () => {
    const approvals = await engine(dir, provider());
    let settled: ApprovalResult | undefined;
    const held = approvals.request(op('DELETE FROM sessions'), 'reviewed-writes', 4).then((r) => (settled = r));
    const id = await announcedId(bodies, known);
    github.comment(thread, 'mallory', `/govern approve ${id}`);
    github.comment(thread, 'dependabot[bot]', `/govern approve ${id}`, { bot: true });
    github.comment(thread, 'octo-dev', `/govern approve ${id}`);
    github.comment(thread, 'reader', `/govern approve ${id}`);
    github.comment(thread, 'alice', `/govern approve ${id}`, { edited: true });
    await waitFor(() => github.reactions.some((r) => r.content === 'confused')); // the actor’s own approval is answered with a reaction
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(settled, undefined, 'none of them counted');
    github.comment(thread, 'bob', `/govern approve ${id}`);
    assert.deepEqual({ outcome: (await held).outcome, by: (await held).by }, { outcome: 'approved', by: 'bob' }, 'a member of a listed team counts');
  });

  test('an approval cannot be replayed for a second operation', async () => {
    const approvals = await engine(dir, provider());
    const first = approvals.request(op('DELETE FROM a'), 'reviewed-writes', 5);
    const firstId = await announcedId(bodies, known);
    github.comment(thread, 'alice', `/govern approve ${firstId}`);
    await first;
    let settled: ApprovalResult | undefined;
    const second = approvals.request(op('DELETE FROM a'), 'reviewed-writes', 6).then((r) => (settled = r));
    const secondId = await announcedId(bodies, known);
    assert.notEqual(secondId, firstId);
    github.comment(thread, 'alice', `/govern approve ${firstId}`);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(settled, undefined);
    github.comment(thread, 'alice', `/govern deny ${secondId}`);
    assert.equal((await second).outcome, 'denied');
  });

  test('an approval on the second page of comments counts: every page is read', async () => {
    const approvals = await engine(dir, provider({ event: { pull_request: { number: 34 } } }));
    const held = approvals.request(op('DELETE FROM c'), 'reviewed-writes', 8);
    const id = await announcedId(() => github.posted('issue:34').map((c) => c.body), known);
    for (let i = 0; i < 120; i++) github.comment('issue:34', 'mallory', `chatter ${i}`);
    await new Promise((r) => setTimeout(r, 200)); // a few polls read the first page unchanged from now on
    github.comment('issue:34', 'alice', `/govern approve ${id}`);
    assert.ok((github.threads.get('issue:34') ?? []).length > 100, 'the approval is past the first 100 comments');
    assert.deepEqual({ outcome: (await held).outcome, by: (await held).by }, { outcome: 'approved', by: 'alice' });
  });

  test('a secondary rate limit is waited out for the retry-after GitHub gives, then the poll goes on', async () => {
    const warnings: string[] = [];
    const approvals = await engine(dir, provider({ event: { pull_request: { number: 56 } }, warn: (m) => warnings.push(m) }));
    const held = approvals.request(op('DELETE FROM d'), 'reviewed-writes', 9);
    const id = await announcedId(() => github.posted('issue:56').map((c) => c.body), known);
    github.secondaryLimit.next = 1;
    github.comment('issue:56', 'alice', `/govern approve ${id}`);
    assert.equal((await held).outcome, 'approved');
    assert.equal(github.secondaryLimit.sent, 1);
    assert.ok(warnings.some((w) => /secondary rate limit on GET .*\/issues\/56\/comments.*; retrying in 1 s/.test(w)), warnings.join('\n'));
  });

  test('on a push with no pull request it asks on the commit', async () => {
    github.pullsOfCommit.set('beef', []);
    const approvals = await engine(dir, provider({ sha: 'beef', event: {} }));
    const held = approvals.request(op('DELETE FROM b'), 'reviewed-writes', 7);
    const id = await announcedId(() => github.posted('commit:beef').map((c) => c.body), known);
    github.comment('commit:beef', 'alice', `/govern approve ${id}`);
    assert.equal((await held).outcome, 'approved');
  });
});

describe('approvals in GitLab merge requests', () => {
  let gitlab: FakeGitLab;
  let dir: string;
  const providers: ApprovalProvider[] = [];
  const known = new Set<string>();

  before(async () => {
    gitlab = await startFakeGitLab();
    gitlab.members.set(11, 30).set(12, 20).set(13, 40);
    dir = mkdtempSync(join(tmpdir(), 'govern-approvals-gl-'));
  });
  afterEach(() => providers.splice(0).forEach((p) => p.stop()));
  after(async () => {
    await gitlab.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const provider = () => {
    const p = new GitLabApprovals({ token: gitlab.token, apiUrl: gitlab.url, projectId: gitlab.projectId, mergeRequestIid: '7', actor: 'maya', approvers: ['dev', 'reporter', 'maya'], allowSelfApproval: false, timeoutMs: 5000, pollMs: 20, warn: quietly });
    providers.push(p);
    return p;
  };
  const bodies = () => gitlab.notes.filter((n) => n.author.bot).map((n) => n.body);

  test('a Developer’s note releases the operation; a Reporter, the actor and an edited note do not', async () => {
    const approvals = await engine(dir, provider());
    let settled: ApprovalResult | undefined;
    const held = approvals.request(op('DELETE FROM jobs'), 'reviewed-writes', 1).then((r) => (settled = r));
    const id = await announcedId(bodies, known);
    gitlab.note({ id: 12, username: 'reporter' }, `/govern approve ${id}`);
    gitlab.note({ id: 13, username: 'maya' }, `/govern approve ${id}`);
    gitlab.note({ id: 11, username: 'dev' }, `/govern approve ${id}`, { edited: true });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(settled, undefined);
    gitlab.note({ id: 11, username: 'dev' }, `/govern approve ${id}`);
    assert.deepEqual({ outcome: (await held).outcome, by: (await held).by }, { outcome: 'approved', by: 'dev' });
    await waitFor(() => bodies().some((b) => b.includes('**Approved** by @dev.')));
    assert.ok(gitlab.emoji.some((e) => e.name === 'thumbsup'));
  });

  test('a deny refuses it, with its reason', async () => {
    const approvals = await engine(dir, provider());
    const denied = approvals.request(op('DELETE FROM x'), 'reviewed-writes', 2);
    const id = await announcedId(bodies, known);
    gitlab.note({ id: 11, username: 'dev' }, `/govern deny ${id} wrong table`);
    assert.deepEqual({ outcome: (await denied).outcome, reason: (await denied).reason }, { outcome: 'denied', reason: 'wrong table' });
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  // GitHub's throttling spaces the gateway's comments 3 s apart, as GitHub asks of API clients.
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), 'the expected change never came');
}
