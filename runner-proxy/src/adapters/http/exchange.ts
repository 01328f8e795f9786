/**
 * One HTTP request on a job connection (`job-connection.ts`): read, decided by the governor (with its
 * body read whole when a rule needs it), masked where write rules say, and forwarded to the target on a
 * kept-alive connection (`pool.ts`) with framing the gateway writes itself. Its answer is `Answer`'s.
 */
import type { Socket } from 'node:net';
import type { ResultStats, Ruling } from '../../core/governor.js';
import type { Operation, RequestMasks } from '../../policy/operation.js';
import { Answer, masksAnswers, RANGE_HEADERS, type AnswerOwner } from './answer.js';
import { chunkHead, headerLines, LAST_CHUNK, MESSAGE_END, MessageReader, type Head } from './codec.js';
import type { JobConnection } from './job-connection.js';
import type { ListenerState } from './listener-state.js';
import { decodeBody, endToEndHeaders, inspectJsonBody, MAX_INSPECTED_BODY, UninspectableBody } from './message.js';
import { judgeMethod, RecordedBody, recordText, requestOperation } from './operation.js';
import { recordingRefusal, refusalBody, refusalStatus } from './refusal.js';
import { BODY_DIGESTS, maskQuery, maskRequestBody, masksValues } from './request-mask.js';
import { AmbiguousRequest, bodyOverride, overrideMayBeInBody, overridingMethod, readRequest, type ReadRequest } from './target-reading.js';
import { maskHeaders } from './text-mask.js';

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

/** One request and its answer on a raw connection: the request read, decided and forwarded here, its answer relayed by `Answer`. */
export class Exchange implements AnswerOwner {
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
  readonly #answer: Answer;
  #completed = false;
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
    this.#answer = new Answer(this, job, state, head);
  }

  get ruling(): Ruling | undefined {
    return this.#ruling;
  }

  get requestRead(): boolean {
    return this.#phase === Phase.Read;
  }

  get skipping(): boolean {
    return this.#phase === Phase.Skipping;
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
        if (!(e instanceof UninspectableBody)) return this.fail(e);
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
    this.#answer.json(400, { error: `refused: ${e.message}` }, close);
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
    ruling.then((r) => this.#ruled(r)).catch((e: unknown) => this.fail(e));
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
    if (this.#answer.finished) return;
    if (failure !== undefined) {
      const refusal = recordingRefusal(failure);
      this.#ruling = undefined;
      return this.#refuse(refusal.status, refusal.body, this.#bodyHere());
    }
    try {
      this.#forward();
    } catch (e) {
      this.fail(e);
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
    this.#answer.json(status, body, !bodyHere);
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
    this.#answer.readFrom((target[ANSWERS] ??= new MessageReader('response')));
  }

  #requestRead(): void {
    this.#phase = Phase.Read;
    if (this.#answer.finished) this.end();
  }

  /** The reader found the request's body malformed after it began to go to the target. */
  malformed(problem: string): void {
    this.#answer.finished = true;
    this.target?.destroy();
    this.complete(`malformed request body: ${problem}`);
    if (!this.#answer.headSent) this.#job.refuseMalformed(problem);
    else this.#job.socket.destroy();
  }

  jobDrained(): void {
    this.target?.resume();
  }

  jobLeft(): void {
    if (this.#answer.finished) return;
    this.#answer.finished = true;
    this.target?.destroy();
    if (this.#ruling) this.complete(this.target ? 'the job left' : 'the job left before the request was forwarded');
  }

  targetDrained(): void {
    if (this.#phase === Phase.Sending) this.#job.socket.resume();
  }

  targetData(chunk: Buffer): void {
    this.#answer.targetData(chunk);
  }

  targetEnded(): void {
    this.#answer.targetEnded();
    this.targetClosed();
  }

  targetClosed(error?: Error & { code?: string }): void {
    if (this.#answer.finished) return;
    // A kept-alive connection the target had closed meanwhile: a request without a body is sent again.
    if (this.#reused && !this.#answer.answered && this.#head.contentLength === 0 && !this.#head.chunked && this.#phase === Phase.Read) {
      this.target![EXCHANGE] = undefined;
      this.target!.destroy();
      this.#connect();
      this.target!.write(this.#targetHead, 'latin1');
      return;
    }
    this.#answer.targetFailed(error ? (error.code ?? error.message) : 'the target closed the connection');
  }

  detachTarget(): void {
    if (this.target) this.target[EXCHANGE] = undefined;
  }

  complete(error?: string, answerMasked = 0, body?: string): void {
    if (this.#completed || !this.#ruling) return;
    this.#completed = true;
    const { governor } = this.#state;
    // Set field by field rather than spread from optional parts: this runs for every request.
    const stats: ResultStats = { durationMs: performance.now() - this.#started, bytes: this.#answer.bytes };
    if (this.#answer.status) stats.status = this.#answer.status;
    if (error !== undefined) stats.error = error;
    const masked = this.#requestMasked + answerMasked;
    if (masked) stats.maskedValues = masked;
    if (body !== undefined) stats.body = body;
    if (this.#requestRecord) stats.requestBody = this.#requestRecord.text(governor);
    governor.completed(this.#ruling, stats);
  }

  /** Both the request and its answer are through. */
  end(): void {
    if (this.#job.exchange === this) this.#job.done(this.#answer.keepAlive);
  }

  /** An error that escaped: reported as a fault by the connection's guard. */
  fail(e: unknown): void {
    this.target?.destroy();
    this.#answer.finished = true;
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
