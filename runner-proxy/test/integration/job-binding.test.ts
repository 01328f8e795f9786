import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bindingAudience } from '../../src/identity/binding.js';
import { requestGitHubToken } from '../../src/identity/token-source.js';
import { SessionSigner, type Manifest } from '../../src/recording/bundle.js';
import { verifyBundle } from '../../src/recording/verify.js';
import { govern } from '../fixtures/cli.js';
import { startIssuer, type TestIssuer } from '../fixtures/oidc-issuer.js';

const CLAIMS = {
  sub: 'repo:acme/payments:ref:refs/heads/main',
  repository: 'acme/payments',
  repository_id: '4711',
  repository_owner_id: '42',
  workflow: 'deploy',
  workflow_ref: 'acme/payments/.github/workflows/deploy.yml@refs/heads/main',
  ref: 'refs/heads/main',
  sha: 'c0ffee0000000000000000000000000000000000',
  event_name: 'push',
  run_id: '99',
  run_attempt: '2',
  actor: 'ci-bot',
};
const STRANGER = { ...CLAIMS, sub: 'repo:evil/payments:ref:refs/heads/main', repository: 'evil/payments', repository_id: '666' };

/** What someone who can rewrite the artifact can do: sign the manifest again with a key of their own. */
function resign(dir: string, change: (body: Omit<Manifest, 'signature'>, signer: SessionSigner) => void | Promise<void>): Promise<void> | void {
  const { signature: _old, ...body } = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const signer = new SessionSigner();
  const done = () => {
    const full = { ...body, public_key: signer.publicKey };
    writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify({ ...full, signature: signer.sign(full) }, null, 2)}\n`);
  };
  const changed = change(body, signer);
  return changed instanceof Promise ? changed.then(done) : done();
}

describe('the signing key bound to the job by the forge', () => {
  let issuer: TestIssuer;
  let root: string;
  let bound: string;
  const env = () => ({ PATH: process.env.PATH, HOME: process.env.HOME });
  const copy = (name: string) => {
    const dir = join(root, name);
    cpSync(bound, dir, { recursive: true });
    return dir;
  };

  before(async () => {
    issuer = await startIssuer();
    root = mkdtempSync(join(tmpdir(), 'govern-binding-'));
    const policy = join(root, 'govern.yml');
    writeFileSync(policy, ['version: 1', 'identity:', '  audience: govern', '  trust:', `    - issuer: ${issuer.url}`, '      claims: { repository_id: "4711" }', ''].join('\n'));
    issuer.requestClaims = CLAIMS;
    bound = join(root, 'bound');
    const r = await govern(['run', '--policy', policy, '--out', bound, '--', 'true'], {
      env: { ...env(), ACTIONS_ID_TOKEN_REQUEST_URL: issuer.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.requestToken },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`signing key bound to the job by ${issuer.url}`));
  });
  after(async () => {
    await issuer.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('the manifest carries the forge’s token, its audience naming the digest of the run’s key', () => {
    const manifest = verifyBundle(bound).manifest!;
    const binding = manifest.job_binding as { kind: string; issuer: string; audience: string; token: string };
    assert.equal(binding.kind, 'oidc');
    assert.equal(binding.issuer, issuer.url);
    assert.equal(binding.audience, bindingAudience(manifest.public_key));
    assert.match(binding.audience, /^govern-session-key:sha256:[0-9a-f]{64}$/);
    const claims = JSON.parse(Buffer.from(binding.token.split('.')[1]!, 'base64url').toString()) as { aud: string };
    assert.equal(claims.aud, binding.audience);
  });

  test('the report shows the binding and a verify command that expects the repository', () => {
    const report = readFileSync(join(bound, 'report.html'), 'utf8');
    assert.match(report, /<dd id="job-binding"><span class="bound">bound to the job by the forge<\/span>: repository acme\/payments \(id 4711\), workflow deploy, ref refs\/heads\/main, sha c0ffee0{34}, run 99 attempt 2;/);
    assert.match(report, /<code>govern verify bound --key ed25519:[A-Za-z0-9_-]{43} --issuer http:\/\/127\.0\.0\.1:\d+ --expect-repository 4711<\/code>/);
  });

  test('a bound bundle verifies against the issuer’s keys and names the run', async () => {
    const r = await govern(['verify', bound, '--issuer', issuer.url, '--expect-repository', 'acme/payments', '--expect-workflow', '.github/workflows/deploy.yml'], { env: env() });
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /bound to the job by the forge: repository acme\/payments \(id 4711\), workflow deploy, ref refs\/heads\/main, sha c0ffee0{34}, run 99 attempt 2; token issued by http:\/\/127\.0\.0\.1:\d+ at \d{4}-\d\d-\d\dT/,
    );
    const byId = await govern(['verify', bound, '--issuer', issuer.url, '--expect-repository', '4711', '--expect-workflow', 'deploy', '--json'], { env: env() });
    assert.equal(byId.status, 0, byId.stderr);
    const json = JSON.parse(byId.stdout) as { ok: boolean; job_binding: { status: string; run: Record<string, string> } };
    assert.equal(json.job_binding.status, 'bound');
    assert.equal(json.job_binding.run.run_attempt, '2');
  });

  test('offline, with the issuer’s keys given as a file', async () => {
    const jwks = join(root, 'jwks.json');
    writeFileSync(jwks, await (await fetch(`${issuer.url}/jwks`)).text());
    const r = await govern(['verify', bound, '--issuer', issuer.url, '--jwks', jwks], { env: env() });
    assert.equal(r.status, 0, r.stderr);
    const other = join(root, 'other-jwks.json');
    writeFileSync(other, JSON.stringify({ keys: [] }));
    const refused = await govern(['verify', bound, '--issuer', issuer.url, '--jwks', other], { env: env() });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /FAILED — no key of http:\/\/127\.0\.0\.1:\d+ matches the job binding token's kid; the forge rotates its keys: give the keys of that time with --jwks FILE\n/);
    const notJson = await govern(['verify', bound, '--jwks', join(root, 'govern.yml')], { env: env() });
    assert.equal(notJson.status, 2);
    assert.match(notJson.stderr, /--jwks must name a JSON Web Key Set file/);
  });

  test('a mismatched expectation exits non-zero with one sentence', async () => {
    const repo = await govern(['verify', bound, '--issuer', issuer.url, '--expect-repository', 'acme/billing'], { env: env() });
    assert.equal(repo.status, 1);
    assert.match(repo.stderr, /FAILED — the bundle belongs to repository acme\/payments \(id 4711\), not acme\/billing\n/);
    const workflow = await govern(['verify', bound, '--issuer', issuer.url, '--expect-workflow', 'release'], { env: env() });
    assert.equal(workflow.status, 1);
    assert.match(workflow.stderr, /FAILED — the bundle belongs to workflow deploy, not release\n/);
  });

  test('a token from another issuer than the one expected is refused', async () => {
    const r = await govern(['verify', bound], { env: env() });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /FAILED — the job binding token was issued by http:\/\/127\.0\.0\.1:\d+, not by https:\/\/token\.actions\.githubusercontent\.com \(--issuer names another\)\n/);
  });

  test('a bundle signed again with another key is refused: the binding names the first key', async () => {
    const dir = copy('resigned');
    await resign(dir, () => undefined);
    assert.equal(verifyBundle(dir).ok, true, 'the signature alone vouches only for itself');
    const r = await govern(['verify', dir, '--issuer', issuer.url], { env: env() });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /FAILED — the job binding token names the key govern-session-key:sha256:[0-9a-f]{64}, not this bundle's signing key: the bundle was signed again by another key\n/);
  });

  test('a binding minted for the new key by another repository is refused', async () => {
    const strangerBinding = (rewriteIdentity: boolean) => async (body: Omit<Manifest, 'signature'>, signer: SessionSigner) => {
      issuer.requestClaims = STRANGER;
      const token = await requestGitHubToken(issuer.requestUrl, issuer.requestToken, bindingAudience(signer.publicKey));
      issuer.requestClaims = CLAIMS;
      body.job_binding = { kind: 'oidc', issuer: issuer.url, audience: bindingAudience(signer.publicKey), token };
      if (rewriteIdentity) body.identity = { ...body.identity, claims: STRANGER };
    };
    const dir = copy('stranger');
    await resign(dir, strangerBinding(false));
    const r = await govern(['verify', dir, '--issuer', issuer.url], { env: env() });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /FAILED — the job binding token names repository_id 666, but the bundle's identity names 4711\n/);
    // With the identity rewritten to match, the expected repository still catches it.
    const rewritten = copy('stranger-identity');
    await resign(rewritten, strangerBinding(true));
    const expected = await govern(['verify', rewritten, '--issuer', issuer.url, '--expect-repository', '4711'], { env: env() });
    assert.equal(expected.status, 1);
    assert.match(expected.stderr, /FAILED — the bundle belongs to repository evil\/payments \(id 666\), not 4711\n/);
  });

  test('a binding removed is flagged, and refused when the job is expected', async () => {
    const dir = copy('unbound');
    await resign(dir, (body) => {
      delete body.job_binding;
    });
    const r = await govern(['verify', dir, '--issuer', issuer.url], { env: env() });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /warning — the bundle is not bound to a job \(the manifest carries none\): nothing outside it ties its signing key to a run\n/);
    const expected = await govern(['verify', dir, '--issuer', issuer.url, '--expect-repository', 'acme/payments'], { env: env() });
    assert.equal(expected.status, 1);
    assert.match(expected.stderr, /FAILED — the bundle is not bound to a job/);
  });

  test('an old bundle’s expired token still verifies', async () => {
    const dir = copy('old');
    await resign(dir, async (body, signer) => {
      const iat = Math.floor(Date.now() / 1000) - 200 * 86_400;
      const audience = bindingAudience(signer.publicKey);
      const token = await issuer.sign({ ...CLAIMS, aud: audience, iat, exp: iat + 300 });
      body.job_binding = { kind: 'oidc', issuer: issuer.url, audience, token };
    });
    const r = await govern(['verify', dir, '--issuer', issuer.url, '--expect-repository', '4711'], { env: env() });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /run 99 attempt 2/);
  });

  test('replay prints the policy in force above the timeline', async () => {
    const r = await govern(['replay', bound], { env: env() });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^policy in force: \S+govern\.yml \(enforce\), sha256 [0-9a-f]{64}, as kept in the bundle:\n {2}\| version: 1\n {2}\| identity:\n/);
    assert.match(r.stdout, /\n\n00:00\.000 +#1 +- +session start: acme\/payments/);
  });

  test('on GitLab the bundle says why it is not bound', async () => {
    const policy = join(root, 'gitlab.yml');
    writeFileSync(policy, 'version: 1\n');
    const out = join(root, 'gitlab');
    const r = await govern(['run', '--policy', policy, '--out', out, '--', 'true'], { env: { ...env(), GITLAB_CI: 'true' } });
    assert.equal(r.status, 0, r.stderr);
    const binding = verifyBundle(out).manifest!.job_binding as { kind: string; reason: string };
    assert.equal(binding.kind, 'absent');
    assert.match(binding.reason, /GitLab gives a job only the id_tokens its YAML declares/);
  });
});
