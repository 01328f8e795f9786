/**
 * What a PostgreSQL session keeps track of: statements (by exact text, and as the target holds them from
 * their Parse until their Close), portals, and the answers it waits for from the target, in order.
 */
import type { Ruling } from '../../core/governor.js';
import type { Operation } from '../../policy/operation.js';
import type { SqlClassification } from './classify.js';
import type { Field, NoticeFields } from './codec/messages.js';
import type { ColumnLineage, StatementLineage } from './lineage.js';
import type { ResultPlan } from './result-mask.js';
import type { StateEffect, Undo } from './session-state.js';
import type { WritePlan } from './write-mask.js';

/** A statement's operation, as the governor is asked about it, with what lineage found in it. */
export type SqlOperation = Operation & { sql: SqlClassification; lineage?: StatementLineage; maskedCopy?: string; maskedPredicate?: string };

/** A statement text with its operation, and that operation as last traced through the catalog. */
export interface KnownStatement {
  sql: string;
  op: SqlOperation;
  traced?: SqlOperation & { lineage: StatementLineage };
}

/** A statement as the gateway knows it, from its Parse until its Close. */
export interface Statement {
  ruling: Ruling;
  sql?: SqlClassification;
  /** Where its result columns come from; set when the connection masks columns. */
  lineage?: StatementLineage;
  fields?: Field[];
  write?: WritePlan;
  text: string;
  /** Held for approval, or PREPAREd in SQL (decided at its EXECUTE): asked at each Bind, with that Bind's parameters. */
  held?: Operation;
  /** What it does to the session's named objects when it runs (SAVEPOINT, DECLARE…). */
  effects?: readonly StateEffect[];
}

export interface Portal {
  statement: Statement | undefined;
  /** The ruling it runs under: its statement's, or the approval of this one execution. */
  ruling?: Ruling;
  resultFormats: number[];
  fields?: Field[];
  plan?: ResultPlan;
}

/** What the target's next responses answer, in the order the requests went out. */
export type Pending =
  | { kind: 'query'; ruling: Ruling; sql?: SqlClassification; started: number; rows: number; bytes: number; masked: number; plan: ResultPlan; error?: string; substitution?: NoticeFields; tag?: string; written?: number; maskedBy?: Record<string, number>; lineage?: StatementLineage; results?: number; copiesOut?: number; op?: SqlOperation; effects?: readonly StateEffect[]; completedStatements?: number }
  | { kind: 'parse' | 'bind' | 'function'; substitution?: NoticeFields; undo?: Undo }
  | { kind: 'close'; undo: Undo }
  | { kind: 'sync' }
  | { kind: 'describe'; statement?: Statement; portal?: Portal }
  | { kind: 'execute'; portal: Portal; started: number; rows: number; bytes: number; masked: number; tag?: string; written?: number; maskedBy?: Record<string, number> };

/** What a statement's run did, as the governor records it when it completes. */
export type RunStats = { started: number; rows: number; bytes: number; masked: number; error?: string; tag?: string; written?: number; maskedBy?: Record<string, number> };

/** Lineage for a name the gateway has no trace of: every column and every read untraceable. */
const NOTHING: ColumnLineage = { sources: [], opaque: false };
export const UNTRACED: StatementLineage = lineageOf(undefined, { sources: [], opaque: true });

/** The lineage of a statement PREPAREd or a cursor DECLAREd earlier: its result columns, and what the text declaring it read. */
export function lineageOf(columns: readonly ColumnLineage[] | undefined, reads: ColumnLineage): StatementLineage {
  return { results: [columns ? { columns } : { unknown: true }], writes: [], predicates: [], defines: [], reads, checks: NOTHING, functionBodies: [] };
}
