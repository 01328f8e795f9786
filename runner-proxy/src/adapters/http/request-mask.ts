/**
 * Masking what the job sends a target (mask rules with `on: write`). Query values are masked before the
 * request is recorded; a body is read whole within the inspection cap, masked at the token level (JSON,
 * lossless for everything else) or value by value (forms), by the detectors (text), and re-framed by
 * the caller with its new length, in its original content coding. A body with nothing to mask goes out
 * byte for byte. One that must be masked and cannot be read (too large, an unknown coding, not JSON, a
 * form or text, JSON that does not parse) is refused, never passed unread.
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { JsonSelector } from '../../base/json-select.js';
import type { RequestMasks } from '../../policy/operation.js';
import type { Masker } from '../../masking/masker.js';
import type { MaskStrategy } from '../../policy/types.js';
import { JsonStreamMasker } from './json-mask.js';
import { decodeBody, isJsonType, UninspectableBody } from './message.js';
import { isTextType, maskFormText } from './text-mask.js';

const FORM = 'application/x-www-form-urlencoded';

/** Whether a selector names the top-level field `name`: how selectors reach form fields and query parameters. */
function selectsField(selector: JsonSelector, name: string): boolean {
  if (selector.steps.length !== 1) return false;
  const step = selector.steps[0]!;
  if (step.kind === 'any') return true;
  return step.key === name || (step.kind === 'descend' && step.key === '*');
}

function fieldStrategy(masks: RequestMasks): (name: string) => MaskStrategy | undefined {
  return (name) => masks.json.find((m) => selectsField(m.selector, name))?.strategy;
}

/** Whether the masks change values at all (header masks alone leave query and body as they are). */
export const masksValues = (masks: RequestMasks) => masks.json.length > 0 || masks.detectors.size > 0;

/** The query string (with its "?"): parameters a selector names masked whole, every other value by the detectors. */
export function maskQuery(search: string, masks: RequestMasks, masker: Masker): { search: string; count: number } {
  if (search.length <= 1 || !masksValues(masks)) return { search, count: 0 };
  const masked = maskFormText(search.slice(1), masker, masks.detectors, fieldStrategy(masks));
  return masked.count ? { search: `?${masked.text}`, count: masked.count } : { search, count: 0 };
}

/** A body in a coding the gateway decoded goes out in that coding again. */
function encodeBody(body: Buffer, coding: string | undefined): Buffer {
  switch (coding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return gzipSync(body);
    case 'deflate':
      return deflateSync(body);
    case 'br':
      return brotliCompressSync(body);
    default:
      return body;
  }
}

/** A request body with the masks applied: the bytes as sent when nothing changed. Throws UninspectableBody. */
export async function maskRequestBody(raw: Buffer, contentType: string | undefined, coding: string | undefined, masks: RequestMasks, masker: Masker): Promise<{ body: Buffer; count: number }> {
  if (raw.length === 0) return { body: raw, count: 0 };
  const json = isJsonType(contentType);
  if (!json && !isTextType(contentType)) throw new UninspectableBody(`the body is ${contentType ?? 'untyped'}, not JSON, a form or text`);
  const decoded = await decodeBody(raw, coding);
  let masked: { body: Buffer; count: number };
  if (json) {
    const masking = new JsonStreamMasker(masks.json, masks.detectors, masker);
    try {
      masked = { body: Buffer.concat([...masking.push(decoded), ...masking.end()]), count: masking.count };
    } catch {
      throw new UninspectableBody('the body is not valid JSON');
    }
  } else {
    const text = decoded.toString('utf8');
    const form = contentType!.split(';')[0]!.trim().toLowerCase() === FORM;
    const result = form ? maskFormText(text, masker, masks.detectors, fieldStrategy(masks)) : masker.maskText(text, masks.detectors);
    masked = { body: Buffer.from(result.text), count: result.count };
  }
  return masked.count === 0 ? { body: raw, count: 0 } : { body: encodeBody(masked.body, coding), count: masked.count };
}

/** Headers that describe the body as the job sent it: dropped when the gateway masked the body. */
export const BODY_DIGESTS: ReadonlySet<string> = new Set(['content-md5', 'digest', 'content-digest', 'repr-digest']);
