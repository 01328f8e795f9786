/**
 * One job connection served on a raw socket with the gateway's own codec (`codec.ts`), and each of its
 * requests sent to the target on a kept-alive raw connection (`pool.ts`) with framing the gateway
 * writes itself. Requests on a connection are handled one after another (pipelined ones wait, read);
 * writes are batched (cork/uncork) so that a head and the body that came with it leave in one write.
 */
import { STATUS_CODES } from 'node:http';
import type { Server, Socket } from 'node:net';
import type { Readable, Transform } from 'node:stream';
import type { ResultStats, Ruling } from '../../core/governor.js';
import type { Operation, RequestMasks } from '../../core/operation.js';
import { guardConnection } from '../guard.js';
import { chunkHead, headerLines, LAST_CHUNK, MESSAGE_END, MessageReader, type Head, type ReadEvent } from './codec.js';
import { BodyDiscovery } from './discover.js';
import type { JsonStreamMasker } from './json-mask.js';
import {
  decoderFor,
  isPartial,
  judgeMethod,
  MASKED_DROPS,
  masksAnswers,
  maskStage,
  RANGE_HEADERS,
  RecordedBody,
  refusalBody,
  refusalStatus,
  recordText,
  recordingRefusal,
  refuseMalformed,
  requestOperation,
  type ListenerState,
} from './exchange.js';
import { decodable, decodeBody, endToEndHeaders, inspectJsonBody, MAX_INSPECTED_BODY, UninspectableBody } from './message.js';
import { BODY_DIGESTS, maskQuery, maskRequestBody, masksValues } from './request-mask.js';
import type { SecretPath } from './secret-path.js';
import { AmbiguousRequest, bodyOverride, overrideMayBeInBody, overridingMethod, readRequest, type ReadRequest } from './target-reading.js';
import { maskHeaders } from './text-mask.js';
import { handleUpgrade } from './websocket.js';

/** An idle job connection is closed after this long. */
const KEEP_ALIVE_MS = 60_000;
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const EXCHANGE = Symbol('exchange');
/** A target connection's reader of answers, kept with it: it is back at a message's start whenever the connection is idle. */
const ANSWERS = Symbol('answers');

type TargetSocket = Socket & { [EXCHANGE]?: Exchange; [ANSWERS]?: MessageReader };

const enum Phase {
  /** Deciding: the body waits, unread, in the reader. */
  Deciding,
  /** A rule needs the body's JSON: it is collected. */
  Collecting,
  /** Forwarded: body pieces go to the target as they come. */
  Sending,
  /** A refused request's body is read and dropped, so the connection can serve the next one. */
  Skipping,
  /** The whole request is read. */
  Read,
}

/**
 * Where a request goes when it is not to the connection's own target (the forward proxy): its target's
 * state, or undefined when the route answered the request itself or took the socket over.
 */
export type RequestRoute = (head: Head, connection: JobConnection) => ListenerState | undefined;

/** The job connections of one listener, so that closing it can end idle ones at once and the rest later. */
export class JobConnections {
  readonly #open = new Set<JobConnection>();
  /** The reverse listener's: every request target must start with it. */
  readonly #secretPath: SecretPath | undefined;

  constructor(secretPath?: SecretPath) {
    this.#secretPath = secretPath;
  }

  serve(socket: Socket, state: ListenerState, route?: RequestRoute): void {
    const connection = new JobConnection(socket, state, route, this.#secretPath);
    this.#open.add(connection);
    socket.once('close', () => this.#open.delete(connection));
    connection.escaped = guardConnection(socket, `${state.name} connection`, state.fault, () => connection.start());
  }

  /** Closes the listener: idle connections at once, the others once they finish or the deadline passes. */
  async close(server: Server, deadlineMs: number): Promise<void> {
    const closed = server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const c of this.#open) c.closeIfIdle();
    const timer = setTimeout(() => {
      for (const c of this.#open) c.socket.destroy();
    }, deadlineMs);
    await closed;
    clearTimeout(timer);
  }
}

export class JobConnection {
  readonly socket: Socket;
  /** The connection's own target, or the forward proxy's where no target is known yet. */
  readonly state: ListenerState;
  readonly #route: RequestRoute | undefined;
  /** The reverse listener's secret segment, which requests must start with and the target never sees. */
  readonly secretPath: SecretPath | undefined;
  /** Where the path the target gets starts in a request target: after the secret segment. */
  readonly pathStart: number;
  readonly reader = new MessageReader('request');
  exchange: Exchange | undefined;
  /** The connection's last resort: an error that escaped ends it and is reported as a fault. */
  escaped: (e: unknown) => void = () => undefined;
  /** The job closed its side: no request follows the one in progress. */
  #peerEnded = false;
  /** The gateway ends this connection: nothing more is read from it. */
  #ending = false;

  constructor(socket: Socket, state: ListenerState, route?: RequestRoute, secretPath?: SecretPath) {
    this.socket = socket;
    this.state = state;
    this.#route = route;
    this.secretPath = secretPath;
    this.pathStart = secretPath ? secretPath.segment.length : 0;
  }

  start(): void {
    const socket = this.socket;
    socket.setNoDelay(true);
    socket.setTimeout(KEEP_ALIVE_MS);
    socket.on('timeout', () => this.closeIfIdle());
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('end', () => {
      this.#peerEnded = true;
      this.reader.end();
      this.#guarded(() => this.drain());
      if (!this.exchange) socket.end();
    });
    socket.on('drain', () => this.exchange?.jobDrained());
    socket.on('close', () => this.exchange?.jobLeft());
  }

  closeIfIdle(): void {
    if (!this.exchange) this.socket.destroy();
  }

  #read(chunk: Buffer): void {
    this.reader.push(chunk);
    const target = this.exchange?.target;
    target?.cork();
    this.#guarded(() => this.drain());
    target?.uncork();
    // Bytes past the request in progress (pipelined requests) wait in the reader, not more of them.
    if (this.exchange && !this.exchange.reading) this.socket.pause();
  }

  #guarded(step: () => void): void {
    try {
      step();
    } catch (e) {
      this.escaped(e);
    }
  }

  /** Hands what the reader has to the request in progress, or starts the next request. */
  drain(): void {
    const reader = this.reader;
    for (;;) {
      const exchange = this.exchange;
      if (exchange && !exchange.reading) return;
      if (this.#ending || this.socket.destroyed) return;
      const event = reader.next();
      if (event === undefined) break;
      if (exchange) exchange.body(event as Buffer | typeof MESSAGE_END);
      else this.#begin(event as Head);
    }
    if (reader.error === undefined) return;
    if (this.exchange) this.exchange.malformed(reader.error);
    else this.refuseMalformed(reader.error);
  }

  /** Answers 400 to a malformed request and ends the connection. */
  refuseMalformed(problem: string): void {
    this.#ending = true;
    refuseMalformed(this.socket, this.state, problem);
  }

  #begin(head: Head): void {
    // Nothing of a request whose body is already known to be malformed reaches the target.
    if (this.reader.failsInMessage()) return this.refuseMalformed(this.reader.error!);
    if (this.secretPath && !this.secretPath.admits(head.url)) return this.#refuseWithoutSecret();
    const state = this.#route ? this.#route(head, this) : this.state;
    if (!state) return;
    if (head.upgrade) return handleUpgrade(head, this.socket, this.detach(), state, this.secretPath);
    this.exchange = new Exchange(this, head, state);
    this.exchange.start();
  }

  /** Hands the socket over (an upgrade, a CONNECT), paused, with the bytes already read past the head. */
  detach(): Buffer {
    this.#ending = true;
    const socket = this.socket;
    for (const event of ['data', 'end', 'drain', 'timeout']) socket.removeAllListeners(event);
    socket.setTimeout(0);
    socket.pause();
    return this.reader.detach();
  }

  /** A request without the job's secret segment, maybe from another process on the runner: refused, and its path not recorded. */
  #refuseWithoutSecret(): void {
    this.state.governor.note('auth.failed', { connection: this.state.name, message: "a request without the job's secret path segment was refused" });
    this.refuse(this.secretPath!.refusal);
  }

  /** An answer the connection's route gives itself, after which the connection ends. */
  refuse(text: string): void {
    this.#ending = true;
    this.socket.end(text);
  }

  /** The exchange is over: the next request is read, or the connection ends. */
  done(keepAlive: boolean): void {
    this.exchange = undefined;
    if (!keepAlive || this.#peerEnded) {
      this.#ending = true;
      return void this.socket.end();
    }
    this.socket.resume();
    this.drain();
  }
}

/** One request and its answer on a raw connection. */
class Exchange {
  readonly #job: JobConnection;
  readonly #state: ListenerState;
  readonly #head: Head;
  readonly #started = performance.now();
  #phase = Phase.Deciding;
  #ruling: Ruling | undefined;
  /** Collected body pieces (when a rule reads the body), sent on first when forwarded. */
  #collected: Buffer[] | undefined;
  #collectedLength = 0;
  #op: (Operation & { classes: Set<string> }) | undefined;
  target: TargetSocket | undefined;
  #reused = false;
  /** The request's head as sent to the target, kept to send it again on a fresh connection. */
  #targetHead = '';
  #answers: MessageReader | undefined;
  #answered = false;
  #headSent = false;
  #finished = false;
  #completed = false;
  #status = 0;
  #bytes = 0;
  #maskedHeaders = 0;
  /** How the answer's body goes to the job. */
  #chunked = false;
  #keepAlive: boolean;
  #collect: Buffer[] | undefined;
  #direct: JsonStreamMasker | undefined;
  #stages: Transform[] | undefined;
  #stageCount: (() => number) | undefined;
  #recorded: RecordedBody | undefined;
  #discovered: BodyDiscovery | undefined;
  #outHeaders: string[] = [];
  #reason = '';
  /** Whether the target's connection may carry another request once this answer is read. */
  #targetReusable = false;
  #uninspectableWhy: string | undefined;
  /** Mask rules with `on: write` that must mask this request's body: it is read whole first. */
  #writeMasks: RequestMasks | undefined;
  /** Values masked in what goes to the target (query, body, headers). */
  #requestMasked = 0;
  #bodyMasked = false;
  /** The query as the target gets it and the record keeps it (masked where rules say). */
  #search = '';
  /** The query as the job sent it, where an override may be. */
  #rawSearch = '';
  /** Whether the body is read whole for a `_method` field. */
  #overrideInBody = false;
  /** The start of the request's body for the record (`recording.results: masked`), as the target gets it. */
  #requestRecord: RecordedBody | undefined;

  constructor(job: JobConnection, head: Head, state: ListenerState) {
    this.#job = job;
    this.#state = state;
    this.#head = head;
    this.#keepAlive = head.keepAlive;
  }

  /** Whether the exchange takes body pieces from the reader now. */
  get reading(): boolean {
    return this.#phase === Phase.Collecting || this.#phase === Phase.Sending || this.#phase === Phase.Skipping;
  }

  start(): void {
    const state = this.#state;
    const head = this.#head;
    const reading = state.target.reading;
    let target: ReadRequest;
    try {
      target = readRequest(head.method, head.url, head.rawHeaders, reading, this.#job.pathStart);
    } catch (e) {
      if (e instanceof AmbiguousRequest) return this.#refuseAmbiguous(e, true);
      throw e;
    }
    const op = requestOperation(state, target.judgedMethod, target, head.rawHeaders);
    this.#op = op;
    let search = target.search;
    // What the job sends is masked where mask rules with `on: write` say: the query before it is recorded.
    const writeMasks = state.governor.masksRequests ? state.governor.maskPlan(op).write : undefined;
    if (writeMasks) {
      const query = maskQuery(search, writeMasks, state.governor.masker);
      if (query.count) {
        search = query.search;
        op.text = recordText(head.method, target.path, search, state.governor);
        this.#requestMasked = query.count;
      }
      if (masksValues(writeMasks) && (head.chunked || head.contentLength !== 0)) this.#writeMasks = writeMasks;
    }
    if (RecordedBody.wanted(state.governor, head.headers['content-type'], false, head.headers['content-encoding'])) this.#requestRecord = new RecordedBody();
    this.#targetHead = `${target.method} ${target.path}${search} HTTP/1.1\r\n`;
    this.#search = search;
    this.#rawSearch = target.search;
    // A form may carry `_method` (which some servers read before the headers'): the body is read whole to find it.
    this.#overrideInBody = overrideMayBeInBody(target.method, head.headers['content-type'], reading) && (head.chunked || head.contentLength !== 0);
    // The client waits to be told to send its body: as Node's server does, it is told at once.
    if (this.#head.expectContinue && !this.#job.reader.holdsEnd()) this.#job.socket.write(CONTINUE);
    if (state.governor.needsJson(op) || this.#writeMasks || this.#overrideInBody) {
      this.#collected = [];
      this.#phase = Phase.Collecting;
      this.#job.socket.resume();
      return this.#job.drain();
    }
    this.#decide();
  }

  /** A body piece, or the end of the body, from the reader. */
  body(event: Buffer | typeof MESSAGE_END): void {
    if (this.#phase === Phase.Skipping) {
      if (event === MESSAGE_END) this.#requestRead();
      return;
    }
    if (this.#phase === Phase.Collecting) return this.#collectPiece(event);
    const target = this.target!;
    if (event === MESSAGE_END) {
      if (this.#head.chunked) target.write(LAST_CHUNK);
      return this.#requestRead();
    }
    this.#requestRecord?.add(event);
    if (this.#head.chunked) target.write(chunkHead(event.length));
    const more = target.write(event);
    if (this.#head.chunked) target.write('\r\n');
    if (!more) this.#job.socket.pause();
  }

  #collectPiece(event: Buffer | typeof MESSAGE_END): void {
    if (event !== MESSAGE_END) {
      this.#collected!.push(event);
      this.#collectedLength += event.length;
      if (this.#collectedLength <= MAX_INSPECTED_BODY) return;
      this.#uninspectable(`the body is larger than ${MAX_INSPECTED_BODY >> 20} MiB`);
      return this.#decide();
    }
    this.#phase = Phase.Read;
    const raw = Buffer.concat(this.#collected!);
    this.#collected = [raw];
    this.#inspectBody(raw).then(
      () => this.#decide(),
      (e: unknown) => {
        if (e instanceof AmbiguousRequest) return this.#refuseAmbiguous(e, false);
        if (!(e instanceof UninspectableBody)) return this.#fail(e);
        this.#uninspectable(e.message);
        this.#decide();
      },
    );
  }

  /** What rules read in a body read whole: its JSON for a json condition, and the masks of write rules. */
  async #inspectBody(raw: Buffer): Promise<void> {
    const { governor } = this.#state;
    const type = this.#head.headers['content-type'];
    const coding = this.#head.headers['content-encoding'];
    if (this.#overrideInBody) {
      const override = overridingMethod(this.#head.rawHeaders, this.#rawSearch, this.#state.target.reading, bodyOverride(await decodeBody(raw, coding), type));
      if (override) judgeMethod(this.#op!, override, this.#search, governor);
    }
    if (governor.needsJson(this.#op!)) {
      const json = await inspectJsonBody(raw, type, coding);
      if (json !== undefined) this.#op!.json = json;
    }
    if (!this.#writeMasks) return;
    const masked = await maskRequestBody(raw, type, coding, this.#writeMasks, governor.masker);
    if (masked.count === 0) return;
    this.#collected = [masked.body];
    this.#collectedLength = masked.body.length;
    this.#requestMasked += masked.count;
    this.#bodyMasked = true;
  }

  /** A request the target may read otherwise than the rules would: 400, recorded; `close` when its body is not read. */
  #refuseAmbiguous(e: AmbiguousRequest, close: boolean): void {
    this.#state.governor.note('http.ambiguous', { connection: this.#state.name, problem: e.message });
    this.#answerJson(400, { error: `refused: ${e.message}` }, close);
  }

  /** A rule must look inside the body and cannot: the operation is refused as unparseable. */
  #uninspectable(why: string): void {
    const op = this.#op!;
    op.classes = new Set(['unparseable']);
    op.text += ` (${why})`;
    this.#uninspectableWhy = why;
  }

  #decide(): void {
    if (this.#phase === Phase.Collecting) this.#phase = Phase.Deciding;
    const ruling = this.#state.governor.decide(this.#op!);
    if (!(ruling instanceof Promise)) return this.#ruled(ruling);
    // A hold may take long: the job's further bytes wait in the kernel meanwhile.
    this.#job.socket.pause();
    ruling.then((r) => this.#ruled(r)).catch((e: unknown) => this.#fail(e));
  }

  /** Whether the request's whole body is already read (or it has none). */
  #bodyHere(): boolean {
    return this.#phase === Phase.Read || this.#job.reader.holdsEnd() || (this.#head.contentLength === 0 && !this.#head.chunked);
  }

  #ruled(ruling: Ruling): void {
    const state = this.#state;
    if (!ruling.allowed) {
      const detail = this.#uninspectableWhy ? `: ${this.#unreadable()} (${this.#uninspectableWhy})` : '';
      return this.#refuse(refusalStatus(ruling), refusalBody(ruling, detail), this.#bodyHere());
    }
    if (this.#uninspectableWhy && this.#writeMasks) {
      // Observe mode lets the request through, but never a body that had to be masked and could not be.
      const message = `the body is not forwarded: ${this.#unreadable()} (${this.#uninspectableWhy})`;
      state.governor.completed(ruling, { durationMs: performance.now() - this.#started, error: message });
      return this.#refuse(403, refusalBody({ rule: this.#writeMasks.rules[0]!, message }), this.#bodyHere());
    }
    // The job may have left while its request waited for an approver: nothing goes to the target then.
    if (this.#job.socket.destroyed) return state.governor.completed(ruling, { durationMs: performance.now() - this.#started, error: 'the job left before the request was forwarded' });
    this.#ruling = ruling;
    // The request's event goes into the file with those of every request read in this turn, in one write.
    state.governor.commitThen(this.#committed);
  }

  /** The request's event is in the file (or cannot be written: the request is refused, nothing reaches the target). */
  readonly #committed = (failure?: unknown): void => {
    if (this.#finished) return;
    if (failure !== undefined) {
      const refusal = recordingRefusal(failure);
      this.#ruling = undefined;
      return this.#refuse(refusal.status, refusal.body, this.#bodyHere());
    }
    try {
      this.#forward();
    } catch (e) {
      this.#fail(e);
    }
  };

  /** Why an unreadable body stops the request: a json condition, or the mask rules that had to mask it. */
  #unreadable(): string {
    const rules = this.#writeMasks?.rules;
    if (!rules?.length) return 'a rule must read this body and cannot';
    return `${rules.length > 1 ? 'rules' : 'rule'} "${rules.join('", "')}" must mask this body and cannot`;
  }

  /** A refusal: the connection stays open only when the refused body is already read (it is dropped). */
  #refuse(status: number, body: Record<string, unknown>, bodyHere: boolean): void {
    if (bodyHere && this.#phase !== Phase.Read) this.#phase = Phase.Skipping;
    this.#answerJson(status, body, !bodyHere);
  }

  #forward(): void {
    const state = this.#state;
    const t = state.target;
    const head = this.#head;
    let framing: string;
    if (this.#collected && this.#phase === Phase.Read) framing = `Content-Length: ${this.#collectedLength}\r\n`;
    else if (head.chunked) framing = 'Transfer-Encoding: chunked\r\n';
    else if (head.headers['content-length'] !== undefined) framing = `Content-Length: ${head.contentLength}\r\n`;
    else framing = '';
    // A body the gateway masked no longer matches the digests the job sent of it; an answer to mask is asked for whole.
    const wholeAnswer = masksAnswers(this.#ruling!.masks);
    let drops = t.injectedNames;
    if (this.#bodyMasked || wholeAnswer) {
      const more = new Set(t.injectedNames);
      if (this.#bodyMasked) for (const name of BODY_DIGESTS) more.add(name);
      if (wholeAnswer) for (const name of RANGE_HEADERS) more.add(name);
      drops = more;
    }
    const headers = endToEndHeaders(head.rawHeaders, drops);
    // Request headers a mask rule with `on: write` names; the connection's own credentials come after.
    this.#requestMasked += maskHeaders(headers, this.#ruling!.masks.write, state.governor.masker);
    this.#targetHead += `${headerLines(headers)}${t.addedLines}${framing}\r\n`;
    this.#connect();
    const target = this.target!;
    target.cork();
    target.write(this.#targetHead, 'latin1');
    if (this.#collected && this.#phase === Phase.Read) {
      // A body read whole for a rule goes on as it was sent (or masked), then the request is complete.
      for (const piece of this.#collected) {
        this.#requestRecord?.add(piece);
        target.write(piece);
      }
      this.#collected = undefined;
      this.#requestRead();
    } else {
      if (this.#collected) {
        // A body too large to inspect: what was read goes first, the rest follows as it comes.
        for (const piece of this.#collected) this.body(piece);
        this.#collected = undefined;
      }
      this.#phase = Phase.Sending;
      this.#job.socket.resume();
      this.#job.drain();
    }
    target.uncork();
  }

  /** Takes a connection to the target and listens on it for this exchange. */
  #connect(): void {
    const { socket, reused } = this.#state.target.pool.acquire();
    const target = socket as TargetSocket;
    if (!(EXCHANGE in target)) {
      target.on('data', onTargetData);
      target.on('end', onTargetEnd);
      target.on('close', onTargetClose);
      target.on('error', onTargetError);
      target.on('drain', onTargetDrain);
    }
    target[EXCHANGE] = this;
    this.target = target;
    this.#reused = reused;
    this.#answers = target[ANSWERS] ??= new MessageReader('response');
    this.#answers.bodyless = this.#head.method === 'HEAD';
  }

  #requestRead(): void {
    this.#phase = Phase.Read;
    if (this.#finished) this.#end();
  }

  /** The reader found the request's body malformed after it began to go to the target. */
  malformed(problem: string): void {
    this.#finished = true;
    this.target?.destroy();
    this.#complete(`malformed request body: ${problem}`);
    if (!this.#headSent) this.#job.refuseMalformed(problem);
    else this.#job.socket.destroy();
  }

  jobDrained(): void {
    this.target?.resume();
  }

  jobLeft(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.target?.destroy();
    if (this.#ruling) this.#complete(this.target ? 'the job left' : 'the job left before the request was forwarded');
  }

  targetDrained(): void {
    if (this.#phase === Phase.Sending) this.#job.socket.resume();
  }

  targetData(chunk: Buffer): void {
    this.#answered = true;
    this.#answers!.push(chunk);
    this.#consume();
  }

  #consume(): void {
    const answers = this.#answers!;
    const socket = this.#job.socket;
    socket.cork();
    try {
      for (let event: ReadEvent | undefined; !this.#finished && (event = answers.next()) !== undefined; ) {
        if (event === MESSAGE_END) this.#answerEnd();
        else if (Buffer.isBuffer(event)) this.#answerPiece(event);
        else this.#answerHead(event);
      }
      if (answers.error !== undefined && !this.#finished) this.#targetFailed(answers.error);
    } catch (e) {
      this.#fail(e);
    } finally {
      socket.uncork();
    }
  }

  targetEnded(): void {
    this.#answers!.end();
    this.#consume();
    this.targetClosed();
  }

  targetClosed(error?: Error & { code?: string }): void {
    if (this.#finished) return;
    // A kept-alive connection the target had closed meanwhile: a request without a body is sent again.
    if (this.#reused && !this.#answered && this.#head.contentLength === 0 && !this.#head.chunked && this.#phase === Phase.Read) {
      this.target![EXCHANGE] = undefined;
      this.target!.destroy();
      this.#connect();
      this.target!.write(this.#targetHead, 'latin1');
      return;
    }
    this.#targetFailed(error ? (error.code ?? error.message) : 'the target closed the connection');
  }

  #targetFailed(problem: string): void {
    this.target?.destroy();
    // Once the target's answer began, a cut answer is a cut response (the job must not take it as whole).
    if (this.#status === 0) {
      this.#complete(`the target failed: ${problem}`);
      return this.#answerJson(502, { error: `the target cannot be reached (${problem})` }, this.#phase !== Phase.Read);
    }
    this.#cut(problem);
  }

  /** The answer broke off after its head went to the job: the job's connection ends with it. */
  #cut(problem: string): void {
    this.#complete(`the response was cut: ${problem}`);
    this.#finished = true;
    this.target?.destroy();
    this.#job.socket.destroy();
  }

  #answerHead(answer: Head): void {
    const state = this.#state;
    const ruling = this.#ruling!;
    const contentType = answer.headers['content-type'];
    const coding = answer.headers['content-encoding'];
    const stage = maskStage(ruling, contentType, state.governor);
    if (masksAnswers(ruling.masks) && isPartial(answer.statusCode, contentType)) {
      this.target!.destroy();
      this.#complete('a partial answer cannot be masked');
      return this.#answerJson(502, { error: 'the target answered with part of its body (206 or multipart/byteranges), which the gateway cannot mask' }, this.#phase !== Phase.Read);
    }
    if (stage && !decodable(coding)) {
      this.target!.destroy();
      this.#complete(`content coding ${coding} cannot be masked`);
      return this.#answerJson(502, { error: `the target's response is coded "${coding}", which the gateway cannot decode to mask` }, this.#phase !== Phase.Read);
    }
    this.#status = answer.statusCode;
    this.#reason = answer.statusMessage;
    this.#targetReusable = answer.keepAlive || (this.#head.method === 'HEAD' && answer.headers.connection?.toLowerCase() !== 'close');
    const headers = endToEndHeaders(answer.rawHeaders, stage ? MASKED_DROPS : undefined);
    if (answer.links && this.#job.secretPath) this.#job.secretPath.rewriteHeaders(headers);
    this.#maskedHeaders = maskHeaders(headers, ruling.masks, state.governor.masker);
    if (RecordedBody.wanted(state.governor, contentType, !!stage, coding)) this.#recorded = new RecordedBody();
    this.#discovered = BodyDiscovery.for(state.governor, this.#op!.connection, contentType, !!stage || !coding);
    const bodyless = this.#head.method === 'HEAD' || answer.statusCode === 204 || answer.statusCode === 304;
    const length = answer.chunked || answer.contentLength < 0 ? Infinity : answer.contentLength;
    const decoder = stage && decoderFor(coding);
    if (stage && !bodyless) {
      this.#stageCount = stage.count;
      // A bounded, uncoded JSON body is masked piece by piece as it is collected, with no stream stage.
      if (length <= MAX_INSPECTED_BODY && !decoder && !state.governor.recordsContent && stage.json) this.#direct = stage.json;
      else this.#pipeStages(decoder ? [decoder, stage.stream()] : [stage.stream()]);
      // A masked body of known, bounded size is re-framed with its new length, in one write.
      if (length <= MAX_INSPECTED_BODY) {
        this.#collect = [];
        this.#outHeaders = headers;
        return;
      }
    }
    let framing = '';
    if (bodyless || (!stage && length !== Infinity)) {
      if (answer.headers['content-length'] !== undefined) framing = `Content-Length: ${answer.headers['content-length']}\r\n`;
    } else if (this.#head.httpVersion === '1.1') {
      this.#chunked = true;
      framing = 'Transfer-Encoding: chunked\r\n';
    } else this.#keepAlive = false;
    this.#writeHead(answer.statusCode, answer.statusMessage, headers, framing);
  }

  /** The masking stages a body goes through when it cannot be masked directly; their output goes to the job. */
  #pipeStages(stages: Transform[]): void {
    this.#stages = stages;
    for (let i = 0; i < stages.length; i++) {
      const stage = stages[i]!;
      stage.on('error', (e: Error) => this.#cut(e.message));
      if (i + 1 < stages.length) stage.pipe(stages[i + 1]!);
    }
    const last: Readable = stages[stages.length - 1]!;
    last.on('data', (piece: Buffer) => this.#out(piece));
    last.on('end', () => this.#bodyDone());
    stages[0]!.on('drain', () => this.target?.resume());
  }

  #answerPiece(piece: Buffer): void {
    this.#bytes += piece.length;
    if (this.#direct) {
      let masked: Buffer[];
      try {
        masked = this.#direct.push(piece);
      } catch (e) {
        return this.#cut((e as Error).message);
      }
      for (const m of masked) this.#out(m);
    } else if (this.#stages) {
      if (!this.#stages[0]!.write(piece)) this.target!.pause();
    } else this.#out(piece);
  }

  #answerEnd(): void {
    if (this.#direct) {
      let masked: Buffer[];
      try {
        masked = this.#direct.end();
      } catch (e) {
        return this.#cut((e as Error).message);
      }
      for (const m of masked) this.#out(m);
      this.#bodyDone();
    } else if (this.#stages) this.#stages[0]!.end();
    else this.#bodyDone();
  }

  /** A piece of the answer's body as it goes to the job (masked when it is). */
  #out(piece: Buffer): void {
    if (piece.length === 0) return;
    this.#recorded?.add(piece);
    this.#discovered?.add(piece);
    if (this.#collect) return void this.#collect.push(piece);
    const socket = this.#job.socket;
    let more: boolean;
    if (this.#chunked) {
      socket.write(chunkHead(piece.length));
      socket.write(piece);
      more = socket.write('\r\n');
    } else more = socket.write(piece);
    if (!more) this.target?.pause();
  }

  #bodyDone(): void {
    if (this.#finished) return;
    const socket = this.#job.socket;
    if (this.#collect) {
      const body = this.#collect;
      this.#collect = undefined;
      let length = 0;
      for (const piece of body) length += piece.length;
      this.#writeHead(this.#status, this.#reason, this.#outHeaders, `Content-Length: ${length}\r\n`, body, length);
    } else if (this.#chunked) socket.write(LAST_CHUNK);
    this.#discovered?.done();
    this.#complete(undefined, this.#maskedHeaders + (this.#stageCount?.() ?? 0), this.#recorded?.text(this.#state.governor));
    const target = this.target!;
    target[EXCHANGE] = undefined;
    if (this.#targetReusable && this.#phase === Phase.Read && !this.#answers!.error) this.#state.target.pool.release(target);
    else target.destroy();
    this.#finished = true;
    if (this.#phase === Phase.Read) this.#end();
  }

  /** Writes the answer's head, and the pieces of its body (`length` bytes in all) with it when they are all here. */
  #writeHead(status: number, reason: string, headers: readonly string[], framing: string, body: readonly Buffer[] = [], length = 0): void {
    this.#headSent = true;
    const connection = !this.#keepAlive ? 'Connection: close\r\n' : this.#head.httpVersion === '1.0' ? 'Connection: keep-alive\r\n' : '';
    const head = `HTTP/1.1 ${status} ${reason || STATUS_CODES[status] || ''}\r\n${headerLines(headers)}${framing}${connection}\r\n`;
    const socket = this.#job.socket;
    // Heads are written as read (latin1: every byte as it was); a head and its body leave as one buffer.
    const bytes = Buffer.allocUnsafe(head.length + length);
    let at = bytes.write(head, 0, 'latin1');
    for (const piece of body) {
      bytes.set(piece, at);
      at += piece.length;
    }
    if (!socket.write(bytes)) this.target?.pause();
  }

  /** An answer the gateway makes itself; `close` ends the connection after it. */
  #answerJson(status: number, body: Record<string, unknown>, close: boolean): void {
    if (close) this.#keepAlive = false;
    const bytes = Buffer.from(JSON.stringify(body));
    this.#writeHead(status, STATUS_CODES[status] ?? '', ['Content-Type', 'application/json'], `Content-Length: ${bytes.length}\r\n`, [bytes], bytes.length);
    this.#finished = true;
    if (this.target) this.target[EXCHANGE] = undefined;
    if (this.#phase === Phase.Read || close) this.#end();
    else if (this.#phase === Phase.Skipping) {
      this.#job.socket.resume();
      this.#job.drain();
    }
  }

  #complete(error?: string, answerMasked = 0, body?: string): void {
    if (this.#completed || !this.#ruling) return;
    this.#completed = true;
    const { governor } = this.#state;
    // Set field by field rather than spread from optional parts: this runs for every request.
    const stats: ResultStats = { durationMs: performance.now() - this.#started, bytes: this.#bytes };
    if (this.#status) stats.status = this.#status;
    if (error !== undefined) stats.error = error;
    const masked = this.#requestMasked + answerMasked;
    if (masked) stats.maskedValues = masked;
    if (body !== undefined) stats.body = body;
    if (this.#requestRecord) stats.requestBody = this.#requestRecord.text(governor);
    governor.completed(this.#ruling, stats);
  }

  /** Both the request and its answer are through. */
  #end(): void {
    if (this.#job.exchange === this) this.#job.done(this.#keepAlive);
  }

  /** An error that escaped: reported as a fault by the connection's guard. */
  #fail(e: unknown): void {
    this.target?.destroy();
    this.#finished = true;
    this.#job.socket.destroy();
    this.#state.fault(`${this.#state.name} request`, e);
  }
}

function onTargetData(this: TargetSocket, chunk: Buffer): void {
  this[EXCHANGE]?.targetData(chunk);
}
function onTargetEnd(this: TargetSocket): void {
  this[EXCHANGE]?.targetEnded();
}
function onTargetClose(this: TargetSocket): void {
  this[EXCHANGE]?.targetClosed();
}
function onTargetError(this: TargetSocket, e: Error): void {
  const exchange = this[EXCHANGE];
  this.destroy();
  exchange?.targetClosed(e);
}
function onTargetDrain(this: TargetSocket): void {
  this[EXCHANGE]?.targetDrained();
}
