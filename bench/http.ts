import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runClient } from '../runner-proxy/test/fixtures/postgres.js';
import { startDetachedHttp } from '../runner-proxy/test/fixtures/http-upstream.js';

const SECONDS = 10;
const WARMUP_SECONDS = 3;
const CONNECTIONS = 32;
const THREADS = 2;

export interface HttpFigure {
  path: 'direct' | 'nginx' | 'node' | 'mitmproxy' | 'gateway';
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

/** A 1.3 KB JSON answer with two SSNs to mask, like a small API's. */
function document(): string {
  const people = Array.from({ length: 8 }, (_, i) => ({ id: 1000 + i, name: `person ${i}`, ssn: `536-22-${String(4700 + i)}`, city: 'Springfield' }));
  return JSON.stringify({ page: 1, people });
}

/** Node's own http server and keep-alive client piping each way, nothing else: the floor for any Node proxy. */
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

async function wrk(url: string): Promise<Omit<HttpFigure, 'path'>> {
  // Every path is measured warm: a Node process (the bare pipe, the gateway) reaches its JIT-compiled speed only after some thousands of requests.
  await runClient('wrk', [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${WARMUP_SECONDS}s`, url], { timeoutMs: (WARMUP_SECONDS + 30) * 1000 });
  const r = await runClient('wrk', [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', url], { timeoutMs: (SECONDS + 30) * 1000 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const ms = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(r.stdout);
    if (!m) return NaN;
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  if (!rps) throw new Error(`wrk failed: ${r.stdout}${r.stderr}`);
  return { rps, p50Ms: ms('50'), p99Ms: ms('99') };
}

/**
 * wrk against a static JSON answer from nginx (the upstream), then through nginx as a plain reverse
 * proxy, through a bare Node pipe proxy (the floor for Node), through the gateway with a JSON masking
 * rule, and through mitmdump in reverse mode.
 */
export async function benchHttp(): Promise<HttpFigure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'govern-bench-http-'));
  const children: ChildProcess[] = [];
  const start = (command: string, args: string[]) => {
    const child = spawn(command, args, { stdio: 'ignore' });
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
    start(process.execPath, ['-e', BARE_NODE_PROXY, String(nodePort), String(upstreamPort)]);
    const mitmPort = await freePort();
    start('mitmdump', ['--mode', `reverse:http://127.0.0.1:${upstreamPort}`, '--listen-host', '127.0.0.1', '-p', String(mitmPort), '-q', '--set', `confdir=${dir}/mitm`]);
    const gateway = await startDetachedHttp(`http://127.0.0.1:${upstreamPort}`, '  - name: pii\n    mask: { json: ["$..ssn"] }\n');
    try {
      await Promise.all([waitForPort(upstreamPort), waitForPort(nginxPort), waitForPort(nodePort), waitForPort(mitmPort)]);
      const check = await runClient('curl', ['-s', `${gateway.url}/people.json`]);
      if (!check.stdout.includes('"ssn":"[masked]"')) throw new Error(`the gateway did not mask: ${check.stdout.slice(0, 200)}`);
      const figures: HttpFigure[] = [];
      figures.push({ path: 'direct', ...(await wrk(`http://127.0.0.1:${upstreamPort}/people.json`)) });
      figures.push({ path: 'nginx', ...(await wrk(`http://127.0.0.1:${nginxPort}/people.json`)) });
      figures.push({ path: 'node', ...(await wrk(`http://127.0.0.1:${nodePort}/people.json`)) });
      figures.push({ path: 'gateway', ...(await wrk(`${gateway.url}/people.json`)) });
      figures.push({ path: 'mitmproxy', ...(await wrk(`http://127.0.0.1:${mitmPort}/people.json`)) });
      return figures;
    } finally {
      await gateway.stop();
    }
  } finally {
    for (const child of children) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
