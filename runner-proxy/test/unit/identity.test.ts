import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TokenRejectedError } from '../../src/base/errors.js';
import { obtainToken } from '../../src/identity/token-source.js';
import { TokenVerifier } from '../../src/identity/verify.js';
import type { IdentityPolicy } from '../../src/policy/types.js';
import { startIssuer, type TestIssuer } from '../fixtures/oidc-issuer.js';

const CLAIMS = { aud: 'govern', sub: 'repo:acme/payments:ref:refs/heads/main', repository: 'acme/payments', repository_id: '42', repository_owner_id: '7', ref: 'refs/heads/main', event_name: 'push', run_id: '7' };

describe('OIDC identity', () => {
  let issuer: TestIssuer;
  let policy: IdentityPolicy;
  let verifier: TokenVerifier;

  before(async () => {
    issuer = await startIssuer();
    policy = {
      audience: 'govern',
      trust: [
        { issuer: issuer.url, claims: { repository_owner_id: 7, repository: 'acme/*', ref: 'refs/heads/main', event_name: ['push', 'workflow_dispatch'] } },
        { issuer: issuer.url, claims: { repository_id: 42, ref: 'refs/pull/*/merge' } },
      ],
    };
    verifier = new TokenVerifier(policy);
  });
  after(() => issuer.close());

  async function rejects(token: Promise<string> | string, check: string, message: RegExp, v = verifier) {
    await assert.rejects(v.verify(await token), (e: unknown) => {
      assert.ok(e instanceof TokenRejectedError, `expected a TokenRejectedError, got ${String(e)}`);
      assert.equal(e.check, check);
      assert.match(e.message, message);
      return true;
    });
  }

  test('accepts a valid RS256 token and records its claims', async () => {
    const principal = await verifier.verify(await issuer.sign(CLAIMS));
    assert.equal(principal.kind, 'oidc');
    assert.equal(principal.trustEntry, 0);
    assert.equal(principal.claims.repository, 'acme/payments');
    assert.equal(principal.claims.run_id, '7');
    assert.equal(principal.readOnly, false);
  });

  test('accepts ES256', async () => {
    assert.equal((await verifier.verify(await issuer.sign(CLAIMS, { alg: 'ES256' }))).kind, 'oidc');
  });

  test('accepts a token within the 60 s clock tolerance', async () => {
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await verifier.verify(await issuer.sign({ ...CLAIMS, exp: now - 30, iat: now - 330 }))).kind, 'oidc');
    assert.equal((await verifier.verify(await issuer.sign({ ...CLAIMS, iat: now + 30, nbf: now + 30 }))).kind, 'oidc');
  });

  test('rejects alg none', () => rejects(issuer.forge({ alg: 'none', typ: 'JWT' }, CLAIMS), 'alg', /unsigned \(alg "none"\)/));

  test('rejects HS256 signed with the RSA public key', () =>
    rejects(issuer.forge({ alg: 'HS256', kid: 'rsa-1' }, CLAIMS, 'hs256-with-public-key'), 'alg', /algorithm "HS256" is not allowed/));

  test('rejects an unlisted algorithm even when the issuer publishes its key', () =>
    rejects(issuer.sign(CLAIMS, { alg: 'PS256' }), 'alg', /algorithm "PS256" is not allowed; only RS256 and ES256/));

  test('rejects a wrong issuer', () => rejects(issuer.sign({ ...CLAIMS, iss: 'https://evil.example' }), 'iss', /issuer "https:\/\/evil.example" is not trusted/));

  test('rejects a wrong audience', () => rejects(issuer.sign({ ...CLAIMS, aud: ['x', 'y'] }), 'aud', /audience "govern" not in token aud \["x","y"\]/));

  test('rejects an expired token, saying how long ago', async () => {
    const now = Math.floor(Date.now() / 1000);
    await rejects(issuer.sign({ ...CLAIMS, iat: now - 900, exp: now - 312 }), 'exp', /token expired 31[2-4] s ago/);
  });

  test('rejects a token without exp', () => rejects(issuer.sign({ ...CLAIMS, exp: undefined }), 'exp', /no "exp" claim/));

  test('rejects nbf in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    await rejects(issuer.sign({ ...CLAIMS, nbf: now + 600 }), 'nbf', /not valid for another \d+ s/);
  });

  test('rejects iat in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    await rejects(issuer.sign({ ...CLAIMS, iat: now + 600, exp: now + 900 }), 'iat', /issued \d+ s in the future/);
  });

  test('rejects an unknown kid', () => rejects(issuer.sign(CLAIMS, { kid: 'rotated-away' }), 'kid', /no key in the issuer's JWKS matches kid "rotated-away"/));

  for (const header of ['jwk', 'jku', 'x5u'] as const) {
    test(`rejects an embedded ${header} header`, () =>
      rejects(issuer.sign(CLAIMS, { header: { [header]: header === 'jwk' ? { kty: 'RSA', n: 'AQAB', e: 'AQAB' } : 'https://evil.example/keys' } }), header, new RegExp(`carries "${header}"`)));
  }

  test('rejects a forged signature', async () => {
    const good = await issuer.sign(CLAIMS);
    const [h, , s] = good.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...CLAIMS, iss: issuer.url, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60, repository: 'acme/other' })).toString('base64url')}.${s}`;
    await rejects(tampered, 'signature', /signature does not verify/);
  });

  test('rejects claims that match no trust entry, naming the closest mismatch', () =>
    rejects(issuer.sign({ ...CLAIMS, ref: 'refs/heads/dev' }), 'claims', /no trust entry matched: ref was refs\/heads\/dev, wanted refs\/heads\/main/));

  test('a single star never crosses a slash: acme/* does not match acme/x/y', () =>
    rejects(issuer.sign({ ...CLAIMS, repository: 'acme/x/y', repository_id: '9' }), 'claims', /repository was acme\/x\/y, wanted acme\/\*/));

  test('a list means any of', async () => {
    assert.equal((await verifier.verify(await issuer.sign({ ...CLAIMS, event_name: 'workflow_dispatch' }))).trustEntry, 0);
    await rejects(issuer.sign({ ...CLAIMS, event_name: 'schedule', repository_id: '9' }), 'claims', /event_name was schedule, wanted one of push, workflow_dispatch/);
  });

  test('numeric ids match whether the claim is a string or a number', async () => {
    const principal = await verifier.verify(await issuer.sign({ ...CLAIMS, ref: 'refs/pull/5/merge', event_name: 'pull_request', repository_id: '42' }));
    assert.equal(principal.trustEntry, 1);
  });

  test('pull_request and pull_request_target runs are read-only unless a trust entry names the event', async () => {
    const pr = await verifier.verify(await issuer.sign({ ...CLAIMS, ref: 'refs/pull/5/merge', event_name: 'pull_request_target' }));
    assert.equal(pr.readOnly, true);
    assert.match(pr.readOnlyReason!, /pull_request_target run may only read/);
    const named = new TokenVerifier({ audience: 'govern', trust: [{ issuer: issuer.url, claims: { repository_id: 42, event_name: 'pull_request_target' } }] });
    assert.equal((await named.verify(await issuer.sign({ ...CLAIMS, event_name: 'pull_request_target' }))).readOnly, false);
  });

  test('a token for another repository id is refused under an entry naming the right one', async () => {
    const pinned = new TokenVerifier({ audience: 'govern', trust: [{ issuer: issuer.url, claims: { repository_id: 42 } }] });
    await rejects(issuer.sign({ ...CLAIMS, repository_id: '666' }), 'claims', /no trust entry matched: repository_id was 666, wanted 42/, pinned);
  });

  test("a forge's token is refused under an entry that pins no repository, unless it says any_repository", async () => {
    const loose = new TokenVerifier({ audience: 'govern', trust: [{ issuer: issuer.url, claims: { ref: 'refs/heads/main' } }] });
    await rejects(issuer.sign(CLAIMS), 'claims', /identity\.trust\[0\] names no GitHub repository by id, so it lets in every repository .*: add repository_id/, loose);
    const gitlab = { aud: 'govern', project_id: '815', namespace_id: '9', project_path: 'acme/app' };
    await rejects(issuer.sign(gitlab), 'claims', /names no GitLab repository by id.*add project_id \(or namespace_id for a whole group\)/, loose);
    const open = new TokenVerifier({ audience: 'govern', trust: [{ issuer: issuer.url, claims: { ref: 'refs/heads/main' }, anyRepository: true }] });
    assert.equal((await open.verify(await issuer.sign(CLAIMS))).kind, 'oidc');
  });

  describe('what a token says is never trusted to be well-formed', () => {
    const pinned = () => new TokenVerifier({ audience: 'govern', trust: [{ issuer: issuer.url, claims: { repository_id: 42, ref: 'refs/heads/main' } }] });

    test('the issuer is compared exactly: a trailing slash is another issuer', () =>
      rejects(issuer.sign({ ...CLAIMS, iss: `${issuer.url}/` }), 'iss', /issuer "http:\/\/127\.0\.0\.1:\d+\/" is not trusted/));

    test('a padded segment is refused before any decoding', async () => {
      const [h, p, sig] = (await issuer.sign(CLAIMS)).split('.');
      await rejects(`${h}=.${p}.${sig}`, 'format', /header part is not base64url \(padding, whitespace or other characters\)/);
      await rejects(`${h}.${p}.${sig}==`, 'format', /signature part is not base64url/);
    });

    test('whitespace inside a segment is refused', async () => {
      const [h, p, sig] = (await issuer.sign(CLAIMS)).split('.');
      await rejects(`${h}.${p!.slice(0, 10)} ${p!.slice(10)}.${sig}`, 'format', /claims part is not base64url/);
      await rejects(`${h}.${p}.${sig}\n`, 'format', /signature part is not base64url/);
    });

    test('a second spelling of the same signature (non-zero trailing bits) is refused', async () => {
      const [h, p, sig] = (await issuer.sign(CLAIMS)).split('.');
      assert.equal(sig!.length % 4, 2, 'an RS256 signature leaves 4 unused bits in its last character');
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const respelt = `${sig!.slice(0, -1)}${alphabet[alphabet.indexOf(sig!.at(-1)!) | 1]}`;
      assert.deepEqual(Buffer.from(respelt, 'base64url'), Buffer.from(sig!, 'base64url'), 'a lenient decoder reads the same bytes');
      await rejects(`${h}.${p}.${respelt}`, 'format', /signature part is not canonical base64url/);
      assert.equal((await verifier.verify(`${h}.${p}.${sig}`)).kind, 'oidc');
    });

    test('a claim holding a newline cannot start a workflow command in the log', async () => {
      await assert.rejects(pinned().verify(await issuer.sign({ ...CLAIMS, ref: 'x\n::error::owned\r\u2028::warning::too' })), (e: Error) => {
        assert.match(e.message, /ref was x ::error::owned {2}::warning::too, wanted refs\/heads\/main/);
        assert.doesNotMatch(e.message, /[\n\r\u2028]/);
        return true;
      });
    });

    test('a 1 MB kid makes a short message, cut with an ellipsis', async () => {
      await assert.rejects(verifier.verify(await issuer.sign(CLAIMS, { kid: 'k'.repeat(1 << 20) })), (e: Error) => {
        assert.match(e.message, /no key in the issuer's JWKS matches kid "k{120}…"$/);
        assert.ok(e.message.length < 300);
        return true;
      });
    });

    test('object- and list-valued claims get a sentence', async () => {
      const v = pinned();
      await rejects(issuer.sign({ ...CLAIMS, repository_id: { toString: 1 } }), 'claims', /repository_id is a JSON object, which never matches \(claims match only as strings, numbers or booleans\)/, v);
      await rejects(issuer.sign({ ...CLAIMS, ref: ['refs/heads/main'] }), 'claims', /ref is a JSON list, which never matches/, v);
      await rejects(issuer.sign({ ...CLAIMS, iss: { toString: 1 } as unknown as string }), 'iss', /"iss" claim is a JSON object, not a string/, v);
      await rejects(issuer.forge({ alg: { toString: 1 }, typ: 'JWT' }, CLAIMS), 'alg', /algorithm a JSON object is not allowed/, v);
    });
  });

  test('rejects what is not a JWT', () => rejects('not-a-token', 'format', /not a JWT/));

  test('fetches the token from the GitHub token request service', async () => {
    issuer.requestClaims = CLAIMS;
    const obtained = await obtainToken({ env: { ACTIONS_ID_TOKEN_REQUEST_URL: issuer.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.requestToken }, audience: 'govern' });
    assert.ok(obtained);
    assert.equal(obtained.source, 'GitHub Actions OIDC');
    assert.equal((await verifier.verify(obtained.token)).claims.repository, 'acme/payments');
  });

  test('--token-env names the variable, and an empty one is an error', async () => {
    assert.deepEqual(await obtainToken({ env: { CIRCLE_OIDC_TOKEN_V2: 'abc' }, tokenEnv: 'CIRCLE_OIDC_TOKEN_V2', audience: 'govern' }), {
      token: 'abc',
      source: '$CIRCLE_OIDC_TOKEN_V2',
      variable: 'CIRCLE_OIDC_TOKEN_V2',
    });
    await assert.rejects(obtainToken({ env: {}, tokenEnv: 'NOPE', audience: 'govern' }), /--token-env names NOPE, but that variable is empty or not set/);
  });
});
