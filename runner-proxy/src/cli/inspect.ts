import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { builtInAdapters, builtInProtocols } from '../adapters/index.js';
import { ErrorCode, formatProblem, GovernError, PolicyError } from '../base/errors.js';
import { cannotServe } from '../gateway/gateway.js';
import { loadPolicy } from '../policy/load.js';
import { EVENTS_FILE } from '../recording/recorder.js';
import { playCast, terminalCasts } from '../recording/cast-player.js';
import type { JSONWebKeySet } from 'jose';
import { checkJobBinding, describeRun, type BindingCheckOptions } from '../identity/binding.js';
import { GITHUB_ISSUER } from '../identity/verify.js';
import { POLICY_FILE, type Manifest } from '../recording/bundle.js';
import { formatPolicy, formatTimeline } from '../recording/replay.js';
import { verifyBundle } from '../recording/verify.js';
import { usage, type CommandContext } from './context.js';

/** The one session directory a command reads: it must exist and hold a recording. */
function oneBundle(positionals: string[], command: string): string {
  if (positionals.length !== 1) throw usage(`govern ${command} takes one session directory, such as ./govern-session`);
  const dir = positionals[0]!;
  if (!existsSync(dir)) throw new GovernError(ErrorCode.BundleNotFound, `${dir} does not exist; give the directory the session was recorded in (--out of govern start or run, or the unzipped artifact)`);
  if (!statSync(dir).isDirectory()) throw new GovernError(ErrorCode.BundleNotFound, `${dir} is a file; give the session directory that holds ${EVENTS_FILE}`);
  if (!existsSync(join(dir, EVENTS_FILE))) throw new GovernError(ErrorCode.BundleNotFound, `${dir} is not a session bundle: it has no ${EVENTS_FILE}`);
  return dir;
}

const PUBLIC_KEY = /^ed25519:[A-Za-z0-9_-]{43}$/;

export async function verifyCommand({ values, positionals, io }: CommandContext): Promise<number> {
  const key = values.key as string | undefined;
  if (key !== undefined && !PUBLIC_KEY.test(key)) {
    throw usage(`--key must be the signing key printed by govern start, "ed25519:" and 43 base64url characters, not "${key.length > 60 ? `${key.slice(0, 60)}…` : key}"`);
  }
  const dir = oneBundle(positionals, 'verify');
  const bindingOptions = bindingCheckOptions(values);
  const result = verifyBundle(dir, values.key ? { expectedKey: values.key as string } : {});
  const binding = result.ok ? await checkJobBinding(result.manifest!.job_binding, result.manifest!.public_key, { ...bindingOptions, identityClaims: identityClaims(result.manifest!) }) : undefined;
  // An expectation that cannot be checked is not met: a bundle without a binding could belong to any job.
  const expected = bindingOptions.expectRepository !== undefined || bindingOptions.expectWorkflow !== undefined;
  const ok = result.ok && (binding!.status === 'bound' || (binding!.status === 'absent' && !expected));
  if (values.json) {
    const { events, manifest, ...rest } = result;
    io.stdout.write(`${JSON.stringify({ ...rest, ok, events: events.length, public_key: manifest?.public_key, ...(binding && { job_binding: binding }) }, null, 2)}\n`);
  } else if (result.ok) {
    const m = result.manifest!;
    const out = ok ? io.stdout : io.stderr;
    out.write(`${dir}: ${ok ? 'ok' : 'FAILED'} — ${m.events.count} events, chain head ${m.events.head.slice(0, 16)}, signed by ${m.public_key}\n`);
    if (binding?.status === 'bound') out.write(`${dir}: bound to the job by the forge: ${describeRun(binding.run)}\n`);
    else out.write(`${dir}: ${ok ? 'warning' : 'FAILED'} — ${binding!.problem}\n`);
    if (result.failure) out.write(`${dir}: the recording failed, as the signed manifest says: ${result.failure}\n`);
  } else {
    const broken = result.brokenSeq !== undefined ? ` (first broken event: #${result.brokenSeq})` : '';
    io.stderr.write(`${dir}: FAILED — ${result.problem}${broken}\n`);
  }
  return ok ? 0 : 1;
}

/** --issuer, --jwks and the expectations, checked before any bundle is read. */
function bindingCheckOptions(values: CommandContext['values']): BindingCheckOptions {
  const issuer = values.issuer as string | undefined;
  if (issuer !== undefined && !/^https?:\/\/[^\s]+$/.test(issuer)) throw usage(`--issuer must be the issuer's URL, such as ${GITHUB_ISSUER}, not "${issuer}"`);
  const jwksFile = values.jwks as string | undefined;
  let jwks: JSONWebKeySet | undefined;
  if (jwksFile !== undefined) {
    try {
      jwks = JSON.parse(readFileSync(jwksFile, 'utf8')) as JSONWebKeySet;
    } catch (e) {
      throw usage(`--jwks must name a JSON Web Key Set file (the issuer's /.well-known/jwks), and ${jwksFile} is not one: ${(e as Error).message}`);
    }
    if (!Array.isArray(jwks?.keys)) throw usage(`--jwks must name a JSON Web Key Set file, and ${jwksFile} has no "keys" list`);
  }
  return {
    ...(issuer !== undefined && { issuer }),
    ...(jwks && { jwks }),
    ...(values['expect-repository'] !== undefined && { expectRepository: values['expect-repository'] as string }),
    ...(values['expect-workflow'] !== undefined && { expectWorkflow: values['expect-workflow'] as string }),
  };
}

function identityClaims(manifest: Manifest): Readonly<Record<string, unknown>> | undefined {
  return (manifest.identity as { claims?: Readonly<Record<string, unknown>> }).claims;
}

export async function replayCommand({ values, positionals, io }: CommandContext): Promise<number> {
  const dir = oneBundle(positionals, 'replay');
  const result = verifyBundle(dir);
  if (!result.ok) io.stderr.write(`warning: ${dir} does not verify: ${result.problem}\n`);
  const policy = result.manifest?.policy ?? (result.events[0]?.policy as Parameters<typeof formatPolicy>[0] | undefined);
  if (policy && !values.connection) {
    const copy = join(dir, POLICY_FILE);
    io.stdout.write(formatPolicy(policy, existsSync(copy) ? readFileSync(copy, 'utf8') : undefined));
  }
  io.stdout.write(formatTimeline(result.events, values.connection ? { connection: values.connection as string } : {}));
  if (!values.connection) return 0;
  const speed = values.speed === undefined ? 1 : Number(values.speed);
  if (!(speed > 0)) throw usage(`--speed takes a positive number, such as 2 or 0.5, not "${String(values.speed)}"`);
  for (const cast of terminalCasts(dir, result.events, values.connection as string)) {
    io.stdout.write(`\n--- terminal of operation #${cast.seq} ---\n`);
    await playCast(cast.file, (text) => io.stdout.write(text), speed);
    io.stdout.write(`\n--- end of terminal #${cast.seq} ---\n`);
  }
  return 0;
}

export async function policyCheckCommand({ values, positionals, env, io }: CommandContext): Promise<number> {
  const [sub, file, extra] = positionals;
  if (sub !== 'check' || !file || extra) throw usage('use govern policy check FILE, govern policy suggest DIR… or govern policy test FILE DIR…');
  try {
    const policy = loadPolicy(file, { env, resolveVariables: !values['no-env'], protocols: builtInProtocols() });
    const adapters = builtInAdapters();
    const unserved = policy.connections.filter((c) => !adapters.has(c.protocol));
    if (unserved.length) {
      io.stderr.write(`${unserved.map((c) => `${file}: ${cannotServe(c, adapters)}`).join('\n')}\n${unserved.length} problem${unserved.length === 1 ? '' : 's'} in ${file}\n`);
      return 1;
    }
    const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
    for (const w of policy.warnings) io.stderr.write(`${formatProblem({ ...w, message: `warning: ${w.message}` })}\n`);
    io.stdout.write(`${file}: ok — ${count(policy.connections.length, 'connection')}, ${count(policy.rules.length, 'rule')}, mode ${policy.mode}${policy.identity ? '' : ', no identity section (runs are recorded as identity "none")'}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    io.stderr.write(`${e.problems.map(formatProblem).join('\n')}\n${e.problems.length} problem${e.problems.length === 1 ? '' : 's'} in ${file}\n`);
    return 1;
  }
}
