/**
 * The reverse listener's job-scoped secret: the first path segment of the URL the job gets
 * (`http://127.0.0.1:PORT/SECRET/prefix`), since Node's fetch refuses URLs with userinfo. Another
 * process on the runner that does not know it is refused. The target never sees the segment, so
 * response headers that would lead the job's client out of it are rewritten, as nginx's
 * proxy_redirect and proxy_cookie_path do.
 */
import { randomBytes } from 'node:crypto';
import { rawResponse } from './refusal.js';
import type { HttpTarget } from './target.js';

/** Path=… in a Set-Cookie value (the cookie's own value cannot hold a semicolon). */
const COOKIE_PATH = /(;\s*path\s*=\s*)(\/)/i;

export class SecretPath {
  /** The secret alone: a CI log mask. */
  readonly secret = randomBytes(24).toString('base64url');
  /** `/SECRET`, what a request target must start with. */
  readonly segment = `/${this.secret}`;
  /** `http://127.0.0.1:PORT/SECRET`: where a path on the target is, for the job. */
  readonly base: string;
  /** The target's origin as URL.origin spells it (lower-case host, no default port). */
  readonly #targetOrigin: string;
  readonly #targetScheme: string;
  /** The answer to a request without the segment. */
  readonly refusal: string;

  constructor(port: number, target: HttpTarget, exportName: string) {
    this.base = `http://127.0.0.1:${port}${this.segment}`;
    this.refusal = rawResponse(403, { error: `this listener serves the job's URL only: use the URL in ${exportName} as it is, its first path segment included` });
    this.#targetScheme = target.secure ? 'https:' : 'http:';
    this.#targetOrigin = new URL(`${this.#targetScheme}//${target.authority}`).origin;
  }

  /**
   * Whether a request target starts with the secret segment, followed by `/`, `?` or its end. Every
   * byte of the segment is compared whatever the others hold, so the time taken tells nothing of it.
   */
  admits(url: string): boolean {
    const segment = this.segment;
    const n = segment.length;
    if (url.length < n) return false;
    let difference = 0;
    for (let i = 0; i < n; i++) difference |= url.charCodeAt(i) ^ segment.charCodeAt(i);
    if (difference !== 0) return false;
    if (url.length === n) return true;
    const next = url.charCodeAt(n);
    return next === 0x2f /* / */ || next === 0x3f /* ? */;
  }

  /**
   * Rewrites, in a response's header pairs, what would lead the job out of its URL: a Location or
   * Content-Location on the target's own origin (an absolute path, or an absolute URL) becomes the job's
   * URL for it; a Set-Cookie's Path gets the secret segment in front. Other origins stay as they are.
   */
  rewriteHeaders(headers: string[]): void {
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!.toLowerCase();
      if (name === 'location' || name === 'content-location') headers[i + 1] = this.#location(headers[i + 1]!);
      else if (name === 'set-cookie') headers[i + 1] = headers[i + 1]!.replace(COOKIE_PATH, `$1${this.segment}$2`);
    }
  }

  #location(value: string): string {
    if (value.startsWith('/') && !value.startsWith('//')) return this.base + value;
    let u: URL;
    try {
      // A scheme-relative reference (//host/path) is on the target's scheme.
      u = new URL(value.startsWith('//') ? this.#targetScheme + value : value);
    } catch {
      return value;
    }
    return u.origin === this.#targetOrigin ? `${this.base}${u.pathname}${u.search}${u.hash}` : value;
  }
}
