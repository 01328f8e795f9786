/** Who the run acts as, after the OIDC token has been verified against the policy. */
export interface Principal {
  /** "none" when the policy has no identity section: recorded, with a warning. */
  kind: 'oidc' | 'none';
  issuer?: string;
  subject?: string;
  /** The verified claims that describe the run (repository, ref, sha, workflow, run id, actor, event). */
  claims: Readonly<Record<string, unknown>>;
  /** Which trust entry matched, by index. */
  trustEntry?: number;
  /** Fork pull requests and pull_request_target may read but never write, unless a trust entry names the event. */
  readOnly: boolean;
  readOnlyReason?: string;
}

export const NO_IDENTITY: Principal = Object.freeze({ kind: 'none', claims: Object.freeze({}), readOnly: false });

/** The claims worth keeping in the manifest: enough to say which run it was, nothing personal beyond the actor. */
export const RECORDED_CLAIMS = [
  'iss', 'sub', 'aud',
  // GitHub
  'repository', 'repository_id', 'repository_owner', 'repository_owner_id', 'ref', 'ref_type', 'sha', 'workflow',
  'workflow_ref', 'job_workflow_ref', 'run_id', 'run_number', 'run_attempt', 'actor', 'actor_id', 'event_name',
  'environment', 'runner_environment', 'base_ref', 'head_ref',
  // GitLab
  'project_id', 'project_path', 'namespace_path', 'pipeline_id', 'pipeline_source', 'job_id', 'user_login',
  'ref_protected', 'ref_path',
] as const;

/** The principal as the record and the manifest keep it. */
export function principalRecord(p: Principal): Record<string, unknown> {
  return { kind: p.kind, issuer: p.issuer, subject: p.subject, claims: p.claims, read_only: p.readOnly };
}
