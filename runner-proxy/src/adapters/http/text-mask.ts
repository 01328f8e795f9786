import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback } from 'node:stream';
import { decodeFormComponent } from '../../core/http-match.js';
import type { MaskPlan } from '../../policy/operation.js';
import type { Masker } from '../../masking/masker.js';
import type { DetectorType, MaskStrategy } from '../../policy/types.js';

/** A line (or an unterminated private key block) longer than this cannot be masked. */
export const MAX_TEXT_HOLD = 1 << 20;

export class TextMaskError extends Error {}

const FORM = 'application/x-www-form-urlencoded';

/** Bodies the detectors read as text: text/*, forms, XML, JavaScript. */
export function isTextType(contentType: string | undefined): boolean {
  const type = contentType?.split(';')[0]!.trim().toLowerCase();
  return !!type && (type.startsWith('text/') || type === FORM || type.endsWith('/xml') || type.endsWith('+xml') || type === 'application/javascript');
}

/**
 * Masks each `name=value` of a form or query string, decoded: whole with the strategy `named` gives for
 * its name, otherwise by the detectors. Pairs without findings stay byte for byte as they were.
 */
export function maskFormText(
  text: string,
  masker: Masker,
  detectors: ReadonlyMap<DetectorType, MaskStrategy>,
  named: (name: string) => MaskStrategy | undefined = () => undefined,
): { text: string; count: number } {
  let count = 0;
  const decode = decodeFormComponent;
  const pairs = text.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq < 0) return pair;
    const value = decode(pair.slice(eq + 1));
    const strategy = named(decode(pair.slice(0, eq)));
    const masked = strategy ? { text: masker.maskValue(value, strategy), count: 1 } : masker.maskText(value, detectors);
    if (masked.count === 0) return pair;
    count += masked.count;
    return `${pair.slice(0, eq)}=${encodeURIComponent(masked.text)}`;
  });
  return { text: pairs.join('&'), count };
}

/**
 * Masks, in place, the values of the headers `masks` names: whole with the rule's strategy when the rule
 * lists no types, otherwise by the detectors. Returns how many values changed.
 */
export function maskHeaders(headers: string[], masks: Pick<MaskPlan, 'headers' | 'detectors'>, masker: Masker): number {
  if (masks.headers.size === 0) return 0;
  let count = 0;
  for (let i = 0; i < headers.length; i += 2) {
    const named = masks.headers.get(headers[i]!.toLowerCase());
    if (!named) continue;
    const value = headers[i + 1]!;
    const masked = named.whole ? { text: masker.maskValue(value, named.strategy), count: 1 } : masker.maskText(value, masks.detectors);
    headers[i + 1] = masked.text;
    count += masked.count;
  }
  return count;
}

/**
 * Runs the detectors over a text body line by line, so server-sent events and logs stream: a line is
 * held only until its end (a private key block until its END line), within MAX_TEXT_HOLD.
 */
export class TextMaskStream extends Transform {
  readonly #decoder = new StringDecoder('utf8');
  readonly #masker: Masker;
  readonly #detectors: ReadonlyMap<DetectorType, MaskStrategy>;
  readonly #form: boolean;
  #held = '';
  count = 0;

  constructor(masker: Masker, detectors: ReadonlyMap<DetectorType, MaskStrategy>, contentType: string | undefined) {
    super();
    this.#masker = masker;
    this.#detectors = detectors;
    this.#form = contentType?.split(';')[0]!.trim().toLowerCase() === FORM;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#held += this.#decoder.write(chunk);
    let end = this.#held.lastIndexOf('\n') + 1;
    // A key block is one finding: hold it whole.
    const begin = this.#held.lastIndexOf('-----BEGIN');
    if (begin >= 0 && this.#held.indexOf('-----END', begin) < 0) end = Math.min(end, begin);
    if (end > 0) {
      this.push(this.#mask(this.#held.slice(0, end)));
      this.#held = this.#held.slice(end);
    }
    if (this.#held.length > MAX_TEXT_HOLD) return done(new TextMaskError(`a line longer than ${MAX_TEXT_HOLD >> 20} MiB cannot be masked`));
    done();
  }

  override _flush(done: TransformCallback): void {
    const rest = this.#held + this.#decoder.end();
    if (rest) this.push(this.#mask(rest));
    done();
  }

  #mask(text: string): string {
    const masked = this.#form ? maskFormText(text, this.#masker, this.#detectors) : this.#masker.maskText(text, this.#detectors);
    this.count += masked.count;
    return masked.text;
  }
}
