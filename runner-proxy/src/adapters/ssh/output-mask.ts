import type { Masker } from '../../masking/masker.js';
import type { DetectorType, MaskStrategy } from '../../policy/types.js';

/** How long a partial line may wait for the rest of a value before it is masked and sent as it is. */
export const HOLD_MS = 100;
/** A line longer than this is masked in pieces, keeping this many bytes back for a value cut in two. */
const MAX_LINE = 16 * 1024;
const KEEP_BACK = 256;
/** A private key spans lines; its block is held whole, up to this size. */
const MAX_KEY_BLOCK = 64 * 1024;
const NEWLINE = 0x0a;

/**
 * Masks a byte stream (a command's stdout or stderr, a terminal) with the shared detectors. Values
 * split across writes or packets are caught because text is masked by whole lines: a partial line is
 * held until its newline, or for at most HOLD_MS. Bytes are read as latin1, so whatever is not a
 * finding, binary or UTF-8, goes out unchanged.
 */
export class OutputMasker {
  readonly #masker: Masker;
  readonly #plan: ReadonlyMap<DetectorType, MaskStrategy>;
  readonly #emit: (chunk: Buffer) => void;
  #held: Buffer = Buffer.alloc(0);
  #timer: NodeJS.Timeout | undefined;
  /** How many values were masked, for the record. */
  masked = 0;

  constructor(masker: Masker, plan: ReadonlyMap<DetectorType, MaskStrategy>, emit: (chunk: Buffer) => void) {
    this.#masker = masker;
    this.#plan = plan;
    this.#emit = emit;
  }

  push(chunk: Buffer): void {
    const data = this.#held.length ? Buffer.concat([this.#held, chunk]) : chunk;
    const cut = this.#safeCut(data);
    if (cut > 0) this.#emit(this.#mask(data.subarray(0, cut)));
    this.#held = Buffer.from(data.subarray(cut));
    clearTimeout(this.#timer);
    this.#timer = this.#held.length ? setTimeout(() => this.flush(), HOLD_MS).unref() : undefined;
  }

  /** Masks and sends whatever is held: at the end of the stream, or when the hold time is up. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#held.length === 0) return;
    const held = this.#held;
    this.#held = Buffer.alloc(0);
    this.#emit(this.#mask(held));
  }

  /** Where the bytes before can be masked on their own: after the last complete line. */
  #safeCut(data: Buffer): number {
    const begin = data.lastIndexOf('-----BEGIN ');
    if (begin >= 0 && data.indexOf('-----END ', begin) < 0 && data.length - begin < MAX_KEY_BLOCK) return begin;
    const newline = data.lastIndexOf(NEWLINE);
    if (newline >= 0 && data.length - newline - 1 <= MAX_LINE) return newline + 1;
    return data.length > MAX_LINE ? data.length - KEEP_BACK : 0;
  }

  #mask(bytes: Buffer): Buffer {
    const { text, count } = this.#masker.maskText(bytes.toString('latin1'), this.#plan);
    if (count === 0) return bytes;
    this.masked += count;
    return Buffer.from(text, 'latin1');
  }
}
