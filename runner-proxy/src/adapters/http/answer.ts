/**
 * The answer side of an HTTP exchange: the target's response read, masked where the request's ruling
 * says, and relayed to the job (re-framed when masked); or the answer the gateway gives itself.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { AdapterGovernor, Ruling } from '../../core/governor.js';
import { chunkHead, headerLines, LAST_CHUNK, MESSAGE_END, type Head, type MessageReader, type ReadEvent } from './codec.js';
import { BodyDiscovery } from './discover.js';
import type { JobConnection } from './job-connection.js';
import { JsonStreamMasker, jsonMaskStream } from './json-mask.js';
import type { ListenerState } from './listener-state.js';
import { decodable, endToEndHeaders, isJsonType, MAX_INSPECTED_BODY } from './message.js';
import { RecordedBody } from './operation.js';
import { isTextType, maskHeaders, TextMaskStream } from './text-mask.js';

/** Headers that no longer describe a body the gateway decoded and masked. */
export const MASKED_DROPS: ReadonlySet<string> = new Set(['content-encoding', 'content-md5', 'etag']);

/** Request headers that ask for part of an answer; dropped where the answer is masked. */
export const RANGE_HEADERS: readonly string[] = ['range', 'if-range'];

/**
 * Whether answers under this plan have bodies to mask: then the target is asked for the whole answer
 * (a part may cut a value at its edge, or come as multipart/byteranges), and a partial one is refused.
 */
export function masksAnswers(plan: Ruling['masks']): boolean {
  return plan.json.length > 0 || plan.detectors.size > 0;
}

/** A partial answer (206, multipart/byteranges), which cannot be masked as a whole body. */
export function isPartial(status: number, contentType: string | undefined): boolean {
  return status === 206 || contentType?.split(';')[0]!.trim().toLowerCase() === 'multipart/byteranges';
}

/**
 * What a response's body goes through before the job: the masking stage for its type, if any. The
 * JSON masker can also be used directly, without the stream around it (made only when asked for).
 */
export function maskStage(ruling: Ruling, contentType: string | undefined, governor: AdapterGovernor): { stream(): Transform; count(): number; json?: JsonStreamMasker } | undefined {
  const plan = ruling.masks;
  if ((plan.json.length > 0 || plan.detectors.size > 0) && isJsonType(contentType)) {
    const masker = new JsonStreamMasker(plan.json, plan.detectors, governor.masker);
    return { stream: () => jsonMaskStream(masker), count: () => masker.count, json: masker };
  }
  if (plan.detectors.size > 0 && isTextType(contentType)) {
    const stream = new TextMaskStream(governor.masker, plan.detectors, contentType);
    return { stream: () => stream, count: () => stream.count };
  }
  return undefined;
}

export function decoderFor(coding: string | undefined): Transform | undefined {
  switch (coding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
}

/** What an answer needs of the exchange it belongs to. */
export interface AnswerOwner {
  /** The ruling the request was forwarded under: its masks are the answer's. */
  readonly ruling: Ruling | undefined;
  /** The target's connection, once the request is forwarded. */
  readonly target: Socket | undefined;
  /** Whether the whole request is read. */
  readonly requestRead: boolean;
  /** Whether a refused request's body is being read and dropped. */
  readonly skipping: boolean;
  /** The target's connection no longer carries this exchange. */
  detachTarget(): void;
  /** Records the exchange as completed (once). */
  complete(error?: string, answerMasked?: number, body?: string): void;
  /** Both the request and its answer are through. */
  end(): void;
  /** An error that escaped: reported as a fault by the connection's guard. */
  fail(e: unknown): void;
}

export class Answer {
  readonly #owner: AnswerOwner;
  readonly #job: JobConnection;
  readonly #state: ListenerState;
  /** The request answered. */
  readonly #head: Head;
  #answers: MessageReader | undefined;
  #answered = false;
  #headSent = false;
  /** The answer is through, or the exchange ended: nothing more of it is read. */
  finished = false;
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

  constructor(owner: AnswerOwner, job: JobConnection, state: ListenerState, head: Head) {
    this.#owner = owner;
    this.#job = job;
    this.#state = state;
    this.#head = head;
    this.#keepAlive = head.keepAlive;
  }

  /** Whether the job's connection may carry another request after this answer. */
  get keepAlive(): boolean {
    return this.#keepAlive;
  }

  /** Whether the answer's head went to the job. */
  get headSent(): boolean {
    return this.#headSent;
  }

  /** Whether any of the target's answer arrived. */
  get answered(): boolean {
    return this.#answered;
  }

  /** The target's status, once its answer's head is read. */
  get status(): number {
    return this.#status;
  }

  /** The bytes of the target's answer body read. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The reader of the target's connection the answer comes on (kept with that connection). */
  readFrom(answers: MessageReader): void {
    this.#answers = answers;
    this.#answers.bodyless = this.#head.method === 'HEAD';
  }

  /** Bytes of the answer from the target. */
  targetData(chunk: Buffer): void {
    this.#answered = true;
    this.#answers!.push(chunk);
    this.#consume();
  }

  /** The target ended its side: what the reader holds is read to its end. */
  targetEnded(): void {
    this.#answers!.end();
    this.#consume();
  }

  #consume(): void {
    const answers = this.#answers!;
    const socket = this.#job.socket;
    socket.cork();
    try {
      for (let event: ReadEvent | undefined; !this.finished && (event = answers.next()) !== undefined; ) {
        if (event === MESSAGE_END) this.#answerEnd();
        else if (Buffer.isBuffer(event)) this.#answerPiece(event);
        else this.#answerHead(event);
      }
      if (answers.error !== undefined && !this.finished) this.targetFailed(answers.error);
    } catch (e) {
      this.#owner.fail(e);
    } finally {
      socket.uncork();
    }
  }

  /** The target's connection failed or closed before the answer was through. */
  targetFailed(problem: string): void {
    this.#owner.target?.destroy();
    // Once the target's answer began, a cut answer is a cut response (the job must not take it as whole).
    if (this.#status === 0) {
      this.#owner.complete(`the target failed: ${problem}`);
      return this.json(502, { error: `the target cannot be reached (${problem})` }, !this.#owner.requestRead);
    }
    this.#cut(problem);
  }

  /** The answer broke off after its head went to the job: the job's connection ends with it. */
  #cut(problem: string): void {
    this.#owner.complete(`the response was cut: ${problem}`);
    this.finished = true;
    this.#owner.target?.destroy();
    this.#job.socket.destroy();
  }

  #answerHead(answer: Head): void {
    const state = this.#state;
    const ruling = this.#owner.ruling!;
    const contentType = answer.headers['content-type'];
    const coding = answer.headers['content-encoding'];
    const stage = maskStage(ruling, contentType, state.governor);
    if (masksAnswers(ruling.masks) && isPartial(answer.statusCode, contentType)) {
      this.#owner.target!.destroy();
      this.#owner.complete('a partial answer cannot be masked');
      return this.json(502, { error: 'the target answered with part of its body (206 or multipart/byteranges), which the gateway cannot mask' }, !this.#owner.requestRead);
    }
    if (stage && !decodable(coding)) {
      this.#owner.target!.destroy();
      this.#owner.complete(`content coding ${coding} cannot be masked`);
      return this.json(502, { error: `the target's response is coded "${coding}", which the gateway cannot decode to mask` }, !this.#owner.requestRead);
    }
    this.#status = answer.statusCode;
    this.#reason = answer.statusMessage;
    this.#targetReusable = answer.keepAlive || (this.#head.method === 'HEAD' && answer.headers.connection?.toLowerCase() !== 'close');
    const headers = endToEndHeaders(answer.rawHeaders, stage ? MASKED_DROPS : undefined);
    if (answer.links && this.#job.secretPath) this.#job.secretPath.rewriteHeaders(headers);
    this.#maskedHeaders = maskHeaders(headers, ruling.masks, state.governor.masker);
    if (RecordedBody.wanted(state.governor, contentType, !!stage, coding)) this.#recorded = new RecordedBody();
    this.#discovered = BodyDiscovery.for(state.governor, this.#state.name, contentType, !!stage || !coding);
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
    stages[0]!.on('drain', () => this.#owner.target?.resume());
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
      if (!this.#stages[0]!.write(piece)) this.#owner.target!.pause();
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
    if (!more) this.#owner.target?.pause();
  }

  #bodyDone(): void {
    if (this.finished) return;
    const socket = this.#job.socket;
    if (this.#collect) {
      const body = this.#collect;
      this.#collect = undefined;
      let length = 0;
      for (const piece of body) length += piece.length;
      this.#writeHead(this.#status, this.#reason, this.#outHeaders, `Content-Length: ${length}\r\n`, body, length);
    } else if (this.#chunked) socket.write(LAST_CHUNK);
    this.#discovered?.done();
    this.#owner.complete(undefined, this.#maskedHeaders + (this.#stageCount?.() ?? 0), this.#recorded?.text(this.#state.governor));
    const target = this.#owner.target!;
    this.#owner.detachTarget();
    if (this.#targetReusable && this.#owner.requestRead && !this.#answers!.error) this.#state.target.pool.release(target);
    else target.destroy();
    this.finished = true;
    if (this.#owner.requestRead) this.#owner.end();
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
    if (!socket.write(bytes)) this.#owner.target?.pause();
  }

  /** An answer the gateway makes itself; `close` ends the connection after it. */
  json(status: number, body: Record<string, unknown>, close: boolean): void {
    if (close) this.#keepAlive = false;
    const bytes = Buffer.from(JSON.stringify(body));
    this.#writeHead(status, STATUS_CODES[status] ?? '', ['Content-Type', 'application/json'], `Content-Length: ${bytes.length}\r\n`, [bytes], bytes.length);
    this.finished = true;
    this.#owner.detachTarget();
    if (this.#owner.requestRead || close) this.#owner.end();
    else if (this.#owner.skipping) {
      this.#job.socket.resume();
      this.#job.drain();
    }
  }
}
