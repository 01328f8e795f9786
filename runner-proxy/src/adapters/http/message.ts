import { brotliDecompress, gunzip, inflate, inflateRaw, type InputType, type ZlibOptions } from 'node:zlib';

/**
 * Headers that describe one hop, never the message: the gateway frames each side itself. `expect` is
 * answered by the gateway (100 Continue), `proxy-*` belongs to the job's proxy hop.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'expect',
  'host',
]);

/** Largest request line plus headers the gateway reads; more is answered 400. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** Largest body (as sent, and once decoded) read whole when a rule must look inside it. */
export const MAX_INSPECTED_BODY = 1 << 20;

const NOTHING: ReadonlySet<string> = new Set();

/**
 * The raw header pairs that go on to the next hop: hop-by-hop headers dropped (and any the Connection
 * header names), plus the names in `drop`. Framing headers are written by the caller.
 */
export function endToEndHeaders(raw: readonly string[], drop: ReadonlySet<string> = NOTHING): string[] {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') for (const token of raw[i + 1]!.split(',')) (named ??= new Set()).add(token.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower) || drop.has(lower)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/** One header's value from raw pairs (the first one). */
export function rawHeader(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) return raw[i + 1];
  return undefined;
}

/** Removes every pair of one header (`name` in lower case) from raw pairs, in place. */
export function dropHeader(raw: string[], name: string): void {
  for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i]!.toLowerCase() === name) raw.splice(i, 2);
}

export function isJsonType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json') || type === 'application/x-ndjson';
}

const promised =
  (f: (buf: InputType, options: ZlibOptions, callback: (e: Error | null, out: Buffer) => void) => void) =>
  (buf: Buffer, options: ZlibOptions) =>
    new Promise<Buffer>((resolve, reject) => f(buf, options, (e, out) => (e ? reject(e) : resolve(out))));

const DECODERS: Readonly<Record<string, (buf: Buffer, options: ZlibOptions) => Promise<Buffer>>> = {
  gzip: promised(gunzip),
  'x-gzip': promised(gunzip),
  br: promised(brotliDecompress as typeof gunzip),
  // "deflate" is zlib-wrapped by the standard, raw in some clients: try both.
  deflate: (buf, options) => promised(inflate)(buf, options).catch(() => promised(inflateRaw)(buf, options)),
};

/** The content codings the gateway can undo for inspection and masking. */
export function decodable(coding: string | undefined): boolean {
  const c = coding?.trim().toLowerCase();
  return !c || c === 'identity' || c in DECODERS;
}

export class UninspectableBody extends Error {}

/** Undoes a content coding, within the inspection cap. */
export async function decodeBody(body: Buffer, coding: string | undefined): Promise<Buffer> {
  const c = coding?.trim().toLowerCase();
  if (!c || c === 'identity') return body;
  const decoder = DECODERS[c];
  if (!decoder) throw new UninspectableBody(`content coding "${coding}" cannot be decoded`);
  try {
    return await decoder(body, { maxOutputLength: MAX_INSPECTED_BODY });
  } catch (e) {
    const tooLarge = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || /Cannot create a Buffer larger|maxOutputLength/i.test((e as Error).message);
    throw new UninspectableBody(tooLarge ? `the body decodes to more than ${MAX_INSPECTED_BODY >> 20} MiB` : `the ${c} body is corrupt`);
  }
}

/** A whole request body's JSON value (undefined when empty). Throws UninspectableBody when coded unknowably or not JSON. */
export async function inspectJsonBody(raw: Buffer, contentType: string | undefined, coding: string | undefined): Promise<unknown> {
  if (raw.length === 0) return undefined;
  if (!isJsonType(contentType)) throw new UninspectableBody(`the body is ${contentType ?? 'untyped'}, not JSON`);
  const decoded = await decodeBody(raw, coding);
  try {
    return JSON.parse(decoded.toString('utf8'));
  } catch {
    throw new UninspectableBody('the body is not valid JSON');
  }
}
