// The action's main step: get the job's OIDC token, start the gateway detached under RUNNER_TEMP,
// export each connection's loopback address to later steps, and mask every job-scoped secret.
import * as core from '@actions/core';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDetached } from '../../runner-proxy/src/cli/detach.js';
import { findPolicy, loadPolicy } from '../../runner-proxy/src/policy/load.js';
import { GOVERN_ID_TOKEN } from '../../runner-proxy/src/identity/token-source.js';
import { putCliOnPath } from './cli-cache.js';
import { testPolicyOnPullRequest } from './policy-test.js';
import { State } from './state.js';
import { builtInProtocols } from '../../runner-proxy/src/adapters/index.js';

/** The bundled gateway sits beside this step's bundle: dist/main/index.js → dist/govern/index.js. */
const GATEWAY = join(dirname(fileURLToPath(import.meta.url)), '..', 'govern', 'index.js');

async function run(): Promise<void> {
  const policyTest = core.getInput('policy-test');
  if (policyTest) return testPolicyOnPullRequest(GATEWAY, policyTest);
  const policyPath = findPolicy(core.getInput('policy') || undefined);
  const policy = loadPolicy(policyPath, { env: process.env, resolveVariables: false, protocols: builtInProtocols() });
  const outDir = join(process.env.RUNNER_TEMP ?? '.', `govern-session-${process.env.GITHUB_JOB ?? 'job'}-${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`);
  const env: Record<string, string | undefined> = { ...process.env };
  if (policy.identity) {
    if (!process.env.ACTIONS_ID_TOKEN_REQUEST_URL || !process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
      throw new Error('the job cannot request an OIDC token: add `permissions: id-token: write` to the job');
    }
    env[GOVERN_ID_TOKEN] = await core.getIDToken(core.getInput('audience') || policy.identity.audience);
  } else if (!process.env.ACTIONS_ID_TOKEN_REQUEST_URL) {
    // The gateway asks the same service for the token that binds the bundle's signing key to this job.
    core.warning('govern: without `permissions: id-token: write` the session bundle cannot be bound to this job; its signing key will vouch only for itself');
  }
  // PR-comment approvals: the gateway posts and reads comments with the job's token.
  if (core.getInput('github-token')) env.GOVERN_GITHUB_TOKEN = core.getInput('github-token');
  const mode = core.getInput('mode');
  const started = await startDetached({ entry: GATEWAY, outDir, policy: policyPath, env, ...(mode && { mode }) });
  for (const secret of started.secrets) core.setSecret(secret);
  for (const [name, value] of Object.entries(started.env)) core.exportVariable(name, value);
  State.save({ outDir, pid: started.pid, publicKey: started.publicKey });
  core.setOutput('session-dir', outDir);
  core.setOutput('public-key', started.publicKey);
  await putCliOnPath(dirname(GATEWAY));
  core.info(`govern: gateway ready for ${Object.keys(started.env).join(', ') || 'no connections'}; session signed by ${started.publicKey}`);
}

run().catch((e: unknown) => core.setFailed(`govern: ${(e as Error).message}`));
