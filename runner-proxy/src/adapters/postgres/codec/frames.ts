/**
 * Framing of the PostgreSQL protocol after startup: a type byte and an int32 length that counts itself.
 * The reader is push-style (as in pg-protocol): it hands out views of whole frames as they complete.
 * Views point into the socket's chunks, which are never reused, so a view may go straight to the
 * other socket's write(). A leftover partial frame is joined with the next chunk into a fresh buffer.
 */
export const HEADER_LENGTH = 5;

/**
 * A big-endian int32 read and written without Buffer's call and checks, for the per-message and per-row
 * paths: the caller knows the four bytes are there.
 */
export function int32At(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

export function putInt32(b: Uint8Array, at: number, value: number): void {
  b[at] = value >>> 24;
  b[at + 1] = value >>> 16;
  b[at + 2] = value >>> 8;
  b[at + 3] = value;
}

export class FrameTooLargeError extends Error {
  readonly code: number;
  readonly length: number;
  constructor(code: number, length: number, max: number) {
    super(`a ${String.fromCharCode(code)} message of ${length} bytes is larger than the ${max} bytes the gateway inspects`);
    this.code = code;
    this.length = length;
  }
}

export class MalformedFrameError extends Error {}

export interface FrameSink {
  /**
   * One whole frame. `frame` spans header and body; the body starts at HEADER_LENGTH. Return false to
   * stop the reader after this frame (a decision is pending); `resume()` goes on from the next one.
   */
  frame(code: number, frame: Buffer): boolean;
  /** Whether a frame may pass through unseen, in pieces: one larger than the inspection limit, or a large one not yet whole. */
  mayStream(code: number, length: number): boolean;
  /** A piece of a streamed frame, in order, header first. */
  streamed(piece: Buffer): void;
  /**
   * A whole DataRow, as bytes start…end of `chunk` (no view is made for it: a result can be millions of
   * rows). Without it, rows come to `frame` like any other message.
   */
  dataRow?(chunk: Buffer, start: number, end: number): boolean;
}

/** The type byte of a DataRow, the one message read row by row. */
const DATA_ROW = 0x44;
/**
 * A frame at least this large that the sink may stream is streamed as soon as it is known not to be
 * whole in what arrived (a COPY FROM STDIN sent as one CopyData): it passes at the pace of the pipe,
 * in constant memory, rather than being held until its last byte.
 */
const STREAM_EARLY = 256 * 1024;

export interface FrameReaderOptions {
  /** Frames up to this size are handed over whole; larger ones stream or are refused. */
  maxFrame: number;
}

export class FrameReader {
  readonly #sink: FrameSink;
  readonly #maxFrame: number;
  #buffer: Buffer = Buffer.alloc(0);
  #offset = 0;
  /** Chunks that arrived for a frame not yet whole, joined once it is: never one copy per chunk. */
  #waiting: Buffer[] = [];
  #waitingBytes = 0;
  /** Bytes the frame begun at #offset still needs. */
  #missing = 0;
  /** Bytes of a streamed frame still to come. */
  #streamRemaining = 0;
  #paused = false;

  constructor(sink: FrameSink, { maxFrame }: FrameReaderOptions) {
    this.#sink = sink;
    this.#maxFrame = maxFrame;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Bytes received but not yet handed out. */
  get buffered(): number {
    return this.#buffer.length - this.#offset + this.#waitingBytes;
  }

  push(chunk: Buffer): void {
    if (this.#missing > 0) {
      this.#waiting.push(chunk);
      this.#waitingBytes += chunk.length;
      if (this.#waitingBytes < this.#missing) return;
      this.#buffer = Buffer.concat([this.#buffer.subarray(this.#offset), ...this.#waiting]);
      this.#offset = 0;
      this.#waiting = [];
      this.#waitingBytes = 0;
      this.#missing = 0;
    } else if (this.#offset >= this.#buffer.length) {
      this.#buffer = chunk;
      this.#offset = 0;
    } else {
      this.#buffer = Buffer.concat([this.#buffer.subarray(this.#offset), chunk]);
      this.#offset = 0;
    }
    if (!this.#paused) this.#drain();
  }

  resume(): void {
    this.#paused = false;
    this.#drain();
  }

  #drain(): void {
    const buf = this.#buffer;
    let offset = this.#offset;
    while (!this.#paused) {
      if (this.#streamRemaining > 0) {
        const take = Math.min(this.#streamRemaining, buf.length - offset);
        if (take === 0) break;
        this.#streamRemaining -= take;
        this.#sink.streamed(buf.subarray(offset, offset + take));
        offset += take;
        continue;
      }
      if (buf.length - offset < HEADER_LENGTH) break;
      const code = buf[offset]!;
      const length = int32At(buf, offset + 1);
      if (length < 4) {
        this.#offset = offset;
        throw new MalformedFrameError(`a ${String.fromCharCode(code)} message declares the impossible length ${length}`);
      }
      const total = length + 1;
      if (total > this.#maxFrame) {
        if (!this.#sink.mayStream(code, total)) {
          this.#offset = offset;
          throw new FrameTooLargeError(code, total, this.#maxFrame);
        }
        this.#streamRemaining = total;
        continue;
      }
      if (buf.length - offset < total) {
        if (total >= STREAM_EARLY && this.#sink.mayStream(code, total)) {
          this.#streamRemaining = total;
          continue;
        }
        this.#missing = total - (buf.length - offset);
        break;
      }
      const start = offset;
      offset += total;
      const more = code === DATA_ROW && this.#sink.dataRow ? this.#sink.dataRow(buf, start, offset) : this.#sink.frame(code, buf.subarray(start, offset));
      if (!more) this.#paused = true;
    }
    this.#offset = offset;
  }
}

/**
 * Collects what to write for one batch of input. Untouched frames are views of the input and
 * neighbouring ones join into one piece; frames the gateway makes are written into an arena, so a
 * run of rewritten rows is one piece too. A batch leaves as one write (writev when it has several).
 * An arena is never written into again once taken: the socket may still hold it.
 */
const ARENA_SIZE = 64 * 1024;

export class OutputBatch {
  #parts: Buffer[] = [];
  #run: Buffer | undefined;
  #runStart = 0;
  #runEnd = 0;
  #arena: Buffer | undefined;
  #arenaUsed = 0;

  /** A view to pass on as it is. */
  pass(view: Buffer): void {
    this.#extend(view, view.byteOffset, view.byteOffset + view.length);
  }

  /** Bytes start…end of `source` to pass on as they are, without a view of their own. */
  passRange(source: Buffer, start: number, end: number): void {
    this.#extend(source, source.byteOffset + start, source.byteOffset + end);
  }

  /**
   * Room for n new bytes at `arena[offset]`, to be filled by the caller before the batch is taken.
   * No view is made for them: a masked result reserves once per row.
   */
  reserve(n: number): number {
    if (!this.#arena || this.#arenaUsed + n > this.#arena.length) {
      this.#arena = Buffer.allocUnsafe(Math.max(ARENA_SIZE, n));
      this.#arenaUsed = 0;
    }
    const offset = this.#arenaUsed;
    this.#arenaUsed += n;
    // Rows masked one after another go in one run, known without asking a view for its memory.
    if (this.#run === this.#arena && this.#runEnd === this.#arena.byteOffset + offset) this.#runEnd += n;
    else this.#extend(this.#arena, this.#arena.byteOffset + offset, this.#arena.byteOffset + offset + n);
    return offset;
  }

  /** Where `reserve` made room. */
  get arena(): Buffer {
    return this.#arena!;
  }

  /** New bytes made by the gateway. */
  push(bytes: Buffer): void {
    if (bytes.length > ARENA_SIZE / 4) {
      this.#closeRun();
      this.#parts.push(bytes);
      return;
    }
    const offset = this.reserve(bytes.length);
    this.#arena!.set(bytes, offset);
  }

  /** Adds bytes start…end of `source`'s memory (offsets in its ArrayBuffer), joining the run they follow. */
  #extend(source: Buffer, start: number, end: number): void {
    if (this.#run && this.#run.buffer === source.buffer && this.#runEnd === start) {
      this.#runEnd = end;
      return;
    }
    this.#closeRun();
    this.#run = source;
    this.#runStart = start;
    this.#runEnd = end;
  }

  get empty(): boolean {
    return this.#parts.length === 0 && !this.#run;
  }

  /** Everything collected, as few buffers as possible; the batch is empty afterwards. */
  take(): Buffer[] {
    this.#closeRun();
    const parts = this.#parts;
    this.#parts = [];
    this.#arena = undefined;
    return parts;
  }

  /** Writes the batch to a socket; returns false when the socket asks the writer to wait for 'drain'. */
  flushTo(socket: { write(b: Buffer): boolean; cork(): void; uncork(): void }): boolean {
    const parts = this.take();
    if (parts.length === 0) return true;
    if (parts.length === 1) return socket.write(parts[0]!);
    socket.cork();
    let ok = true;
    for (const p of parts) ok = socket.write(p);
    socket.uncork();
    return ok;
  }

  #closeRun(): void {
    if (!this.#run) return;
    this.#parts.push(Buffer.from(this.#run.buffer, this.#runStart, this.#runEnd - this.#runStart));
    this.#run = undefined;
  }
}
