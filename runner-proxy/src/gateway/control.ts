import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ErrorCode, GovernError } from '../base/errors.js';

/**
 * The local control socket: `govern status`, `stop`, `approve` and `deny` talk to a running gateway
 * through it, one JSON line each way. It is a Unix socket with mode 0600 beside the bundle.
 */
export type ControlRequest =
  | { cmd: 'status' }
  | { cmd: 'stop' }
  | { cmd: 'approve' | 'deny'; id: string; reason?: string };

export type ControlResponse = { ok: true; result: unknown } | { ok: false; code: string; error: string };

/** What a detached gateway leaves in the out dir so that later commands can find it. */
export interface RuntimeInfo {
  pid: number;
  control: string;
  session_id: string;
  public_key: string;
  started_at: string;
  env: Record<string, string>;
  secrets: string[];
}

export const RUNTIME_FILE = 'gateway.json';
/** Unix socket paths are limited to about 104 bytes; longer ones go to the temp dir under a hash. */
const MAX_SOCKET_PATH = 100;

export function controlSocketPath(outDir: string): string {
  const inside = join(resolve(outDir), 'control.sock');
  if (inside.length <= MAX_SOCKET_PATH) return inside;
  return join(tmpdir(), `govern-${createHash('sha256').update(inside).digest('hex').slice(0, 16)}.sock`);
}

export function writeRuntimeInfo(outDir: string, info: RuntimeInfo): void {
  writeFileSync(join(outDir, RUNTIME_FILE), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
}

export function readRuntimeInfo(outDir: string): RuntimeInfo {
  const path = join(outDir, RUNTIME_FILE);
  if (!existsSync(path)) {
    throw new GovernError(ErrorCode.GatewayNotRunning, `no gateway was started with --out ${outDir} (${path} does not exist)`);
  }
  return JSON.parse(readFileSync(path, 'utf8')) as RuntimeInfo;
}

export function removeRuntimeInfo(outDir: string): void {
  rmSync(join(outDir, RUNTIME_FILE), { force: true });
}

export async function serveControl(path: string, handle: (request: ControlRequest) => Promise<unknown>): Promise<Server> {
  rmSync(path, { force: true });
  const server = createServer((socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > 64 * 1024) return socket.destroy();
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      const line = buffered.slice(0, newline);
      buffered = '';
      void answer(line).then((response) => socket.end(`${JSON.stringify(response)}\n`));
    });
  });
  const answer = async (line: string): Promise<ControlResponse> => {
    try {
      return { ok: true, result: await handle(JSON.parse(line) as ControlRequest) };
    } catch (e) {
      const code = e instanceof GovernError ? e.code : ErrorCode.ControlFailed;
      return { ok: false, code, error: (e as Error).message };
    }
  };
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolveListen());
  });
  chmodSync(path, 0o600);
  return server;
}

export function callControl(path: string, request: ControlRequest, timeoutMs: number): Promise<unknown> {
  return new Promise((resolveCall, reject) => {
    const socket = createConnection(path);
    let buffered = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new GovernError(ErrorCode.ControlFailed, `the gateway did not answer "${request.cmd}" within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => (buffered += chunk));
    socket.on('error', (cause) => {
      clearTimeout(timer);
      reject(new GovernError(ErrorCode.GatewayNotRunning, `the gateway is not answering on ${path} (${(cause as NodeJS.ErrnoException).code ?? cause.message}); it may have exited`, { cause }));
    });
    socket.on('end', () => {
      clearTimeout(timer);
      let response: ControlResponse;
      try {
        response = JSON.parse(buffered) as ControlResponse;
      } catch (cause) {
        return reject(new GovernError(ErrorCode.ControlFailed, 'the gateway sent an unreadable answer', { cause }));
      }
      if (response.ok) resolveCall(response.result);
      else reject(new GovernError(response.code as ErrorCode, response.error));
    });
  });
}

/** Sends one control request to the gateway recorded in the out dir. */
export function controlGateway(outDir: string, request: ControlRequest, timeoutMs = 10_000): Promise<unknown> {
  return callControl(readRuntimeInfo(outDir).control, request, timeoutMs);
}
