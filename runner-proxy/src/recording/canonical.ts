import * as crypto from 'node:crypto';

/** Node's one-shot digest (20.12 and later), about half the cost of createHash for a short event. */
const oneShotHash = (crypto as unknown as { hash: (algorithm: string, data: string | Buffer, encoding: 'hex') => string }).hash;

/** JSON with keys sorted at every level and no whitespace: the form that is hashed and signed. */
export function canonical(value: unknown): string {
  // Strings and numbers, most of every event, without a call into JSON.stringify where it is not needed.
  if (typeof value === 'string') return jsonString(value);
  if (typeof value === 'number') return Number.isFinite(value) ? `${value}` : 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += `${i ? ',' : ''}${value[i] === undefined ? 'null' : canonical(value[i])}`;
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  let out = '{';
  for (const key of sortedKeys(record)) {
    const v = record[key];
    if (v === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${jsonString(key)}:${canonical(v)}`;
  }
  return `${out}}`;
}

/** An object's keys in order: most objects recorded are made with their keys in order already. */
function sortedKeys(record: Record<string, unknown>): string[] {
  const keys = Object.keys(record);
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return keys.sort();
  return keys;
}

/** JSON.stringify(text), quoting directly when nothing in it needs an escape (control characters, quotes, backslashes, surrogates). */
function jsonString(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(text);
  }
  return `"${text}"`;
}

export const GENESIS = '0'.repeat(64);

/** hash = sha256(prev ‖ canonical(event without its hash)), given that canonical text. */
export function chainHash(prev: string, canonicalEvent: string): string {
  return oneShotHash('sha256', prev + canonicalEvent, 'hex');
}

export function sha256Hex(data: string | Buffer): string {
  return oneShotHash('sha256', data, 'hex');
}
