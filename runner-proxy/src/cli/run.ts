import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { hideCredentials } from '../masking/credentials.js';
import { REDACT_ALL } from '../masking/masker.js';
import { jobEnvironment } from '../gateway/job-env.js';
import { launch, shutdown } from './launch.js';
import { usage, type CommandContext } from './context.js';
import { failOnReason, parseFailOn } from './fail-on.js';

const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);

interface Exit {
  status: number | null;
  signal: NodeJS.Signals | null;
  error?: NodeJS.ErrnoException;
}

export async function runCommand({ values, positionals, env, io, log }: CommandContext): Promise<number> {
  if (positionals.length === 0) throw usage('nothing to run: put the command after --, as in govern run -- npm test');
  const failOn = parseFailOn(values['fail-on']);
  const launched = await launch({ policyPath: values.policy as string | undefined, outDir: values.out as string, tokenEnv: values['token-env'] as string | undefined, mode: values.mode as string | undefined, env, log });
  const { governor } = launched.gateway;
  const [program, ...args] = positionals as [string, ...string[]];
  governor.note('process.start', { command: governor.masker.maskText(hideCredentials(positionals.map(quote).join(' ')), REDACT_ALL).text });
  const started = performance.now();

  const exit = await new Promise<Exit>((resolve) => {
    const child = spawn(program, args, { stdio: 'inherit', env: jobEnvironment(env, launched.withheld, { ...launched.gateway.exports(), GOVERN_OUT: launched.gateway.outDir }) });
    // Ctrl-C reaches the command through the terminal; govern stays to finalize. Other signals are passed on.
    const ignore = () => undefined;
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', ignore);
    process.on('SIGTERM', forward);
    process.on('SIGHUP', forward);
    const done = (result: Exit) => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', forward);
      process.off('SIGHUP', forward);
      resolve(result);
    };
    child.once('error', (error: NodeJS.ErrnoException) => done({ status: null, signal: null, error }));
    child.once('exit', (status, signal) => done({ status, signal }));
  });

  const durationMs = Math.round(performance.now() - started);
  governor.note('process.exit', { status: exit.status, signal: exit.signal, duration_ms: durationMs, ...(exit.error && { error: exit.error.code }) });
  const how = exit.error ? `could not start (${exit.error.code})` : exit.signal ? `ended by ${exit.signal}` : `exited with status ${exit.status}`;
  const summary = await shutdown(launched, `command ${how}`);
  io.stderr.write(summary);

  if (exit.error) {
    io.stderr.write(`govern run: cannot run "${program}": ${exit.error.code === 'ENOENT' ? 'command not found' : exit.error.message}\n`);
    return exit.error.code === 'ENOENT' ? 127 : 126;
  }
  if (exit.signal) return 128 + (constants.signals[exit.signal] ?? 0);
  if (exit.status !== 0) return exit.status ?? 1;
  const reason = failOnReason(failOn, launched.gateway.governor.counts);
  if (reason) {
    io.stderr.write(`govern run: failing the run: ${reason}\n`);
    return 1;
  }
  return 0;
}
