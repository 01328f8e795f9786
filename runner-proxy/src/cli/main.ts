import { parseArgs, type ParseArgsConfig } from 'node:util';
import pkg from '../../../package.json' with { type: 'json' };
import { ErrorCode, GovernError } from '../base/errors.js';
import { streamLogger } from '../base/logger.js';
import type { Env } from '../base/env.js';
import type { CommandContext, Io } from './context.js';
import { DEFAULT_OUT } from './launch.js';
import { approveCommand, serveCommand, startCommand, statusCommand, stopCommand } from './daemon.js';
import { policyCheckCommand, replayCommand, verifyCommand } from './inspect.js';
import { policySuggestCommand, policyTestCommand } from './policy-rollout.js';
import { runCommand } from './run.js';

type Command = {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run: (ctx: CommandContext) => Promise<number>;
};

const policy = { type: 'string', short: 'p' } as const;
const out = { type: 'string', short: 'o', default: DEFAULT_OUT } as const;
/** For commands that reach a running gateway: --out, else $GOVERN_OUT (exported by start), else the default. */
const gatewayOut = { type: 'string', short: 'o' } as const;
const GATEWAY_OUT_HELP = 'DIR defaults to $GOVERN_OUT, which govern start exports, then ./govern-session';
const tokenEnv = { type: 'string' } as const;
const mode = { type: 'string' } as const;

const COMMANDS: Record<string, Command> = {
  run: {
    summary: 'start the gateway, run a command with the rewritten env, stop, finalize',
    usage: 'govern run [--policy F] [--out DIR] [--token-env NAME] [--mode enforce|observe] [--fail-on blocked|denied|never] -- CMD [ARG…]',
    options: { policy, out, 'token-env': tokenEnv, mode, 'fail-on': { type: 'string', default: 'blocked' } },
    run: runCommand,
  },
  start: {
    summary: 'start the gateway detached and print the env to export',
    usage: 'govern start [--policy F] [--out DIR] [--token-env NAME] [--mode enforce|observe] [--env-format shell|dotenv|github]',
    options: { policy, out, 'token-env': tokenEnv, mode, 'env-format': { type: 'string', default: 'shell' } },
    run: startCommand,
  },
  serve: {
    summary: '',
    usage: 'govern serve (internal: the detached gateway that start launches)',
    options: { policy, out, 'token-env': tokenEnv, mode, 'ready-fd': { type: 'string' } },
    run: serveCommand,
  },
  stop: {
    summary: 'drain, finalize and sign the bundle, print the summary',
    usage: `govern stop [--out DIR]  (${GATEWAY_OUT_HELP})`,
    options: { out: gatewayOut },
    run: stopCommand,
  },
  status: {
    summary: 'connections, counts and pending approvals of the running gateway',
    usage: `govern status [--out DIR] [--json]  (${GATEWAY_OUT_HELP})`,
    options: { out: gatewayOut, json: { type: 'boolean' } },
    run: statusCommand,
  },
  approve: {
    summary: 'release an operation held for approval',
    usage: `govern approve ID [--reason TEXT] [--out DIR]  (${GATEWAY_OUT_HELP})`,
    options: { out: gatewayOut, reason: { type: 'string' } },
    run: (ctx) => approveCommand(ctx, 'approve'),
  },
  deny: {
    summary: 'refuse an operation held for approval',
    usage: `govern deny ID [--reason TEXT] [--out DIR]  (${GATEWAY_OUT_HELP})`,
    options: { out: gatewayOut, reason: { type: 'string' } },
    run: (ctx) => approveCommand(ctx, 'deny'),
  },
  verify: {
    summary: 'check a bundle: signature, hash chain, completeness, and the job it is bound to',
    usage:
      'govern verify DIR [--key ed25519:…] [--issuer URL] [--jwks FILE] [--expect-repository NAME|ID] [--expect-workflow NAME|FILE] [--json]' +
      '  (the job binding is checked against the issuer\'s keys, GitHub\'s unless --issuer names another; --jwks checks offline)',
    options: {
      key: { type: 'string' },
      issuer: { type: 'string' },
      jwks: { type: 'string' },
      'expect-repository': { type: 'string' },
      'expect-workflow': { type: 'string' },
      json: { type: 'boolean' },
    },
    run: verifyCommand,
  },
  replay: {
    summary: 'the session as a readable timeline',
    usage: 'govern replay DIR [--connection NAME [--speed N]]  (with --connection, its terminals play at their recorded pace)',
    options: { connection: { type: 'string' }, speed: { type: 'string' } },
    run: replayCommand,
  },
  policy: {
    summary: 'check a policy file, suggest one from recorded sessions, or test one against them',
    usage:
      'govern policy check F [--no-env]\n       govern policy suggest DIR… [--out FILE]\n       govern policy test F [DIR…] [--runs N [--artifact-prefix P | --artifact-path P]] [--comment] [--format text|markdown|json] [--fail-on blocked,held,allowed,unmasked,masked,identity|never] [--out FILE]',
    options: {
      'no-env': { type: 'boolean' },
      out: { type: 'string' },
      format: { type: 'string' },
      'fail-on': { type: 'string' },
      runs: { type: 'string' },
      'artifact-prefix': { type: 'string' },
      'artifact-path': { type: 'string' },
      comment: { type: 'boolean' },
    },
    run: (ctx) => (ctx.positionals[0] === 'suggest' ? policySuggestCommand(ctx) : ctx.positionals[0] === 'test' ? policyTestCommand(ctx) : policyCheckCommand(ctx)),
  },
};

function help(): string {
  const rows = Object.entries(COMMANDS)
    .filter(([, c]) => c.summary)
    .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return `govern: in-transit data governance for CI jobs\n\nUsage: govern COMMAND [options]\n\n${rows.join('\n')}\n\nRun "govern COMMAND --help" for a command's options. Add --debug for stack traces.\n`;
}

/** Runs one CLI invocation and returns its exit status: 0 ok, 1 failure, 2 usage. */
export async function main(argv: string[], env: Env, io: Io): Promise<number> {
  const debug = argv.includes('--debug');
  const args = argv.filter((a) => a !== '--debug');
  const [name, ...rest] = args;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(help());
    return name ? 0 : 2;
  }
  if (name === '--version') {
    io.stdout.write(`govern ${pkg.version}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`govern: unknown command "${name}"; run "govern --help" for the list\n`);
    return 2;
  }
  const helpAt = rest.indexOf('--help');
  const separatorAt = rest.indexOf('--');
  if (helpAt >= 0 && (separatorAt < 0 || helpAt < separatorAt)) {
    io.stdout.write(`Usage: ${command.usage}\n`);
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
  } catch (e) {
    io.stderr.write(`govern ${name}: ${argumentProblem(e as Error & { code?: string }, name, command)}\n`);
    return 2;
  }
  if (command.options.out === gatewayOut) parsed.values.out ??= env.GOVERN_OUT || DEFAULT_OUT;
  const log = streamLogger(io.stderr, { timestamps: name === 'serve' });
  try {
    return await command.run({ values: parsed.values as CommandContext['values'], positionals: parsed.positionals, env, io, log });
  } catch (e) {
    if (debug) io.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    if (e instanceof GovernError) {
      // Messages that already name the command (usage lines) are not prefixed twice.
      const message = e.message.startsWith(`govern ${name}`) ? e.message : `govern ${name}: ${e.message}`;
      io.stderr.write(`${message}${debug ? ` [${e.code}]` : ''}\n`);
      return e.code === ErrorCode.Usage ? 2 : 1;
    }
    io.stderr.write(`govern ${name}: unexpected failure: ${(e as Error).message} (run with --debug for details)\n`);
    return 1;
  }
}

/** One sentence for what the argument parser refused, with the closest option when one was misspelt. */
function argumentProblem(e: Error & { code?: string }, name: string, command: Command): string {
  const help = `run "govern ${name} --help" for its options`;
  const option = /'(-{1,2}[^' ]+)/.exec(e.message)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const known = Object.keys(command.options).map((o) => `--${o}`);
      const close = option && closest(option.replace(/=.*$/, ''), known);
      return `unknown option ${option ?? ''}${close ? `; did you mean ${close}?` : `; ${help}`}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return `${option ?? 'an option'} ${/argument missing/.test(e.message) ? 'needs a value' : 'takes no value'}; ${help}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `takes no arguments besides its options; ${help}`;
    default:
      return `${e.message.split('\n')[0]}; ${help}`;
  }
}

/** The candidate within two edits (or a third of its length) of what was typed, if any. */
function closest(typed: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(typed, candidate);
    if (distance <= Math.max(2, Math.floor(candidate.length / 3)) && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}
