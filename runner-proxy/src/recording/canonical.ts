import { createHash } from 'node:crypto';

/** JSON with keys sorted at every level and no whitespace: the form that is hashed and signed. */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonical(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

export const GENESIS = '0'.repeat(64);

/** hash = sha256(prev ‖ canonical(event without its hash)). */
export function chainHash(prev: string, event: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(prev).update(canonical(event)).digest('hex');
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
