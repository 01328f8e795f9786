import type { ColumnMask, Verdict } from '../policy/operation.js';
import { RuleEngine } from '../core/rules.js';
import { NO_IDENTITY, type Principal } from '../identity/principal.js';
import { trustProblem } from '../identity/verify.js';
import type { HttpRequestPattern, Policy } from '../policy/types.js';
import type { SqlParser } from '../adapters/postgres/parser.js';
import { OperationRebuilder, type RecordedOperation } from './redecide.js';
import { sessionLabel, type RecordedSession, type SkippedBundle } from './sessions.js';

export type ChangeKind = 'newly_blocked' | 'newly_held' | 'newly_allowed';
export const CHANGE_KINDS: readonly ChangeKind[] = ['newly_blocked', 'newly_held', 'newly_allowed'];

/** One operation (or many of one text) whose verdict would change. */
export interface ChangeExample {
  session: string;
  seq: number;
  connection: string;
  text: string;
  from: Verdict;
  to: Verdict;
  rule?: string;
  /** How many operations of the sessions had this connection and text. */
  count: number;
}

export interface ChangeGroup {
  /** Operations whose verdict changes this way. */
  count: number;
  /** Of them, how many ran in the recorded sessions (for blocks and holds: what would now be refused). */
  ran: number;
  examples: ChangeExample[];
}

export interface MaskChange {
  column: string;
  /** Operations whose results held the column. */
  operations: number;
  example: string;
}

export interface PolicyTestResult {
  policy: { file: string; sha256: string };
  sessions: { label: string; dir: string; policy_sha256: string; operations: number; identity?: string }[];
  skipped: SkippedBundle[];
  operations: number;
  unchanged: number;
  changes: Record<ChangeKind, ChangeGroup>;
  masks: { added: MaskChange[]; removed: MaskChange[] };
  /** Operations whose new verdict depends on what the bundle does not keep (request bodies, headers, query values). */
  undecided: ChangeGroup;
}

const EXAMPLES = 5;

/**
 * Re-decides every recorded operation of the sessions under a policy and says what would change:
 * verdicts (newly blocked, held, allowed), masks by source column, and whether each session's
 * identity would still be trusted. Masks are judged from the source columns discovery recorded per
 * statement shape, against the masks of the policy in force (its copy in the bundle, else the columns
 * the session's results counted as masked).
 */
export function testPolicy(policy: Policy, sessions: readonly RecordedSession[], skipped: readonly SkippedBundle[], parser: SqlParser): PolicyTestResult {
  const rules = new RuleEngine({ rules: policy.rules, mode: 'enforce', protocols: policy.protocols });
  const rebuilder = new OperationRebuilder(parser);
  const unrecordedFacts = rulesReadingUnrecorded(policy);
  const result: PolicyTestResult = {
    policy: { file: policy.file, sha256: policy.sha256 },
    sessions: [],
    skipped: [...skipped],
    operations: 0,
    unchanged: 0,
    changes: { newly_blocked: emptyGroup(), newly_held: emptyGroup(), newly_allowed: emptyGroup() },
    masks: { added: [], removed: [] },
    undecided: emptyGroup(),
  };
  const masks = new MaskComparison();
  for (const session of sessions) {
    const principal = principalOf(session);
    const identity = policy.identity && principal.issuer ? trustProblem(policy.identity, principal.issuer, principal.claims) : undefined;
    let operations = 0;
    const maskedBefore = maskedBeforeIn(session);
    for (const recorded of rebuilder.operations(session)) {
      operations++;
      const decision = rules.evaluate(recorded.op, principal);
      const verdict = identity ? 'block' : decision.policyVerdict;
      if (recorded.shape !== undefined) masks.compare(recorded, session.discovery.statements[recorded.shape], decision.masks.columns, maskedBefore(recorded));
      if (verdict === recorded.verdict) {
        result.unchanged++;
        continue;
      }
      const rule = identity ? 'identity' : decision.rule;
      if (!identity && recorded.op.protocol === 'http' && unrecordedFacts.some((applies) => applies(recorded.op.connection))) {
        addExample(result.undecided, recorded, verdict, rule);
        continue;
      }
      addExample(result.changes[verdict === 'block' ? 'newly_blocked' : verdict === 'approve' ? 'newly_held' : 'newly_allowed'], recorded, verdict, rule);
    }
    result.operations += operations;
    result.sessions.push({ label: sessionLabel(session), dir: session.dir, policy_sha256: session.manifest.policy.sha256, operations, ...(identity && { identity }) });
  }
  result.masks = masks.changes();
  return result;
}

const emptyGroup = (): ChangeGroup => ({ count: 0, ran: 0, examples: [] });

function addExample(group: ChangeGroup, recorded: RecordedOperation, to: Verdict, rule: string | undefined): void {
  group.count++;
  if (recorded.ran) group.ran++;
  const { op, event, session } = recorded;
  const same = group.examples.find((e) => e.connection === op.connection && e.text === op.text);
  if (same) return void same.count++;
  if (group.examples.length >= EXAMPLES) return;
  group.examples.push({ session: sessionLabel(session), seq: event.seq, connection: op.connection, text: op.text, from: recorded.verdict, to, ...(rule && { rule }), count: 1 });
}

/** The identity the session ran as, as recorded. */
function principalOf(session: RecordedSession): Principal {
  const identity = session.manifest.identity as { kind?: string; issuer?: string; subject?: string; claims?: Record<string, unknown>; read_only?: boolean };
  if (identity.kind !== 'oidc') return NO_IDENTITY;
  return { kind: 'oidc', ...(identity.issuer && { issuer: identity.issuer }), claims: identity.claims ?? {}, readOnly: identity.read_only === true };
}

/** Whether a source column was masked, by table (bare and schema-qualified) and column name. */
type MaskedBefore = (table: string, qualified: string, column: string) => boolean;

/**
 * What the policy in force masked for an operation: its own column masks when the bundle carries it,
 * else every column the session's results counted as masked (`masked_by`, by `table.column`).
 */
function maskedBeforeIn(session: RecordedSession): (recorded: RecordedOperation) => MaskedBefore {
  if (session.policyInForce) {
    const rules = new RuleEngine({ rules: session.policyInForce.rules, mode: 'enforce', protocols: session.policyInForce.protocols });
    return (recorded) => {
      const columns = rules.maskPlan(recorded.op).columns;
      return (table, qualified, column) => columns.some((m) => m.matches(table, column) || m.matches(qualified, column));
    };
  }
  const masked = new Set<string>();
  for (const e of session.events) {
    for (const r of (e.results as { masked_by?: Record<string, number> }[] | undefined) ?? []) {
      for (const key of Object.keys(r.masked_by ?? {})) if (key.includes('.')) masked.add(key);
    }
  }
  const before: MaskedBefore = (table, _qualified, column) => masked.has(`${table}.${column}`);
  return () => before;
}

/** Tells, per connection, whether some rule of the policy reads request facts the bundle does not keep. */
function rulesReadingUnrecorded(policy: Policy): ((connection: string) => boolean)[] {
  return policy.rules
    .filter((r) => r.condition?.json !== undefined || r.when?.headers || r.when?.query || (r.condition?.http as readonly (string | HttpRequestPattern)[] | undefined)?.some((p) => typeof p !== 'string' && (p.headers || p.query)))
    .map((r) => (connection: string) => !r.when?.connection || r.when.connection.includes(connection));
}

/** Compares, per source column, the masks the policy in force applied with those the tested policy would. */
class MaskComparison {
  readonly #added = new Map<string, MaskChange>();
  readonly #removed = new Map<string, MaskChange>();

  compare(recorded: RecordedOperation, sources: readonly (string | null)[] | undefined, masks: readonly ColumnMask[], maskedBefore: MaskedBefore): void {
    for (const source of sources ?? []) {
      if (!source) continue;
      const dot = source.lastIndexOf('.');
      const [qualified, column] = [source.slice(0, dot), source.slice(dot + 1)];
      const table = qualified.slice(qualified.indexOf('.') + 1);
      const before = maskedBefore(table, qualified, column);
      const after = masks.some((m) => m.matches(table, column) || m.matches(qualified, column));
      if (before === after) continue;
      const into = after ? this.#added : this.#removed;
      const change = into.get(source) ?? { column: source, operations: 0, example: recorded.op.text };
      change.operations++;
      into.set(source, change);
    }
  }

  changes(): PolicyTestResult['masks'] {
    const sorted = (m: Map<string, MaskChange>) => [...m.values()].sort((a, b) => a.column.localeCompare(b.column));
    return { added: sorted(this.#added), removed: sorted(this.#removed) };
  }
}
