import { constants, createHash, publicEncrypt, timingSafeEqual } from 'node:crypto';

export const NATIVE = 'mysql_native_password';
export const CACHING_SHA2 = 'caching_sha2_password';
/** The plugins a job may authenticate with; both prove the job-scoped password without sending it. */
export const JOB_PLUGINS: ReadonlySet<string> = new Set([NATIVE, CACHING_SHA2]);

function sha1(...parts: Buffer[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

function sha256(...parts: Buffer[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i % b.length]!;
  return out;
}

/** What a client answers a plugin's 20-byte nonce with, for `password`. */
export function scramble(plugin: string, password: string, nonce: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const pw = Buffer.from(password, 'utf8');
  if (plugin === NATIVE) {
    const stage1 = sha1(pw);
    return xor(stage1, sha1(nonce, sha1(stage1)));
  }
  if (plugin === CACHING_SHA2) {
    const stage1 = sha256(pw);
    return xor(stage1, sha256(sha256(stage1), nonce));
  }
  throw new Error(`the authentication plugin ${plugin} is not supported`);
}

/** Whether a client's answer proves it knows `password`. */
export function verifyScramble(plugin: string, password: string, nonce: Buffer, answer: Buffer): boolean {
  if (!JOB_PLUGINS.has(plugin)) return false;
  const expected = scramble(plugin, password, nonce);
  return answer.length === expected.length && timingSafeEqual(answer, expected);
}

/** caching_sha2_password's full authentication without TLS: the password, XORed with the nonce, under the server's RSA key. */
export function rsaEncryptPassword(password: string, nonce: Buffer, publicKeyPem: string): Buffer {
  const plain = xor(Buffer.concat([Buffer.from(password, 'utf8'), Buffer.from([0])]), nonce);
  return publicEncrypt({ key: publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING }, plain);
}
