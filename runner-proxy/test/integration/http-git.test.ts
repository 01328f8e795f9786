import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { governHttp, makeCertificates, secretOf, startGitServer, type GitServer, type GovernedHttp } from '../fixtures/http-upstream.js';
import { runClient } from '../fixtures/postgres.js';

const TOKEN = 'git-real-token-77aa';

describe('git clone over HTTPS through the gateway', () => {
  let server: GitServer;
  let governed: GovernedHttp;

  before(async () => {
    const certificates = makeCertificates();
    server = await startGitServer(certificates, TOKEN);
    governed = await governHttp(server.url, '', { token: TOKEN, ca: certificates.caPem, extra: 'proxy: { others: refuse }' });
  });
  after(async () => {
    await governed?.stop();
    await server?.stop();
  });

  test('the target refuses a clone without the credential', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'govern-clone-'));
    const r = await runClient('git', ['-c', 'http.sslVerify=false', 'clone', '-q', `${server.url}/repo.git`, join(dir, 'c')], { env: { PATH: process.env.PATH, GIT_TERMINAL_PROMPT: '0' } });
    assert.notEqual(r.status, 0);
  });

  test('through the connection’s loopback URL; not without its secret segment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'govern-clone-'));
    const env = { PATH: process.env.PATH, GIT_TERMINAL_PROMPT: '0' };
    const r = await runClient('git', ['clone', '-q', `${governed.url}/repo.git`, join(dir, 'c')], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(dir, 'c', 'README'), 'utf8'), 'governed clone\n');
    const { origin } = new URL(governed.url);
    for (const url of [`${origin}/repo.git`, `${origin}/${secretOf(governed.url)}x/repo.git`]) {
      const refused = await runClient('git', ['clone', '-q', url, join(dir, 'refused')], { env });
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /403/);
    }
  });

  test('through HTTPS_PROXY with GIT_SSL_CAINFO, the original URL unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'govern-clone-'));
    // The test's target is on loopback, which the exported NO_PROXY keeps out of the proxy.
    const env = { PATH: process.env.PATH, GIT_TERMINAL_PROMPT: '0', ...governed.gateway.exports(), NO_PROXY: '', no_proxy: '' };
    const r = await runClient('git', ['clone', '-q', `${server.url}/repo.git`, join(dir, 'c')], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(dir, 'c', 'README'), 'utf8'), 'governed clone\n');
    // Without the proxy URL's credentials, the proxy refuses.
    const bare = governed.gateway.exports().HTTPS_PROXY!.replace(/\/\/[^@]*@/, '//');
    const refused = await runClient('git', ['clone', '-q', `${server.url}/repo.git`, join(dir, 'refused')], { env: { ...env, HTTPS_PROXY: bare, https_proxy: bare } });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /407/);
  });
});
