import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { ErrorCode, GovernError } from '../base/errors.js';
import { withJobNoProxy } from '../gateway/job-env.js';
import type { Env } from '../base/env.js';

const START_TIMEOUT_MS = 60_000;
const LOG_FILE = 'gateway.log';

export interface ReadyMessage {
  ready?: boolean;
  env?: Record<string, string>;
  secrets?: string[];
  /** Variables the gateway read (the policy's secrets, the token) that the caller's shell should drop. */
  withheld?: string[];
  publicKey?: string;
  /** Who the run is, in one line, for the job log. */
  identity?: string;
  error?: string;
  code?: ErrorCode;
}

export interface DetachedOptions {
  /** The govern CLI script to run as the gateway. */
  entry: string;
  outDir: string;
  policy?: string;
  tokenEnv?: string;
  mode?: string;
  env: Env;
}

export interface Started {
  env: Record<string, string>;
  secrets: string[];
  withheld: string[];
  publicKey: string;
  identity: string;
  outDir: string;
  pid: number;
}

/**
 * Launches `govern serve` detached, its output going to DIR/gateway.log (never the caller's stdio,
 * which would keep a CI step open), and resolves once the gateway reports ready.
 */
export async function startDetached({ entry, outDir: out, policy, tokenEnv, mode, env }: DetachedOptions): Promise<Started> {
  const outDir = resolve(out);
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const logPath = join(outDir, LOG_FILE);
  const logFd = openSync(logPath, 'a', 0o600);
  // A young generation of 2 MB rather than V8's up to 48 MB: the gateway's garbage (frames, statements,
  // events) dies young, and the default made up a third of its resident memory under load. One V8 helper
  // thread rather than one per core: the gateway's work is on its main thread, and each helper kept
  // compiler and collector memory of its own (RSS after 20,000 distinct statements 150 MB → 127 MB).
  const args = ['--max-semi-space-size=2', '--v8-pool-size=1', entry, 'serve', '--out', outDir, '--ready-fd', '3'];
  if (policy) args.push('--policy', resolve(policy));
  if (tokenEnv) args.push('--token-env', tokenEnv);
  if (mode) args.push('--mode', mode);
  // Two malloc arenas rather than eight per core: V8 compiles the SQL parser's WebAssembly on background
  // threads, and memory freed there stayed with the process (204–226 MB after 100,000 distinct
  // statements, 164 MB with two arenas). A fixed mmap threshold: glibc otherwise raises it after each
  // large block freed, and later ones then fragment the heap for good.
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', logFd, logFd, 'pipe'],
    env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: String(128 * 1024), ...env },
  });
  closeSync(logFd);

  const message = await new Promise<ReadyMessage>((done) => {
    const pipe = child.stdio[3] as Readable;
    let buffered = '';
    const timer = setTimeout(() => done({ error: `the gateway did not report ready within ${START_TIMEOUT_MS / 1000} s; see ${logPath}` }), START_TIMEOUT_MS);
    const finish = (m: ReadyMessage) => {
      clearTimeout(timer);
      child.removeAllListeners('exit');
      pipe.destroy();
      done(m);
    };
    pipe.setEncoding('utf8');
    pipe.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.includes('\n')) finish(JSON.parse(buffered.slice(0, buffered.indexOf('\n'))) as ReadyMessage);
    });
    pipe.on('error', () => undefined);
    child.once('exit', (status) => finish({ error: `the gateway exited with status ${status} while starting; see ${logPath}` }));
  });
  child.unref();
  if (!message.ready) throw new GovernError(message.code ?? ErrorCode.GatewayStartFailed, message.error ?? 'the gateway failed to start');
  return { env: withJobNoProxy(message.env ?? {}, env), secrets: message.secrets ?? [], withheld: message.withheld ?? [], publicKey: message.publicKey ?? '', identity: message.identity ?? 'unknown', outDir, pid: child.pid! };
}
