import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { RunCertificateAuthority } from '../../src/adapters/run-ca.js';

const dir = mkdtempSync(join(tmpdir(), 'govern-ca-'));

/** The CA's nameConstraints extension as `openssl x509 -text` prints it, or '' when it has none. */
function constraintsOf(ca: RunCertificateAuthority): string {
  writeFileSync(join(dir, 'ca.pem'), ca.certPem);
  const text = spawnSync('openssl', ['x509', '-in', join(dir, 'ca.pem'), '-noout', '-text'], { encoding: 'utf8' }).stdout;
  return /X509v3 Name Constraints: critical\n[\s\S]*?(?=\n {12}X509v3|\n {4}Signature Algorithm)/.exec(text)?.[0] ?? '';
}

/** `openssl verify -CAfile` of a leaf the CA issues for `host`: 'OK', or openssl's error. */
function verifyLeaf(ca: RunCertificateAuthority, host: string): string {
  writeFileSync(join(dir, 'ca.pem'), ca.certPem);
  writeFileSync(join(dir, 'leaf.pem'), ca.issue(host));
  const r = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' });
  return r.status === 0 ? 'OK' : (/error \d+ at 0 depth lookup: (.*)/.exec(r.stdout + r.stderr)?.[1] ?? r.stdout + r.stderr);
}

describe("the forward proxy's run CA", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  const ca = new RunCertificateAuthority('test', ['localhost', 'api.vendor.example', '*.eu.example.com', '**.svc.example', 'api.{us,de}.pay.example', '10.0.0.7', '::1', '::ffff:10.0.0.9']);

  test('carries critical name constraints: the intercepted hosts, glob subtrees and addresses, nothing below an exact host', () => {
    const lines = constraintsOf(ca).split('\n').map((l) => l.trim());
    assert.deepEqual(lines, [
      'X509v3 Name Constraints: critical',
      'Permitted:',
      'DNS:localhost',
      'DNS:api.vendor.example',
      'DNS:.eu.example.com',
      'DNS:.svc.example',
      'DNS:api.us.pay.example',
      'DNS:api.de.pay.example',
      'IP:10.0.0.7/255.255.255.255',
      'IP:0:0:0:0:0:0:0:1/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF',
      'IP:0:0:0:0:0:FFFF:A00:9/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF',
      'Excluded:',
      'DNS:.localhost',
      'DNS:.api.vendor.example',
      'DNS:.api.us.pay.example',
      'DNS:.api.de.pay.example',
    ]);
  });

  test('a leaf for an intercepted name verifies', () => {
    for (const host of ['localhost', 'api.vendor.example', 'a.eu.example.com', 'a.b.svc.example', 'api.de.pay.example', '10.0.0.7', '::1', '::ffff:10.0.0.9']) {
      assert.equal(verifyLeaf(ca, host), 'OK', host);
    }
  });

  test('a leaf the same CA issues for any other name fails verification on the name constraints', () => {
    const outside = {
      'github.com': 'permitted subtree violation',
      'eu.example.com': 'permitted subtree violation',
      'api.fr.pay.example': 'permitted subtree violation',
      'evil.localhost': 'excluded subtree violation',
      'x.api.vendor.example': 'excluded subtree violation',
      '10.0.0.8': 'permitted subtree violation',
      '127.0.0.1': 'permitted subtree violation',
      '::2': 'permitted subtree violation',
    };
    for (const [host, error] of Object.entries(outside)) assert.equal(verifyLeaf(ca, host), error, host);
  });

  test('no addresses intercepted: every address is excluded; only addresses: DNS names are confined to `invalid`', () => {
    const names = new RunCertificateAuthority('test', ['localhost']);
    assert.equal(verifyLeaf(names, '127.0.0.1'), 'excluded subtree violation');
    assert.equal(verifyLeaf(names, '::1'), 'excluded subtree violation');
    const addresses = new RunCertificateAuthority('test', ['127.0.0.1']);
    assert.equal(verifyLeaf(addresses, '127.0.0.1'), 'OK');
    assert.equal(verifyLeaf(addresses, 'localhost'), 'permitted subtree violation');
  });

  test('a glob with a wildcard last label leaves DNS names unconstrained; one that could match an address, addresses too', () => {
    const anyName = new RunCertificateAuthority('test', ['example.*', '10.0.0.7']);
    assert.equal(verifyLeaf(anyName, 'anything.example.org'), 'OK');
    assert.equal(verifyLeaf(anyName, '10.0.0.8'), 'permitted subtree violation');
    assert.equal(constraintsOf(new RunCertificateAuthority('test', ['10.0.*.*'])), '', 'nothing left to constrain: no extension');
  });
});
