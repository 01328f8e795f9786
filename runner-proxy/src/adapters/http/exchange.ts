/**
 * What every HTTP request goes through whichever connection carries it (`connection.ts` serves them):
 * the operation the governor decides, refusals, the record's text, and the masks for the answer.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { AdapterGovernor, Ruling } from '../../core/governor.js';
import type { Operation } from '../../core/operation.js';
import { hideCredentials } from '../../masking/credentials.js';
import { REDACT_ALL } from '../../masking/masker.js';
import type { AdapterContext } from '../adapter.js';
import { faultSink, type FaultSink } from '../guard.js';
import { JsonStreamMasker, jsonMaskStream } from './json-mask.js';
import { isJsonType } from './message.js';
import { requestFacts } from './operation.js';
import type { HttpTarget } from './target.js';
import { isTextType, TextMaskStream } from './text-mask.js';

/** The rule a refusal names when the record cannot be written. */
const RECORDING_FAILED = 'recording-failed';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
/** Query parameters whose values are credentials by name; the record keeps the name only. */
const SECRET_PARAMETER = /token|key|secret|password|passwd|signature|sig|auth|credential|session|code/i;
/** Headers that no longer describe a body the gateway decoded and masked. */
export const MASKED_DROPS: ReadonlySet<string> = new Set(['content-encoding', 'content-md5', 'etag']);
/** How much of a body `recording.results: masked` keeps. */
const RECORDED_BODY = 64 * 1024;

/** One target as the job reaches it: through its connection's listener, or intercepted by the forward proxy. */
export interface ListenerState {
  name: string;
  target: HttpTarget;
  governor: AdapterGovernor;
  log: AdapterContext['log'];
  /** Where an error that escaped a request's handling goes: logged and recorded as a gateway fault. */
  fault: FaultSink;
}

export function listenerState(name: string, target: HttpTarget, governor: AdapterGovernor, log: AdapterContext['log']): ListenerState {
  return { name, target, governor, log, fault: faultSink(governor, log) };
}

/** A refusal's status: an approval that timed out, a record that cannot be written, or the policy. */
export function refusalStatus(ruling: Pick<Ruling, 'timedOut' | 'rule'>): number {
  if (ruling.timedOut) return 504;
  return ruling.rule === RECORDING_FAILED ? 503 : 403;
}

export function refusalBody(ruling: Pick<Ruling, 'message' | 'rule' | 'requestId'>, detail = ''): Record<string, unknown> {
  return { error: `${ruling.message ?? 'refused'}${detail}`, rule: ruling.rule, ...(ruling.requestId && { request_id: ruling.requestId }) };
}

/**
 * Writes what the governor decided so far to the record before anything is forwarded; when that
 * fails, the refusal to give instead (the operation must not reach the target unrecorded).
 */
export function commitOrRefusal(governor: AdapterGovernor): { status: number; body: Record<string, unknown> } | undefined {
  try {
    governor.commit();
    return undefined;
  } catch (e) {
    return recordingRefusal(e);
  }
}

/** The refusal of a request whose event cannot be written to the record. */
export function recordingRefusal(failure: unknown): { status: number; body: Record<string, unknown> } {
  const ruling = { rule: RECORDING_FAILED, message: (failure as Error).message };
  return { status: refusalStatus(ruling), body: refusalBody(ruling) };
}

/** Answers what the parser refused (two lengths, bare CR/LF, oversized head…) and ends the connection. */
export function refuseMalformed(socket: Socket, state: ListenerState, problem: string): void {
  if (problem !== 'ECONNRESET') state.governor.note('http.malformed', { connection: state.name, problem });
  if (!socket.writable || problem === 'ECONNRESET') return void socket.destroy();
  socket.end(rawResponse(400, { error: `malformed request (${problem}); the connection is closed` }));
  socket.destroySoon();
}

/** A JSON answer written straight to a socket the HTTP server no longer frames (an upgrade, a CONNECT), then the close; `extraLines` end in CRLF. */
export function rawResponse(status: number, body: Record<string, unknown>, extraLines = ''): string {
  const text = JSON.stringify(body);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${extraLines}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`;
}

export function recordText(method: string, path: string, search: string, governor: AdapterGovernor): string {
  // Most requests have no query, and most paths no escape: neither is taken apart then.
  const query =
    search.length > 1
      ? search
          .slice(1)
          .split('&')
          .filter(Boolean)
          .map((pair) => {
            const eq = pair.indexOf('=');
            const name = eq < 0 ? pair : pair.slice(0, eq);
            return eq >= 0 && SECRET_PARAMETER.test(name) ? `${name}=[masked]` : pair;
          })
          .join('&')
      : '';
  let text = `${method} ${path}${query ? `?${query}` : ''}`;
  try {
    if (text.includes('%')) text = decodeURIComponent(text);
  } catch {
    // Kept encoded: the detectors still see what they can.
  }
  return governor.masker.maskText(hideCredentials(text), REDACT_ALL).text;
}

/** The operation the governor decides for one request (its body's JSON is added when a rule needs it). */
export function requestOperation(state: ListenerState, method: string, target: { path: string; search: string }, rawHeaders: readonly string[]): Operation & { classes: Set<string> } {
  const writes = !SAFE_METHODS.has(method);
  // The facts are copied field by field, not spread: this runs for every request.
  const facts = requestFacts(state.target, rawHeaders, target.search);
  const op: Operation & { classes: Set<string> } = {
    connection: state.name,
    protocol: 'http',
    text: recordText(method, target.path, target.search, state.governor),
    classes: new Set([writes ? 'write' : 'read']),
    writes,
    method,
    path: target.path,
    host: facts.host,
    headers: facts.headers,
    query: facts.query,
  };
  if (facts.pathCase) op.pathCase = facts.pathCase;
  return op;
}

/** The method rules judge is another (an override in the body the target honours): so are the classes and the record's text. */
export function judgeMethod(op: Operation & { classes: Set<string> }, method: string, search: string, governor: AdapterGovernor): void {
  op.method = method;
  op.writes = !SAFE_METHODS.has(method);
  op.classes = new Set([op.writes ? 'write' : 'read']);
  op.text = recordText(method, op.path!, search, governor);
}

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

/** The start of a body kept for the record (`recording.results: masked`); what it keeps is masked again with every detector. */
export class RecordedBody {
  #kept = '';

  /** Whether the record should keep this response's body: text it can read, masked or uncoded. */
  static wanted(governor: AdapterGovernor, contentType: string | undefined, masked: boolean, coding: string | undefined): boolean {
    return governor.recordsContent && (isJsonType(contentType) || isTextType(contentType)) && (masked || !coding);
  }

  /** Adds a piece (none once enough is kept); false once enough is kept. */
  add(chunk: Buffer | string): boolean {
    if (this.#kept.length < RECORDED_BODY) this.#kept += chunk.toString();
    return this.#kept.length < RECORDED_BODY;
  }

  text(governor: AdapterGovernor): string {
    return governor.masker.maskText(this.#kept.slice(0, RECORDED_BODY), REDACT_ALL).text;
  }
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
