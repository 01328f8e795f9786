/**
 * Every error govern reports has a stable code and a one-sentence message that names the thing to fix.
 * The codes are listed in the README; keep the two in step.
 */
export const ErrorCode = {
  Usage: 'GOVERN_USAGE',
  PolicyInvalid: 'GOVERN_POLICY_INVALID',
  PolicyNotFound: 'GOVERN_POLICY_NOT_FOUND',
  TokenMissing: 'GOVERN_TOKEN_MISSING',
  TokenRejected: 'GOVERN_TOKEN_REJECTED',
  IssuerUnreachable: 'GOVERN_ISSUER_UNREACHABLE',
  AdapterUnavailable: 'GOVERN_ADAPTER_UNAVAILABLE',
  GatewayNotRunning: 'GOVERN_GATEWAY_NOT_RUNNING',
  GatewayStartFailed: 'GOVERN_GATEWAY_START_FAILED',
  ControlFailed: 'GOVERN_CONTROL_FAILED',
  RecordingFailed: 'GOVERN_RECORDING_FAILED',
  ApprovalNotFound: 'GOVERN_APPROVAL_NOT_FOUND',
  BundleNotFound: 'GOVERN_BUNDLE_NOT_FOUND',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class GovernError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GovernError';
    this.code = code;
  }
}

/** One finding in a policy file, already placed at the line and column it concerns. */
export interface PolicyProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

export class PolicyError extends GovernError {
  readonly problems: readonly PolicyProblem[];
  constructor(problems: readonly PolicyProblem[]) {
    const sorted = [...problems].sort((a, b) => a.line - b.line || a.col - b.col);
    super(ErrorCode.PolicyInvalid, sorted.map(formatProblem).join('\n'));
    this.problems = sorted;
  }
}

export function formatProblem(p: PolicyProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}

/** The token check that failed, for the manifest-free early exit and for tests. */
export class TokenRejectedError extends GovernError {
  readonly check: string;
  constructor(check: string, message: string, options?: { cause?: unknown }) {
    super(ErrorCode.TokenRejected, `OIDC token rejected: ${message}`, options);
    this.check = check;
  }
}
