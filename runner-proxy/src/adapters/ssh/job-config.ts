import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';

const { utils } = ssh2;

/**
 * A new ed25519 key pair in OpenSSH's formats. ssh2's generator writes an ed25519 public key whose first
 * byte is zero one byte short (about one key in 256), which neither ssh2 nor OpenSSH can read: such a
 * pair is made again.
 */
export function ed25519KeyPair(comment?: string): { private: string; public: string } {
  for (;;) {
    const pair = utils.generateKeyPairSync('ed25519', comment === undefined ? {} : { comment });
    if (!(utils.parseKey(pair.public) instanceof Error)) return pair;
  }
}

/** The ciphers both sides prefer: AES-GCM runs natively in Node; chacha20 would need ssh2's native addon. */
export const CIPHERS = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr'];

export interface JobSshFiles {
  dir: string;
  /** The ssh config with the connection's Host block. */
  config: string;
  /** The key the job's ssh logs in with. */
  clientPublicKey: Buffer;
}

/**
 * A per-run client key (0600), the pin of the per-run host key, and an ssh config naming them, in a private temp
 * directory that is removed at stop. The job's ssh pins the host key through HostKeyAlias.
 */
export function writeJobSshFiles(options: { alias: string; port: number; user: string; hostPublicKey: string }): JobSshFiles {
  const dir = mkdtempSync(join(tmpdir(), 'govern-ssh-'));
  chmodSync(dir, 0o700);
  const client = ed25519KeyPair(`govern ${options.alias}`);
  const identity = join(dir, 'id_ed25519');
  writeFileSync(identity, client.private, { mode: 0o600 });
  writeFileSync(`${identity}.pub`, `${client.public}\n`, { mode: 0o600 });
  const keyAlias = `govern-${options.alias}`;
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `${keyAlias} ${options.hostPublicKey.split(' ').slice(0, 2).join(' ')}\n`, { mode: 0o600 });
  const config = join(dir, 'config');
  writeFileSync(
    config,
    [
      `# Written by govern for this job; removed when the job ends.`,
      `Host ${options.alias}`,
      `  HostName 127.0.0.1`,
      `  Port ${options.port}`,
      `  User ${options.user}`,
      `  IdentityFile "${identity}"`,
      `  IdentitiesOnly yes`,
      `  HostKeyAlias ${keyAlias}`,
      `  UserKnownHostsFile "${knownHosts}"`,
      `  GlobalKnownHostsFile /dev/null`,
      `  StrictHostKeyChecking yes`,
      `  CheckHostIP no`,
      `  Ciphers ${CIPHERS.join(',')}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const clientKey = utils.parseKey(client.public);
  if (clientKey instanceof Error) throw clientKey;
  return { dir, config, clientPublicKey: clientKey.getPublicSSH() };
}

export function removeJobSshFiles(files: JobSshFiles): void {
  rmSync(files.dir, { recursive: true, force: true });
}

/**
 * Adds `Include CONFIG` at the top of ~/.ssh/config in a marked block, the way ssh-agent actions do, so
 * unmodified ssh, scp, rsync and git find the alias. `restore` takes exactly that block out again
 * (keeping anything the job added), and removes the file and ~/.ssh when they did not exist before.
 */
export class UserSshConfigInclude {
  readonly #sshDir: string;
  readonly #file: string;
  readonly #block: string;
  readonly #createdDir: boolean;
  readonly #createdFile: boolean;

  constructor(config: string, connection: string, home = homedir()) {
    this.#sshDir = join(home, '.ssh');
    this.#file = join(this.#sshDir, 'config');
    this.#block = `# >>> govern ${connection}: added for this job, removed when it ends >>>\nInclude "${config}"\n# <<< govern ${connection} <<<\n`;
    this.#createdDir = !existsSync(this.#sshDir);
    if (this.#createdDir) mkdirSync(this.#sshDir, { mode: 0o700 });
    this.#createdFile = !existsSync(this.#file);
    const before = this.#createdFile ? Buffer.alloc(0) : readFileSync(this.#file);
    writeFileSync(this.#file, Buffer.concat([Buffer.from(this.#block), before]), { mode: 0o600 });
  }

  get file(): string {
    return this.#file;
  }

  restore(): void {
    if (!existsSync(this.#file)) return;
    const now = readFileSync(this.#file, 'latin1');
    const at = now.indexOf(this.#block);
    if (at < 0) return;
    const restored = now.slice(0, at) + now.slice(at + this.#block.length);
    if (restored === '' && this.#createdFile) {
      unlinkSync(this.#file);
      if (this.#createdDir) {
        try {
          rmdirSync(this.#sshDir);
        } catch {
          // Not empty: what the job put in the ~/.ssh that govern created stays.
        }
      }
      return;
    }
    writeFileSync(this.#file, Buffer.from(restored, 'latin1'));
  }
}
