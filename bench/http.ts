import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, runClient } from '../runner-proxy/test/fixtures/postgres.js';
import { startDetachedHttp } from '../runner-proxy/test/fixtures/http-upstream.js';
import { cpuSeconds } from './processes.js';

const SECONDS = Number(process.env.GOVERN_BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.GOVERN_BENCH_ROUNDS ?? 3);
const WARMUP_SECONDS = 3;
const CONNECTIONS = 32;
const THREADS = 2;
const PIPE = fileURLToPath(new URL('./pipe-proxy.js', import.meta.url));
const CPU_PROFILE = fileURLToPath(new URL('./cpu-profile.js', import.meta.url));
/** When set, only the gateway runs (profiled by `cpu-profile.ts`) and leaves its profile in this directory. */
const PROFILE_DIR = process.env.GOVERN_BENCH_PROFILE;

export type HttpPathName = 'direct' | 'nginx' | 'node' | 'net' | 'gateway' | 'mitmproxy';

/** One wrk run of one path in one round. */
export interface HttpFigure {
  path: HttpPathName;
  round: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time the proxy process used per request, in microseconds (the Node processes only). */
  cpuUsPerRequest?: number;
}

interface HttpPath {
  name: HttpPathName;
  url: string;
  pid?: number;
}

/** A 1.3 KB JSON answer with two SSNs to mask, like a small API's. */
function document(): string {
  const people = Array.from({ length: 8 }, (_, i) => ({ id: 1000 + i, name: `person ${i}`, ssn: `536-22-${String(4700 + i)}`, city: 'Springfield' }));
  return JSON.stringify({ page: 1, people });
}

/** Node's own http server and keep-alive client piping each way, nothing else: the floor for a Node proxy built on `http`. */
const BARE_NODE_PROXY = `
const http = require('node:http');
const [port, upstream] = process.argv.slice(1).map(Number);
const agent = new http.Agent({ keepAlive: true });
http.createServer((req, res) => {
  const up = http.request({ host: '127.0.0.1', port: upstream, path: req.url, method: req.method, headers: req.headers, agent }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  req.pipe(up);
}).listen(port, '127.0.0.1');
`;

function nginxConfig(dir: string, port: number, location: string, upstreamPort?: number): string {
  return `daemon off;
worker_processes 1;
pid ${dir}/nginx-${port}.pid;
error_log ${dir}/error-${port}.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  ${upstreamPort ? `upstream target { server 127.0.0.1:${upstreamPort}; keepalive 64; }` : ''}
  server {
    listen 127.0.0.1:${port};
    ${location}
  }
}
`;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await runClient('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/people.json`], { timeoutMs: 2000 });
    if (r.stdout.startsWith('2')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing answers on port ${port}`);
}

async function wrk(url: string, seconds: number, latency = true): Promise<Pick<HttpFigure, 'rps' | 'p50Ms' | 'p99Ms'> & { requests: number }> {
  const r = await runClient('wrk', [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${seconds}s`, ...(latency ? ['--latency'] : []), url], { timeoutMs: (seconds + 30) * 1000 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const ms = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(r.stdout);
    if (!m) return NaN;
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  if (!rps) throw new Error(`wrk failed: ${r.stdout}${r.stderr}`);
  return { rps, p50Ms: ms('50'), p99Ms: ms('99'), requests: Number(/(\d+) requests in/.exec(r.stdout)?.[1]) };
}

async function measure(path: HttpPath, round: number): Promise<HttpFigure> {
  const before = path.pid ? cpuSeconds(path.pid) : 0;
  const { requests, ...figure } = await wrk(`${path.url}/people.json`, SECONDS);
  return { path: path.name, round, ...figure, ...(path.pid && { cpuUsPerRequest: ((cpuSeconds(path.pid) - before) * 1e6) / requests }) };
}

/** The bare `net` pipe (`pipe-proxy.ts`) in its own process: what a Node process relays with no parsing at all. */
async function startNetPipe(upstreamPort: number, start: (command: string, args: string[]) => ChildProcess): Promise<HttpPath> {
  const child = start(process.execPath, [PIPE, String(upstreamPort)]);
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').once('data', (d: string) => resolve(Number(d.trim())));
    child.once('exit', () => reject(new Error('the pipe proxy exited before listening')));
  });
  return { name: 'net', url: `http://127.0.0.1:${port}`, pid: child.pid! };
}

/**
 * wrk against a static JSON answer from nginx (the upstream), then through nginx as a plain reverse
 * proxy, through a bare Node `http` pipe proxy, through a bare Node `net` pipe (no parsing: what a Node
 * process can relay at all), through the gateway with a JSON masking rule, and through mitmdump in
 * reverse mode. Each path is warmed up once (a Node process reaches its JIT-compiled speed only after
 * some thousands of requests), then measured in ROUNDS interleaved rounds, every path in each round,
 * so that a shared machine's load falls on all paths alike.
 */
export async function benchHttp(): Promise<HttpFigure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'govern-bench-http-'));
  const children: ChildProcess[] = [];
  const start = (command: string, args: string[]) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(child);
    return child;
  };
  try {
    writeFileSync(join(dir, 'people.json'), document());
    const upstreamPort = await freePort();
    const nginxPort = await freePort();
    writeFileSync(join(dir, 'upstream.conf'), nginxConfig(dir, upstreamPort, `location / { root ${dir}; default_type application/json; }`));
    const proxied = 'location / { proxy_pass http://target; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Authorization "Bearer bench"; }';
    writeFileSync(join(dir, 'proxy.conf'), nginxConfig(dir, nginxPort, proxied, upstreamPort));
    start('nginx', ['-c', join(dir, 'upstream.conf'), '-p', dir]);
    start('nginx', ['-c', join(dir, 'proxy.conf'), '-p', dir]);
    const nodePort = await freePort();
    const node = start(process.execPath, ['-e', BARE_NODE_PROXY, String(nodePort), String(upstreamPort)]);
    const net = await startNetPipe(upstreamPort, start);
    const mitmPort = await freePort();
    start('mitmdump', ['--mode', `reverse:http://127.0.0.1:${upstreamPort}`, '--listen-host', '127.0.0.1', '-p', String(mitmPort), '-q', '--set', `confdir=${dir}/mitm`]);
    const profiled: Record<string, string> = PROFILE_DIR ? { GOVERN_BENCH_PROFILE: PROFILE_DIR, NODE_OPTIONS: `--import=${CPU_PROFILE}` } : {};
    // The gateway checks its target when it starts: the upstream listens first.
    await Promise.all([waitForPort(upstreamPort), waitForPort(nginxPort), waitForPort(nodePort), waitForPort(mitmPort)]);
    const gateway = await startDetachedHttp(`http://127.0.0.1:${upstreamPort}`, '  - name: pii\n    mask: { json: ["$..ssn"] }\n', undefined, profiled);
    try {
      const check = await runClient('curl', ['-s', `${gateway.url}/people.json`]);
      if (!check.stdout.includes('"ssn":"[masked]"')) throw new Error(`the gateway did not mask: ${check.stdout.slice(0, 200)}`);
      const gatewayPath: HttpPath = { name: 'gateway', url: gateway.url, pid: gateway.pid };
      const paths: HttpPath[] = PROFILE_DIR
        ? [gatewayPath]
        : [
            { name: 'direct', url: `http://127.0.0.1:${upstreamPort}` },
            { name: 'nginx', url: `http://127.0.0.1:${nginxPort}` },
            { name: 'node', url: `http://127.0.0.1:${nodePort}`, pid: node.pid! },
            net,
            gatewayPath,
            { name: 'mitmproxy', url: `http://127.0.0.1:${mitmPort}` },
          ];
      for (const path of paths) await wrk(`${path.url}/people.json`, WARMUP_SECONDS, false);
      const figures: HttpFigure[] = [];
      for (let round = 1; round <= ROUNDS; round++) for (const path of paths) figures.push(await measure(path, round));
      return figures;
    } finally {
      await gateway.stop();
    }
  } finally {
    for (const child of children) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
