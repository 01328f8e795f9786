/** The longest piece of a token that a message repeats; enough to recognise a claim, too short to flood a log. */
const MAX_CHARS = 120;
// C0 and C1 controls, DEL, and the Unicode line and paragraph separators: none may start a new log line
// (a claim holding "\n::error::…" would otherwise write a workflow command of its own into the job log).
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Every value taken from a token passes through here before it goes into a message: control characters
 * become a space and the text is cut to a sane length. Objects and lists are named, never converted
 * (a claim such as {"toString": 1} cannot be turned into a string).
 */
export function tokenText(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a JSON list';
  if (typeof value === 'object') return 'a JSON object';
  if (typeof value !== 'string') return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
  const clean = value.replace(CONTROL, ' ');
  return clean.length > MAX_CHARS ? `${clean.slice(0, MAX_CHARS)}…` : clean;
}

/** tokenText in double quotes, for a value that may hold spaces. */
export const quotedTokenText = (value: unknown): string => (typeof value === 'string' ? `"${tokenText(value)}"` : tokenText(value));

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Why a token is not three canonical base64url segments (RFC 7515 §2: no padding, no whitespace, and
 * unused trailing bits zero), or undefined when it is. Lenient decoding would give one signed token many
 * spellings; the signature is checked over the spelling received, so only one may be accepted.
 */
export function segmentProblem(token: string): string | undefined {
  const segments = token.split('.');
  if (segments.length !== 3) return `it is not a JWT: ${segments.length} dot-separated parts, not 3`;
  const names = ['header', 'claims', 'signature'];
  for (const [i, segment] of segments.entries()) {
    // An empty signature is left to the algorithm check, which names alg "none".
    if (segment === '' && i === 2) continue;
    if (!SEGMENT.test(segment)) {
      return segment === '' ? `its ${names[i]} part is empty` : `its ${names[i]} part is not base64url (padding, whitespace or other characters)`;
    }
    const tail = segment.length % 4;
    const lastBits = BASE64URL.indexOf(segment.at(-1)!);
    if (tail === 1 || (tail === 2 && (lastBits & 0b1111) !== 0) || (tail === 3 && (lastBits & 0b11) !== 0)) {
      return `its ${names[i]} part is not canonical base64url (its last character carries bits that encode nothing)`;
    }
  }
  return undefined;
}
