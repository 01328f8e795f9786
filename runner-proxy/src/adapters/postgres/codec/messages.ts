import { HEADER_LENGTH, MalformedFrameError } from './frames.js';

/** Message type bytes, by direction. */
export const enum Frontend {
  Bind = 0x42, // B
  Close = 0x43, // C
  Describe = 0x44, // D
  Execute = 0x45, // E
  FunctionCall = 0x46, // F
  Flush = 0x48, // H
  Parse = 0x50, // P
  Query = 0x51, // Q
  Sync = 0x53, // S
  Terminate = 0x58, // X
  CopyFail = 0x66, // f
  CopyData = 0x64, // d
  CopyDone = 0x63, // c
  Password = 0x70, // p (also SASL responses)
}

export const enum Backend {
  ParseComplete = 0x31, // 1
  BindComplete = 0x32, // 2
  CloseComplete = 0x33, // 3
  NotificationResponse = 0x41, // A
  CommandComplete = 0x43, // C
  DataRow = 0x44, // D
  ErrorResponse = 0x45, // E
  CopyInResponse = 0x47, // G
  CopyOutResponse = 0x48, // H
  EmptyQueryResponse = 0x49, // I
  BackendKeyData = 0x4b, // K
  NoticeResponse = 0x4e, // N
  Authentication = 0x52, // R
  ParameterStatus = 0x53, // S
  RowDescription = 0x54, // T
  FunctionCallResponse = 0x56, // V
  CopyBothResponse = 0x57, // W
  ReadyForQuery = 0x5a, // Z
  CopyDone = 0x63, // c
  CopyData = 0x64, // d
  NoData = 0x6e, // n
  PortalSuspended = 0x73, // s
  ParameterDescription = 0x74, // t
  NegotiateProtocolVersion = 0x76, // v
}

/** Startup packet codes (the untyped first message). */
export const PROTOCOL_3_0 = 196608;
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;

/** A cursor over one message body; reads past the end throw MalformedFrameError. */
export class Reader {
  #buf: Buffer;
  #pos: number;
  #end: number;

  constructor(buf: Buffer, start = HEADER_LENGTH, end = buf.length) {
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
  }

  get position(): number {
    return this.#pos;
  }

  get done(): boolean {
    return this.#pos >= this.#end;
  }

  #need(n: number): void {
    if (this.#pos + n > this.#end) throw new MalformedFrameError('a message ends before its fields do');
  }

  byte(): number {
    this.#need(1);
    return this.#buf[this.#pos++]!;
  }

  int16(): number {
    this.#need(2);
    const v = this.#buf.readInt16BE(this.#pos);
    this.#pos += 2;
    return v;
  }

  int32(): number {
    this.#need(4);
    const v = this.#buf.readInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }

  cstring(): string {
    const zero = this.#buf.indexOf(0, this.#pos);
    if (zero < 0 || zero >= this.#end) throw new MalformedFrameError('a string in a message is not terminated');
    const s = this.#buf.toString('utf8', this.#pos, zero);
    this.#pos = zero + 1;
    return s;
  }

  /** A view of the next n bytes, not a copy. */
  bytes(n: number): Buffer {
    this.#need(n);
    const v = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }

  rest(): Buffer {
    const v = this.#buf.subarray(this.#pos, this.#end);
    this.#pos = this.#end;
    return v;
  }
}

/** Builds one message; the header is patched in at the end (as pg-protocol's Writer does). */
export class Writer {
  #buf: Buffer;
  #pos = HEADER_LENGTH;

  constructor(size = 256) {
    this.#buf = Buffer.allocUnsafe(Math.max(size, HEADER_LENGTH));
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  byte(v: number): this {
    this.#ensure(1);
    this.#buf[this.#pos++] = v;
    return this;
  }

  int16(v: number): this {
    this.#ensure(2);
    this.#buf.writeInt16BE(v, this.#pos);
    this.#pos += 2;
    return this;
  }

  int32(v: number): this {
    this.#ensure(4);
    this.#buf.writeInt32BE(v, this.#pos);
    this.#pos += 4;
    return this;
  }

  cstring(s: string): this {
    const n = Buffer.byteLength(s);
    this.#ensure(n + 1);
    this.#buf.write(s, this.#pos, 'utf8');
    this.#pos += n;
    this.#buf[this.#pos++] = 0;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
    return this;
  }

  /** The finished message with its type byte; untyped startup-style messages pass no code. */
  finish(code?: number): Buffer {
    if (code === undefined) {
      this.#buf.writeInt32BE(this.#pos - HEADER_LENGTH + 4, HEADER_LENGTH - 4);
      return this.#buf.subarray(HEADER_LENGTH - 4, this.#pos);
    }
    this.#buf[0] = code;
    this.#buf.writeInt32BE(this.#pos - 1, 1);
    return this.#buf.subarray(0, this.#pos);
  }
}

// ---- frontend messages the gateway reads ----

export interface StartupMessage {
  protocol: number;
  parameters: Record<string, string>;
}

/** The body of an untyped startup packet (after its length). */
export function readStartup(body: Buffer): { code: number; startup?: StartupMessage; cancel?: { pid: number; secret: Buffer } } {
  if (body.length < 4) throw new MalformedFrameError('the startup packet is too short');
  const code = body.readInt32BE(0);
  if (code === CANCEL_REQUEST) {
    if (body.length < 12) throw new MalformedFrameError('the cancel request is too short');
    return { code, cancel: { pid: body.readInt32BE(4), secret: body.subarray(8) } };
  }
  if (code >> 16 !== 3) return { code };
  const reader = new Reader(body, 4, body.length);
  const parameters: Record<string, string> = {};
  for (;;) {
    const key = reader.cstring();
    if (key === '') break;
    parameters[key] = reader.cstring();
  }
  if (!reader.done) throw new MalformedFrameError('the startup packet has bytes after its terminator');
  return { code, startup: { protocol: code, parameters } };
}

export interface ParseMessage {
  statement: string;
  query: string;
  paramTypes: number[];
}

export function readParse(frame: Buffer): ParseMessage {
  const r = new Reader(frame);
  const statement = r.cstring();
  const query = r.cstring();
  const count = r.int16();
  const paramTypes: number[] = [];
  for (let i = 0; i < count; i++) paramTypes.push(r.int32());
  return { statement, query, paramTypes };
}

export interface BindMessage {
  portal: string;
  statement: string;
  paramFormats: number[];
  /** Parameter values as views; null for SQL NULL. */
  params: (Buffer | null)[];
  resultFormats: number[];
}

export function readBind(frame: Buffer): BindMessage {
  const r = new Reader(frame);
  const portal = r.cstring();
  const statement = r.cstring();
  const paramFormats: number[] = [];
  for (let i = r.int16(); i > 0; i--) paramFormats.push(r.int16());
  const params: (Buffer | null)[] = [];
  for (let i = r.int16(); i > 0; i--) {
    const len = r.int32();
    params.push(len < 0 ? null : r.bytes(len));
  }
  const resultFormats: number[] = [];
  for (let i = r.int16(); i > 0; i--) resultFormats.push(r.int16());
  return { portal, statement, paramFormats, params, resultFormats };
}

export function writeBind(m: BindMessage): Buffer {
  const w = new Writer(64 + m.params.reduce((n, p) => n + (p?.length ?? 0) + 4, 0));
  w.cstring(m.portal).cstring(m.statement).int16(m.paramFormats.length);
  for (const f of m.paramFormats) w.int16(f);
  w.int16(m.params.length);
  for (const p of m.params) {
    if (p === null) w.int32(-1);
    else w.int32(p.length).bytes(p);
  }
  w.int16(m.resultFormats.length);
  for (const f of m.resultFormats) w.int16(f);
  return w.finish(Frontend.Bind);
}

/** Describe and Close: 'S' statement or 'P' portal, and a name. */
export function readTarget(frame: Buffer): { kind: 'S' | 'P'; name: string } {
  const r = new Reader(frame);
  const kind = String.fromCharCode(r.byte());
  if (kind !== 'S' && kind !== 'P') throw new MalformedFrameError(`a Describe or Close names "${kind}", neither statement nor portal`);
  return { kind, name: r.cstring() };
}

export function readExecute(frame: Buffer): { portal: string; maxRows: number } {
  const r = new Reader(frame);
  return { portal: r.cstring(), maxRows: r.int32() };
}

export function readCString(frame: Buffer): string {
  return new Reader(frame).cstring();
}

export function writeQuery(text: string): Buffer {
  return new Writer(text.length + 16).cstring(text).finish(Frontend.Query);
}

export function writeParse(m: ParseMessage): Buffer {
  const w = new Writer(m.query.length + 32).cstring(m.statement).cstring(m.query).int16(m.paramTypes.length);
  for (const t of m.paramTypes) w.int32(t);
  return w.finish(Frontend.Parse);
}

// ---- backend messages the gateway reads ----

export interface Field {
  name: string;
  tableOid: number;
  column: number;
  typeOid: number;
  typeSize: number;
  typeModifier: number;
  format: number;
}

export function readRowDescription(frame: Buffer): Field[] {
  const r = new Reader(frame);
  const fields: Field[] = [];
  for (let i = r.int16(); i > 0; i--) {
    fields.push({ name: r.cstring(), tableOid: r.int32(), column: r.int16(), typeOid: r.int32(), typeSize: r.int16(), typeModifier: r.int32(), format: r.int16() });
  }
  return fields;
}

/** DataRow cells as views; null for SQL NULL. */
export function readDataRow(frame: Buffer): (Buffer | null)[] {
  const r = new Reader(frame);
  const count = r.int16();
  const cells: (Buffer | null)[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const len = r.int32();
    cells[i] = len < 0 ? null : r.bytes(len);
  }
  return cells;
}

/** ErrorResponse and NoticeResponse fields by their one-letter codes (S V C M D H P p q W s t c d n F L R). */
export type NoticeFields = Map<string, string>;

export function readNotice(frame: Buffer): NoticeFields {
  const r = new Reader(frame);
  const fields: NoticeFields = new Map();
  for (let code = r.byte(); code !== 0; code = r.byte()) fields.set(String.fromCharCode(code), r.cstring());
  return fields;
}

export function writeNotice(code: Backend.ErrorResponse | Backend.NoticeResponse, fields: NoticeFields): Buffer {
  const w = new Writer(128);
  for (const [k, v] of fields) w.byte(k.charCodeAt(0)).cstring(v);
  return w.byte(0).finish(code);
}

export function readParameterStatus(frame: Buffer): { name: string; value: string } {
  const r = new Reader(frame);
  return { name: r.cstring(), value: r.cstring() };
}

export function readNotification(frame: Buffer): { pid: number; channel: string; payload: string } {
  const r = new Reader(frame);
  return { pid: r.int32(), channel: r.cstring(), payload: r.cstring() };
}

export function writeNotification(n: { pid: number; channel: string; payload: string }): Buffer {
  return new Writer(64 + n.payload.length).int32(n.pid).cstring(n.channel).cstring(n.payload).finish(Backend.NotificationResponse);
}

/** CopyIn/Out/BothResponse: the overall format (0 text, 1 binary) and one format per column. */
export function readCopyResponse(frame: Buffer): { format: number; columnFormats: number[] } {
  const r = new Reader(frame);
  const format = r.byte();
  const columnFormats: number[] = [];
  for (let i = r.int16(); i > 0; i--) columnFormats.push(r.int16());
  return { format, columnFormats };
}

// ---- backend messages the gateway writes ----

export const enum AuthCode {
  Ok = 0,
  CleartextPassword = 3,
  MD5Password = 5,
  SASL = 10,
  SASLContinue = 11,
  SASLFinal = 12,
}

export function writeAuthentication(code: AuthCode, payload?: Buffer | string[]): Buffer {
  const w = new Writer(64).int32(code);
  if (Array.isArray(payload)) {
    for (const mechanism of payload) w.cstring(mechanism);
    w.byte(0);
  } else if (payload) {
    w.bytes(payload);
  }
  return w.finish(Backend.Authentication);
}

export function writeParameterStatus(name: string, value: string): Buffer {
  return new Writer(64).cstring(name).cstring(value).finish(Backend.ParameterStatus);
}

export function writeBackendKeyData(pid: number, secret: number): Buffer {
  return new Writer(16).int32(pid).int32(secret).finish(Backend.BackendKeyData);
}

export function writeReadyForQuery(status: string): Buffer {
  return new Writer(8).byte(status.charCodeAt(0)).finish(Backend.ReadyForQuery);
}

export function writeNegotiateProtocolVersion(minor: number, unsupported: string[]): Buffer {
  const w = new Writer(64).int32(minor).int32(unsupported.length);
  for (const o of unsupported) w.cstring(o);
  return w.finish(Backend.NegotiateProtocolVersion);
}

/** An error in the client's own protocol: SQLSTATE, message, and optionally detail and hint. */
export function errorFields(severity: 'ERROR' | 'FATAL', sqlstate: string, message: string, detail?: string, hint?: string): NoticeFields {
  const fields: NoticeFields = new Map([
    ['S', severity],
    ['V', severity],
    ['C', sqlstate],
    ['M', message],
  ]);
  if (detail) fields.set('D', detail);
  if (hint) fields.set('H', hint);
  return fields;
}
