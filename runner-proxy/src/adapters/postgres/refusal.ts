/**
 * What a PostgreSQL client is sent instead of a refused statement's results, or of an error or notice
 * that could quote a masked value. Refusals are answered in the protocol's own terms: the refused
 * message is replaced, on the target, by one that fails harmlessly (EXECUTE of, or a Bind to, a
 * statement that does not exist, named with a nonce), and the target's error by ours. The target
 * thereby aborts the transaction and skips to Sync exactly as it would for a real error, so the session
 * stays usable and in step, inside transaction blocks and pipelines alike.
 */
import { randomBytes } from 'node:crypto';
import type { Ruling } from '../../core/governor.js';
import type { MaskPlan } from '../../policy/operation.js';
import type { Masker } from '../../masking/masker.js';
import type { OutputBatch } from './codec/frames.js';
import { Backend, errorFields, Frontend, readNotice, writeBind, writeNotice, writeQuery, type NoticeFields } from './codec/messages.js';
import { utf8 } from './copy-mask.js';
import { maskingSource } from './lineage.js';
import { maskNotice, PASS_THROUGH, withheldNotice } from './result-mask.js';
import type { ResultPlans } from './result-plans.js';
import type { SessionState, Undo } from './session-state.js';
import type { Pending, Portal, RunStats, SqlOperation, Statement } from './statements.js';

export const SQLSTATE_REFUSED = '42501';

/** What the refusals of one session write to and read from. */
export interface RefusalContext {
  /** The target's answers still awaited, in order; a substitute's is awaited like any other. */
  pending: Pending[];
  state: SessionState<Statement, Portal>;
  /** What goes to the target. */
  toTarget: OutputBatch;
  plans: ResultPlans;
  masker: Masker;
}

export class Refusals {
  readonly #ctx: RefusalContext;
  readonly #nonce = `govern_refused_${randomBytes(8).toString('hex')}`;
  /** After a refusal in an extended-protocol batch, the client's messages up to Sync are dropped, as the target would. */
  #skipUntilSync = false;

  constructor(ctx: RefusalContext) {
    this.#ctx = ctx;
  }

  /** Whether a client message is dropped, being after a refusal and before the batch's Sync. */
  skips(code: number): boolean {
    return this.#skipUntilSync && code !== Frontend.Sync && code !== Frontend.Flush;
  }

  /** The client's Sync: what follows it is read again. */
  synced(): void {
    this.#skipUntilSync = false;
  }

  /** Simple protocol (Query, FunctionCall): the target runs a statement that fails, and we answer for it. */
  simple(ruling: Ruling, syntaxError?: string): void {
    const substitution = refusalFields(ruling, syntaxError);
    this.#ctx.pending.push({ kind: 'query', ruling, started: performance.now(), rows: 0, bytes: 0, masked: 0, plan: PASS_THROUGH, substitution });
    this.#ctx.state.sent();
    this.#ctx.toTarget.push(writeQuery(`EXECUTE ${this.#nonce}`));
  }

  /** Extended protocol: a Bind of a statement that does not exist fails; the target then skips to Sync. */
  extended(substitution: NoticeFields, kind: 'parse' | 'bind'): void {
    this.#ctx.pending.push({ kind, substitution });
    this.#ctx.toTarget.push(writeBind({ portal: '', statement: this.#nonce, paramFormats: [], params: [], resultFormats: [] }));
    this.#skipUntilSync = true;
  }

  /**
   * The target's ErrorResponse as the client gets it: ours for a substitute's, withheld when the
   * statement reads a masked column, masked where it quotes a value. `replaced` is the frame to send
   * instead of the target's, if any.
   */
  error(frame: Buffer, head: Pending | undefined): { fields: NoticeFields; replaced?: Buffer } {
    const { plans, masker } = this.#ctx;
    let fields = readNotice(frame);
    const substitution = head && 'substitution' in head ? head.substitution : undefined;
    if (substitution && (fields.get('M') ?? '').includes(this.#nonce)) fields = substitution;
    else if (plans.readsMasked(head, fields.get('C'))) fields = withheldNotice(fields);
    else if (!maskNotice(fields, plans.masksOf(head), masker)) return { fields };
    return { fields, replaced: writeNotice(Backend.ErrorResponse, fields) };
  }

  /** A NoticeResponse withheld or masked as an error would be: the frame to send instead, or undefined when it goes as it came. */
  notice(frame: Buffer, head: Pending | undefined): Buffer | undefined {
    const { plans, masker } = this.#ctx;
    const fields = readNotice(frame);
    if (plans.readsMasked(head, fields.get('C'))) return writeNotice(Backend.NoticeResponse, withheldNotice(fields));
    if (maskNotice(fields, plans.masksOf(head), masker)) return writeNotice(Backend.NoticeResponse, fields);
    return undefined;
  }

  /**
   * Extended protocol: after an error the target skips everything up to Sync; what the failed and
   * skipped messages would have changed is undone, latest first, and skipped executions complete failed.
   */
  skipToSync(head: Pending | undefined, message: string | undefined, completed: (ruling: Ruling | undefined, stats: RunStats) => void): void {
    const { pending, state } = this.#ctx;
    state.failed();
    const undone: { undo: Undo; failed: boolean }[] = [];
    while (pending.length && pending[0]!.kind !== 'sync') {
      const dropped = pending.shift()!;
      if (dropped.kind === 'execute') completed(dropped.portal.ruling, { ...dropped, error: message });
      if ('undo' in dropped && dropped.undo) undone.push({ undo: dropped.undo, failed: dropped === head });
    }
    for (const { undo, failed } of undone.reverse()) undo(failed);
  }
}

/** The ErrorResponse a refusal is answered with: the rule, or the parser's complaint for SQL it cannot read. */
export function refusalFields(ruling: Ruling, syntaxError?: string): NoticeFields {
  const requestNote = ruling.requestId ? ` (request ${ruling.requestId})` : '';
  return errorFields(
    'ERROR',
    syntaxError ? '42601' : SQLSTATE_REFUSED,
    `govern: ${ruling.message}${ruling.message?.includes(ruling.requestId ?? '\u0000') ? '' : requestNote}`,
    syntaxError ? `the SQL parser says: ${syntaxError}` : `rule: ${ruling.rule}`,
  );
}

/** A refusal for copying a value out of its mask, or for a predicate on it, says which column. */
export function explained(ruling: Ruling, op: SqlOperation): Ruling {
  const detail = ruling.rule === 'default-masked_copy' ? op.maskedCopy : ruling.rule === 'default-masked_predicate' ? op.maskedPredicate : undefined;
  return detail ? { ...ruling, message: `${ruling.message}: ${detail}` } : ruling;
}

/**
 * COPY output the gateway cannot mask is refused before it starts: binary output (no types to read it
 * by), and COPY (query) that may carry a masked column (no row description to find it by): one that
 * reads a table with masked columns and names such a column, `*`, or a whole row.
 */
export function unmaskableCopy(op: SqlOperation, masks: MaskPlan): string | undefined {
  const out = (op.sql.copies ?? []).filter((c) => !c.from);
  if (out.some((c) => c.format === 'binary') && (masks.columns.length || masks.detectors.size)) return 'refused: binary COPY output cannot be masked; use FORMAT text or csv';
  const encoded = out.find((c) => !utf8(c));
  if (encoded && (masks.columns.length || masks.detectors.size)) return `refused: COPY output with ENCODING ${encoded.encoding} cannot be masked; leave out ENCODING or use UTF8`;
  const queries = out.filter((c) => c.reads);
  // Lineage traces the first COPY (query) of a message.
  if (queries.length > 1 && masks.columns.length) return 'refused: a message with several COPY (query) … TO cannot be masked; send each COPY on its own';
  const copy = queries[0];
  if (!copy?.reads) return undefined;
  const bare = (name: string) => name.slice(name.lastIndexOf('.') + 1);
  const table = copy.reads.tables.find((t) => masks.columns.some((m) => m.matchesTable(t) || m.matchesTable(bare(t))));
  const { aliases, names } = copy.reads;
  const risky = table && names.find((n) => n === '*' || aliases.includes(n) || masks.columns.some((m) => m.matchesColumn(n)));
  if (risky !== undefined) return `refused: COPY (query) output from ${table} may carry a masked column (${risky}) and cannot be masked; COPY the table itself or SELECT`;
  // Whatever the names say, a column whose value derives from a masked one (through a view, an expression, a function) cannot be masked either.
  const derived = op.lineage?.copyOut?.findIndex((c) => maskingSource(c, masks.columns) !== undefined) ?? -1;
  if (derived >= 0) return `refused: column ${derived + 1} of the COPY (query) output derives from a masked column and cannot be masked; COPY the table itself or SELECT`;
  return undefined;
}
