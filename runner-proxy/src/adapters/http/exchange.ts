/** One request and its answer, from the job through the governor to the target and back. */
import { request as httpRequest, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Governor, ResultStats, Ruling } from '../../core/governor.js';
import type { Operation } from '../../core/operation.js';
import { hideCredentials } from '../../masking/credentials.js';
import { REDACT_ALL } from '../../masking/masker.js';
import type { AdapterContext } from '../adapter.js';
import { faultSink, guarded, type FaultSink } from '../guard.js';
import { JsonStreamMasker, jsonMaskStream } from './json-mask.js';
import { decodable, endToEndHeaders, framingProblem, isJsonType, MAX_INSPECTED_BODY, readJsonBody, UninspectableBody } from './message.js';
import { requestFacts } from './operation.js';
import { BODY_DIGESTS, maskRequest, type MaskedRequest } from './request-mask.js';
import type { HttpTarget } from './target.js';
import { isTextType, maskHeaders, TextMaskStream } from './text-mask.js';

/** The rule a refusal names when the record cannot be written. */
const RECORDING_FAILED = 'recording-failed';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
/** Query parameters whose values are credentials by name; the record keeps the name only. */
const SECRET_PARAMETER = /token|key|secret|password|passwd|signature|sig|auth|credential|session|code/i;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const BASE = 'http://gateway.invalid';
const SIMPLE_PATH = /^(?:\/(?!\.{1,2}(?:\/|$))[A-Za-z0-9\-._~!$&'()*+,;=:@]*)+$|^\/$/;
const SIMPLE_QUERY = /^(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*)?$/;
/** How much of a body `recording.results: masked` keeps. */
const RECORDED_BODY = 64 * 1024;

/** One target as the job reaches it: through its connection's listener, or intercepted by the forward proxy. */
export interface ListenerState {
  name: string;
  target: HttpTarget;
  governor: Governor;
  log: AdapterContext['log'];
  /** Where an error that escaped a request's handling goes: logged and recorded as a gateway fault. */
  fault: FaultSink;
}

export function listenerState(name: string, target: HttpTarget, governor: Governor, log: AdapterContext['log']): ListenerState {
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
export function commitOrRefusal(governor: Governor): { status: number; body: Record<string, unknown> } | undefined {
  try {
    governor.commit();
    return undefined;
  } catch (e) {
    const ruling = { rule: RECORDING_FAILED, message: (e as Error).message };
    return { status: refusalStatus(ruling), body: refusalBody(ruling) };
  }
}

/**
 * A request as a listener receives it: an error that escapes its handling is reported as a fault and
 * ends this request's connection only (a 500 and a close when nothing was answered yet).
 */
export function serve(req: IncomingMessage, res: ServerResponse, state: ListenerState): void {
  guarded((e) => endAfterFault(res, state, e), () => handle(req, res, state));
}

function endAfterFault(res: ServerResponse, state: ListenerState, e: unknown): void {
  state.fault(`${state.name} request`, e);
  if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: 'the gateway could not handle this request' }, true);
  else res.destroy();
}

/** Answers what the parser refused (two lengths, bare CR/LF, oversized head…) and ends the connection. */
export function refuseMalformed(socket: Socket, state: ListenerState, problem: string): void {
  if (problem !== 'ECONNRESET') state.governor.note('http.malformed', { connection: state.name, problem });
  if (!socket.writable || problem === 'ECONNRESET') return void socket.destroy();
  socket.end(rawResponse(400, { error: `malformed request (${problem}); the connection is closed` }));
  socket.destroySoon();
}

/** A JSON answer written straight to a socket the HTTP server no longer frames (an upgrade, a CONNECT), then the close. */
export function rawResponse(status: number, body: Record<string, unknown>): string {
  const text = JSON.stringify(body);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`;
}

export function sendJson(res: ServerResponse, status: number, body: Record<string, unknown>, close = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...(close && { Connection: 'close' }) });
  res.end(text);
}

/** The path rules see and the target gets: dot segments resolved, unreserved characters decoded. */
export function requestTarget(raw: string): { path: string; search: string } | undefined {
  if (!raw.startsWith('/')) return undefined;
  const q = raw.indexOf('?');
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  // Most paths have nothing to normalise: no escapes, dot segments, backslashes or empty segments.
  if (SIMPLE_PATH.test(rawPath) && !rawPath.includes('//')) {
    const search = q < 0 ? '' : raw.slice(q);
    if (SIMPLE_QUERY.test(search)) return { path: rawPath, search: search === '?' ? '' : search };
  }
  let u: URL;
  try {
    u = new URL(BASE + raw);
  } catch {
    return undefined;
  }
  const decoded = u.pathname.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(c) ? c : m.toUpperCase();
  });
  // Decoding can reveal dot segments (%2E%2E): resolve them again.
  return { path: new URL(BASE + decoded).pathname, search: u.search };
}

export function recordText(method: string, path: string, search: string, governor: Governor): string {
  const query = search
    .slice(1)
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return eq >= 0 && SECRET_PARAMETER.test(name) ? `${name}=[masked]` : pair;
    })
    .join('&');
  let text = `${method} ${path}${query ? `?${query}` : ''}`;
  try {
    text = decodeURIComponent(text);
  } catch {
    // Kept encoded: the detectors still see what they can.
  }
  return governor.masker.maskText(hideCredentials(text), REDACT_ALL).text;
}

async function handle(req: IncomingMessage, res: ServerResponse, state: ListenerState): Promise<void> {
  const started = performance.now();
  const problem = framingProblem(req);
  if (problem) {
    state.governor.note('http.malformed', { connection: state.name, problem });
    return sendJson(res, 400, { error: `malformed request: ${problem}; the connection is closed` }, true);
  }
  const target = requestTarget(req.url ?? '');
  if (!target) return sendJson(res, 400, { error: 'the request target must be a path (origin-form)' }, true);
  const method = req.method ?? 'GET';
  const writes = !SAFE_METHODS.has(method);
  const op: Operation & { classes: Set<string> } = {
    connection: state.name,
    protocol: 'http',
    text: recordText(method, target.path, target.search, state.governor),
    classes: new Set([writes ? 'write' : 'read']),
    writes,
    method,
    path: target.path,
    // Rules on host, headers and query (http-rules).
    ...requestFacts(state.target, req.rawHeaders, target.search),
  };
  let body: Buffer | undefined;
  let uninspectable: string | undefined;
  // Request-side masking (http-rules): the masks of mask rules with `on: write`, if any apply.
  const requestMasks = state.governor.masksRequests ? state.governor.maskPlan(op).write : undefined;
  let outgoing: MaskedRequest = { search: target.search, count: 0 };
  let need = 'a rule must read this body and cannot';
  const readsJson = state.governor.needsJson(op);
  if (readsJson || requestMasks?.rules.length) {
    try {
      if (readsJson) {
        const read = await readJsonBody(req);
        body = read.raw;
        if (read.json !== undefined) op.json = read.json;
      }
      if (requestMasks?.rules.length) {
        need = `${requestMasks.rules.length > 1 ? 'rules' : 'rule'} "${requestMasks.rules.join('", "')}" must mask this body and cannot`;
        outgoing = await maskRequest(req, target.search, body, requestMasks, state.governor.masker);
        body = outgoing.body;
        if (outgoing.search !== target.search) op.text = recordText(method, target.path, outgoing.search, state.governor);
      }
    } catch (e) {
      if (!(e instanceof UninspectableBody)) {
        // The job left while it sent the body: nothing to answer.
        if (req.destroyed) return void res.destroy();
        throw e;
      }
      // A rule must look inside and cannot: the operation is refused as unparseable.
      op.classes = new Set(['unparseable']);
      uninspectable = e.message;
      op.text += ` (${e.message})`;
    }
  }
  const ruling = await state.governor.decide(op);
  // An unread body is not drained for a refused request: the connection closes instead.
  const unread = body === undefined && !req.complete;
  if (!ruling.allowed) {
    const detail = uninspectable ? `: ${need} (${uninspectable})` : '';
    return sendJson(res, refusalStatus(ruling), refusalBody(ruling, detail), unread);
  }
  if (uninspectable) {
    // Observe mode lets the request through, but never a body that had to be masked and could not be,
    // nor one partly or wholly consumed by a rule that could not read it.
    const refusal = { rule: requestMasks?.rules[0] ?? 'default-unparseable', message: `the body is not forwarded: ${need} (${uninspectable})` };
    state.governor.completed(ruling, { durationMs: performance.now() - started, error: refusal.message });
    return sendJson(res, 403, refusalBody(refusal), unread);
  }
  // The job may have left while its request waited for an approver: nothing goes to the target then.
  if (res.destroyed) return state.governor.completed(ruling, { durationMs: performance.now() - started, error: 'the job left before the request was forwarded' });
  const unrecorded = commitOrRefusal(state.governor);
  if (unrecorded) return sendJson(res, unrecorded.status, unrecorded.body, unread);
  forward(req, res, state, ruling, `${target.path}${outgoing.search}`, body, started, outgoing);
}

function forward(req: IncomingMessage, res: ServerResponse, state: ListenerState, ruling: Ruling, path: string, body: Buffer | undefined, started: number, outgoing: MaskedRequest): void {
  const t = state.target;
  const headers = endToEndHeaders(req.rawHeaders, outgoing.bodyMasked ? new Set([...t.injectedNames, ...BODY_DIGESTS]) : t.injectedNames);
  // Request headers a mask rule with `on: write` names (http-rules), then the credentials.
  const maskedRequestHeaders = maskHeaders(headers, ruling.masks.write, state.governor.masker);
  headers.push(...t.injected, 'Host', t.authority);
  // The gateway frames the message itself: a length it knows, or chunks.
  if (body) headers.push('Content-Length', String(body.length));
  else if (req.headers['content-length'] !== undefined) headers.push('Content-Length', req.headers['content-length']);
  else if (req.headers['transfer-encoding'] !== undefined) headers.push('Transfer-Encoding', 'chunked');
  const upstream = (t.secure ? httpsRequest : httpRequest)({
    host: t.hostname,
    port: t.port,
    method: req.method,
    path,
    headers: headers as unknown as Record<string, string>,
    agent: t.agent,
    setHost: false,
  });
  let bytes = 0;
  let finished = false;
  const sentMasked = outgoing.count + maskedRequestHeaders;
  const recordedRequest = state.governor.recordsContent ? recordedRequestBody(req, body, state.governor) : undefined;
  const complete = (status: number | undefined, extra: Partial<ResultStats>) => {
    if (finished) return;
    finished = true;
    const masked = sentMasked + (extra.maskedValues ?? 0);
    const requestBody = recordedRequest?.();
    state.governor.completed(ruling, { durationMs: performance.now() - started, bytes, ...(status !== undefined && { status }), ...extra, ...(masked && { maskedValues: masked }), ...(requestBody && { requestBody }) });
  };
  upstream.on('error', (e: Error & { code?: string }) => {
    complete(undefined, { error: `the target failed: ${e.code ?? e.message}` });
    if (!res.headersSent) sendJson(res, 502, { error: `the target cannot be reached (${e.code ?? e.message})` }, !req.complete);
    else res.destroy();
  });
  // The job left, or its upload broke off: nothing more goes to the target for it.
  req.on('error', () => upstream.destroy());
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  upstream.on('response', (answer) => guarded((e) => endAfterFault(res, state, e), () => respond(answer, res, state, ruling, (n) => (bytes += n), complete)));
  if (body) upstream.end(body);
  else req.pipe(upstream);
}

/**
 * What a response's body goes through before the job: the masking stage for its type, if any. The
 * JSON masker can also be used directly, without the stream around it (made only when asked for).
 */
function maskStage(ruling: Ruling, contentType: string | undefined, governor: Governor): { stream(): Transform; count(): number; json?: JsonStreamMasker } | undefined {
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

/** Keeps the start of a body for the record; what it keeps is masked again with every detector. */
function recordTap(stream: Readable, governor: Governor): () => string {
  let kept = '';
  const onData = (chunk: Buffer | string) => {
    kept += chunk.toString();
    if (kept.length >= RECORDED_BODY) stream.off('data', onData);
  };
  stream.on('data', onData);
  return () => governor.masker.maskText(kept.slice(0, RECORDED_BODY), REDACT_ALL).text;
}

/**
 * The start of a JSON or text request body for the record (`recording.results: masked`): from the body
 * as it goes to the target when it was read whole, otherwise tapped as it streams. A coded body is not kept.
 */
function recordedRequestBody(req: IncomingMessage, body: Buffer | undefined, governor: Governor): (() => string) | undefined {
  const type = req.headers['content-type'];
  if (req.headers['content-encoding'] || !(isJsonType(type) || isTextType(type))) return undefined;
  if (!body) return recordTap(req, governor);
  const kept = governor.masker.maskText(body.toString('utf8', 0, RECORDED_BODY), REDACT_ALL).text;
  return () => kept;
}

function respond(
  answer: IncomingMessage,
  res: ServerResponse,
  state: ListenerState,
  ruling: Ruling,
  count: (n: number) => void,
  complete: (status: number, extra: Partial<ResultStats>) => void,
): void {
  const status = answer.statusCode ?? 502;
  const contentType = answer.headers['content-type'];
  const stage = maskStage(ruling, contentType, state.governor);
  const coding = answer.headers['content-encoding'];
  if (stage && !decodable(coding)) {
    answer.destroy();
    complete(status, { error: `content coding ${coding} cannot be masked` });
    return sendJson(res, 502, { error: `the target's response is coded "${coding}", which the gateway cannot decode to mask` });
  }
  const headers = endToEndHeaders(answer.rawHeaders, stage ? new Set(['content-encoding', 'content-md5', 'etag']) : undefined);
  const maskedHeaders = maskHeaders(headers, ruling.masks, state.governor.masker);
  const length = Number(answer.headers['content-length'] ?? Infinity);
  const decoder = stage && decoderFor(coding);
  // A bounded, uncoded JSON body is masked chunk by chunk as it is collected, with no stream stage of
  // its own (a Transform per request costs more than masking a small document); not when the record
  // keeps bodies, which it reads from the masked stream.
  const direct = stage && length <= MAX_INSPECTED_BODY && !decoder && !state.governor.recordsContent ? stage.json : undefined;
  const stages: Transform[] = [];
  if (stage) {
    if (decoder) stages.push(decoder);
    if (!direct) stages.push(stage.stream());
  } else if (answer.headers['content-length'] !== undefined) headers.push('Content-Length', answer.headers['content-length']);
  answer.on('data', (chunk: Buffer) => count(chunk.length));
  const last: Readable = stages.at(-1) ?? answer;
  const recorded = state.governor.recordsContent && (isJsonType(contentType) || isTextType(contentType)) && (stage || !coding) ? recordTap(last, state.governor) : undefined;
  // Plain pipes rather than stream.pipeline, whose per-call AbortController costs more than the rest of the hot path.
  const fail = (e: Error) => {
    complete(status, { error: `the response was cut: ${e.message}` });
    answer.destroy();
    res.destroy();
  };
  let from: Readable = answer;
  for (const next of stages) {
    from.pipe(next);
    next.on('error', fail);
    from = next;
  }
  if (stage && length <= MAX_INSPECTED_BODY) {
    // A masked body of known, bounded size is re-framed with its new length, in one write.
    const out: Buffer[] = [];
    const masked = (pieces: () => Buffer[]) => {
      try {
        out.push(...pieces());
      } catch (e) {
        fail(e as Error);
      }
    };
    from.on('data', (chunk: Buffer) => (direct ? masked(() => direct.push(chunk)) : out.push(chunk)));
    from.on('end', () => {
      if (direct) masked(() => direct.end());
      if (res.destroyed) return;
      const body = Buffer.concat(out);
      res.writeHead(status, answer.statusMessage, [...headers, 'Content-Length', String(body.length)]);
      res.end(body);
    });
  } else {
    res.writeHead(status, answer.statusMessage, headers);
    // A stream of unknown length (SSE, long polls) shows its head at once; otherwise it leaves with the body.
    if (answer.headers['content-length'] === undefined) res.flushHeaders();
    from.pipe(res);
  }
  answer.on('error', fail);
  res.on('close', () => {
    if (!res.writableFinished) fail(new Error('the job left'));
  });
  res.on('finish', () => complete(status, { maskedValues: maskedHeaders + (stage?.count() ?? 0), ...(recorded && { body: recorded() }) }));
}

function decoderFor(coding: string | undefined): Transform | undefined {
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
