import { openValueStart } from '../../masking/detectors.js';
import type { Masker } from '../../masking/masker.js';
import type { DetectorType, MaskStrategy } from '../../policy/types.js';

/** A private key spans lines; its block is held whole, up to this size. */
const MAX_KEY_BLOCK = 64 * 1024;

/**
 * Masks a byte stream (a command's stdout or stderr, a terminal) with the shared detectors. Each write
 * is masked and sent at once except its end that could still begin a sensitive value (a run of digits,
 * a word that could be an email's local part, an unterminated private key block): that is held until
 * what follows settles it or the stream ends, however long the pause, so a value written in pieces is
 * masked whatever its timing, and a prompt goes out as soon as it is written. Bytes are read as latin1,
 * so whatever is not a finding, binary or UTF-8, goes out unchanged.
 */
export class OutputMasker {
  readonly #masker: Masker;
  readonly #plan: ReadonlyMap<DetectorType, MaskStrategy>;
  readonly #emit: (chunk: Buffer) => void;
  #held: Buffer = Buffer.alloc(0);
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
  }

  /** Masks and sends whatever is held: at the end of the stream. */
  flush(): void {
    if (this.#held.length === 0) return;
    const held = this.#held;
    this.#held = Buffer.alloc(0);
    this.#emit(this.#mask(held));
  }

  /** Where the bytes before can be masked on their own: before any value that may still be growing. */
  #safeCut(data: Buffer): number {
    const begin = data.lastIndexOf('-----BEGIN ');
    if (begin >= 0 && data.indexOf('-----END ', begin) < 0 && data.length - begin < MAX_KEY_BLOCK) return begin;
    const from = Math.max(0, data.length - 4 * 1024);
    return from + openValueStart(data.toString('latin1', from), this.#plan);
  }

  #mask(bytes: Buffer): Buffer {
    const { text, count } = this.#masker.maskText(bytes.toString('latin1'), this.#plan);
    if (count === 0) return bytes;
    this.masked += count;
    return Buffer.from(text, 'latin1');
  }
}
