import { createHash } from 'node:crypto';
import type { Client, ClientChannel, PseudoTtyInfo, ServerChannel, Session } from 'ssh2';
import type { AdapterGovernor, Ruling } from '../../core/governor.js';
import type { Operation } from '../../policy/operation.js';
import { REDACT_ALL } from '../../masking/masker.js';
import { guarded } from '../guard.js';
import { analyzeShell, type ShellAnalysis } from './commands.js';
import { CastRecorder } from './cast.js';
import { OutputDiscovery } from './discover.js';
import { OutputMasker } from './output-mask.js';
import type { SshTarget } from './settings.js';
import { relaySftp } from './sftp.js';

/** What every channel of one job connection shares. */
export interface ConnectionContext {
  name: string;
  target: SshTarget;
  governor: AdapterGovernor;
  /** The target's connection, opened once the job has logged in; several channels share it. */
  upstream: Promise<Client>;
  log: { warn(message: string): void };
  /** The connection's last resort: ends the job's connection and records the error as a fault. */
  escaped(error: unknown): void;
  /** Files that must be complete before the bundle is signed (terminal recordings). */
  track(done: Promise<void>): void;
}

type Accept<T> = (() => T) | undefined;
type Reject = (() => void) | undefined;

/** Programs that move files: their bytes are transfers, recorded by size and never rewritten. */
const TRANSFER_PROGRAMS = new Set(['scp', 'rsync', 'git-upload-pack', 'git-receive-pack', 'git-upload-archive', 'sftp-server', 'internal-sftp']);

/**
 * One session channel of a job connection: its pty, env and window requests are kept until the exec,
 * shell or subsystem request that starts it; that request is checked by the governor first.
 */
export class SessionChannel {
  readonly #ctx: ConnectionContext;
  #pty: PseudoTtyInfo | undefined;
  readonly #env: Record<string, string> = {};
  #upstream: ClientChannel | undefined;
  #cast: CastRecorder | undefined;

  constructor(ctx: ConnectionContext, session: Session) {
    this.#ctx = ctx;
    const safely = (handle: () => unknown) => guarded(ctx.escaped, handle);
    session.on('pty', (accept, _reject, info) =>
      safely(() => {
        this.#pty = info;
        accept?.();
      }),
    );
    session.on('window-change', (accept, _reject, info) =>
      safely(() => {
        if (this.#pty) Object.assign(this.#pty, { rows: info.rows, cols: info.cols, height: info.height, width: info.width });
        this.#cast?.resize(info.cols, info.rows);
        this.#upstream?.setWindow(info.rows, info.cols, info.height, info.width);
        accept?.();
      }),
    );
    session.on('env', (accept, reject, info) => safely(() => this.#envRequest(accept, reject, info.key, info.val)));
    session.on('signal', (accept, reject, info) =>
      safely(() => {
        try {
          this.#upstream?.signal(info.name);
        } catch {
          // A signal name the protocol does not know, from the job: refused, not a fault.
          return reject?.();
        }
        accept?.();
      }),
    );
    session.on('auth-agent', (accept, reject) => safely(() => this.#refuseChannelFeature(accept, reject, 'agent_forwarding', 'agent forwarding')));
    session.on('x11', (accept, reject) => safely(() => this.#refuseChannelFeature(accept, reject, 'x11_forwarding', 'X11 forwarding')));
    session.on('exec', (accept, _reject, info) => safely(() => this.#guard(accept, (channel) => this.#exec(channel, info.command))));
    session.on('shell', (accept) => safely(() => this.#guard(accept, (channel) => (this.#pty ? this.#terminal(channel) : this.#script(channel, '')))));
    session.on('subsystem', (accept, reject, info) => safely(() => (info.name === 'sftp' ? this.#guard(accept, (channel) => this.#sftp(channel)) : reject?.())));
  }

  /** A channel's failure ends that channel with a message, never the gateway. */
  async #guard(accept: Accept<ServerChannel>, run: (channel: ServerChannel) => Promise<void>): Promise<void> {
    if (!accept) return;
    const channel = accept();
    channel.on('error', () => undefined);
    try {
      await run(channel);
    } catch (e) {
      endWith(channel, `govern: ${(e as Error).message}`, 255);
    }
  }

  #envRequest(accept: Accept<void>, reject: Reject, key: string, value: string): void {
    if (!this.#ctx.target.envAllowed(key)) {
      this.#ctx.governor.note('ssh.env.refused', { connection: this.#ctx.name, name: key });
      return reject?.();
    }
    this.#env[key] = value;
    accept?.();
  }

  /** Agent and X11 forwarding need a rule that allows them; the gateway relays neither even then. */
  async #refuseChannelFeature(_accept: Accept<void>, reject: Reject, kind: string, what: string): Promise<void> {
    const ruling = await this.#ctx.governor.decide(this.#operation(what, new Set([kind])));
    if (ruling.allowed) this.#ctx.governor.note('ssh.unsupported', { connection: this.#ctx.name, op: ruling.seq, feature: kind });
    reject?.();
  }

  /** The operation as recorded: sensitive values in the text and the argv are redacted, whatever the rules. */
  #operation(text: string, classes: Set<string>, analysis?: ShellAnalysis): Operation {
    const redact = (t: string) => this.#ctx.governor.masker.maskText(t, REDACT_ALL).text;
    return {
      connection: this.#ctx.name,
      protocol: 'ssh',
      text: redact(text),
      classes,
      writes: true,
      ...(analysis && { commands: analysis.commands.map((argv) => argv.map(redact)), written: analysis.written.map((argv) => argv.map(redact)) }),
      fingerprint: createHash('sha256').update(`${this.#ctx.name}\u0000${text}`).digest('hex'),
    };
  }

  async #exec(channel: ServerChannel, command: string): Promise<void> {
    const analysis = analyzeShell(command);
    // With a pty, a shell or interpreter reading the job's keyboard is a terminal (`ssh -t host bash`).
    if (this.#pty && analysis.readsStdin && !analysis.unparseable) return this.#terminal(channel, command, analysis);
    if (analysis.readsStdin === 'shell' && !analysis.unparseable) return this.#script(channel, command);
    const ruling = await this.#decide(command, analysis, 'exec');
    if (!ruling.allowed) return refuse(channel, ruling);
    const stream = await this.#open(channel, (upstream, done) => upstream.exec(command, { ...(this.#pty && { pty: this.#pty }), env: this.#env }, done));
    if (!stream) return;
    // Only a command line made of transfer programs alone is left unmasked: `rsync --version; cat f` is not a transfer.
    const transfer = analysis.commands.length > 0 && analysis.commands.every((argv) => TRANSFER_PROGRAMS.has(argv[0]!.split('/').pop()!));
    this.#relay(channel, stream, ruling, transfer ? undefined : ruling.masks.detectors);
  }

  async #decide(text: string, analysis: ShellAnalysis, kind: string): Promise<Ruling> {
    const classes = new Set([kind]);
    if (analysis.unparseable) classes.add('unparseable');
    if (analysis.unknown.length || analysis.readsStdin === 'interpreter') classes.add('unknown');
    return this.#ctx.governor.decide(this.#operation(text, classes, analysis));
  }

  /**
   * A shell reading its script from stdin (`ssh host <<EOF`, `ssh host bash -s < f`): the script is
   * read whole, up to the policy's cap, and checked before any of it reaches the host.
   */
  async #script(channel: ServerChannel, command: string): Promise<void> {
    const script = await readAll(channel, this.#ctx.target.maxScript);
    if (script === undefined) {
      return endWith(channel, `govern: the script sent on stdin is larger than ${this.#ctx.target.maxScript} bytes (max_script of connection "${this.#ctx.name}"); refused before it ran`, 126);
    }
    const text = script.toString('utf8');
    const analysis = analyzeShell(text);
    const head = command ? analyzeShell(command) : undefined;
    if (head) {
      analysis.commands.unshift(...head.commands);
      analysis.written.unshift(...head.written);
      analysis.unknown.push(...head.unknown);
    }
    const ruling = await this.#decide(command ? `${command} <<'script'\n${text}` : text, analysis, 'script');
    if (!ruling.allowed) return refuse(channel, ruling);
    const stream = await this.#open(channel, (upstream, done) => (command ? upstream.exec(command, { env: this.#env }, done) : upstream.shell(false, { env: this.#env }, done)));
    if (!stream) return;
    stream.end(script);
    this.#relay(channel, stream, ruling, ruling.masks.detectors, { stdin: false });
  }

  /** A terminal: refused unless a rule allows interactive shells, then recorded as an asciicast. */
  async #terminal(channel: ServerChannel, command = '', analysis?: ShellAnalysis): Promise<void> {
    const pty = this.#pty!;
    const text = `${command || 'shell'} (pty ${pty.term ?? 'unknown'} ${pty.cols}x${pty.rows})`;
    const ruling = await this.#ctx.governor.decide(this.#operation(text, new Set(['interactive']), analysis));
    if (!ruling.allowed) return refuse(channel, ruling);
    const window = { term: pty.term, cols: pty.cols, rows: pty.rows, width: pty.width, height: pty.height, modes: pty.modes };
    const stream = await this.#open(channel, (upstream, done) => (command ? upstream.exec(command, { pty: window, env: this.#env }, done) : upstream.shell(window, { env: this.#env }, done)));
    if (!stream) return;
    this.#cast = new CastRecorder(this.#ctx.governor.bundleDir, ruling.seq, { cols: pty.cols, rows: pty.rows, term: pty.term });
    this.#ctx.track(this.#cast.closed);
    this.#relay(channel, stream, ruling, ruling.masks.detectors);
  }

  async #sftp(channel: ServerChannel): Promise<void> {
    const stream = await this.#open(channel, (upstream, done) => upstream.subsys('sftp', done));
    if (!stream) return;
    relaySftp(channel, stream, { connection: this.#ctx.name, governor: this.#ctx.governor, unrecorded: unrecordedMessage });
  }

  /**
   * Opens the target's channel once what was decided is in the events file; when it cannot be
   * written, the job's channel is refused instead (126, one line) and nothing reaches the target.
   */
  async #open(channel: ServerChannel, start: (upstream: Client, done: (e: Error | undefined, stream: ClientChannel) => void) => void): Promise<ClientChannel | undefined> {
    const upstream = await this.#ctx.upstream;
    const governor = this.#ctx.governor;
    try {
      governor.commit();
      // A channel, an sftp one too, opens only while the record can still be written.
      if (governor.recordingFailure) throw governor.recordingFailure;
    } catch (e) {
      this.#ctx.log.warn(`${this.#ctx.name}: ${(e as Error).message}`);
      endWith(channel, unrecordedMessage(e), 126);
      return undefined;
    }
    return new Promise((resolve, reject) => start(upstream, (e, stream) => (e ? reject(e) : resolve(stream))));
  }

  /**
   * Relays one started channel both ways with backpressure; stdout and stderr are masked when the
   * plan has detectors; the exit status or signal goes back as the target sent it.
   */
  #relay(channel: ServerChannel, stream: ClientChannel, ruling: Ruling, detectors: Ruling['masks']['detectors'] | undefined, options: { stdin: boolean } = { stdin: true }): void {
    this.#upstream = stream;
    const started = performance.now();
    const governor = this.#ctx.governor;
    let bytes = 0;
    const cast = this.#cast;
    const discovered = OutputDiscovery.for(governor, this.#ctx.name);
    const out = sink(channel, stream, (chunk) => {
      bytes += chunk.length;
      cast?.output(chunk);
      discovered?.add(chunk);
    });
    const err = sink(channel.stderr, stream.stderr, (chunk) => (bytes += chunk.length));
    const maskOut = detectors?.size ? new OutputMasker(governor.masker, detectors, out) : undefined;
    const maskErr = detectors?.size ? new OutputMasker(governor.masker, detectors, err) : undefined;
    stream.on('data', (chunk: Buffer) => (maskOut ? maskOut.push(chunk) : out(chunk)));
    stream.stderr.on('data', (chunk: Buffer) => (maskErr ? maskErr.push(chunk) : err(chunk)));
    if (options.stdin) {
      channel.on('data', (chunk: Buffer) => {
        if (!stream.write(chunk)) channel.pause();
      });
      stream.on('drain', () => channel.resume());
      channel.on('end', () => stream.end());
    }
    let exit: { code?: number; signal?: string; core?: boolean; description?: string } = {};
    stream.on('exit', (code: number | null, signal?: string, core?: boolean, description?: string) => {
      exit = code === null || code === undefined ? { signal: signal ?? 'SIGKILL', core: core ?? false, description: description ?? '' } : { code };
    });
    stream.on('error', () => undefined);
    channel.on('close', () => stream.close());
    stream.on('close', () => {
      maskOut?.flush();
      maskErr?.flush();
      discovered?.done();
      cast?.close();
      try {
        if (exit.code !== undefined) channel.exit(exit.code);
        else if (exit.signal) channel.exit(exit.signal, exit.core ?? false, exit.description ?? '');
      } catch {
        // A signal name the protocol does not know: the channel ends without one.
      }
      channel.end();
      governor.completed(ruling, {
        durationMs: performance.now() - started,
        bytes,
        maskedValues: (maskOut?.masked ?? 0) + (maskErr?.masked ?? 0),
        ...(exit.code !== undefined && { exit: exit.code }),
        ...(exit.signal && { exit: exit.signal, error: `killed by ${exit.signal}` }),
      });
    });
  }
}

/** A writer toward the job that pauses the target's stream while the job's side is full. */
function sink(to: NodeJS.WritableStream, from: NodeJS.ReadableStream, counted: (chunk: Buffer) => void): (chunk: Buffer) => void {
  to.on('drain', () => from.resume());
  return (chunk) => {
    counted(chunk);
    if (!to.write(chunk)) from.pause();
  };
}

function refuse(channel: ServerChannel, ruling: Ruling): void {
  const id = ruling.requestId && !ruling.message?.includes(ruling.requestId) ? ` (request ${ruling.requestId})` : '';
  endWith(channel, `govern: ${ruling.message ?? 'refused'}${id}`, 126);
}

/** The one line a job reads when its operation is refused because the record cannot be written. */
function unrecordedMessage(e: unknown): string {
  return `govern: refused, the session cannot be recorded: ${(e as Error).message}`;
}

function endWith(channel: ServerChannel, line: string, status: number): void {
  try {
    channel.stderr.write(`${line}\n`);
    channel.exit(status);
    channel.end();
  } catch {
    // The job already went away.
  }
}

/** The whole of a channel's stdin, or undefined past `max` bytes. */
function readAll(channel: ServerChannel, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        channel.off('data', onData);
        channel.off('end', onEnd);
        return resolve(undefined);
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    channel.on('data', onData);
    channel.once('end', onEnd);
    channel.once('close', onEnd);
  });
}
