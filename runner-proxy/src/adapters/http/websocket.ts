import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { REDACT_ALL } from '../../masking/masker.js';
import type { MaskPlan } from '../../policy/operation.js';
import { JsonStreamMasker } from './json-mask.js';
import { headerLines, type Head } from './codec.js';
import { endToEndHeaders, isJsonType } from './message.js';
import { maskQuery } from './request-mask.js';
import type { SecretPath } from './secret-path.js';
import { isTextType, maskHeaders } from './text-mask.js';
import { guardConnection, guarded } from '../guard.js';
import { MASKED_DROPS } from './answer.js';
import type { ListenerState } from './listener-state.js';
import { recordText, requestFacts } from './operation.js';
import { commitOrRefusal, rawResponse, refusalBody, refusalStatus } from './refusal.js';
import { AmbiguousRequest, readRequest, type ReadRequest } from './target-reading.js';

/** A text message (all its fragments) is held at most this long to be masked whole. */
const MAX_MESSAGE = 1 << 20;
/** How much of a text frame the record keeps (masked), with `recording.results: masked`. */
const RECORDED_TEXT = 4096;

const enum Opcode {
  Continuation = 0x0,
  Text = 0x1,
  Close = 0x8,
}

export class WebSocketFrameError extends Error {}

interface Frame {
  fin: boolean;
  opcode: number;
  /** Unmasked payload. */
  payload: Buffer;
  /** The frame exactly as it arrived. */
  raw: Buffer;
}

/** Reads RFC 6455 frames from a byte stream; payloads are unmasked for inspection. */
export class FrameReader {
  #buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.#buffered = this.#buffered.length ? Buffer.concat([this.#buffered, chunk]) : chunk;
    const frames: Frame[] = [];
    for (;;) {
      const b = this.#buffered;
      if (b.length < 2) break;
      const masked = (b[1]! & 0x80) !== 0;
      let length = b[1]! & 0x7f;
      let at = 2;
      if (length === 126) {
        if (b.length < 4) break;
        length = b.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (b.length < 10) break;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(MAX_MESSAGE) * 64n) throw new WebSocketFrameError('a WebSocket frame over 64 MiB');
        length = Number(big);
        at = 10;
      }
      const keyAt = at;
      if (masked) at += 4;
      if (b.length < at + length) break;
      const payload = Buffer.from(b.subarray(at, at + length));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= b[keyAt + (i & 3)]!;
      frames.push({ fin: (b[0]! & 0x80) !== 0, opcode: b[0]! & 0x0f, payload, raw: b.subarray(0, at + length) });
      this.#buffered = b.subarray(at + length);
    }
    return frames;
  }
}

/**
 * A frame with FIN set: unmasked toward the job, masked with a fresh key toward the target (RFC 6455
 * requires every client-to-server frame to be masked).
 */
export function encodeFrame(opcode: number, payload: Buffer, masked = false): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (n >= 126) {
    head[0] = 0x80 | opcode;
    if (n < 65536) {
      head[1] = 126;
      head.writeUInt16BE(n, 2);
    } else {
      head[1] = 127;
      head.writeBigUInt64BE(BigInt(n), 2);
    }
  }
  if (!masked) return Buffer.concat([head, payload]);
  head[1]! |= 0x80;
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([head, key, body]);
}

type Masks = Pick<MaskPlan, 'json' | 'detectors'>;

/**
 * One direction of the relay: every frame is noted; with masks, text messages (fragments joined, up to
 * MAX_MESSAGE) are masked and re-framed, and every other frame (binary, control frames between
 * fragments) passes as it came.
 */
function frameRelay(masks: Masks, state: ListenerState, toTarget: boolean, note: (opcode: number, bytes: number, text?: string) => void, write: (frame: Buffer) => void): (chunk: Buffer) => void {
  const reader = new FrameReader();
  const active = masks.json.length > 0 || masks.detectors.size > 0;
  let message: Buffer[] | undefined;
  let messageLength = 0;
  return (chunk) => {
    for (const f of reader.push(chunk)) {
      const text = f.opcode === Opcode.Text || (f.opcode === Opcode.Continuation && message !== undefined);
      if (!active || !text) {
        note(f.opcode, f.payload.length, f.opcode === Opcode.Text ? f.payload.toString('utf8') : undefined);
        write(f.raw);
        continue;
      }
      (message ??= []).push(f.payload);
      messageLength += f.payload.length;
      if (messageLength > MAX_MESSAGE) throw new WebSocketFrameError('a text message too long to mask');
      if (!f.fin) continue;
      const masked = maskMessage(Buffer.concat(message).toString('utf8'), masks, state);
      message = undefined;
      messageLength = 0;
      note(Opcode.Text, masked.length, masked);
      write(encodeFrame(Opcode.Text, Buffer.from(masked), toTarget));
    }
  };
}

/**
 * Relays frames between job and target: every frame is recorded (direction, opcode, bytes); text
 * messages are masked (JSON by selectors and detectors, other text by the detectors) and re-framed: the
 * target's by the plan's read masks, the job's by its write masks (mask rules with `on: write`);
 * binary frames pass as they came. A frame that breaks the protocol ends the relay; any other error
 * also goes to `escaped`, the connection's guard.
 */
function relay(state: ListenerState, plan: MaskPlan, seq: number, job: { socket: Duplex; head: Buffer }, far: { socket: Duplex; head: Buffer }, escaped: (e: unknown) => void): void {
  const { governor } = state;
  const client = job.socket;
  const target = far.socket;
  const note = (direction: 'up' | 'down', opcode: number, bytes: number, text?: string) =>
    governor.note('websocket.frame', {
      connection: state.name,
      op: seq,
      direction,
      opcode,
      bytes,
      ...(text !== undefined && governor.recordsContent && { text: governor.masker.maskText(text.slice(0, RECORDED_TEXT), REDACT_ALL).text }),
    });
  const fail = () => {
    client.destroy();
    target.destroy();
  };
  const failOn = (e: unknown) => {
    fail();
    if (!(e instanceof WebSocketFrameError)) escaped(e);
  };
  const guardedRelay = (relayed: (chunk: Buffer) => void) => (chunk: Buffer) => {
    try {
      relayed(chunk);
    } catch (e) {
      failOn(e);
    }
  };
  const fromJob = guardedRelay(frameRelay(plan.write, state, true, (...frame) => note('up', ...frame), (b) => target.write(b)));
  const fromTarget = guardedRelay(frameRelay(plan, state, false, (...frame) => note('down', ...frame), (b) => client.write(b)));
  client.on('data', fromJob);
  target.on('data', fromTarget);
  // A socket handed over paused (by the gateway's own codec) flows again now that it is read.
  client.resume();
  // What each side sent along with the handshake.
  if (job.head.length) fromJob(job.head);
  if (far.head.length) fromTarget(far.head);
  client.on('close', () => target.destroy());
  target.on('close', () => client.destroy());
  client.on('error', fail);
  target.on('error', fail);
}

function maskMessage(text: string, plan: Masks, state: ListenerState): string {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      const masker = new JsonStreamMasker(plan.json, plan.detectors, state.governor.masker);
      return Buffer.concat([...masker.push(Buffer.from(text)), ...masker.end()]).toString('utf8');
    } catch {
      // Not JSON after all: the detectors read it as text.
    }
  }
  return state.governor.masker.maskText(text, plan.detectors).text;
}

/**
 * The body of an answer that declines the upgrade, masked as a response's would be (JSON and text by
 * the plan); undefined when it must be masked and its coding cannot be read.
 */
function declinedBody(answer: IncomingMessage, body: Buffer, plan: MaskPlan, state: ListenerState): { body: Buffer; masked: boolean } | undefined {
  const type = answer.headers['content-type'];
  const maskable = (plan.json.length > 0 && isJsonType(type)) || (plan.detectors.size > 0 && (isJsonType(type) || isTextType(type)));
  if (!maskable || body.length === 0) return { body, masked: false };
  const coding = answer.headers['content-encoding']?.trim().toLowerCase();
  if (coding && coding !== 'identity') return undefined;
  return { body: Buffer.from(maskMessage(body.toString('utf8'), plan, state)), masked: true };
}

function refuse(socket: Duplex, status: number, body: Record<string, unknown>): void {
  socket.end(rawResponse(status, body));
}

/**
 * A WebSocket upgrade: decided like any request, then forwarded to the target with the gateway's own
 * handshake headers (compression is not offered, so frames stay readable), then relayed frame by frame.
 * An error that escapes ends this connection only, reported as a fault.
 */
export function handleUpgrade(req: Head, socket: Socket, head: Buffer, state: ListenerState, secretPath: SecretPath | undefined): void {
  const where = `${state.name} websocket`;
  const escaped = (e: unknown) => {
    socket.destroy();
    state.fault(where, e);
  };
  guardConnection(socket, where, state.fault, () => upgrade(req, socket, head, state, secretPath, escaped));
}

async function upgrade(req: Head, socket: Socket, head: Buffer, state: ListenerState, secretPath: SecretPath | undefined, escaped: (e: unknown) => void): Promise<void> {
  let target: ReadRequest;
  try {
    target = readRequest(req.method, req.url ?? '', req.rawHeaders, state.target.reading, secretPath?.segment.length);
  } catch (e) {
    if (!(e instanceof AmbiguousRequest)) throw e;
    state.governor.note('http.ambiguous', { connection: state.name, problem: e.message });
    return refuse(socket, 400, { error: `refused: ${e.message}` });
  }
  if (req.headers.upgrade?.toLowerCase() !== 'websocket' || target.judgedMethod !== 'GET') {
    return refuse(socket, 400, { error: 'only WebSocket upgrades of a GET to a path are accepted' });
  }
  const op = { connection: state.name, protocol: 'http' as const, text: '', classes: new Set(['write']), writes: true, method: 'GET', path: target.path, ...requestFacts(state.target, req.rawHeaders, target.search) };
  // The query masked like a request's (mask rules with `on: write`), before it is recorded.
  const search = state.governor.masksRequests ? maskQuery(target.search, state.governor.maskPlan(op).write, state.governor.masker).search : target.search;
  op.text = `${recordText('GET', target.path, search, state.governor)} (websocket)`;
  const path = `${target.path}${search}`;
  const ruling = await state.governor.decide(op);
  if (!ruling.allowed) return refuse(socket, refusalStatus(ruling), refusalBody(ruling));
  const unrecorded = commitOrRefusal(state.governor);
  if (unrecorded) return refuse(socket, unrecorded.status, unrecorded.body);
  const t = state.target;
  const headers = endToEndHeaders(req.rawHeaders, new Set([...t.injectedNames, 'sec-websocket-extensions']));
  maskHeaders(headers, ruling.masks.write, state.governor.masker);
  headers.push(...t.injected, 'Host', t.authority, 'Connection', 'Upgrade', 'Upgrade', 'websocket');
  const upstream = (t.secure ? httpsRequest : httpRequest)({ host: t.hostname, port: t.port, method: 'GET', path, headers: headers as unknown as Record<string, string>, agent: t.agent, setHost: false });
  upstream.on('error', (e: Error & { code?: string }) => refuse(socket, 400, { error: `the target cannot be reached (${e.code ?? e.message})` }));
  // The target declined the upgrade: its answer, then the end.
  upstream.on('response', (answer) => {
    const body: Buffer[] = [];
    answer.on('data', (c: Buffer) => body.push(c));
    answer.on('end', () => {
      const payload = declinedBody(answer, Buffer.concat(body), ruling.masks, state);
      const headers = endToEndHeaders(answer.rawHeaders, payload?.masked ? MASKED_DROPS : undefined);
      secretPath?.rewriteHeaders(headers);
      if (!payload) return refuse(socket, 502, { error: `the target's answer is coded "${answer.headers['content-encoding']}", which the gateway cannot decode to mask` });
      maskHeaders(headers, ruling.masks, state.governor.masker);
      socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${answer.statusCode} ${answer.statusMessage}\r\n${headerLines(headers)}Content-Length: ${payload.body.length}\r\nConnection: close\r\n\r\n`), payload.body]));
    });
  });
  const accepted = (answer: IncomingMessage, targetSocket: Duplex, targetHead: Buffer) => {
    const raw = [...answer.rawHeaders];
    secretPath?.rewriteHeaders(raw);
    maskHeaders(raw, ruling.masks, state.governor.masker);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\n${headerLines(raw)}\r\n`);
    relay(state, ruling.masks, ruling.seq, { socket, head }, { socket: targetSocket, head: targetHead }, escaped);
  };
  upstream.on('upgrade', (answer, targetSocket, targetHead) => guarded(escaped, () => accepted(answer, targetSocket, targetHead)));
  upstream.end();
}
