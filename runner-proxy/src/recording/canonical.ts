import { createHash } from 'node:crypto';

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

/** hash = sha256(prev ‖ canonical(event without its hash)). */
export function chainHash(prev: string, event: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(prev).update(canonical(event)).digest('hex');
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
