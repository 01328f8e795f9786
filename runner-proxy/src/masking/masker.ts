import { createHmac, randomBytes } from 'node:crypto';
import type { DetectorType, MaskStrategy } from '../policy/types.js';
import { detect, DETECTOR_TYPES } from './detectors.js';

export interface MaskedText {
  text: string;
  /** How many values were replaced; never the values themselves. */
  count: number;
  /** The same count by detector type, when anything was replaced. */
  byType?: Partial<Record<DetectorType, number>>;
}

/** What a redacted value becomes (a detector's finding names its type as well). */
export const REDACTED = '[masked]';

/**
 * Applies a strategy to sensitive values. The hash strategy is keyed by a salt made fresh for each run,
 * so equal values stay joinable within one session's output but cannot be looked up across runs.
 */
export class Masker {
  readonly #salt: Buffer;

  constructor(salt: Buffer = randomBytes(32)) {
    this.#salt = salt;
  }

  /** Replaces every finding of the planned types in free text, each with its type's strategy. */
  maskText(text: string, plan: ReadonlyMap<DetectorType, MaskStrategy>): MaskedText {
    if (plan.size === 0) return { text, count: 0 };
    const findings = detect(text, plan);
    if (findings.length === 0) return { text, count: 0 };
    let out = '';
    let last = 0;
    const byType: Partial<Record<DetectorType, number>> = {};
    for (const f of findings) {
      out += text.slice(last, f.start) + this.maskValue(text.slice(f.start, f.end), plan.get(f.type)!, f.type);
      last = f.end;
      byType[f.type] = (byType[f.type] ?? 0) + 1;
    }
    return { text: out + text.slice(last), count: findings.length, byType };
  }

  /** The masked form of one whole value: a column's cell, a JSON field, or a detector's finding. */
  maskValue(value: string, strategy: MaskStrategy, type?: DetectorType): string {
    switch (strategy) {
      case 'hash':
        return `hash:${createHmac('sha256', this.#salt).update(value).digest('hex').slice(0, 16)}`;
      case 'partial':
        return partial(value, type);
      case 'redact':
        return type ? `[masked:${type}]` : REDACTED;
    }
  }
}

/** Keeps what people use to recognise a value (the last digits, the domain) and hides the rest. */
function partial(value: string, type: DetectorType | undefined): string {
  switch (type) {
    case 'email': {
      const at = value.lastIndexOf('@');
      return `${value[0]}***${value.slice(at)}`;
    }
    case 'credit_card':
    case 'us_ssn':
    case 'phone':
    case 'iban':
    case undefined:
      return keepLast(value, 4);
    default:
      // Secrets have no harmless part.
      return `[masked:${type}]`;
  }
}

function keepLast(value: string, keep: number): string {
  let kept = 0;
  const chars = [...value];
  for (let i = chars.length - 1; i >= 0; i--) {
    if (!/[A-Za-z0-9]/.test(chars[i]!)) continue;
    if (kept < keep) kept++;
    else chars[i] = '*';
  }
  // A value too short to keep anything of is hidden whole.
  return chars.length <= keep ? '*'.repeat(chars.length) : chars.join('');
}

/** Every detector with the redact strategy: for text that no rule covers but must never leak (command lines). */
export const REDACT_ALL: ReadonlyMap<DetectorType, MaskStrategy> = new Map(DETECTOR_TYPES.map((t) => [t, 'redact']));
