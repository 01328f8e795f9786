import { Transform, type TransformCallback } from 'node:stream';
import type { JsonMask } from '../../policy/operation.js';
import type { JsonSelector } from '../../base/json-select.js';
import { REDACTED, type Masker } from '../../masking/masker.js';
import type { DetectorType, MaskStrategy } from '../../policy/types.js';

/** One string, number or masked value is held at most this long; a longer one cannot be masked. */
export const MAX_JSON_TOKEN = 8 << 20;

export class JsonMaskError extends Error {}

/** For each selector, the steps it has reached at one place in the document. */
type States = readonly (readonly number[])[];

interface Frame {
  array: boolean;
  states: States;
  /** Object: the key of the value being read. Array: the index of the next element. */
  key: string | number;
}

const enum Mode {
  /** A value is expected (at the top level, after a colon, after a comma in an array). */
  Value,
  /** Just after "[": a value or "]". */
  ArrayStart,
  /** Just after "{": a key or "}". */
  ObjectStart,
  /** After a comma in an object: a key. */
  Key,
  Colon,
  /** After a value: a comma or the closing bracket. */
  After,
  /** Inside a string token. */
  String,
  /** Inside a number or true/false/null. */
  Scalar,
  /** Inside an object or array taken as one token (masked whole, or with nothing in it to look at). */
  Container,
}

const enum Purpose {
  /** Bytes flow to the output untouched. */
  Pass,
  /** An object key: held, then written unchanged. */
  Key,
  /** A string the detectors read: held, written unchanged unless they find something. */
  Detect,
  /** A value a selector names: held, then replaced. */
  Mask,
}

/** No step of a selector reached: nothing below can be named by it. */
const NOWHERE: readonly number[] = [];
/** A redacted value as a JSON string; shared by every response and never written to. */
const REDACTED_JSON = Buffer.from(JSON.stringify(REDACTED));
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Whether the bytes hold a backslash (an escape: the key's text is not its bytes). */
function hasEscape(chunk: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (chunk[i] === BACKSLASH) return true;
  return false;
}
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false;
  return true;
}
const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const isScalarByte = (b: number) => (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2b || b === 0x2e || (b >= 0x61 && b <= 0x7a) || b === 0x45;

/** Whether a step takes any key (so the key's text is not needed). */
function anyKey(step: JsonSelector['steps'][number]): boolean {
  return step.kind === 'any' || (step.kind === 'descend' && step.key === '*');
}

/**
 * Masks a JSON stream at the token level: only the values a selector names (or in which a detector
 * finds something) are rewritten; every other byte, including number spellings, key order, duplicate
 * keys and escapes, goes out exactly as it came. Values that span chunks are held until complete.
 * Whitespace-separated top-level values (NDJSON) are read one after another. Input that is not JSON
 * throws: the caller ends the response rather than pass what it cannot read.
 */
export class JsonStreamMasker {
  readonly #masks: readonly JsonMask[];
  readonly #detectors: ReadonlyMap<DetectorType, MaskStrategy>;
  readonly #masker: Masker;
  readonly #stack: Frame[] = [];
  readonly #rootStates: States;
  #mode = Mode.Value;
  #purpose = Purpose.Pass;
  /** The mask that named the value being held. */
  #strategy: MaskStrategy = 'redact';
  #escaped = false;
  #stringIsKey = false;
  #depth = 0;
  #containerInString = false;
  #held: Buffer[] = [];
  #heldLength = 0;
  /**
   * The key just read, when it lay within one chunk and had no escape: its bytes in that chunk, compared
   * with the selectors' keys as bytes, and turned into a string only if the chunk ends before its value.
   */
  #keyChunk: Buffer | undefined;
  #keyFrom = 0;
  #keyTo = 0;
  /** The mask that names the value about to be read, set by #childStates. */
  #childMask: JsonMask | undefined;
  /** Values rewritten so far. */
  count = 0;

  constructor(masks: readonly JsonMask[], detectors: ReadonlyMap<DetectorType, MaskStrategy>, masker: Masker) {
    this.#masks = masks;
    this.#detectors = detectors;
    this.#masker = masker;
    this.#rootStates = masks.map(() => [0]);
  }

  /** Returns what can be written now: the chunk's own bytes, split only around rewritten values. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    /** Where the bytes not yet in `out` start. */
    let from = 0;
    // A token held over from the previous chunk goes on being held.
    let holdFrom = this.#purpose === Purpose.Pass ? -1 : 0;
    const startHold = (at: number, purpose: Purpose) => {
      holdFrom = at;
      this.#purpose = purpose;
    };
    const endToken = (end: number) => {
      if (holdFrom >= 0 && this.#purpose === Purpose.Key && this.#held.length === 0 && !hasEscape(chunk, holdFrom + 1, end - 1) && !this.#detectsIn(chunk, holdFrom + 1, end - 1)) {
        // A key within the chunk goes out as it is, and is not copied.
        this.#keyChunk = chunk;
        this.#keyFrom = holdFrom + 1;
        this.#keyTo = end - 1;
        holdFrom = -1;
      } else if (holdFrom >= 0) {
        const withinChunk = this.#held.length === 0;
        let piece: Buffer | undefined;
        let released: Buffer;
        // A value redacted whole within the chunk needs none of its bytes.
        if (withinChunk && this.#purpose === Purpose.Mask && this.#strategy === 'redact') released = this.#redaction();
        else {
          piece = chunk.subarray(holdFrom, end);
          this.#hold(piece);
          released = this.#release();
        }
        // A token that goes out unchanged (most keys and strings) stays part of the chunk's run of bytes.
        if (!withinChunk || released !== piece) {
          if (holdFrom > from) out.push(chunk.subarray(from, holdFrom));
          out.push(released);
          from = end;
        }
        holdFrom = -1;
      }
      this.#purpose = Purpose.Pass;
    };
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      const b = chunk[i]!;
      switch (this.#mode) {
        case Mode.String:
          if (!this.#escaped && b !== QUOTE && b !== BACKSLASH && b >= 0x20) {
            // The run of plain bytes up to the next quote, backslash or control character.
            i++;
            while (i < n) {
              const c = chunk[i]!;
              if (c === QUOTE || c === BACKSLASH || c < 0x20) break;
              i++;
            }
            continue;
          }
          if (this.#escaped) this.#escaped = false;
          else if (b === BACKSLASH) this.#escaped = true;
          else if (b === QUOTE) {
            endToken(i + 1);
            if (this.#stringIsKey) {
              this.#stringIsKey = false;
              this.#mode = Mode.Colon;
            } else this.#valueDone();
          } else if (b < 0x20) throw new JsonMaskError('a control character inside a JSON string');
          i++;
          continue;
        case Mode.Scalar:
          if (isScalarByte(b)) {
            i++;
            continue;
          }
          endToken(i);
          this.#valueDone();
          continue;
        case Mode.Container:
          i++;
          if (this.#containerInString) {
            if (this.#escaped) this.#escaped = false;
            else if (b === BACKSLASH) this.#escaped = true;
            else if (b === QUOTE) this.#containerInString = false;
          } else if (b === QUOTE) this.#containerInString = true;
          else if (b === 0x7b || b === 0x5b) this.#depth++;
          else if ((b === 0x7d || b === 0x5d) && --this.#depth === 0) {
            endToken(i);
            this.#valueDone();
          }
          continue;
      }
      if (isSpace(b)) {
        i++;
        continue;
      }
      switch (this.#mode) {
        case Mode.ObjectStart:
        case Mode.Key:
          if (b === 0x7d && this.#mode === Mode.ObjectStart) {
            this.#close(false);
            break;
          }
          if (b !== QUOTE) throw new JsonMaskError('an object key was expected');
          startHold(i, Purpose.Key);
          this.#stringIsKey = true;
          this.#mode = Mode.String;
          break;
        case Mode.Colon:
          if (b !== 0x3a) throw new JsonMaskError('a colon was expected');
          this.#mode = Mode.Value;
          break;
        case Mode.After: {
          const top = this.#stack[this.#stack.length - 1];
          if (!top) {
            // The next top-level value.
            this.#mode = Mode.Value;
            continue;
          }
          if (b === 0x2c) this.#mode = top.array ? Mode.Value : Mode.Key;
          else if (b === (top.array ? 0x5d : 0x7d)) this.#close(top.array);
          else throw new JsonMaskError('a comma or a closing bracket was expected');
          break;
        }
        case Mode.ArrayStart:
        case Mode.Value: {
          if (b === 0x5d && this.#mode === Mode.ArrayStart) {
            this.#close(true);
            break;
          }
          const states = this.#childStates();
          const mask = this.#childMask;
          const container = b === 0x7b || b === 0x5b;
          if (mask) {
            this.#strategy = mask.strategy;
            startHold(i, Purpose.Mask);
          }
          if (b === QUOTE) {
            if (!mask && this.#detectors.size > 0) startHold(i, Purpose.Detect);
            this.#mode = Mode.String;
          } else if (container && (mask || (this.#detectors.size === 0 && states.every((s) => s.length === 0)))) {
            // Masked whole, or nothing inside can be named: read it as one token.
            this.#mode = Mode.Container;
            this.#depth = 1;
            this.#containerInString = false;
          } else if (container) {
            this.#stack.push({ array: b === 0x5b, states, key: 0 });
            this.#mode = b === 0x5b ? Mode.ArrayStart : Mode.ObjectStart;
          } else if (isScalarByte(b)) {
            this.#mode = Mode.Scalar;
          } else throw new JsonMaskError(`unexpected character "${String.fromCharCode(b)}" where a JSON value was expected`);
          break;
        }
      }
      i++;
    }
    if (this.#keyChunk) this.#settleKey();
    if (holdFrom >= 0) {
      if (holdFrom > from) out.push(chunk.subarray(from, holdFrom));
      this.#hold(chunk.subarray(holdFrom));
    } else if (from < n) out.push(chunk.subarray(from));
    return out;
  }

  /** The end of the body: a number at the very end is complete; anything else left open is an error. */
  end(): Buffer[] {
    const out = this.#mode === Mode.Scalar && this.#purpose !== Purpose.Pass ? [this.#release()] : [];
    if (this.#mode === Mode.Scalar) {
      this.#purpose = Purpose.Pass;
      this.#valueDone();
    }
    if (this.#stack.length > 0 || (this.#mode !== Mode.Value && this.#mode !== Mode.After)) throw new JsonMaskError('the JSON body ends inside a value');
    return out;
  }

  #hold(piece: Buffer): void {
    this.#heldLength += piece.length;
    if (this.#heldLength > MAX_JSON_TOKEN) throw new JsonMaskError(`a JSON value longer than ${MAX_JSON_TOKEN >> 20} MiB cannot be inspected`);
    this.#held.push(piece);
  }

  /** The held token as it goes out: unchanged, or masked. */
  #release(): Buffer {
    const raw = this.#held.length === 1 ? this.#held[0]! : Buffer.concat(this.#held);
    this.#held = [];
    this.#heldLength = 0;
    switch (this.#purpose) {
      case Purpose.Key: {
        // Most keys have no escapes: their text is the bytes between the quotes.
        const key = raw.includes(BACKSLASH) ? (JSON.parse(raw.toString('utf8')) as string) : raw.toString('utf8', 1, raw.length - 1);
        // Selectors name the key as sent; a sensitive value used as a key is masked like any string.
        this.#stack[this.#stack.length - 1]!.key = key;
        if (this.#detectors.size === 0) return raw;
        const masked = this.#masker.maskText(key, this.#detectors);
        if (masked.count === 0) return raw;
        this.count += masked.count;
        return Buffer.from(JSON.stringify(masked.text));
      }
      case Purpose.Detect: {
        const masked = this.#masker.maskText(JSON.parse(raw.toString('utf8')) as string, this.#detectors);
        if (masked.count === 0) return raw;
        this.count += masked.count;
        return Buffer.from(JSON.stringify(masked.text));
      }
      case Purpose.Mask: {
        if (this.#strategy === 'redact') return this.#redaction();
        this.count++;
        const text = raw.toString('utf8');
        const value = text.startsWith('"') ? (JSON.parse(text) as string) : text;
        return Buffer.from(JSON.stringify(this.#masker.maskValue(value, this.#strategy)));
      }
      default:
        return raw;
    }
  }

  /** A value redacted whole (the same bytes whatever the value). */
  #redaction(): Buffer {
    this.count++;
    return REDACTED_JSON;
  }

  /** Whether a detector finds something in a key's bytes (then it is held and masked, not passed in place). */
  #detectsIn(chunk: Buffer, from: number, to: number): boolean {
    return this.#detectors.size > 0 && this.#masker.maskText(chunk.toString('utf8', from, to), this.#detectors).count > 0;
  }

  /** The key read last becomes its object's key as a string (its chunk is about to be left). */
  #settleKey(): void {
    this.#stack[this.#stack.length - 1]!.key = this.#keyChunk!.toString('utf8', this.#keyFrom, this.#keyTo);
    this.#keyChunk = undefined;
  }

  /** Whether a selector step takes the parent's current key (or index). */
  #takes(step: JsonSelector['steps'][number], parent: Frame): boolean {
    return anyKey(step) || (step.kind !== 'any' && this.#keyIs(parent, step.key));
  }

  /** Whether the parent's current key (or index) is `expected`. */
  #keyIs(parent: Frame, expected: string | number): boolean {
    const chunk = this.#keyChunk;
    if (parent.array || !chunk) return parent.key === expected;
    if (typeof expected !== 'string') return false;
    const from = this.#keyFrom;
    const length = this.#keyTo - from;
    // UTF-8 takes at least one byte per UTF-16 unit: equal lengths compare unit by byte while both are ASCII.
    if (expected.length === length) {
      for (let i = 0; i < length; i++) {
        const byte = chunk[from + i]!;
        if (byte >= 0x80) return chunk.toString('utf8', from, this.#keyTo) === expected;
        if (byte !== expected.charCodeAt(i)) return false;
      }
      return true;
    }
    return expected.length < length && !isAscii(expected) && chunk.toString('utf8', from, this.#keyTo) === expected;
  }

  /**
   * The selector states of the value about to be read; #childMask is set to the mask that names it, if
   * any. The parent's states are shared, not copied, when the key takes no selector further (the usual case).
   */
  #childStates(): States {
    this.#childMask = undefined;
    const parent = this.#stack[this.#stack.length - 1];
    if (!parent) return this.#rootStates;
    let changed: (readonly number[])[] | undefined;
    for (let s = 0; s < parent.states.length; s++) {
      const reached = parent.states[s]!;
      if (reached.length === 0) continue;
      const steps = this.#masks[s]!.selector.steps;
      const step = reached.length === 1 ? steps[reached[0]!]! : undefined;
      let next: readonly number[];
      const takes = step !== undefined && this.#takes(step, parent);
      // The usual case, allocation-free: one step reached, and the key does not take it further.
      if (step && !takes) next = step.kind === 'descend' ? reached : NOWHERE;
      else if (step?.kind === 'descend' && reached[0]! + 1 === steps.length) {
        // The key a descendant selector ends with ($..ssn): this value is named, and the search goes on below it as before.
        this.#childMask ??= this.#masks[s];
        next = reached;
      } else {
        const taken: number[] = [];
        for (const at of reached) {
          const step = steps[at]!;
          if (step.kind === 'descend' && !taken.includes(at)) taken.push(at);
          if (this.#takes(step, parent) && !taken.includes(at + 1)) taken.push(at + 1);
        }
        if (!this.#childMask && taken.includes(steps.length)) this.#childMask = this.#masks[s];
        next = taken.filter((at) => at < steps.length);
      }
      if (next !== reached) (changed ??= parent.states.slice())[s] = next;
    }
    this.#keyChunk = undefined;
    return changed ?? parent.states;
  }

  #close(array: boolean): void {
    const top = this.#stack.pop();
    if (!top || top.array !== array) throw new JsonMaskError('a closing bracket does not match');
    this.#valueDone();
  }

  /** A value is complete: its parent moves on. */
  #valueDone(): void {
    const parent = this.#stack[this.#stack.length - 1];
    if (parent?.array) (parent.key as number)++;
    this.#mode = Mode.After;
  }
}

/** The masker as a stream stage; errors end the stream (and with it the response). */
export function jsonMaskStream(masker: JsonStreamMasker): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      try {
        // One push per chunk: each push is a stream event of its own.
        const pieces = masker.push(chunk);
        const out = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
        if (out.length > 0) this.push(out);
        done();
      } catch (e) {
        done(e as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        for (const piece of masker.end()) if (piece.length) this.push(piece);
        done();
      } catch (e) {
        done(e as Error);
      }
    },
  });
}
