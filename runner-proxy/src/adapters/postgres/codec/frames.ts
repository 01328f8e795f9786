/**
 * Framing of the PostgreSQL protocol after startup: a type byte and an int32 length that counts itself.
 * The reader is push-style (as in pg-protocol): it hands out views of whole frames as they complete.
 * Views point into the socket's chunks, which are never reused, so a view may go straight to the
 * other socket's write(). A leftover partial frame is joined with the next chunk into a fresh buffer.
 */
export const HEADER_LENGTH = 5;

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
  /** Whether a frame larger than the inspection limit may pass through unseen, in pieces. */
  mayStream(code: number, length: number): boolean;
  /** A piece of a streamed frame, in order, header first. */
  streamed(piece: Buffer): void;
}

export interface FrameReaderOptions {
  /** Frames up to this size are handed over whole; larger ones stream or are refused. */
  maxFrame: number;
}

export class FrameReader {
  readonly #sink: FrameSink;
  readonly #maxFrame: number;
  #buffer: Buffer = Buffer.alloc(0);
  #offset = 0;
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
    return this.#buffer.length - this.#offset;
  }

  push(chunk: Buffer): void {
    if (this.#offset >= this.#buffer.length) {
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
      const length = buf.readInt32BE(offset + 1);
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
      if (buf.length - offset < total) break;
      const frame = buf.subarray(offset, offset + total);
      offset += total;
      if (!this.#sink.frame(code, frame)) this.#paused = true;
    }
    this.#offset = offset;
  }
}

/**
 * Collects the frames to write for one batch of input, joining neighbouring views of the same chunk,
 * so a batch of untouched frames leaves as a single write.
 */
export class OutputBatch {
  #parts: Buffer[] = [];
  #runBuffer: Buffer | undefined;
  #runStart = 0;
  #runEnd = 0;

  /** A view to pass on as it is. */
  pass(view: Buffer): void {
    const parent = view.buffer;
    const start = view.byteOffset;
    if (this.#runBuffer && this.#runBuffer.buffer === parent && this.#runEnd === start) {
      this.#runEnd = start + view.length;
      return;
    }
    this.#closeRun();
    this.#runBuffer = view;
    this.#runStart = start;
    this.#runEnd = start + view.length;
  }

  /** New bytes made by the gateway. */
  push(bytes: Buffer): void {
    this.#closeRun();
    this.#parts.push(bytes);
  }

  get empty(): boolean {
    return this.#parts.length === 0 && !this.#runBuffer;
  }

  /** Everything collected, as few buffers as possible; the batch is empty afterwards. */
  take(): Buffer[] {
    this.#closeRun();
    const parts = this.#parts;
    this.#parts = [];
    return parts;
  }

  #closeRun(): void {
    if (!this.#runBuffer) return;
    const b = this.#runBuffer;
    this.#parts.push(Buffer.from(b.buffer, this.#runStart, this.#runEnd - this.#runStart));
    this.#runBuffer = undefined;
  }
}
