import { randomUUID } from 'node:crypto';
import { ErrorCode, GovernError } from '../base/errors.js';

export type EnvFormat = 'shell' | 'dotenv' | 'github';
export const ENV_FORMATS: readonly EnvFormat[] = ['shell', 'dotenv', 'github'];

/**
 * The environment the job's commands get: the caller's own, without any variable the policy reads
 * (the real credentials) or the OIDC token, plus the gateway's loopback exports.
 */
export function jobEnvironment(
  parent: Readonly<Record<string, string | undefined>>,
  withheld: Iterable<string>,
  exports: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) if (v !== undefined) env[k] = v;
  for (const name of withheld) delete env[name];
  return Object.assign(env, withJobNoProxy(exports, parent));
}

/**
 * The exports with the forward proxy's NO_PROXY (loopback, where the gateway's listeners are) joined
 * with what the job already has under either spelling, so hosts the job reached directly stay direct.
 * A `*`, which would take every host out of the proxy, is not kept.
 */
export function withJobNoProxy(exports: Readonly<Record<string, string>>, parent: Readonly<Record<string, string | undefined>>): Record<string, string> {
  if (exports.NO_PROXY === undefined) return { ...exports };
  const entries = new Set<string>();
  for (const list of [exports.NO_PROXY, parent.NO_PROXY, parent.no_proxy]) {
    for (const entry of (list ?? '').split(',')) if (entry.trim() && entry.trim() !== '*') entries.add(entry.trim());
  }
  const merged = [...entries].join(',');
  return { ...exports, NO_PROXY: merged, no_proxy: merged };
}

/**
 * Prints exports for `eval`, for a dotenv file (GitLab artifacts:reports:dotenv), or for $GITHUB_ENV.
 * For a shell, the variables the gateway read are unset too: a job shell that held the real
 * credentials to start the gateway (GitLab CI/CD variables) no longer has them afterwards.
 */
export function formatEnv(vars: Readonly<Record<string, string>>, format: EnvFormat, withheld: readonly string[] = []): string {
  const entries = Object.entries(vars);
  switch (format) {
    case 'shell':
      return (
        entries.map(([k, v]) => `export ${k}='${v.replaceAll("'", `'\\''`)}'\n`).join('') +
        withheld.filter((name) => !(name in vars)).map((name) => `unset ${name}\n`).join('')
      );
    case 'dotenv':
      return entries
        .map(([k, v]) => {
          if (/[\r\n]/.test(v)) throw new GovernError(ErrorCode.Usage, `${k} spans several lines, which a dotenv file cannot hold; use --env-format shell`);
          return `${k}=${v}\n`;
        })
        .join('');
    case 'github':
      // The runner's multi-line syntax, with a delimiter no value can contain (as @actions/core does).
      return entries
        .map(([k, v]) => {
          const delimiter = `ghadelimiter_${randomUUID()}`;
          return `${k}<<${delimiter}\n${v}\n${delimiter}\n`;
        })
        .join('');
  }
}
