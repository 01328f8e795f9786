import { createHash } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, errors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { requestGitHubToken } from './token-source.js';
import { segmentProblem, tokenText } from './token-text.js';
import { ALGORITHMS, GITHUB_ISSUER, issuerKeys, readHeader } from './verify.js';

/**
 * The job binding: an OIDC token the forge mints for this job, whose audience names the digest of the
 * run's signing key. The key alone vouches only for itself; the forge's signature over the key's digest
 * and the job's claims ties it to the job that ran. Or, where the forge cannot mint one, why not.
 */
export type JobBinding = { kind: 'oidc'; issuer: string; audience: string; token: string } | { kind: 'absent'; reason: string };

const AUDIENCE_PREFIX = 'govern-session-key:sha256:';

/** The audience a binding token names: the sha256 of the raw 32-byte Ed25519 public key. */
export function bindingAudience(publicKey: string): string {
  const raw = Buffer.from(publicKey.replace(/^ed25519:/, ''), 'base64url');
  return `${AUDIENCE_PREFIX}${createHash('sha256').update(raw).digest('hex')}`;
}

/** The claims of the binding token that say which run the bundle belongs to. */
export const RUN_CLAIMS = ['repository_id', 'repository', 'workflow', 'workflow_ref', 'ref', 'sha', 'run_id', 'run_attempt'] as const;
export type BoundRun = { issuer: string; issued_at: string } & Partial<Record<(typeof RUN_CLAIMS)[number], string>>;

/**
 * The binding the gateway records: the forge's token, checked at once against the issuer's keys (the
 * identity's issuer, else GitHub's), or why there is none.
 */
export async function bindJob(env: Readonly<Record<string, string | undefined>>, publicKey: string, issuer: string | undefined): Promise<JobBinding> {
  const binding = await requestJobBinding(env, publicKey);
  if (binding.kind === 'absent') return binding;
  const check = await checkJobBinding(binding, publicKey, { issuer: issuer ?? GITHUB_ISSUER });
  return check.status === 'bound' ? binding : { kind: 'absent', reason: `the forge's binding token was not kept: ${check.problem}` };
}

/** Asks the forge for the binding token. Never throws: a binding the forge cannot give is recorded as absent, with why. */
export async function requestJobBinding(env: Readonly<Record<string, string | undefined>>, publicKey: string): Promise<JobBinding> {
  const audience = bindingAudience(publicKey);
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (requestUrl && requestToken) {
    try {
      const token = await requestGitHubToken(requestUrl, requestToken, audience);
      const { iss } = decodeJwt(token);
      if (typeof iss !== 'string') return { kind: 'absent', reason: 'the token service answered with a token that names no issuer' };
      return { kind: 'oidc', issuer: iss, audience, token };
    } catch (e) {
      return { kind: 'absent', reason: `the token service gave no binding token: ${(e as Error).message}` };
    }
  }
  if (env.GITLAB_CI) {
    return { kind: 'absent', reason: "GitLab gives a job only the id_tokens its YAML declares, each with a fixed audience, so no token can name this run's key" };
  }
  return { kind: 'absent', reason: 'the runner offers no OIDC token service that takes an audience (on GitHub: permissions: id-token: write)' };
}

export interface BindingCheckOptions {
  /** The issuer the binding must come from (GitHub's unless named). */
  issuer?: string;
  /** The issuer's keys given offline (--jwks FILE); fetched from the issuer when absent. */
  jwks?: JSONWebKeySet;
  /** The identity claims the bundle's manifest records: the binding must name the same run. */
  identityClaims?: Readonly<Record<string, unknown>>;
  expectRepository?: string;
  expectWorkflow?: string;
  timeoutMs?: number;
}

export type BindingCheck = { status: 'bound'; run: BoundRun } | { status: 'absent' | 'failed'; problem: string };

/**
 * Checks a bundle's job binding: the token's signature against the issuer's keys, its issuer, that its
 * audience names this bundle's key, and that it names the run the manifest and the expectations name.
 * Expiry is no failure: the token was valid when it was minted, at the start of the session.
 */
export async function checkJobBinding(binding: unknown, publicKey: string, options: BindingCheckOptions = {}): Promise<BindingCheck> {
  const failed = (problem: string): BindingCheck => ({ status: 'failed', problem });
  const record = binding as Partial<Record<string, unknown>> | undefined;
  if (!record || record.kind !== 'oidc') {
    const reason = typeof record?.reason === 'string' ? record.reason : 'the manifest carries none';
    return { status: 'absent', problem: `the bundle is not bound to a job (${reason}): nothing outside it ties its signing key to a run` };
  }
  const token = record.token;
  if (typeof token !== 'string') return failed('the job binding holds no token');
  const issuer = options.issuer ?? GITHUB_ISSUER;
  const malformed = segmentProblem(token);
  if (malformed) return failed(`the job binding token is refused: ${malformed}`);
  let payload: JWTPayload;
  try {
    readHeader(token);
    payload = decodeJwt(token);
  } catch (e) {
    return failed(`the job binding token is refused: ${(e as Error).message}`);
  }
  const audience = bindingAudience(publicKey);
  const named = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!named.includes(audience)) {
    return failed(`the job binding token names the key ${tokenText(named.join(', '))}, not this bundle's signing key: the bundle was signed again by another key`);
  }
  if (payload.iss !== issuer) return failed(`the job binding token was issued by ${tokenText(payload.iss)}, not by ${issuer} (--issuer names another)`);
  if (typeof payload.iat !== 'number') return failed('the job binding token has no "iat" claim');
  try {
    const keys: JWTVerifyGetKey = options.jwks ? createLocalJWKSet(options.jwks) : await issuerKeys(issuer, options.timeoutMs ?? 10_000);
    // Checked as of the moment it was minted: an old bundle's token has long expired, and that is no failure.
    await jwtVerify(token, keys, { algorithms: ALGORITHMS, issuer, audience, requiredClaims: ['iss', 'aud', 'iat'], currentDate: new Date(payload.iat * 1000) });
  } catch (e) {
    if (e instanceof errors.JWKSNoMatchingKey) {
      return failed(`no key of ${issuer} matches the job binding token's kid; the forge rotates its keys: give the keys of that time with --jwks FILE`);
    }
    if (e instanceof errors.JWSSignatureVerificationFailed) return failed(`the job binding token's signature does not verify against the keys of ${issuer}`);
    return failed(`cannot check the job binding token against the keys of ${issuer}: ${(e as Error).message}; --jwks FILE checks it offline`);
  }
  const run = recordedRun({ kind: 'oidc', issuer, audience, token })!;
  for (const claim of RUN_CLAIMS) {
    const recorded = options.identityClaims?.[claim];
    if (recorded !== undefined && run[claim] !== undefined && String(recorded) !== run[claim]) {
      return failed(`the job binding token names ${claim} ${tokenText(run[claim])}, but the bundle's identity names ${tokenText(String(recorded))}`);
    }
  }
  const { expectRepository, expectWorkflow } = options;
  if (expectRepository !== undefined && expectRepository !== run.repository && expectRepository !== run.repository_id) {
    return failed(`the bundle belongs to repository ${describeRepository(run)}, not ${expectRepository}`);
  }
  if (expectWorkflow !== undefined && !workflowMatches(run, expectWorkflow)) {
    return failed(`the bundle belongs to workflow ${tokenText(run.workflow ?? run.workflow_ref ?? 'none')}, not ${expectWorkflow}`);
  }
  return { status: 'bound', run };
}

/** A workflow by its name, its file (`.github/workflows/deploy.yml`) or its full ref without the `@ref`. */
function workflowMatches(run: BoundRun, wanted: string): boolean {
  const path = run.workflow_ref?.split('@')[0];
  return wanted === run.workflow || wanted === path || (path !== undefined && path.endsWith(`/${wanted.replace(/^\/+/, '')}`));
}

function describeRepository(run: BoundRun): string {
  return `${tokenText(run.repository ?? 'unnamed')}${run.repository_id ? ` (id ${tokenText(run.repository_id)})` : ''}`;
}

/**
 * The run a recorded binding names, read without checking it (the gateway checked it when it was
 * recorded; `govern verify` checks it again): for the report, which cannot reach the issuer.
 */
export function recordedRun(binding: JobBinding | undefined): BoundRun | undefined {
  if (binding?.kind !== 'oidc') return undefined;
  let payload: JWTPayload;
  try {
    payload = decodeJwt(binding.token);
  } catch {
    return undefined;
  }
  const run: BoundRun = { issuer: binding.issuer, issued_at: typeof payload.iat === 'number' ? new Date(payload.iat * 1000).toISOString() : 'an unknown time' };
  for (const claim of RUN_CLAIMS) if (payload[claim] !== undefined) run[claim] = String(payload[claim]);
  return run;
}

/** The run a checked binding names, in one line: repository, workflow, ref, sha, run and attempt. */
export function describeRun(run: BoundRun): string {
  const parts = [
    `repository ${describeRepository(run)}`,
    run.workflow && `workflow ${tokenText(run.workflow)}`,
    run.ref && `ref ${tokenText(run.ref)}`,
    run.sha && `sha ${tokenText(run.sha)}`,
    run.run_id && `run ${tokenText(run.run_id)}${run.run_attempt ? ` attempt ${tokenText(run.run_attempt)}` : ''}`,
  ].filter(Boolean);
  return `${parts.join(', ')}; token issued by ${run.issuer} at ${run.issued_at}`;
}
