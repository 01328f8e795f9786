import { ErrorCode, GovernError } from '../base/errors.js';

export interface TokenSourceOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** --token-env NAME: the variable that holds the token (other CI systems). */
  tokenEnv?: string;
  audience: string;
}

export interface ObtainedToken {
  token: string;
  /** Where it came from, for the log: never the token itself. */
  source: string;
  /** The variable that held it, which the job's own environment must not keep. */
  variable?: string;
}

/** GitLab's id_tokens variable; also the variable the action hands the gateway. */
export const GOVERN_ID_TOKEN = 'GOVERN_ID_TOKEN';

/**
 * Finds the job's OIDC token: a named variable, GOVERN_ID_TOKEN (GitLab's id_tokens, or set by the action),
 * or GitHub's token request service when the job has `permissions: id-token: write`.
 */
export async function obtainToken({ env, tokenEnv, audience }: TokenSourceOptions): Promise<ObtainedToken | undefined> {
  if (tokenEnv) {
    const token = env[tokenEnv];
    if (!token) throw new GovernError(ErrorCode.TokenMissing, `--token-env names ${tokenEnv}, but that variable is empty or not set`);
    return { token, source: `$${tokenEnv}`, variable: tokenEnv };
  }
  const fromEnv = env[GOVERN_ID_TOKEN];
  if (fromEnv) return { token: fromEnv, source: `$${GOVERN_ID_TOKEN}`, variable: GOVERN_ID_TOKEN };
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (requestUrl && requestToken) {
    return { token: await requestGitHubToken(requestUrl, requestToken, audience), source: 'GitHub Actions OIDC' };
  }
  return undefined;
}

/** The same request @actions/core's getIDToken makes. */
export async function requestGitHubToken(requestUrl: string, requestToken: string, audience: string): Promise<string> {
  const url = `${requestUrl}&audience=${encodeURIComponent(audience)}`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { Authorization: `Bearer ${requestToken}`, Accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
  } catch (cause) {
    throw new GovernError(ErrorCode.TokenMissing, `cannot reach GitHub's OIDC token service: ${(cause as Error).message}`, { cause });
  }
  if (!response.ok) {
    throw new GovernError(ErrorCode.TokenMissing, `GitHub's OIDC token service answered HTTP ${response.status}; does the job have permissions: id-token: write?`);
  }
  const body = (await response.json().catch(() => ({}))) as { value?: unknown };
  if (typeof body.value !== 'string') throw new GovernError(ErrorCode.TokenMissing, "GitHub's OIDC token service returned no token");
  return body.value;
}

export const NO_TOKEN_HELP =
  'no OIDC token found: on GitHub grant `permissions: id-token: write`, on GitLab add `id_tokens: GOVERN_ID_TOKEN`, elsewhere pass --token-env NAME';
