import { closeSync, writeSync } from 'node:fs';
import { GovernError } from '../core/errors.js';
import type { GatewayStatus } from '../gateway/gateway.js';
import { ENV_FORMATS, formatEnv, type EnvFormat } from '../gateway/job-env.js';
import { controlGateway, readRuntimeInfo } from '../gateway/control.js';
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
  io.stdout.write(formatEnv(started.env, format, started.withheld));
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
  report({ ready: true, env: launched.gateway.exports(), secrets: launched.gateway.secrets(), withheld: launched.withheld, publicKey: launched.gateway.signer.publicKey });
  await launched.gateway.stopped.catch(() => undefined);
  // Closing the control server waits for the stop request's answer to leave.
  log.info((await shutdown(launched, 'stopped')).trimEnd());
  return 0;
}

export async function stopCommand({ values, io }: CommandContext): Promise<number> {
  const outDir = values.out as string;
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

export async function statusCommand({ values, io }: CommandContext): Promise<number> {
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
    `operations: ${c.operations} (${c.allowed} allowed, ${c.blocked} blocked, ${c.approved} approved, ${c.denied} denied), ${c.masked_values} values masked`,
    status.pending.length ? 'waiting for approval:' : 'nothing waits for approval',
    ...status.pending.map((p) => `  ${p.id}  ${p.connection}  rule ${p.rule}  since ${p.requested_at}  ${p.operation}`),
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

