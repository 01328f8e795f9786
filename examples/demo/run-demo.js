// npm run demo: a CI job under govern, on this machine: the committed bundle (dist/govern) and an
// embedded target, nothing else. A local OIDC issuer plays GitHub's token service; the policy trusts
// it as it would trust GitHub.
// The target is a throwaway PostgreSQL cluster, or an embedded one when no server is installed.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBillingApi } from './billing.js';
import { startIssuer } from './issuer.js';
import { startDemoTarget } from './target.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const govern = join(root, 'dist', 'govern', 'index.js');
const workDir = join(root, '.govern-demo', new Date().toISOString().replace(/[:.]/g, '-'));
mkdirSync(workDir, { recursive: true });

const step = (title) => console.log(`\n▶ ${title}`);
const shown = (a) => (a.startsWith(root) ? relative(process.cwd(), a) || a : a.includes(' ') ? `'${a}'` : a);
/** What every govern command gets from the demo's own environment: nothing but where to find programs. */
const bareEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
// The issuer and the embedded targets answer from this process, so govern runs asynchronously beside
// them; its output is shown line by line as it comes, so that an approver's answer appears in its place.
const show = (args, env = {}) =>
  new Promise((resolve) => {
    console.log(`  $ govern ${args.map(shown).join(' ')}`);
    const child = spawn(process.execPath, [govern, ...args], { env: { ...bareEnv, ...env } });
    const relay = (stream) => {
      let partial = '';
      stream.on('data', (d) => {
        const lines = (partial + d).split('\n');
        partial = lines.pop();
        for (const line of lines) console.log(`    ${line}`.trimEnd());
      });
      stream.on('end', () => partial && console.log(`    ${partial}`));
    };
    relay(child.stdout);
    relay(child.stderr);
    child.on('close', (status) => {
      console.log(`    (exit status ${status})`);
      resolve(status);
    });
  });
const quietly = (args) =>
  new Promise((resolve) => execFile(process.execPath, [govern, ...args], { env: bareEnv }, (error, stdout) => resolve(error ? '' : stdout)));

/** Plays the approver while a job runs: approves each operation that waits, as `govern approve` would be typed. */
function approveWhatWaits(session) {
  let running = true;
  const done = (async () => {
    while (running) {
      const status = await quietly(['status', '--out', session, '--json']);
      for (const { id, operation, rule } of status ? JSON.parse(status).pending : []) {
        console.log(`  [approver] ${operation} waits for rule ${rule}; the approver checks the invoice and answers:`);
        await show(['approve', id, '--out', session, '--reason', 'invoice checked']);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  return async () => {
    running = false;
    await done;
  };
}

const issuer = await startIssuer();
const target = await startDemoTarget();
const billingApi = await startBillingApi();
try {
  console.log(`target: ${target.kind}, and a billing API (HTTP) that wants a bearer token`);
  const policy = join(workDir, 'govern.yml');
  writeFileSync(policy, readFileSync(join(here, 'policy.template.yml'), 'utf8').replace('{{ISSUER}}', issuer.url));
  const claims = { aud: 'govern', sub: 'repo:acme/payments:ref:refs/heads/main', repository: 'acme/payments', repository_id: '4242', ref: 'refs/heads/main', sha: 'f00dfacecafe', workflow: 'deploy', run_id: '1001', run_attempt: '1', actor: 'octo-dev', event_name: 'push' };
  const secrets = { PROD_DATABASE_URL: target.url, BILLING_API_URL: billingApi.url, BILLING_TOKEN: billingApi.token };

  step('1. Check the policy');
  await show(['policy', 'check', policy], secrets);

  step('2. A job on main runs its pipeline through govern');
  const session = join(workDir, 'session');
  const stopApproving = approveWhatWaits(session);
  await show(['run', '--policy', policy, '--out', session, '--fail-on', 'never', '--', process.execPath, join(here, 'pipeline.js')], { ...secrets, GOVERN_ID_TOKEN: await issuer.sign(claims) });
  await stopApproving();
  console.log(`  the billing API served: ${billingApi.served.join(', ')}`);

  step('3. A job from another branch is stopped before anything starts');
  await show(['run', '--policy', policy, '--out', join(workDir, 'rejected'), '--', process.execPath, join(here, 'pipeline.js')], { ...secrets, GOVERN_ID_TOKEN: await issuer.sign({ ...claims, ref: 'refs/heads/experiment' }) });

  step('4. The signed session bundle verifies, and replays as a timeline');
  await show(['verify', session]);
  await show(['replay', session]);

  step('5. Editing one recorded event is caught');
  const tampered = join(workDir, 'tampered');
  mkdirSync(tampered);
  for (const f of ['manifest.json', 'events.jsonl']) writeFileSync(join(tampered, f), readFileSync(join(session, f)));
  const events = join(tampered, 'events.jsonl');
  writeFileSync(events, readFileSync(events, 'utf8').replace('"verdict":"block"', '"verdict":"allow"'));
  await show(['verify', tampered]);

  console.log(`\nThe verified bundle is in ${relative(process.cwd(), session)}/ (manifest.json, events.jsonl, report.html).`);
  console.log(`Open ${relative(process.cwd(), join(session, 'report.html'))} in a browser to audit the session: exceptions first, statements grouped, filters and search.`);
} finally {
  await target.stop();
  await billingApi.close();
  await issuer.close();
}
