import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import { ErrorCode, GovernError } from '../../base/errors.js';
import { globMatcher } from '../../base/glob.js';
import { parseDuration } from '../../base/duration.js';
import type { ConnectionSpec } from '../../policy/types.js';

const { utils } = ssh2;

/** The target as the policy gives it; the key and password never leave the gateway. */
export interface SshTarget {
  host: string;
  port: number;
  user: string;
  privateKey?: string;
  password?: string;
  /** The pinned host keys, as base64 of their wire blobs. */
  hostKeys: ReadonlySet<string>;
  keepaliveMs: number;
  /** Whether ~/.ssh/config includes the job's ssh config while the job runs. */
  userSshConfig: boolean;
  /** Whether the job may send a variable of this name. */
  envAllowed: (name: string) => boolean;
  maxScript: number;
}

/** A connection whose settings cannot work: the gateway does not start, and says which setting to fix. */
export class SshSettingsError extends GovernError {
  constructor(message: string) {
    super(ErrorCode.GatewayStartFailed, message);
  }
}

const DEFAULT_KEEPALIVE = '15s';
const DEFAULT_MAX_SCRIPT = 1 << 20;

export function parseSshSettings(connection: ConnectionSpec): SshTarget {
  const s = connection.settings as {
    host: string;
    port?: number;
    user: string;
    private_key?: string;
    password?: string;
    known_hosts?: string;
    keepalive?: string;
    user_ssh_config?: boolean;
    env?: string[];
    max_script?: number;
  };
  const where = `connection "${connection.name}"`;
  if (!s.private_key && !s.password) throw new SshSettingsError(`${where} needs private_key or password to log in to ${s.host}`);
  if (s.private_key) {
    const parsed = utils.parseKey(s.private_key);
    if (parsed instanceof Error) throw new SshSettingsError(`${where}: private_key is not a private key ssh can read (${parsed.message})`);
  }
  const env = (s.env ?? []).map((g) => globMatcher(g, { separator: '/' }));
  return {
    host: s.host,
    port: s.port ?? 22,
    user: s.user,
    ...(s.private_key && { privateKey: s.private_key }),
    ...(s.password && { password: s.password }),
    hostKeys: parseKnownHosts(s.known_hosts ?? ''),
    keepaliveMs: parseDuration(s.keepalive ?? DEFAULT_KEEPALIVE),
    userSshConfig: s.user_ssh_config ?? true,
    envAllowed: (name) => env.some((m) => m(name)),
    maxScript: s.max_script ?? DEFAULT_MAX_SCRIPT,
  };
}

/**
 * The key blobs of known_hosts lines (`host type base64`, or `type base64` alone). Revoked and CA
 * lines are not pins; host patterns are not needed, since the policy gives one target per connection.
 */
export function parseKnownHosts(text: string): Set<string> {
  const keys = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('@')) continue;
    const fields = line.split(/\s+/);
    const at = isKeyType(fields[0]!) ? 0 : 1;
    if (fields[at + 1] && isKeyType(fields[at]!)) keys.add(fields[at + 1]!);
  }
  return keys;
}

function isKeyType(word: string): boolean {
  return /^(ssh-|ecdsa-|sk-)/.test(word);
}

/** The fingerprint OpenSSH prints: SHA256 of the key blob, base64 without padding. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}
