import { generateKeyPairSync, sign, verify as verifySignature, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { JobBinding } from '../identity/binding.js';
import { canonical, sha256Hex } from './canonical.js';
import { EVENTS_FILE, MANIFEST_FILE, RESERVE_FILE } from './recorder.js';

export const BUNDLE_FORMAT = 'govern-session/1';
/** The policy in force, byte for byte as the gateway read it (no `${VAR}` expanded): its sha256 is `policy.sha256`. */
export const POLICY_FILE = 'policy.yml';

export interface Counts {
  operations: number;
  allowed: number;
  masked_values: number;
  blocked: number;
  approved: number;
  denied: number;
  /** Observe mode: what the policy would have blocked or held, and let through. */
  would_block: number;
  would_hold: number;
}

export interface ManifestBody {
  format: typeof BUNDLE_FORMAT;
  session_id: string;
  started_at: string;
  ended_at: string;
  /** Why the session ended: stop, signal, or the command's exit. */
  end_reason: string;
  identity: Readonly<Record<string, unknown>>;
  /** `bundled` names the copy of the policy inside the bundle (absent in bundles made before it was kept). */
  policy: { file: string; sha256: string; mode: string; bundled?: typeof POLICY_FILE };
  connections: readonly { name: string; protocol: string; export: string; target: string }[];
  counts: Counts;
  /**
   * The chain as written: its last whole event. `failure` is set when the recording failed (a full
   * disk): it says where the record stops, and what after that point was cut off or never written.
   */
  events: { count: number; head: string; failure?: string };
  /** sha256 of every other file of the bundle, so a removed or altered recording is noticed. */
  files: Readonly<Record<string, string>>;
  public_key: string;
  /** The forge's token binding public_key to the job, or why there is none (absent in older bundles). */
  job_binding?: JobBinding;
}

export interface Manifest extends ManifestBody {
  signature: string;
}

/** A per-run Ed25519 key: the private half lives only in the gateway's memory and dies with it. */
export class SessionSigner {
  readonly #privateKey: KeyObject;
  /** "ed25519:<base64url of the raw 32-byte key>", as printed in the job log and summary. */
  readonly publicKey: string;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    this.#privateKey = privateKey;
    this.publicKey = `ed25519:${publicKey.export({ format: 'jwk' }).x}`;
  }

  sign(body: ManifestBody): string {
    return sign(null, Buffer.from(canonical(body)), this.#privateKey).toString('base64url');
  }
}

export function publicKeyObject(publicKey: string): KeyObject {
  const x = publicKey.replace(/^ed25519:/, '');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
}

export function signatureValid(manifest: Manifest): boolean {
  const { signature, ...body } = manifest;
  try {
    return verifySignature(null, Buffer.from(canonical(body)), publicKeyObject(manifest.public_key), Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/** Every file of the bundle but the manifest, by its path inside the bundle. */
export function bundleFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.filter((f) => f !== MANIFEST_FILE && f !== EVENTS_FILE && !isRuntimeFile(f));
}

/** Files the running gateway keeps beside the bundle, which are not part of it. */
export function isRuntimeFile(name: string): boolean {
  return name === 'gateway.json' || name === 'gateway.log' || name.endsWith('.sock') || name === RESERVE_FILE;
}

/** Keeps the policy in the bundle at the start, so the signature covers the rules that were in force. */
export function writePolicyCopy(dir: string, source: Buffer): void {
  writeFileSync(join(dir, POLICY_FILE), source, { mode: 0o644, flag: 'wx' });
}

export function writeManifest(dir: string, body: Omit<ManifestBody, 'files' | 'public_key' | 'format'>, signer: SessionSigner): Manifest {
  const files: Record<string, string> = { [EVENTS_FILE]: sha256Hex(readFileSync(join(dir, EVENTS_FILE))) };
  for (const f of bundleFiles(dir)) files[f] = sha256Hex(readFileSync(join(dir, f)));
  const full: ManifestBody = { format: BUNDLE_FORMAT, ...body, files, public_key: signer.publicKey };
  const manifest: Manifest = { ...full, signature: signer.sign(full) };
  writeFileSync(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
  return manifest;
}
