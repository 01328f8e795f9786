import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it: the gateway verifies the job's
 * job-scoped password with it, and authenticates to the target with the real one. Channel binding
 * (-PLUS) is not offered: the job's side is plain TCP on loopback.
 */
export const MECHANISM = 'SCRAM-SHA-256';
const ITERATIONS = 4096;

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function attributes(message: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) map.set(part[0]!, part.slice(2));
  }
  return map;
}

export class ScramError extends Error {}

/** The server's stored secret for one password, derived once. */
export interface ScramVerifier {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

export function makeVerifier(password: string, salt = randomBytes(16), iterations = ITERATIONS): ScramVerifier {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  return { salt, iterations, storedKey: sha256(hmac(salted, 'Client Key')), serverKey: hmac(salted, 'Server Key') };
}

/** One server-side exchange: client-first → server-first, client-final → server-final. */
export class ScramServer {
  readonly #verifier: ScramVerifier;
  #clientFirstBare = '';
  #serverFirst = '';
  #nonce = '';
  #gs2Header = '';

  constructor(verifier: ScramVerifier) {
    this.#verifier = verifier;
  }

  /** The SASLInitialResponse's data; returns the server-first-message. */
  start(clientFirst: string): string {
    const secondComma = clientFirst.indexOf(',', clientFirst.indexOf(',') + 1);
    if (secondComma < 0) throw new ScramError('malformed SCRAM client-first-message');
    const flag = clientFirst[0];
    if (flag === 'p') throw new ScramError('channel binding was requested, but the gateway offers none on loopback');
    if (flag !== 'n' && flag !== 'y') throw new ScramError('malformed SCRAM client-first-message');
    this.#gs2Header = clientFirst.slice(0, secondComma + 1);
    this.#clientFirstBare = clientFirst.slice(secondComma + 1);
    const clientNonce = attributes(this.#clientFirstBare).get('r');
    if (!clientNonce) throw new ScramError('the SCRAM client-first-message has no nonce');
    this.#nonce = clientNonce + randomBytes(18).toString('base64');
    this.#serverFirst = `r=${this.#nonce},s=${this.#verifier.salt.toString('base64')},i=${this.#verifier.iterations}`;
    return this.#serverFirst;
  }

  /** The SASLResponse's data; returns the server-final-message, or throws when the proof is wrong. */
  finish(clientFinal: string): string {
    const attrs = attributes(clientFinal);
    const proofAt = clientFinal.lastIndexOf(',p=');
    if (proofAt < 0 || !attrs.get('p')) throw new ScramError('the SCRAM client-final-message has no proof');
    if (attrs.get('r') !== this.#nonce) throw new ScramError('the SCRAM nonce does not match');
    if (attrs.get('c') !== Buffer.from(this.#gs2Header).toString('base64')) throw new ScramError('the SCRAM channel binding does not match');
    const withoutProof = clientFinal.slice(0, proofAt);
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`;
    const proof = Buffer.from(attrs.get('p')!, 'base64');
    const signature = hmac(this.#verifier.storedKey, authMessage);
    if (proof.length !== signature.length) throw new ScramError('password authentication failed');
    const clientKey = xor(proof, signature);
    if (!timingSafeEqual(sha256(clientKey), this.#verifier.storedKey)) throw new ScramError('password authentication failed');
    return `v=${hmac(this.#verifier.serverKey, authMessage).toString('base64')}`;
  }
}

/** RFC 3454 B.1: mapped to nothing. */
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/gu;
/** RFC 3454 C.1.2: non-ASCII spaces, mapped to SPACE. */
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/gu;
/** RFC 3454 C.1.2, C.2.1, C.2.2, C.3 to C.9: prohibited in the output. */
const PROHIBITED = new RegExp(
  '[\\u00A0\\u1680\\u2000-\\u200B\\u202F\\u205F\\u3000\\u0000-\\u001F\\u007F-\\u009F\\u06DD\\u070F\\u180E\\u200C\\u200D\\u2028\\u2029' +
    '\\u2060-\\u2063\\u206A-\\u206F\\uFEFF\\uFFF9-\\uFFFD\\u{1D173}-\\u{1D17A}\\uE000-\\uF8FF\\u{F0000}-\\u{FFFFD}\\u{100000}-\\u{10FFFD}' +
    '\\uFDD0-\\uFDEF\\uFFFE\\uFFFF\\u{1FFFE}\\u{1FFFF}\\u{2FFFE}\\u{2FFFF}\\u{3FFFE}\\u{3FFFF}\\u{4FFFE}\\u{4FFFF}\\u{5FFFE}\\u{5FFFF}' +
    '\\u{6FFFE}\\u{6FFFF}\\u{7FFFE}\\u{7FFFF}\\u{8FFFE}\\u{8FFFF}\\u{9FFFE}\\u{9FFFF}\\u{AFFFE}\\u{AFFFF}\\u{BFFFE}\\u{BFFFF}\\u{CFFFE}\\u{CFFFF}' +
    '\\u{DFFFE}\\u{DFFFF}\\u{EFFFE}\\u{EFFFF}\\u{FFFFE}\\u{FFFFF}\\u{10FFFE}\\u{10FFFF}\\uD800-\\uDFFF\\u2FF0-\\u2FFB\\u0340\\u0341\\u200E\\u200F' +
    '\\u202A-\\u202E\\u{E0001}\\u{E0020}-\\u{E007F}]',
  'u',
);
/** RFC 3454 D.1, characters with bidirectional property R or AL. */
const RAND_AL = /[\u05BE\u05C0\u05C3\u05D0-\u05EA\u05F0-\u05F4\u061B\u061F\u0621-\u063A\u0640-\u064A\u066D-\u066F\u0671-\u06D5\u06DD\u06E5\u06E6\u06FA-\u06FE\u0700-\u070D\u0710\u0712-\u072C\u0780-\u07A5\u07B1\u200F\uFB1D\uFB1F-\uFB28\uFB2A-\uFB36\uFB38-\uFB3C\uFB3E\uFB40\uFB41\uFB43\uFB44\uFB46-\uFBB1\uFBD3-\uFD3D\uFD50-\uFD8F\uFD92-\uFDC7\uFDF0-\uFDFC\uFE70-\uFE74\uFE76-\uFEFC]/u;

/**
 * SASLprep (RFC 4013) of a password, as PostgreSQL applies it when it stores a SCRAM secret and libpq
 * when it answers: map, NFKC, then check prohibited characters and bidirectional text. A password it
 * rejects is used as it is, as both of them do. Unassigned code points are not checked (PostgreSQL
 * accepts them in stored passwords alike).
 */
export function saslPrep(password: string): string {
  if (/^[\x20-\x7E]*$/.test(password)) return password;
  const prepared = password.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ').normalize('NFKC');
  if (PROHIBITED.test(prepared)) return password;
  if (RAND_AL.test(prepared)) {
    const chars = [...prepared];
    const leftToRight = chars.some((c) => /\p{L}/u.test(c) && !RAND_AL.test(c));
    if (leftToRight || !RAND_AL.test(chars[0]!) || !RAND_AL.test(chars.at(-1)!)) return password;
  }
  return prepared;
}

/** One client-side exchange with the target. */
export class ScramClient {
  readonly #password: string;
  readonly #clientNonce = randomBytes(18).toString('base64');
  #clientFirstBare = '';
  #expectedServerSignature: Buffer | undefined;

  constructor(password: string) {
    this.#password = saslPrep(password);
  }

  /** The SASLInitialResponse data. */
  first(): string {
    this.#clientFirstBare = `n=*,r=${this.#clientNonce}`;
    return `n,,${this.#clientFirstBare}`;
  }

  /** Answers the server-first-message with the client-final-message. */
  respond(serverFirst: string): string {
    const attrs = attributes(serverFirst);
    const nonce = attrs.get('r');
    const salt = attrs.get('s');
    const iterations = Number(attrs.get('i'));
    if (!nonce?.startsWith(this.#clientNonce) || nonce.length === this.#clientNonce.length) throw new ScramError('the target sent a bad SCRAM nonce');
    if (!salt || !Number.isInteger(iterations) || iterations < 1) throw new ScramError('the target sent a malformed SCRAM server-first-message');
    const salted = pbkdf2Sync(this.#password, Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
    const clientKey = hmac(salted, 'Client Key');
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
    const proof = xor(clientKey, hmac(sha256(clientKey), authMessage));
    this.#expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Checks the server-final-message, so a target that does not know the password is not trusted. */
  verify(serverFinal: string): void {
    const v = Buffer.from(attributes(serverFinal).get('v') ?? '', 'base64');
    const expected = this.#expectedServerSignature;
    if (!expected || v.length !== expected.length || !timingSafeEqual(v, expected)) {
      throw new ScramError("the target's SCRAM server signature does not verify");
    }
  }
}
