import type { PolicyProblem } from '../base/errors.js';
import type { ProtocolRegistry } from './protocol.js';

/** The policy after validation and `${VAR}` resolution: what the rest of govern works from. */

/** The name of a protocol the registry declares (adapters/index.ts): postgres, mysql, ssh, http. */
export type Protocol = string;
export type RuleAction = 'mask' | 'block' | 'approve' | 'allow';
export type MaskStrategy = 'redact' | 'partial' | 'hash';
export type DetectorType =
  | 'credit_card'
  | 'us_ssn'
  | 'email'
  | 'iban'
  | 'phone'
  | 'aws_key'
  | 'bearer_token'
  | 'private_key';

export type ClaimValue = string | number | boolean;

export interface TrustEntry {
  /** As written: github, gitlab or a URL. */
  issuer: string;
  claims: Readonly<Record<string, ClaimValue | readonly ClaimValue[]>>;
  /** `any_repository: true`: the entry means every repository on the forge (dangerous; see README). */
  anyRepository?: boolean;
}

export interface IdentityPolicy {
  audience: string;
  trust: readonly TrustEntry[];
}

export interface ConnectionSpec {
  name: string;
  protocol: Protocol;
  /** The variable the job gets. */
  export: string;
  /** The protocol's settings with every `${VAR}` resolved. Never logged, never recorded. */
  settings: Readonly<Record<string, unknown>>;
}

/**
 * What an HTTP request must look like, in `when` and as an item of an `http` condition: every key given
 * must match. A list means any of; header names are lower case; host, path and values are globs.
 */
export interface HttpRequestPattern {
  /** Host globs, lower case: the target's host name, for a connection or a host the proxy intercepts. */
  host?: readonly string[];
  method?: readonly string[];
  path?: readonly string[];
  /** Header name (lower case) to value globs: some value the job sent under that name matches one. */
  headers?: Readonly<Record<string, readonly string[]>>;
  /** Query parameter name to value globs, compared decoded: some value of that name matches one. */
  query?: Readonly<Record<string, readonly string[]>>;
}

/**
 * What a block, approve or allow rule matches: `json` (a condition on the request's JSON body), and the
 * keys the protocols declare (sql, shell, ssh, sftp, http), each value as its declaration's check returns it.
 */
export interface RuleCondition {
  readonly [key: string]: unknown;
  json?: string;
}

export interface MaskSpec {
  columns: readonly string[];
  types: readonly DetectorType[];
  json: readonly string[];
  /** HTTP header names (lower case) whose values are masked: by the rule's types, or whole without types. */
  headers: readonly string[];
  on: 'read' | 'write';
  strategy: MaskStrategy;
  /**
   * Whether statements may filter, join, group, order or compare on the masked columns (an oracle for
   * their values). Absent: they may.
   */
  predicates?: { refuse: boolean; allowParamEquality: boolean };
}

export interface RuleSpec {
  name: string;
  action: RuleAction;
  when?: { connection?: readonly string[] } & HttpRequestPattern;
  condition?: RuleCondition;
  mask?: MaskSpec;
  /**
   * Makes an allow rule an allow-list: what it covers (the shell commands or HTTP requests of the
   * connections its `when` names) and does not list is refused, or held for approval.
   */
  others?: 'refuse' | 'approve';
}

export interface ApprovalsSpec {
  via: 'github' | 'gitlab' | 'cli';
  approvers: readonly string[];
  timeoutMs: number;
  allowSelfApproval: boolean;
  maxPending: number;
}

/** The forward proxy: which hosts the job reaches through HTTPS_PROXY are opened, passed, or refused. */
export interface ProxySpec {
  /** Host globs inspected like http connections, besides the hosts the http connections name. */
  intercept: readonly string[];
  /** Host globs passed through unopened, recorded as host, port and bytes. */
  tunnel: readonly string[];
  /** Every other host: tunnelled, or refused (an egress allow-list). */
  others: 'tunnel' | 'refuse';
}

export interface Policy {
  /** The path the policy was read from, as given. */
  file: string;
  /** sha256 of the file's bytes, for the manifest. */
  sha256: string;
  /** The file's bytes as read, no variable expanded: the bundle keeps them as policy.yml. */
  source: Buffer;
  identity?: IdentityPolicy;
  connections: readonly ConnectionSpec[];
  rules: readonly RuleSpec[];
  approvals: ApprovalsSpec;
  recording: { results: 'none' | 'summary' | 'masked' };
  mode: 'enforce' | 'observe';
  /** Present when the job also gets a forward proxy. */
  proxy?: ProxySpec;
  /** What `policy check` and `start` warn about: valid, but weaker than it looks (e.g. trust by name only). */
  warnings: readonly PolicyProblem[];
  /** Names of the environment variables the policy reads: the job's own environment never keeps them. */
  variables: readonly string[];
  /** The protocols the policy was read against: what its connections and conditions mean. */
  protocols: ProtocolRegistry;
}
