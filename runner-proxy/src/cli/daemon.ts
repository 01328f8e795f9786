import { closeSync, existsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { GovernError } from '../base/errors.js';
import type { GatewayStatus } from '../gateway/gateway.js';
import { ENV_FORMATS, formatEnv, type EnvFormat } from '../gateway/job-env.js';
import { controlGateway, readRuntimeInfo, RUNTIME_FILE } from '../gateway/control.js';
import { principalRecord } from '../identity/principal.js';
import { MANIFEST_FILE } from '../recording/recorder.js';
import { describeIdentity } from '../recording/report.js';
import { usage, type CommandContext } from './context.js';
import { startDetached, type ReadyMessage } from './detach.js';
import { launch, shutdown } from './launch.js';

/** `govern start`: the gateway detached, and the env to export printed in the chosen format. */
export async function startCommand({ values, env, io }: CommandContext): Promise<number> {
  const format = values['env-format'] as EnvFormat;
  if (!ENV_FORMATS.includes(format)) throw usage(`--env-format must be one of ${ENV_FORMATS.join(', ')}, not "${format}"`);
  const started = await startDetached({
    entry: io.entry,
    outDir: values.out as string,
    env,
    ...(values.policy !== undefined && { policy: values.policy as string }),
    ...(values['token-env'] !== undefined && { tokenEnv: values['token-env'] as string }),
    ...(values.mode !== undefined && { mode: values.mode as string }),
  });
  // GOVERN_OUT lets status, approve, deny and stop find this gateway without --out, as SSH_AUTH_SOCK does for ssh-add.
  io.stdout.write(formatEnv({ ...started.env, GOVERN_OUT: started.outDir }, format, started.withheld));
  io.stderr.write(`govern start: gateway ready (pid ${started.pid}); identity ${started.identity}; signing key ${started.publicKey}; bundle in ${started.outDir}\n`);
  return 0;
}

/** `govern serve`: the detached gateway. Stops on `govern stop`, SIGTERM or SIGINT. */
export async function serveCommand({ values, env, log }: CommandContext): Promise<number> {
  const readyFd = values['ready-fd'] === undefined ? undefined : Number(values['ready-fd']);
  const report = (m: ReadyMessage) => {
    if (readyFd === undefined) return;
    writeSync(readyFd, `${JSON.stringify(m)}\n`);
    closeSync(readyFd);
  };
  let launched;
  try {
    launched = await launch({ policyPath: values.policy as string | undefined, outDir: values.out as string, tokenEnv: values['token-env'] as string | undefined, mode: values.mode as string | undefined, env, log });
  } catch (e) {
    report({ error: (e as Error).message, ...(e instanceof GovernError && { code: e.code }) });
    throw e;
  }
  // A stop that cannot finalize still ends the gateway: `stopped` settles, and shutdown reports why.
  const stopOnSignal = (signal: NodeJS.Signals) => void launched.gateway.stop(`received ${signal}`).catch(() => undefined);
  process.once('SIGTERM', stopOnSignal);
  process.once('SIGINT', stopOnSignal);
  report({
    ready: true,
    env: launched.gateway.exports(),
    secrets: launched.gateway.secrets(),
    withheld: launched.withheld,
    publicKey: launched.gateway.signer.publicKey,
    identity: describeIdentity(principalRecord(launched.gateway.governor.principal)),
  });
  await launched.gateway.stopped.catch(() => undefined);
  // Closing the control server waits for the stop request's answer to leave.
  log.info((await shutdown(launched, 'stopped')).trimEnd());
  return 0;
}

export async function stopCommand({ values, io }: CommandContext): Promise<number> {
  const outDir = values.out as string;
  if (!existsSync(join(outDir, RUNTIME_FILE)) && existsSync(join(outDir, MANIFEST_FILE))) {
    io.stderr.write(`govern stop: the gateway of ${outDir} has already stopped; its signed bundle is in ${outDir} (open report.html, or run govern verify ${outDir})\n`);
    return 0;
  }
  const { pid } = readRuntimeInfo(outDir);
  const summary = (await controlGateway(outDir, { cmd: 'stop' }, 120_000)) as string;
  io.stdout.write(summary);
  await waitForExit(pid, 10_000);
  return 0;
}

async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function statusCommand({ values, env, io }: CommandContext): Promise<number> {
  const status = (await controlGateway(values.out as string, { cmd: 'status' })) as GatewayStatus;
  if (values.json) {
    io.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    return 0;
  }
  const c = status.counts;
  const lines = [
    `gateway pid ${status.pid}, session ${status.session_id}, mode ${status.mode}`,
    `identity: ${status.identity.kind === 'none' ? 'none' : (status.identity.subject ?? status.identity.issuer)}${status.identity.readOnly ? ' (read-only)' : ''}`,
    ...status.connections.map((conn) => `connection ${conn.name}: ${conn.protocol} ${conn.target} as $${conn.export}`),
    `operations: ${c.operations} (${c.allowed} allowed, ${c.blocked} blocked, ${c.approved} approved, ${c.denied} denied${c.would_block || c.would_hold ? `; observed: ${c.would_block} would block, ${c.would_hold} would hold` : ''}), ${c.masked_values} values masked`,
    status.pending.length ? 'waiting for approval:' : 'nothing waits for approval',
    ...status.pending.flatMap((p) => {
      const waited = Date.now() - Date.parse(p.requested_at);
      const left = Math.max(0, Math.round((status.approval_timeout_ms - waited) / 1000));
      const where = env.GOVERN_OUT === status.out_dir ? '' : ` --out ${status.out_dir}`;
      return [
        `  ${p.id}  ${p.connection}  rule ${p.rule}  waiting ${Math.round(waited / 1000)} s, ${left} s left before it is denied  ${p.operation}`,
        `    release it: govern approve ${p.id}${where}    refuse it: govern deny ${p.id}${where}`,
      ];
    }),
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

export async function approveCommand({ values, positionals, io }: CommandContext, decision: 'approve' | 'deny'): Promise<number> {
  const [id, extra] = positionals;
  if (!id || extra) throw usage(`govern ${decision} takes exactly one approval id, as listed by govern status`);
  await controlGateway(values.out as string, { cmd: decision, id, ...(values.reason !== undefined && { reason: values.reason as string }) });
  io.stdout.write(`${id}: ${decision === 'approve' ? 'approved' : 'denied'}\n`);
  return 0;
}

