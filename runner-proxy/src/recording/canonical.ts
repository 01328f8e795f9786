import * as crypto from 'node:crypto';

/** Node's one-shot digest (20.12 and later), about half the cost of createHash for a short event. */
const oneShotHash = (crypto as unknown as { hash: (algorithm: string, data: string | Buffer, encoding: 'hex') => string }).hash;

/** JSON with keys sorted at every level and no whitespace: the form that is hashed and signed. */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += `${i ? ',' : ''}${value[i] === undefined ? 'null' : canonical(value[i])}`;
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  let out = '{';
  for (const key of Object.keys(record).sort()) {
    const v = record[key];
    if (v === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${canonical(v)}`;
  }
  return `${out}}`;
}

export const GENESIS = '0'.repeat(64);

/** hash = sha256(prev ‖ canonical(event without its hash)), given that canonical text. */
export function chainHash(prev: string, canonicalEvent: string): string {
  return oneShotHash('sha256', prev + canonicalEvent, 'hex');
}

export function sha256Hex(data: string | Buffer): string {
  return oneShotHash('sha256', data, 'hex');
}
