import type { DetectorType } from '../policy/types.js';

/**
 * Detectors find sensitive values in free text: results, errors, notices, bodies, terminal output.
 * Each one pairs a cheap pre-check with a regular expression and a validator (Luhn, mod-97, SSA ranges),
 * so look-alikes such as order ids, dates and checksum-invalid numbers stay as they are.
 */
export interface Finding {
  type: DetectorType;
  start: number;
  end: number;
}

/** What one pass over a text (or its UTF-8 bytes) learns, for the detectors' quick tests. */
interface TextStats {
  digits: number;
  at: boolean;
  length: number;
}

function statsOf(text: string): TextStats {
  let digits = 0;
  let at = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 64) at = true;
    // Past this every quick test passes: counting further changes nothing.
    if (at && digits >= 12) break;
  }
  return { digits, at, length: text.length };
}

interface Needs {
  at?: true;
  digits?: number;
  length?: number;
}

function holds(needs: Needs, stats: TextStats): boolean {
  return (!needs.at || stats.at) && stats.digits >= (needs.digits ?? 0) && stats.length >= (needs.length ?? 0);
}

interface Detector {
  type: DetectorType;
  /** Rules a text out from its counts alone; most values have nothing to find. */
  needs: Needs;
  /** A further test on the text itself, for detectors of words rather than digits. */
  mayContain?(text: string): boolean;
  /** Calls `found` with the start and end of every candidate, in order. */
  scan(text: string, found: (start: number, end: number) => void): void;
  valid(value: string): boolean;
  /**
   * Matches, anchored at the end, the longest end of a text that could still be the beginning (or the
   * whole) of a value of this type were more text to follow: what a stream must hold back.
   */
  tail: RegExp;
}

/**
 * A scan by regular expression. `group` is the capture group holding the sensitive part: 0 for the
 * whole match, -1 for whichever alternative's group matched.
 */
function byPattern(pattern: RegExp, group = 0): Detector['scan'] {
  return (text, found) => {
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      const index = group >= 0 ? group : m.findIndex((g, i) => i > 0 && g !== undefined);
      const value = m[index]!;
      const start = index === 0 ? m.index : m.index + m[0].indexOf(value);
      found(start, start + value.length);
    }
  };
}

const isAlnum = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
// . _ % + -
const isLocalChar = (c: number) => isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
const isDomainChar = (c: number) => isAlnum(c) || c === 46 || c === 45;

/**
 * Emails are found from each '@' outwards, which stays linear where a pattern anchored on the local
 * part would retry at every letter of the text.
 */
function scanEmails(text: string, found: (start: number, end: number) => void): void {
  let last = 0;
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > last && at - start < 64 && isLocalChar(text.charCodeAt(start - 1))) start--;
    while (start < at && !isAlnum(text.charCodeAt(start))) start++;
    let end = at + 1;
    let lastDot = -1;
    while (end < text.length && end - at < 255 && isDomainChar(text.charCodeAt(end))) {
      if (text.charCodeAt(end) === 46) lastDot = end;
      end++;
    }
    while (end > at + 1 && !isLetter(text.charCodeAt(end - 1))) end--;
    if (start === at || lastDot < 0 || lastDot >= end) continue;
    const tld = end - lastDot - 1;
    if (tld < 2 || tld > 24 || !isAlnum(text.charCodeAt(at + 1)) || text.slice(at + 1, end).includes('..')) continue;
    let letters = true;
    for (let i = lastDot + 1; i < end && letters; i++) letters = isLetter(text.charCodeAt(i));
    if (!letters) continue;
    found(start, end);
    last = end;
  }
}


export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = digits.length - 1, double = false; i >= 0; i--, double = !double) {
    let d = digits.charCodeAt(i) - 48;
    if (double && (d *= 2) > 9) d -= 9;
    sum += d;
  }
  return sum % 10 === 0;
}

/** Issuer prefixes of the card networks, so a Luhn-valid timestamp or id is not taken for a card. */
function knownCardIssuer(digits: string): boolean {
  const n = digits.length;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  const p6 = Number(digits.slice(0, 6));
  if (digits[0] === '4') return n === 13 || n === 16 || n === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return n === 15; // American Express
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925)) return n >= 16; // Discover
  if (p4 >= 3528 && p4 <= 3589) return n >= 16; // JCB
  if ((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39) return n >= 14; // Diners Club
  if (p2 === 62) return n >= 16; // UnionPay
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return n >= 12; // Maestro
  return false;
}

function cardValid(match: string): boolean {
  const digits = match.replace(/[ -]/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  // Separators must be consistent: "4111 1111 1111 1111" or "4111-1111-…", not a date-time run.
  if (/ /.test(match) && /-/.test(match)) return false;
  return knownCardIssuer(digits) && luhnValid(digits);
}

/** SSA rules: no area 000, 666 or 900–999, no group 00, no serial 0000, and the famous advertising numbers. */
function ssnValid(match: string): boolean {
  const [area, group, serial] = match.split('-') as [string, string, string];
  if (area === '000' || area === '666' || area[0] === '9') return false;
  if (group === '00' || serial === '0000') return false;
  return match !== '078-05-1120' && match !== '219-09-9999' && match !== '123-45-6789';
}

const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28,
  CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18,
  GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32,
  LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24,
  PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25, SV: 28,
  TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
};

export function ibanValid(match: string): boolean {
  const iban = match.replace(/ /g, '');
  if (IBAN_LENGTHS[iban.slice(0, 2)] !== iban.length) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : ch;
    for (const d of value) remainder = (remainder * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

function phoneValid(match: string): boolean {
  const digits = match.replace(/\D/g, '').length;
  return digits >= 10 && digits <= 15;
}

const always = () => true;

const DETECTORS: readonly Detector[] = [
  {
    type: 'private_key',
    needs: {},
    mayContain: (t) => t.includes('PRIVATE KEY'),
    // An unterminated block (a cut-off chunk) is masked to the end: better too much than a key fragment.
    scan: byPattern(/-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END \1PRIVATE KEY(?: BLOCK)?-----|$)/g),
    valid: always,
    tail: /-{1,5}[A-Z0-9 ]*$/,
  },
  {
    type: 'bearer_token',
    needs: {},
    mayContain: (t) => /Bearer|eyJ|gh[pousr]_|github_pat_|glpat-/.test(t),
    scan: byPattern(
      // A token starts where no token character precedes it, so a long run is tried once, not at every '-'.
      /\bBearer\s+([A-Za-z0-9\-._~+/]{8,}=*)|(?<![A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,})|(?<![A-Za-z0-9_-])((?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}|glpat-[A-Za-z0-9_-]{20,}))/g,
      -1,
    ),
    valid: always,
    tail: /(?:\bBearer\s+[A-Za-z0-9\-._~+/]*=*|[A-Za-z0-9_.-]+)$/,
  },
  {
    type: 'aws_key',
    needs: {},
    mayContain: (t) => /A[KSGIRNP][IPSDONV]A|aws_secret|secret_access_key/i.test(t),
    scan: byPattern(
      /\b((?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16})\b|(?:aws_secret_access_key|secret_access_key|SecretAccessKey)["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi,
      -1,
    ),
    valid: always,
    tail: /(?:(?:aws_secret_access_key|secret_access_key|SecretAccessKey)["']?\s*(?:[:=]\s*["']?[A-Za-z0-9/+]*)?|[A-Za-z0-9_/+]+)$/i,
  },
  {
    type: 'email',
    needs: { at: true },
    scan: scanEmails,
    valid: always,
    tail: /[A-Za-z0-9][A-Za-z0-9._%+-]*(?:@[A-Za-z0-9.-]*)?$/,
  },
  {
    type: 'iban',
    needs: { digits: 8, length: 15 },
    scan: byPattern(/(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])/g),
    valid: ibanValid,
    tail: /(?:[A-Z]{1,2}|[A-Z]{2}\d{1,2}[A-Z0-9 ]*)$/,
  },
  {
    type: 'credit_card',
    needs: { digits: 12 },
    // Not inside a longer token (a UUID's digits, a hex id): letters around the digits rule it out.
    scan: byPattern(/(?<![A-Za-z0-9.-])\d(?:[ -]?\d){12,18}(?![A-Za-z0-9-]|\.\d)/g),
    valid: cardValid,
    tail: /\d(?:[ -]?\d)*[ -]?$/,
  },
  {
    type: 'us_ssn',
    needs: { digits: 9 },
    scan: byPattern(/(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])/g),
    valid: ssnValid,
    tail: /\d[\d-]*$/,
  },
  {
    type: 'phone',
    needs: { digits: 10 },
    // International numbers with a leading +, and North American numbers written with separators.
    scan: byPattern(/(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\d-])|(?<![\w-])\(?[2-9]\d{2}\)?[ .-][2-9]\d{2}[ .-]\d{4}(?![\d-])/g),
    valid: phoneValid,
    tail: /(?:[+(]|[+(]?\d[\d .()-]*)$/,
  },
];

export const DETECTOR_TYPES: readonly DetectorType[] = DETECTORS.map((d) => d.type);

/** The least any of a set of detectors needs, for `mayHold` to rule out raw bytes before they are decoded. */
export interface DetectorGate {
  /** Some detector looks at every text. */
  always: boolean;
  at: boolean;
  /** The fewest digits a digit detector needs (Infinity: none is asked for). */
  digits: number;
}

export function detectorGate(types: { has(type: DetectorType): boolean }): DetectorGate {
  const gate: DetectorGate = { always: false, at: false, digits: Infinity };
  for (const { type, needs } of DETECTORS) {
    if (!types.has(type)) continue;
    if (needs.at) gate.at = true;
    else if (needs.digits !== undefined) gate.digits = Math.min(gate.digits, needs.digits);
    else gate.always = true;
  }
  return gate;
}

/**
 * Whether raw UTF-8 bytes could hold a finding, judged from their counts alone: most cells of a result
 * hold none, and then need not be decoded at all. Runs for every cell, so it stops as soon as it can.
 */
export function mayHold(bytes: Uint8Array, start: number, end: number, gate: DetectorGate): boolean {
  if (gate.always) return true;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if (c >= 48 && c <= 57) {
      if (++digits >= gate.digits) return true;
    } else if (c === 64 && gate.at) return true;
  }
  return false;
}

/** Values longer than this are not held back whole: a stream holds at most this much for one value. */
export const MAX_HELD_VALUE = 1024;

/**
 * Where the end of a text that could still begin a sensitive value of the given types starts (the
 * text's length when none could): a stream masks and sends what comes before and holds the rest, so a
 * value written in pieces is masked however long the pause between them.
 */
export function openValueStart(text: string, types: { has(type: DetectorType): boolean }): number {
  const from = Math.max(0, text.length - MAX_HELD_VALUE);
  const window = text.slice(from);
  let start = window.length;
  for (const detector of DETECTORS) {
    if (!types.has(detector.type)) continue;
    const m = detector.tail.exec(window);
    if (m && m[0].length > 0) start = Math.min(start, m.index);
  }
  return from + start;
}

/**
 * Finds every sensitive value of the given types. Earlier detectors win where findings overlap, so a
 * private key's base64 is one finding, not many.
 */
export function detect(text: string, types: { has(type: DetectorType): boolean }): Finding[] {
  let findings: Finding[] | undefined;
  const stats = statsOf(text);
  for (const detector of DETECTORS) {
    if (!types.has(detector.type) || !holds(detector.needs, stats) || (detector.mayContain && !detector.mayContain(text))) continue;
    detector.scan(text, (start, end) => {
      if (!detector.valid(text.slice(start, end))) return;
      findings ??= [];
      if (!findings.some((f) => f.start < end && start < f.end)) findings.push({ type: detector.type, start, end });
    });
  }
  return findings ? findings.sort((a, b) => a.start - b.start) : [];
}
