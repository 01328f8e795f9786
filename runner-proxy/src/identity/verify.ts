import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { ErrorCode, GovernError, TokenRejectedError } from '../base/errors.js';
import { globMatcher } from '../base/glob.js';
import type { ClaimValue, IdentityPolicy, TrustEntry } from '../policy/types.js';
import { forgeOfToken, isPinned, unpinnedReason } from '../policy/pinning.js';
import { RECORDED_CLAIMS, type Principal } from './principal.js';
import { quotedTokenText, segmentProblem, tokenText } from './token-text.js';

export const ALGORITHMS = ['RS256', 'ES256'];
const CLOCK_TOLERANCE_S = 60;
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
/** Events whose code comes from someone who may not be trusted to write: read-only unless named. */
const UNTRUSTED_EVENTS: Readonly<Record<string, string>> = {
  pull_request: 'event_name',
  pull_request_target: 'event_name',
  merge_request_event: 'pipeline_source',
};

export interface VerifierOptions {
  /** GitLab's issuer is the instance URL (CI_SERVER_URL); gitlab.com when unset. */
  gitlabUrl?: string;
  now?: () => Date;
  /** How long one JWKS or discovery request may take. */
  timeoutMs?: number;
}

/** Verifies OIDC tokens against the policy's trust entries. JWKS are fetched once per issuer and cached. */
export class TokenVerifier {
  readonly #policy: IdentityPolicy;
  readonly #now: () => Date;
  readonly #timeoutMs: number;
  readonly #gitlabUrl: string;
  readonly #keySets = new Map<string, Promise<ReturnType<typeof createRemoteJWKSet>>>();

  constructor(policy: IdentityPolicy, options: VerifierOptions = {}) {
    this.#policy = policy;
    this.#now = options.now ?? (() => new Date());
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#gitlabUrl = (options.gitlabUrl ?? 'https://gitlab.com').replace(/\/+$/, '');
  }

  issuerUrl(entry: TrustEntry): string {
    if (entry.issuer === 'github') return GITHUB_ISSUER;
    if (entry.issuer === 'gitlab') return this.#gitlabUrl;
    return entry.issuer;
  }

  async verify(token: string): Promise<Principal> {
    const malformed = segmentProblem(token);
    if (malformed) throw new TokenRejectedError('format', malformed);
    const header = readHeader(token);
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch (cause) {
      throw new TokenRejectedError('format', 'its claims are not a JSON object', { cause });
    }
    // OpenID Connect compares the issuer exactly: no trailing-slash or case leniency.
    const iss = unverified.iss;
    if (iss === undefined) throw new TokenRejectedError('iss', 'token has no "iss" claim');
    if (typeof iss !== 'string') throw new TokenRejectedError('iss', `"iss" claim is ${tokenText(iss)}, not a string`);
    const candidates = this.#policy.trust
      .map((entry, index) => ({ entry, index }))
      .filter(({ entry }) => this.issuerUrl(entry) === iss);
    if (candidates.length === 0) {
      const trusted = [...new Set(this.#policy.trust.map((e) => this.issuerUrl(e)))].join(', ');
      throw new TokenRejectedError('iss', `issuer ${quotedTokenText(iss)} is not trusted; the policy trusts ${trusted}`);
    }
    const payload = await this.#verifySignatureAndTimes(token, iss, header.kid);
    const { index, entry } = matchTrust(candidates, payload);
    return principalOf(payload, iss, index, entry);
  }

  async #verifySignatureAndTimes(token: string, iss: string, kid: string | undefined): Promise<JWTPayload> {
    const keys = await this.#keySet(iss);
    const now = this.#now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: ALGORITHMS,
        issuer: iss,
        audience: this.#policy.audience,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['iss', 'aud', 'exp', 'iat'],
        currentDate: now,
      }));
    } catch (e) {
      throw this.#explain(e, kid, now);
    }
    const nowS = Math.floor(now.getTime() / 1000);
    if (typeof payload.iat !== 'number') throw new TokenRejectedError('iat', '"iat" claim is not a number');
    if (payload.iat > nowS + CLOCK_TOLERANCE_S) {
      throw new TokenRejectedError('iat', `token issued ${payload.iat - nowS} s in the future (tolerance ${CLOCK_TOLERANCE_S} s)`);
    }
    return payload;
  }

  #explain(e: unknown, kid: string | undefined, now: Date): GovernError {
    const nowS = Math.floor(now.getTime() / 1000);
    if (e instanceof errors.JWTExpired) {
      return new TokenRejectedError('exp', `token expired ${nowS - (e.payload.exp as number)} s ago`, { cause: e });
    }
    if (e instanceof errors.JWTClaimValidationFailed) {
      const { claim, reason, payload } = e;
      if (reason === 'missing') return new TokenRejectedError(claim, `token has no "${claim}" claim`, { cause: e });
      if (claim === 'aud') {
        const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
        const listed = aud.every((a) => typeof a === 'string') ? `[${aud.map(quotedTokenText).join(',')}]` : tokenText(payload.aud);
        return new TokenRejectedError('aud', `audience "${this.#policy.audience}" not in token aud ${listed}`, { cause: e });
      }
      if (claim === 'nbf') {
        return new TokenRejectedError('nbf', `token not valid for another ${(payload.nbf as number) - nowS} s ("nbf" in the future)`, { cause: e });
      }
      const value = payload[claim];
      const what = value !== null && typeof value === 'object' ? `is ${tokenText(value)}, which` : 'is';
      return new TokenRejectedError(claim, `"${claim}" claim ${what} not valid`, { cause: e });
    }
    if (e instanceof errors.JWKSNoMatchingKey) {
      return new TokenRejectedError('kid', `no key in the issuer's JWKS matches kid ${kid === undefined ? 'null' : quotedTokenText(kid)}`, { cause: e });
    }
    if (e instanceof errors.JWSSignatureVerificationFailed) {
      return new TokenRejectedError('signature', "signature does not verify against the issuer's keys", { cause: e });
    }
    if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid || (e instanceof TypeError && /fetch/i.test(e.message))) {
      return new GovernError(ErrorCode.IssuerUnreachable, `cannot fetch the issuer's keys: ${(e as Error).message}`, { cause: e });
    }
    if (e instanceof errors.JOSEError) return new TokenRejectedError('format', `token is malformed: ${tokenText(e.message)}`, { cause: e });
    return new GovernError(ErrorCode.IssuerUnreachable, `cannot verify the token: ${(e as Error).message}`, { cause: e });
  }

  #keySet(iss: string): Promise<ReturnType<typeof createRemoteJWKSet>> {
    let keys = this.#keySets.get(iss);
    if (!keys) {
      keys = issuerKeys(iss, this.#timeoutMs);
      keys.catch(() => this.#keySets.delete(iss));
      this.#keySets.set(iss, keys);
    }
    return keys;
  }
}

/** An issuer's signing keys: GitHub's JWKS address is fixed; every other issuer is asked through OIDC discovery. */
export async function issuerKeys(iss: string, timeoutMs: number): Promise<ReturnType<typeof createRemoteJWKSet>> {
  return createRemoteJWKSet(await discoverJwks(iss, timeoutMs), { timeoutDuration: timeoutMs });
}

async function discoverJwks(iss: string, timeoutMs: number): Promise<URL> {
  if (iss === GITHUB_ISSUER) return new URL(`${GITHUB_ISSUER}/.well-known/jwks`);
  const url = `${iss.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let config: { issuer?: string; jwks_uri?: string };
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    config = (await response.json()) as typeof config;
  } catch (cause) {
    throw new GovernError(ErrorCode.IssuerUnreachable, `cannot read the issuer's discovery document ${url}: ${(cause as Error).message}`, { cause });
  }
  if (config.issuer !== iss || typeof config.jwks_uri !== 'string') {
    throw new GovernError(ErrorCode.IssuerUnreachable, `the discovery document at ${url} names another issuer or no jwks_uri`);
  }
  return new URL(config.jwks_uri);
}

/** The token's protected header, refused when unsigned, of another algorithm, or carrying its own keys. */
export function readHeader(token: string): { kid?: string } {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch (cause) {
    throw new TokenRejectedError('format', 'it is not a JWT (three base64url parts with a JSON header)', { cause });
  }
  const alg = header.alg;
  if (typeof alg === 'string' && alg.toLowerCase() === 'none') throw new TokenRejectedError('alg', 'token is unsigned (alg "none")');
  if (typeof alg !== 'string' || !ALGORITHMS.includes(alg)) {
    throw new TokenRejectedError('alg', `algorithm ${quotedTokenText(alg)} is not allowed; only RS256 and ES256 are`);
  }
  for (const key of ['jwk', 'jku', 'x5u', 'x5c'] as const) {
    if (header[key] !== undefined) {
      throw new TokenRejectedError(key, `token header carries "${key}"; keys come only from the issuer's JWKS`);
    }
  }
  if (header.kid !== undefined && typeof header.kid !== 'string') throw new TokenRejectedError('kid', `header "kid" is ${tokenText(header.kid)}, not a string`);
  return { ...(header.kid !== undefined && { kid: header.kid }) };
}

interface Mismatch {
  claim: string;
  actual: unknown;
  wanted: ClaimValue | readonly ClaimValue[];
}

function claimMatches(actual: unknown, wanted: ClaimValue | readonly ClaimValue[]): boolean {
  if (actual === undefined || actual === null || typeof actual === 'object') return false;
  const value = String(actual);
  return (Array.isArray(wanted) ? wanted : [wanted]).some((w: ClaimValue) =>
    typeof w === 'string' ? globMatcher(w, { separator: '/' })(value) : String(w) === value,
  );
}

function matchTrust(candidates: { entry: TrustEntry; index: number }[], payload: JWTPayload): { entry: TrustEntry; index: number } {
  // A forge's token (GitHub Enterprise Server's too, under its own issuer URL) is let in only by an entry that pins the repository.
  const forge = forgeOfToken(payload);
  const unpinned = forge && candidates.find(({ entry }) => !isPinned(entry, forge));
  if (unpinned) throw new TokenRejectedError('claims', `identity.trust[${unpinned.index}] ${unpinnedReason(forge)}`);
  let closest: Mismatch[] | undefined;
  for (const candidate of candidates) {
    const mismatches = Object.entries(candidate.entry.claims)
      .filter(([claim, wanted]) => !claimMatches(payload[claim], wanted))
      .map(([claim, wanted]) => ({ claim, actual: payload[claim], wanted }));
    if (mismatches.length === 0) return candidate;
    if (!closest || mismatches.length < closest.length) closest = mismatches;
  }
  const m = closest![0]!;
  const actual =
    m.actual === undefined ? 'absent'
    : m.actual !== null && typeof m.actual === 'object' ? `is ${tokenText(m.actual)}, which never matches (claims match only as strings, numbers or booleans)`
    : `was ${tokenText(m.actual)}`;
  const wanted = Array.isArray(m.wanted) ? `one of ${m.wanted.join(', ')}` : String(m.wanted);
  throw new TokenRejectedError('claims', `no trust entry matched: ${m.claim} ${actual}, wanted ${wanted}`);
}

function principalOf(payload: JWTPayload, iss: string, index: number, entry: TrustEntry): Principal {
  const claims: Record<string, unknown> = {};
  for (const key of RECORDED_CLAIMS) if (payload[key] !== undefined) claims[key] = payload[key];
  let readOnlyReason: string | undefined;
  for (const [event, claim] of Object.entries(UNTRUSTED_EVENTS)) {
    const named = entry.claims[claim];
    const namesEvent = named !== undefined && (Array.isArray(named) ? named : [named]).includes(event);
    if (payload[claim] === event && !namesEvent) {
      readOnlyReason = `a ${event} run may only read; name ${claim}: ${event} in a trust entry to let it write`;
    }
  }
  return {
    kind: 'oidc',
    issuer: iss,
    ...(typeof payload.sub === 'string' && { subject: payload.sub }),
    claims,
    trustEntry: index,
    readOnly: readOnlyReason !== undefined,
    ...(readOnlyReason && { readOnlyReason }),
  };
}

/**
 * Whether a recorded identity (issuer and claims) would still be let in by a trust policy, for
 * `govern policy test`: the failed check in one sentence, or undefined when an entry matches.
 */
export function trustProblem(policy: IdentityPolicy, iss: string, claims: Readonly<Record<string, unknown>>): string | undefined {
  const verifier = new TokenVerifier(policy);
  const candidates = policy.trust.map((entry, index) => ({ entry, index })).filter(({ entry }) => verifier.issuerUrl(entry) === iss);
  if (candidates.length === 0) return `no trust entry names the issuer ${iss}`;
  try {
    matchTrust(candidates, claims as JWTPayload);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
