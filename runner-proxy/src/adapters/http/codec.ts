/**
 * The gateway's own HTTP/1.1 codec, push-style (as pg-protocol's parser): bytes go in as they arrive,
 * and heads, body pieces (views of the bytes read, not copies) and message ends come out. Requests are
 * read strictly: whatever a target might frame differently from the gateway is refused before the
 * request exists (item 3 of the HTTP issue): a repeated or listed Content-Length, Content-Length with
 * Transfer-Encoding, a transfer coding other than exactly chunked, chunked in HTTP/1.0, bare CR or LF,
 * a control character, a folded line, a space before a colon, an oversized head, a malformed chunk.
 */
import { MAX_HEADER_BYTES } from './message.js';

/** A message's head, with the fields named as Node's IncomingMessage names them. */
export interface Head {
  /** Requests: the method and the request target as sent. */
  method: string;
  url: string;
  /** Responses: the status and its reason phrase. */
  statusCode: number;
  statusMessage: string;
  httpVersion: '1.0' | '1.1';
  /** Header names and values in the order received, names as spelled. */
  rawHeaders: string[];
  /** The first value of each header the gateway itself reads (the others are in rawHeaders). */
  headers: KnownHeaders;
  /** The body's length when it has one, -1 when chunked or until the close, 0 when none. */
  contentLength: number;
  chunked: boolean;
  /** Whether the connection may carry another message after this one. */
  keepAlive: boolean;
  upgrade: boolean;
  expectContinue: boolean;
  /** A Location, Content-Location or Set-Cookie header is present (the reverse listener rewrites them). */
  links: boolean;
}

/** The headers the gateway reads to frame, inspect and route a message, by lower-case name. */
export interface KnownHeaders {
  'content-length'?: string;
  'transfer-encoding'?: string;
  'content-type'?: string;
  'content-encoding'?: string;
  connection?: string;
  upgrade?: string;
  expect?: string;
  host?: string;
}

/** The end of a message's body. */
export const MESSAGE_END = Symbol('message end');

export type ReadEvent = Head | Buffer | typeof MESSAGE_END;

export class MalformedMessage extends Error {}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  /** After an upgrade: the bytes are no longer HTTP. */
  Detached,
  Failed,
}

const CRLF = 0x0a0d;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/** The characters of a token (a header name), by character code below 128. */
const TOKEN_CHARACTER = new Uint8Array(128);
for (const c of "!#$%&'*+.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-") TOKEN_CHARACTER[c.charCodeAt(0)] = 1;
/** A control character other than HTAB, which includes a CR or LF alone. */
const BAD_CHARACTER = /[\x00-\x08\x0a-\x1f\x7f]/;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([\x21-\x7e]+) HTTP\/1\.([01])$/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: ([^]*))?$/;
const CHUNK_SIZE = /^[0-9A-Fa-f]{1,12}$/;
const DIGITS = /^\d{1,15}$/;
/** A chunk-size line longer than this (its extensions included) is refused. */
const MAX_CHUNK_LINE = 4096;

/** A value without its leading and trailing spaces and tabs (and nothing else: String.trim takes more). */
function trimField(line: string, from: number): string {
  let start = from;
  let end = line.length;
  while (start < end && (line.charCodeAt(start) === 0x20 || line.charCodeAt(start) === 0x09)) start++;
  while (end > start && (line.charCodeAt(end - 1) === 0x20 || line.charCodeAt(end - 1) === 0x09)) end--;
  return line.slice(start, end);
}

function isToken(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || TOKEN_CHARACTER[c] === 0) return false;
  }
  return true;
}

/**
 * A head's lines, without their CRLFs, in one pass that also refuses a bare CR or LF and any control
 * character other than HTAB.
 */
function headLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 0x20 && c !== 0x7f) || c === 0x09) continue;
    if (c !== 0x0d || text.charCodeAt(i + 1) !== 0x0a) throw new MalformedMessage('a bare CR or LF, or a control character, in the head');
    lines.push(text.slice(start, i));
    start = ++i + 1;
  }
  lines.push(text.slice(start));
  return lines;
}

/** Whether the bytes hold a LF without its CR, or a CR followed by something other than LF. */
function bareLineBreak(buffer: Buffer, from: number, to: number): boolean {
  for (let i = buffer.indexOf(0x0a, from); i >= 0 && i < to; i = buffer.indexOf(0x0a, i + 1)) if (i === from || buffer[i - 1] !== 0x0d) return true;
  for (let i = buffer.indexOf(0x0d, from); i >= 0 && i < to - 1; i = buffer.indexOf(0x0d, i + 1)) if (buffer[i + 1] !== 0x0a) return true;
  return false;
}

/**
 * Reads the messages of one direction of one connection. `push` parses everything it can at once (so a
 * malformed body in the bytes already received is known before the head is acted on), and `next`
 * hands out what was read, in order. After a malformed message, `error` says why and nothing more is read.
 */
export class MessageReader {
  readonly #requests: boolean;
  #state = State.Head;
  #buffer: Buffer = Buffer.alloc(0);
  #offset = 0;
  /** Body bytes still to come in the current Content-Length body or chunk. */
  #remaining = 0;
  readonly #events: ReadEvent[] = [];
  #next = 0;
  /** Why the input was refused; set once, and then nothing more is read. */
  error: string | undefined;
  /** Responses: the next one has no body whatever its headers say (it answers a HEAD). */
  bodyless = false;

  constructor(kind: 'request' | 'response') {
    this.#requests = kind === 'request';
  }

  push(chunk: Buffer): void {
    if (this.#state === State.Failed) return;
    this.#buffer = this.#offset < this.#buffer.length ? Buffer.concat([this.#buffer.subarray(this.#offset), chunk]) : chunk;
    this.#offset = 0;
    try {
      this.#parse();
    } catch (e) {
      if (!(e instanceof MalformedMessage)) throw e;
      this.error = e.message;
      this.#state = State.Failed;
    }
  }

  /** The peer closed its side: a body that runs until the close ends here; anything else open is cut. */
  end(): void {
    if (this.#state === State.UntilClose) {
      this.#state = State.Head;
      this.#events.push(MESSAGE_END);
    } else if (this.#state !== State.Head || this.#offset < this.#buffer.length) {
      if (this.#state !== State.Failed && this.#state !== State.Detached) this.error ??= 'the connection closed inside a message';
      this.#state = State.Failed;
    }
  }

  /** The next thing read, or undefined when everything read so far has been handed out. */
  next(): ReadEvent | undefined {
    if (this.#next === this.#events.length) return undefined;
    const event = this.#events[this.#next++]!;
    if (this.#next === this.#events.length) {
      this.#events.length = 0;
      this.#next = 0;
    }
    return event;
  }

  /** Whether what is already read holds the end of the current message (so its body is all here). */
  holdsEnd(): boolean {
    for (let i = this.#next; i < this.#events.length; i++) if (this.#events[i] === MESSAGE_END) return true;
    return false;
  }

  /** Whether the input turned out malformed before the current message ended. */
  failsInMessage(): boolean {
    return this.#state === State.Failed && !this.holdsEnd();
  }

  /** Stops reading (an upgrade): the bytes received past the head, which are no longer HTTP. */
  detach(): Buffer {
    const rest = this.#buffer.subarray(this.#offset);
    this.#buffer = Buffer.alloc(0);
    this.#offset = 0;
    this.#state = State.Detached;
    return rest;
  }

  #parse(): void {
    const b = this.#buffer;
    while (this.#offset < b.length) {
      switch (this.#state) {
        case State.Head: {
          // Empty lines before a message are allowed (RFC 9112 §2.2).
          while (this.#offset + 1 < b.length && b.readUInt16LE(this.#offset) === CRLF) this.#offset += 2;
          const end = b.indexOf(HEAD_END, this.#offset);
          if (end < 0) {
            if (b.length - this.#offset > MAX_HEADER_BYTES) throw new MalformedMessage(`the head is larger than ${MAX_HEADER_BYTES >> 10} KiB`);
            if (bareLineBreak(b, this.#offset, b.length)) throw new MalformedMessage('a bare CR or LF in the head');
            return;
          }
          if (end - this.#offset > MAX_HEADER_BYTES) throw new MalformedMessage(`the head is larger than ${MAX_HEADER_BYTES >> 10} KiB`);
          const head = this.#head(b.toString('latin1', this.#offset, end));
          this.#offset = end + 4;
          // An interim answer (100 Continue, 103 Early Hints) is not passed on: the gateway answers Expect itself.
          if (!this.#requests && head.statusCode < 200 && !head.upgrade) continue;
          this.#events.push(head);
          if (head.upgrade && this.#requests) {
            this.#state = State.Detached;
            return;
          }
          if (this.#requests || !this.bodyless) this.#startBody(head);
          else this.#events.push(MESSAGE_END);
          break;
        }
        case State.Length:
        case State.ChunkData: {
          const n = Math.min(this.#remaining, b.length - this.#offset);
          this.#events.push(b.subarray(this.#offset, this.#offset + n));
          this.#offset += n;
          this.#remaining -= n;
          if (this.#remaining > 0) return;
          if (this.#state === State.Length) this.#endMessage();
          else this.#state = State.ChunkDataEnd;
          break;
        }
        case State.ChunkDataEnd:
          if (b.length - this.#offset < 2) return;
          if (b.readUInt16LE(this.#offset) !== CRLF) throw new MalformedMessage('a chunk does not end with CRLF');
          this.#offset += 2;
          this.#state = State.ChunkSize;
          break;
        case State.ChunkSize: {
          const line = this.#line(b);
          if (line === undefined) return;
          const semicolon = line.indexOf(';');
          const size = semicolon < 0 ? line : line.slice(0, semicolon);
          if (!CHUNK_SIZE.test(size)) throw new MalformedMessage('a chunk size is malformed');
          this.#remaining = parseInt(size, 16);
          this.#state = this.#remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.Trailers: {
          const line = this.#line(b);
          if (line === undefined) return;
          // Trailer fields are read and dropped: no rule or mask sees them, so none goes on.
          if (line === '') this.#endMessage();
          break;
        }
        case State.UntilClose:
          this.#events.push(b.subarray(this.#offset));
          this.#offset = b.length;
          return;
        default:
          return;
      }
    }
  }

  /** One CRLF-terminated line of chunk framing, without its CRLF; undefined until it is all here. */
  #line(b: Buffer): string | undefined {
    const end = b.indexOf('\r\n', this.#offset, 'latin1');
    const to = end < 0 ? b.length : end;
    if (to - this.#offset > MAX_CHUNK_LINE) throw new MalformedMessage('a chunk line is too long');
    if (bareLineBreak(b, this.#offset, to)) throw new MalformedMessage('a bare CR or LF in the chunk framing');
    if (end < 0) return undefined;
    const line = b.toString('latin1', this.#offset, end);
    if (BAD_CHARACTER.test(line)) throw new MalformedMessage('a control character in the chunk framing');
    this.#offset = end + 2;
    return line;
  }

  #startBody(head: Head): void {
    if (head.chunked) {
      this.#state = State.ChunkSize;
    } else if (head.contentLength > 0) {
      this.#state = State.Length;
      this.#remaining = head.contentLength;
    } else if (head.contentLength < 0) {
      this.#state = State.UntilClose;
    } else this.#endMessage();
  }

  #endMessage(): void {
    this.#state = State.Head;
    this.bodyless = false;
    this.#events.push(MESSAGE_END);
  }

  #head(text: string): Head {
    const lines = headLines(text);
    const first = lines[0]!;
    const head: Head = {
      method: '',
      url: '',
      statusCode: 0,
      statusMessage: '',
      httpVersion: '1.1',
      rawHeaders: [],
      // All fields present from the start: one object shape, not a dictionary grown header by header.
      headers: {
        'content-length': undefined,
        'transfer-encoding': undefined,
        'content-type': undefined,
        'content-encoding': undefined,
        connection: undefined,
        upgrade: undefined,
        expect: undefined,
        host: undefined,
      },
      contentLength: 0,
      chunked: false,
      keepAlive: true,
      upgrade: false,
      expectContinue: false,
      links: false,
    };
    if (this.#requests) {
      const m = REQUEST_LINE.exec(first);
      if (!m) throw new MalformedMessage('the request line is malformed');
      head.method = m[1]!;
      head.url = m[2]!;
      head.httpVersion = m[3] === '0' ? '1.0' : '1.1';
    } else {
      const m = STATUS_LINE.exec(first);
      if (!m) throw new MalformedMessage('the status line is malformed');
      head.httpVersion = m[1] === '0' ? '1.0' : '1.1';
      head.statusCode = Number(m[2]);
      head.statusMessage = m[3] ?? '';
    }
    let lengths = 0;
    let codings = 0;
    let hosts = 0;
    let connection = '';
    const raw = head.rawHeaders;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new MalformedMessage(line.charCodeAt(0) === 0x20 || line.charCodeAt(0) === 0x09 ? 'a folded header line' : 'a header line without a colon');
      const name = line.slice(0, colon);
      if (!isToken(name)) throw new MalformedMessage(`the header name "${name.slice(0, 40)}" is malformed (a space before the colon?)`);
      const value = trimField(line, colon + 1);
      raw.push(name, value);
      const known = head.headers;
      switch (name.toLowerCase()) {
        case 'content-length':
          lengths++;
          known['content-length'] ??= value;
          break;
        case 'transfer-encoding':
          codings++;
          known['transfer-encoding'] ??= value;
          break;
        case 'host':
          hosts++;
          known.host ??= value;
          break;
        case 'connection':
          connection = connection ? `${connection},${value}` : value;
          known.connection ??= value;
          break;
        case 'content-type':
          known['content-type'] ??= value;
          break;
        case 'content-encoding':
          known['content-encoding'] ??= value;
          break;
        case 'upgrade':
          known.upgrade ??= value;
          break;
        case 'expect':
          known.expect ??= value;
          break;
        case 'location':
        case 'content-location':
        case 'set-cookie':
          head.links = true;
          break;
      }
    }
    const length = head.headers['content-length'];
    const coding = head.headers['transfer-encoding'];
    if (this.#requests) {
      if (lengths > 1) throw new MalformedMessage('Content-Length is repeated');
      if (codings > 1) throw new MalformedMessage('Transfer-Encoding is repeated');
      if (length !== undefined && coding !== undefined) throw new MalformedMessage('Content-Length and Transfer-Encoding together');
      if (coding !== undefined && coding.toLowerCase() !== 'chunked') throw new MalformedMessage(`transfer coding "${coding}" is not accepted; only chunked is`);
      if (coding !== undefined && head.httpVersion === '1.0') throw new MalformedMessage('HTTP/1.0 has no chunked transfer coding');
      if (hosts > 1 || (hosts === 0 && head.httpVersion === '1.1')) throw new MalformedMessage('a request needs exactly one Host header');
      head.expectContinue = head.headers.expect?.toLowerCase() === '100-continue';
      // After CONNECT or an upgrade the bytes are no longer HTTP: the reader stops at the head.
      head.upgrade = head.method === 'CONNECT' || (head.headers.upgrade !== undefined && /(?:^|,)\s*upgrade\s*(?:,|$)/i.test(connection));
    } else {
      // A target's framing is read as RFC 9112 §6.3 says; only a conflict is refused.
      if (length !== undefined && lengths > 1 && head.rawHeaders.some((v, i) => i % 2 === 1 && raw[i - 1]!.toLowerCase() === 'content-length' && v !== length)) {
        throw new MalformedMessage('the response has conflicting Content-Length headers');
      }
      head.upgrade = head.statusCode === 101;
    }
    if (coding !== undefined) {
      head.chunked = /(?:^|,)\s*chunked\s*$/i.test(coding);
      head.contentLength = -1;
      // A response coded otherwise runs until the close.
      if (!head.chunked) head.keepAlive = false;
    } else if (length !== undefined) {
      if (!DIGITS.test(length)) throw new MalformedMessage('Content-Length is not a number');
      head.contentLength = Number(length);
    } else if (!this.#requests && head.statusCode !== 204 && head.statusCode !== 304 && head.statusCode >= 200) {
      head.contentLength = -1;
      head.keepAlive = false;
    }
    if (!this.#requests && (head.statusCode === 204 || head.statusCode === 304 || head.statusCode < 200)) {
      head.contentLength = 0;
      head.chunked = false;
    }
    const tokens = connection.toLowerCase();
    if (head.httpVersion === '1.0') head.keepAlive &&= /(?:^|,)\s*keep-alive\s*(?:,|$)/.test(tokens);
    else if (/(?:^|,)\s*close\s*(?:,|$)/.test(tokens)) head.keepAlive = false;
    return head;
  }
}

/** Chunked framing for one piece of a body. */
export function chunkHead(length: number): string {
  return `${length.toString(16)}\r\n`;
}

export const LAST_CHUNK = '0\r\n\r\n';

/** Header pairs as head lines (each with its CRLF). */
export function headerLines(pairs: readonly string[]): string {
  let text = '';
  for (let i = 0; i < pairs.length; i += 2) text += `${pairs[i]}: ${pairs[i + 1]}\r\n`;
  return text;
}
