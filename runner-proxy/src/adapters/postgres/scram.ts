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

/** One client-side exchange with the target. */
export class ScramClient {
  readonly #password: string;
  readonly #clientNonce = randomBytes(18).toString('base64');
  #clientFirstBare = '';
  #expectedServerSignature: Buffer | undefined;

  constructor(password: string) {
    this.#password = password;
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
