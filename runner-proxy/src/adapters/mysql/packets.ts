/**
 * The MySQL packet codec: a 3-byte little-endian length and a sequence id before each payload; a
 * payload of 16 MiB − 1 or more continues in the next packet, so one logical packet is the
 * concatenation of its pieces up to the first shorter one.
 */

const MAX_PIECE = 0xffffff;

export class MalformedPacketError extends Error {}

/** One logical packet: its payload and the sequence id of its last piece. */
export interface Packet {
  seq: number;
  payload: Buffer;
}

/** Reads logical packets from a byte stream, refusing any larger than `maxPacket`. */
export class PacketReader {
  #buffered: Buffer = Buffer.alloc(0);
  #pieces: Buffer[] = [];
  #size = 0;
  maxPacket: number;

  constructor(maxPacket: number) {
    this.maxPacket = maxPacket;
  }

  push(chunk: Buffer): void {
    this.#buffered = this.#buffered.length ? Buffer.concat([this.#buffered, chunk]) : chunk;
  }

  /** The next whole packet, or undefined until more bytes arrive. */
  next(): Packet | undefined {
    for (;;) {
      if (this.#buffered.length < 4) return undefined;
      const length = this.#buffered.readUIntLE(0, 3);
      if (this.#size + length > this.maxPacket) throw new MalformedPacketError(`a packet larger than ${this.maxPacket} bytes`);
      if (this.#buffered.length < 4 + length) return undefined;
      const seq = this.#buffered[3]!;
      const piece = this.#buffered.subarray(4, 4 + length);
      this.#buffered = this.#buffered.subarray(4 + length);
      this.#pieces.push(piece);
      this.#size += length;
      if (length === MAX_PIECE) continue;
      const payload = this.#pieces.length === 1 ? piece : Buffer.concat(this.#pieces);
      this.#pieces = [];
      this.#size = 0;
      return { seq, payload };
    }
  }

  /** Bytes read but not yet part of a packet (what a TLS upgrade must not lose). */
  get buffered(): Buffer {
    return this.#buffered;
  }
}

/** Frames one logical payload as packets starting at `seq`; returns the bytes and the next sequence id. */
export function framePacket(seq: number, payload: Buffer): { bytes: Buffer; next: number } {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const length = Math.min(MAX_PIECE, payload.length - offset);
    const header = Buffer.alloc(4);
    header.writeUIntLE(length, 0, 3);
    header[3] = seq & 0xff;
    parts.push(header, payload.subarray(offset, offset + length));
    seq = (seq + 1) & 0xff;
    offset += length;
    if (length < MAX_PIECE) break;
  }
  return { bytes: Buffer.concat(parts), next: seq };
}

/** A cursor over one payload, for the protocol's integer and string encodings. */
export class Reader {
  pos: number;
  readonly buf: Buffer;

  constructor(buf: Buffer, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }

  #need(n: number): void {
    if (this.pos + n > this.buf.length) throw new MalformedPacketError('a packet ended early');
  }

  u8(): number {
    this.#need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.#need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u24(): number {
    this.#need(3);
    const v = this.buf.readUIntLE(this.pos, 3);
    this.pos += 3;
    return v;
  }

  u32(): number {
    this.#need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  bytes(n: number): Buffer {
    this.#need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A length-encoded integer; null for the NULL marker 0xfb of result rows. */
  lenenc(): number | null {
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfb) return null;
    if (first === 0xfc) return this.u16();
    if (first === 0xfd) return this.u24();
    if (first === 0xfe) {
      this.#need(8);
      const v = Number(this.buf.readBigUInt64LE(this.pos));
      this.pos += 8;
      return v;
    }
    throw new MalformedPacketError('an invalid length-encoded integer');
  }

  lenencBytes(): Buffer | null {
    const n = this.lenenc();
    return n === null ? null : this.bytes(n);
  }

  lenencString(): string {
    return (this.lenencBytes() ?? Buffer.alloc(0)).toString('utf8');
  }

  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new MalformedPacketError('a string without its terminator');
    const v = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return v;
  }

  rest(): Buffer {
    const v = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return v;
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }
}

export function lenencInt(n: number): Buffer {
  if (n < 0xfb) return Buffer.from([n]);
  if (n <= 0xffff) return Buffer.from([0xfc, n & 0xff, n >> 8]);
  if (n <= 0xffffff) return Buffer.from([0xfd, n & 0xff, (n >> 8) & 0xff, n >> 16]);
  const b = Buffer.alloc(9);
  b[0] = 0xfe;
  b.writeBigUInt64LE(BigInt(n), 1);
  return b;
}

export function lenencBytes(value: Buffer): Buffer {
  return Buffer.concat([lenencInt(value.length), value]);
}

export const NULL_CELL = Buffer.from([0xfb]);

/** Capability flags the gateway understands; anything else is taken out of what both sides agree on. */
export const Capability = {
  LONG_PASSWORD: 1,
  FOUND_ROWS: 2,
  LONG_FLAG: 4,
  CONNECT_WITH_DB: 8,
  NO_SCHEMA: 16,
  LOCAL_FILES: 128,
  IGNORE_SPACE: 256,
  PROTOCOL_41: 512,
  INTERACTIVE: 1024,
  SSL: 2048,
  TRANSACTIONS: 8192,
  SECURE_CONNECTION: 32768,
  MULTI_STATEMENTS: 1 << 16,
  MULTI_RESULTS: 1 << 17,
  PS_MULTI_RESULTS: 1 << 18,
  PLUGIN_AUTH: 1 << 19,
  CONNECT_ATTRS: 1 << 20,
  PLUGIN_AUTH_LENENC_DATA: 1 << 21,
  SESSION_TRACK: 1 << 23,
  DEPRECATE_EOF: 1 << 24,
} as const;

export const SERVER_MORE_RESULTS_EXISTS = 0x0008;
/** Set while the session's sql_mode reads a backslash in a string as itself, not as an escape. */
export const SERVER_STATUS_NO_BACKSLASH_ESCAPES = 0x0200;

/** An OK packet's status flags (after affected rows and last insert id). */
export function okStatus(payload: Buffer): { affected: number; status: number } {
  const r = new Reader(payload, 1);
  const affected = r.lenenc() ?? 0;
  r.lenenc();
  return { affected, status: r.u16() };
}

/** An EOF packet (0xfe, shorter than 9 bytes): its status flags. */
export function eofStatus(payload: Buffer): number {
  return payload.length >= 5 ? payload.readUInt16LE(3) : 0;
}

export function isEof(payload: Buffer): boolean {
  return payload[0] === 0xfe && payload.length < 9;
}

/** An ERR packet in the 4.1 format: code, SQLSTATE and message. */
export function errPacket(code: number, sqlstate: string, message: string): Buffer {
  const head = Buffer.alloc(9);
  head[0] = 0xff;
  head.writeUInt16LE(code, 1);
  head.write(`#${sqlstate}`, 3, 'latin1');
  return Buffer.concat([head, Buffer.from(message, 'utf8')]);
}

export function readErr(payload: Buffer): { code: number; sqlstate: string; message: string } {
  const code = payload.length >= 3 ? payload.readUInt16LE(1) : 0;
  if (payload[3] === 0x23) return { code, sqlstate: payload.toString('latin1', 4, 9), message: payload.toString('utf8', 9) };
  return { code, sqlstate: 'HY000', message: payload.toString('utf8', 3) };
}

export function okPacket(status: number): Buffer {
  return Buffer.from([0x00, 0x00, 0x00, status & 0xff, status >> 8, 0x00, 0x00]);
}

/** A column definition (protocol 4.1), with where its values come from. */
export interface ColumnDefinition {
  schema: string;
  table: string;
  orgTable: string;
  name: string;
  orgName: string;
  charset: number;
  type: number;
}

export function readColumnDefinition(payload: Buffer): ColumnDefinition {
  const r = new Reader(payload);
  r.lenencString();
  const schema = r.lenencString();
  const table = r.lenencString();
  const orgTable = r.lenencString();
  const name = r.lenencString();
  const orgName = r.lenencString();
  r.lenenc();
  const charset = r.u16();
  r.u32();
  const type = r.u8();
  return { schema, table, orgTable, name, orgName, charset, type };
}
