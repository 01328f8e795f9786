import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startIssuer } from '../runner-proxy/test/fixtures/oidc-issuer.js';
import { startTarget } from '../runner-proxy/test/fixtures/pg-gateway.js';
import { runClient } from '../runner-proxy/test/fixtures/postgres.js';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const RUNS = 7;

/**
 * How long the action's main step takes from start to ready (OIDC token, gateway started detached with
 * a postgres connection, env exported), as the runner runs it; median of several runs. The baseline is
 * a bare `node -e ''`, what any JavaScript action costs before its first line.
 */
export async function benchActionStart(): Promise<{ mainMs: number[]; nodeMs: number[] }> {
  const [target, issuer] = await Promise.all([startTarget(), startIssuer()]);
  issuer.requestClaims = { sub: 'repo:acme/payments:ref:refs/heads/main', repository: 'acme/payments', repository_id: '4711', ref: 'refs/heads/main' };
  const work = mkdtempSync(join(tmpdir(), 'govern-bench-action-'));
  const mainMs: number[] = [];
  const nodeMs: number[] = [];
  try {
    const policy = join(work, 'govern.yml');
    writeFileSync(policy, `version: 1\nidentity:\n  audience: govern\n  trust: [{ issuer: "${issuer.url}", claims: { repository_id: "4711" } }]\nconnections:\n  db:\n    postgres: { url: "\${PROD_DATABASE_URL}" }\n    export: DATABASE_URL\nrules:\n  - name: no-drop\n    block: { sql: [drop] }\n`);
    for (let i = 0; i < RUNS; i++) {
      const run = join(work, `run-${i}`);
      mkdirSync(run);
      const files = Object.fromEntries(['ENV', 'PATH', 'STATE', 'OUTPUT'].map((k) => [`GITHUB_${k}`, join(run, k.toLowerCase())]));
      for (const f of Object.values(files)) writeFileSync(f, '');
      const env = { PATH: process.env.PATH, ...files, RUNNER_TEMP: run, RUNNER_TOOL_CACHE: join(work, 'tool-cache'), GITHUB_JOB: 'bench', INPUT_POLICY: policy, ACTIONS_ID_TOKEN_REQUEST_URL: issuer.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.requestToken, PROD_DATABASE_URL: target.appUrl };
      let started = performance.now();
      const main = await runClient(process.execPath, [join(DIST, 'main/index.js')], { env });
      mainMs.push(performance.now() - started);
      if (main.status !== 0) throw new Error(`main failed: ${main.stdout}`);
      const state = readFileSync(files.GITHUB_STATE!, 'utf8');
      const stateValue = /^govern<<(.+)\n([\s\S]*?)\n\1$/m.exec(state)![2]!;
      await runClient(process.execPath, [join(DIST, 'post/index.js')], { env: { ...env, STATE_govern: stateValue, GITHUB_STEP_SUMMARY: join(run, 'summary'), 'INPUT_FAIL-ON': 'never' } });
      started = performance.now();
      await runClient(process.execPath, ['-e', '']);
      nodeMs.push(performance.now() - started);
    }
    return { mainMs, nodeMs };
  } finally {
    await Promise.all([target.stop(), issuer.close()]);
    rmSync(work, { recursive: true, force: true });
  }
}
