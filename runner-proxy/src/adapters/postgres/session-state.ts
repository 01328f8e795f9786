import { nodeType as typed } from './classify.js';
import type { SqlParser } from './parser.js';

/**
 * What one statement does to the session's named objects: PostgreSQL's prepared statements (SQL
 * PREPARE and the protocol's Parse share one namespace), its portals (the protocol's Bind and SQL
 * DECLARE share another) and its savepoints, whose rollback closes the portals opened after them.
 */
export type StateEffect =
  /** `text`: the PREPARE statement alone, to classify what it prepares apart from the rest of its message. */
  | { kind: 'prepare'; name: string; text: string }
  | { kind: 'deallocate'; name?: string }
  | { kind: 'declare'; name: string; hold: boolean }
  | { kind: 'close'; name?: string }
  | { kind: 'savepoint' | 'rollbackTo' | 'release'; name: string }
  | { kind: 'discard' }
  /** EXECUTE, FETCH, MOVE: reads the named object. */
  | { kind: 'use'; namespace: 'statement' | 'portal'; name: string }
  | { kind: 'none' };

/** A statement's texts with no word of these change or use no named object: they are not parsed again for it. */
const STATE_WORDS = /\b(prepare|execute|deallocate|declare|fetch|move|close|savepoint|rollback|release|discard)\b/i;
const CURSOR_OPT_HOLD = 0x20;
const NONE: readonly StateEffect[] = [];

/** The effects of each statement of a text, in order: one per CommandComplete the target sends for it. */
export function stateEffects(sql: string, parser: SqlParser): readonly StateEffect[] {
  if (!STATE_WORDS.test(sql)) return NONE;
  let stmts: { stmt?: unknown; stmt_location?: number; stmt_len?: number }[];
  try {
    stmts = (parser.parse(sql) as { stmts?: typeof stmts }).stmts ?? [];
  } catch {
    return NONE;
  }
  const bytes = Buffer.from(sql);
  return stmts.map((s) => {
    const start = s.stmt_location ?? 0;
    return effectOf(s.stmt, () => bytes.toString('utf8', start, s.stmt_len ? start + s.stmt_len : bytes.length));
  });
}

function effectOf(stmt: unknown, text: () => string): StateEffect {
  const t = typed(stmt);
  if (!t) return { kind: 'none' };
  const [type, n] = t;
  const name = (key: string) => (n[key] === undefined ? undefined : String(n[key]));
  switch (type) {
    case 'PrepareStmt':
      return { kind: 'prepare', name: name('name')!, text: text() };
    case 'DeallocateStmt':
      return n.isall || n.name === undefined ? { kind: 'deallocate' } : { kind: 'deallocate', name: name('name')! };
    case 'DeclareCursorStmt':
      return { kind: 'declare', name: name('portalname')!, hold: ((Number(n.options) || 0) & CURSOR_OPT_HOLD) !== 0 };
    case 'ClosePortalStmt':
      return n.portalname === undefined ? { kind: 'close' } : { kind: 'close', name: name('portalname')! };
    case 'DiscardStmt':
      return n.target === 'DISCARD_ALL' ? { kind: 'discard' } : { kind: 'none' };
    case 'ExecuteStmt':
      return { kind: 'use', namespace: 'statement', name: name('name')! };
    case 'FetchStmt':
      return { kind: 'use', namespace: 'portal', name: name('portalname')! };
    case 'TransactionStmt': {
      const kind = n.kind === 'TRANS_STMT_SAVEPOINT' ? 'savepoint' : n.kind === 'TRANS_STMT_ROLLBACK_TO' ? 'rollbackTo' : n.kind === 'TRANS_STMT_RELEASE' ? 'release' : undefined;
      return kind ? { kind, name: name('savepoint_name')! } : { kind: 'none' };
    }
    default:
      return { kind: 'none' };
  }
}

export type NamedObject = { namespace: 'statement' | 'portal'; name: string };

/** The objects an effect creates, drops or reads (`*`: all of a namespace). */
export function namesOf(effect: StateEffect): NamedObject[] {
  return effect.kind === 'use' ? [{ namespace: effect.namespace, name: effect.name }] : changedNames(effect);
}

function changedNames(effect: StateEffect): NamedObject[] {
  switch (effect.kind) {
    case 'prepare':
      return [{ namespace: 'statement', name: effect.name }];
    case 'deallocate':
      return [{ namespace: 'statement', name: effect.name ?? '*' }];
    case 'declare':
      return [{ namespace: 'portal', name: effect.name }];
    case 'close':
      return [{ namespace: 'portal', name: effect.name ?? '*' }];
    case 'discard':
      return [{ namespace: 'statement', name: '*' }, { namespace: 'portal', name: '*' }];
    case 'rollbackTo':
    case 'release':
      return [{ namespace: 'portal', name: '*' }];
    default:
      return [];
  }
}

interface Held<T> {
  value: T;
  /** The savepoint level the portal was opened at (0: the transaction itself); undefined once it outlives its transaction. */
  level?: number;
  hold?: boolean;
}

/** Puts back what a message changed when the target did not do it. `failed`: it failed itself, rather than being skipped after an earlier failure. */
export type Undo = (failed: boolean) => void;

/**
 * The session's named objects as the target holds them. A simple query's changes enter when the
 * target confirms each statement (its CommandComplete); a protocol message's change enters at once,
 * for the messages after it in the same batch, and is undone when the target fails or skips it.
 * Transactions end the portals opened in them (WITH HOLD cursors outlive a commit, not a rollback),
 * a rollback to a savepoint closes the portals opened after it; prepared statements outlive both.
 * A message that names an object changed by an earlier batch the target has not yet answered waits
 * for that answer, so that nothing is decided on a change the target may still refuse.
 */
export class SessionState<S, P> {
  readonly #statements = new Map<string, S>();
  readonly #portals = new Map<string, Held<P>>();
  readonly #savepoints: string[] = [];
  /** Batches (simple queries, extended-protocol runs up to Sync) sent and answered with ReadyForQuery. */
  #sent = 0;
  #answered = 0;
  /** The batch that last changed each name, by namespace. */
  readonly #changedIn = new Map<string, number>();
  #failedThisBatch = false;
  #waiting: (() => void)[] = [];

  statement(name: string): S | undefined {
    return this.#statements.get(name);
  }

  portal(name: string): P | undefined {
    return this.#portals.get(name)?.value;
  }

  /** Parse, or a confirmed PREPARE. */
  defineStatement(name: string, value: S): Undo {
    const previous = this.#statements.get(name);
    this.#statements.set(name, value);
    this.#changed('statement', name);
    // A failed Parse of the unnamed statement has dropped the one before it; a named one keeps it.
    return (failed) => this.#statements.get(name) === value && this.#restore(this.#statements, name, failed && name === '' ? undefined : previous);
  }

  closeStatement(name: string): Undo {
    const previous = this.#statements.get(name);
    this.#statements.delete(name);
    this.#changed('statement', name);
    return () => previous !== undefined && !this.#statements.has(name) && this.#statements.set(name, previous);
  }

  /** Bind, or a confirmed DECLARE. */
  openPortal(name: string, value: P, hold = false): Undo {
    const previous = this.#portals.get(name);
    const held: Held<P> = { value, level: this.#savepoints.length, hold };
    this.#portals.set(name, held);
    this.#changed('portal', name);
    return (failed) => this.#portals.get(name) === held && this.#restore(this.#portals, name, failed && name === '' ? undefined : previous);
  }

  closePortal(name: string): Undo {
    const previous = this.#portals.get(name);
    this.#portals.delete(name);
    this.#changed('portal', name);
    return () => previous !== undefined && !this.#portals.has(name) && this.#portals.set(name, previous);
  }

  /** A simple query is sent: the names its statements change are unsettled until the target answers it. */
  sending(effects: readonly StateEffect[]): void {
    for (const effect of effects) for (const name of changedNames(effect)) this.#changed(name.namespace, name.name);
  }

  /** What a simple query's statement did, once the target confirmed it; `define` makes the entries of PREPARE and DECLARE. */
  confirmed(effect: StateEffect, define: { statement(name: string): S; portal(name: string): P }): void {
    switch (effect.kind) {
      case 'prepare':
        this.#statements.set(effect.name, define.statement(effect.name));
        break;
      case 'deallocate':
        if (effect.name !== undefined) this.#statements.delete(effect.name);
        else this.#statements.clear();
        break;
      case 'declare':
        this.#portals.set(effect.name, { value: define.portal(effect.name), level: this.#savepoints.length, hold: effect.hold });
        break;
      case 'close':
        if (effect.name !== undefined) this.#portals.delete(effect.name);
        else this.#portals.clear();
        break;
      case 'discard':
        this.#statements.clear();
        this.#portals.clear();
        break;
      case 'savepoint':
        this.#savepoints.push(effect.name);
        break;
      case 'rollbackTo': {
        const at = this.#savepoints.lastIndexOf(effect.name);
        if (at < 0) break;
        this.#savepoints.length = at + 1;
        this.#dropPortals((h) => h.level !== undefined && h.level > at);
        break;
      }
      case 'release': {
        const at = this.#savepoints.lastIndexOf(effect.name);
        if (at < 0) break;
        this.#savepoints.length = at;
        for (const h of this.#portals.values()) if (h.level !== undefined && h.level > at) h.level = at;
        break;
      }
      default:
        break;
    }
  }

  /** A transaction ended: its portals close, but WITH HOLD cursors of a committed one. */
  ended(committed: boolean): void {
    this.#savepoints.length = 0;
    this.#dropPortals((h) => h.level !== undefined && !(committed && h.hold));
    for (const h of this.#portals.values()) h.level = undefined;
  }

  /** A command tag that ends a transaction, or (ROLLBACK TO) the effect that explains it. */
  tagged(tag: string, effect: StateEffect | undefined): void {
    if (effect?.kind === 'rollbackTo' || effect?.kind === 'savepoint' || effect?.kind === 'release') return;
    if (tag === 'COMMIT' || tag === 'PREPARE TRANSACTION') this.ended(true);
    else if (tag === 'ROLLBACK') this.ended(false);
  }

  // ---- batches ----

  /** Every batch sent has been answered: nothing can be unsettled. */
  get quiet(): boolean {
    return this.#answered === this.#sent;
  }

  sent(): void {
    this.#sent++;
  }

  failed(): void {
    this.#failedThisBatch = true;
  }

  /** ReadyForQuery: the oldest batch is answered; status I means no transaction is open any more. */
  answered(status: string): void {
    this.#answered = Math.min(this.#answered + 1, this.#sent);
    if (status === 'I') this.ended(!this.#failedThisBatch);
    this.#failedThisBatch = false;
    if (this.#answered === this.#sent) for (const resume of this.#waiting.splice(0)) resume();
  }

  /** Whether a message naming these objects must wait: an earlier batch changed one and is not answered yet. */
  unsettled(names: readonly NamedObject[]): boolean {
    if (this.#answered === this.#sent) return false;
    const pending = (key: string) => {
      const batch = this.#changedIn.get(key);
      return batch !== undefined && batch > this.#answered && batch <= this.#sent;
    };
    return names.some(({ namespace, name }) => pending(`${namespace}\u0000${name}`) || pending(`${namespace}\u0000*`));
  }

  /** Resolves once every batch sent so far is answered. */
  settled(): Promise<void> {
    if (this.#answered === this.#sent) return Promise.resolve();
    return new Promise((resume) => this.#waiting.push(resume));
  }

  #changed(namespace: 'statement' | 'portal', name: string): void {
    // Changes are made by the batch being built, which is sent after the messages in it.
    this.#changedIn.set(`${namespace}\u0000${name}`, this.#sent + 1);
  }

  #restore<T>(map: Map<string, T>, name: string, previous: T | undefined): void {
    if (previous === undefined) map.delete(name);
    else map.set(name, previous);
  }

  #dropPortals(drop: (held: Held<P>) => boolean): void {
    for (const [name, held] of this.#portals) if (drop(held)) this.#portals.delete(name);
  }
}
