import type { Server } from 'node:net';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { builtInAdapters, builtInProtocols } from '../adapters/index.js';
import { approvalProvider } from '../approvals/providers.js';
import { ErrorCode, GovernError } from '../base/errors.js';
import { controlSocketPath, removeRuntimeInfo, serveControl, writeRuntimeInfo, type ControlRequest } from '../gateway/control.js';
import { Gateway } from '../gateway/gateway.js';
import type { Logger } from '../base/logger.js';
import { formatSummary } from '../gateway/summary.js';
import { bindJob } from '../identity/binding.js';
import { NO_IDENTITY, type Principal } from '../identity/principal.js';
import { NO_TOKEN_HELP, obtainToken } from '../identity/token-source.js';
import { tokenText } from '../identity/token-text.js';
import { TokenVerifier } from '../identity/verify.js';
import { findPolicy, loadPolicy } from '../policy/load.js';
import type { Policy } from '../policy/types.js';
import type { Env } from '../base/env.js';

export const DEFAULT_OUT = 'govern-session';

export interface LaunchOptions {
  policyPath: string | undefined;
  outDir: string;
  tokenEnv: string | undefined;
  /** Overrides the policy's mode (the action's `mode` input, `--mode`). */
  mode?: string | undefined;
  env: Env;
  log: Logger;
}

export interface Launched {
  gateway: Gateway;
  policy: Policy;
  control: Server;
  /** Variables the job's own environment must not keep: the policy's secrets and the OIDC token. */
  withheld: string[];
  /** Takes the process-level guard off again. */
  unguard: () => void;
}

export async function identify(policy: Policy, env: Env, tokenEnv: string | undefined, log: Logger): Promise<{ principal: Principal; tokenVariable?: string }> {
  if (!policy.identity) {
    log.warn('the policy has no identity section: this run is recorded as identity "none"');
    return { principal: NO_IDENTITY };
  }
  const obtained = await obtainToken({ env, audience: policy.identity.audience, ...(tokenEnv && { tokenEnv }) });
  if (!obtained) throw new GovernError(ErrorCode.TokenMissing, NO_TOKEN_HELP);
  const principal = await new TokenVerifier(policy.identity, { ...(env.CI_SERVER_URL && { gitlabUrl: env.CI_SERVER_URL }) }).verify(obtained.token);
  log.info(`identity verified from ${obtained.source}: ${tokenText(principal.subject ?? principal.issuer)}${principal.readOnly ? ' (read-only)' : ''}`);
  return { principal, ...(obtained.variable && { tokenVariable: obtained.variable }) };
}

/**
 * Loads the policy, verifies the identity (a rejected token stops here, before any listener opens),
 * starts the gateway and its control socket, and leaves gateway.json for later commands.
 */
export async function launch({ policyPath, outDir, tokenEnv, mode, env, log }: LaunchOptions): Promise<Launched> {
  const loaded = loadPolicy(findPolicy(policyPath), { env, resolveVariables: true, protocols: builtInProtocols() });
  if (mode !== undefined && mode !== 'enforce' && mode !== 'observe') throw new GovernError(ErrorCode.Usage, `mode must be enforce or observe, not "${mode}"`);
  const policy: Policy = mode ? { ...loaded, mode } : loaded;
  for (const w of policy.warnings) log.warn(`${w.file}:${w.line}: ${w.message}`);
  const { principal, tokenVariable } = await identify(policy, env, tokenEnv, log);
  const out = resolve(outDir);
  const provider = approvalProvider(policy.approvals, principal, env, (m) => log.warn(m));
  const bindKey = async (publicKey: string) => {
    const binding = await bindJob(env, publicKey, principal.issuer);
    if (binding.kind === 'oidc') log.info(`signing key bound to the job by ${binding.issuer}`);
    // Outside GitHub an unbound key is expected; on GitHub it means the job lacks id-token: write.
    else (env.ACTIONS_ID_TOKEN_REQUEST_URL ? log.warn : log.info)(`the signing key is not bound to the job: ${binding.reason}`);
    return binding;
  };
  // The SQL parser's WebAssembly is compiled by Liftoff alone: TurboFan's recompilation of its hot
  // functions kept 60-70 MB of compiler memory in the process (RSS 150-160 MB after 10,000 statements,
  // 90-100 MB without) and competed with the job for a runner's cores. A parse, which the statement
  // shape cache makes rare, is about a fifth slower for it.
  setFlagsFromString('--liftoff-only');
  const gateway = await Gateway.start({ policy, principal, outDir: out, adapters: builtInAdapters(), log, bindKey, ...(provider && { approvalProvider: provider }) });
  const unguard = gateway.guardProcess();
  const approver = `cli:${userInfo().username}`;
  const socket = controlSocketPath(out);
  const control = await serveControl(socket, (request: ControlRequest) => handleControl(gateway, request, approver));
  writeRuntimeInfo(out, {
    pid: process.pid,
    control: socket,
    session_id: gateway.sessionId,
    public_key: gateway.signer.publicKey,
    started_at: new Date().toISOString(),
    env: gateway.exports(),
    secrets: gateway.secrets(),
  });
  log.info(`gateway ready; session ${gateway.sessionId}; signing key ${gateway.signer.publicKey}`);
  return { gateway, policy, control, withheld: [...policy.variables, ...(tokenVariable ? [tokenVariable] : [])], unguard };
}

async function handleControl(gateway: Gateway, request: ControlRequest, approver: string): Promise<unknown> {
  switch (request.cmd) {
    case 'status':
      return gateway.status();
    case 'stop': {
      const manifest = await gateway.stop('govern stop');
      return formatSummary(manifest, gateway.outDir, gateway.view);
    }
    case 'approve':
    case 'deny':
      gateway.governor.approvals.decide(request.id, request.cmd === 'approve', approver, request.reason);
      return { id: request.id, decided: request.cmd };
    default:
      throw new GovernError(ErrorCode.ControlFailed, `unknown control command ${JSON.stringify((request as { cmd: unknown }).cmd)}`);
  }
}

/**
 * Stops a launched gateway in this process: finalize, close the control socket, forget the runtime
 * file. The last three happen even when finalizing fails, so the process can end.
 */
export async function shutdown({ gateway, control, unguard }: Launched, reason: string): Promise<string> {
  try {
    const manifest = await gateway.stop(reason);
    return formatSummary(manifest, gateway.outDir, gateway.view);
  } finally {
    await new Promise((done) => control.close(done));
    removeRuntimeInfo(gateway.outDir);
    unguard();
  }
}
