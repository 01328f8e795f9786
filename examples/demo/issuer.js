// The demo's stand-in for GitHub's token service: an OIDC issuer on loopback (discovery document and
// JWKS) that signs RS256 tokens with a key made for this run. node:crypto only, so the demo needs no
// build and no test toolchain.
import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer } from 'node:http';

const KID = 'demo-1';
const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

export async function startIssuer() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' }] };
  let url = '';
  const server = createServer((req, res) => {
    const body =
      req.url === '/.well-known/openid-configuration' ? { issuer: url, jwks_uri: `${url}/.well-known/jwks` }
      : req.url === '/.well-known/jwks' ? jwks
      : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? { message: 'not found' }));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    /** A token as the issuer would mint it for a job with these claims, valid for five minutes. */
    async sign(claims) {
      const now = Math.floor(Date.now() / 1000);
      const input = `${part({ alg: 'RS256', typ: 'JWT', kid: KID })}.${part({ iss: url, iat: now, exp: now + 300, ...claims })}`;
      return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
