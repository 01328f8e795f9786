/**
 * How the results a PostgreSQL session relays are masked: the masks each response is under, and the
 * plan for a result's rows, made from its RowDescription and the lineage of its columns (kept with the
 * description, so a statement run again is planned once).
 */
import type { MaskPlan } from '../../policy/operation.js';
import { EMPTY_MASK_PLAN } from '../../core/rules.js';
import type { Catalog } from './catalog.js';
import { readRowDescription, type Field } from './codec/messages.js';
import { maskingSource, touchesMasked, type ColumnLineage, type ResultLineage } from './lineage.js';
import { masksResults, PASS_THROUGH, planResult, tableOids, type ResultPlan } from './result-mask.js';
import type { SessionState } from './session-state.js';
import { UNTRACED, type Pending, type Portal, type Statement } from './statements.js';

/** A RowDescription as read, with the plans made from it (by mask plan) while the catalog stays as it was. */
interface Description {
  frame: Buffer;
  fields: Field[];
  catalogVersion: number;
  plans: Map<MaskPlan, { columns: readonly ColumnLineage[] | null | undefined; plan: ResultPlan }>;
}

/** A result's plan, once the tables in `lookup` (new to the catalog) are looked up. */
export interface Planning {
  lookup: number[];
  /** Sets the plan on what the description answers (a query, a described statement or portal). */
  apply(): void;
}

export class ResultPlans {
  readonly #catalog: Catalog;
  /** Prepared statements and portals as the target holds them, whose lineage a result may come from. */
  readonly #state: SessionState<Statement, Portal>;
  /** Every mask rule of this connection, looked up once when first needed. */
  readonly #connectionPlanOf: () => MaskPlan;
  #connectionPlan: MaskPlan | undefined;
  #lastDescription: Description | undefined;

  constructor(catalog: Catalog, state: SessionState<Statement, Portal>, connectionPlan: () => MaskPlan) {
    this.#catalog = catalog;
    this.#state = state;
    this.#connectionPlanOf = connectionPlan;
  }

  /** Masks for what belongs to no statement (notices, notifications): every rule of this connection. */
  connectionMasks(): MaskPlan {
    return (this.#connectionPlan ??= this.#connectionPlanOf());
  }

  /** The plan the rows now arriving are masked by. */
  current(head: Pending | undefined): ResultPlan {
    if (head?.kind === 'query') return head.plan;
    if (head?.kind !== 'execute') return PASS_THROUGH;
    const portal = head.portal;
    if (portal.plan) return portal.plan;
    const masks = this.masksOf(head);
    const fields = portal.statement?.fields;
    if (fields) return (portal.plan = planResult(fields, masks, this.#catalog, portal.resultFormats, this.#statementColumns(portal.statement)));
    if (masksResults(masks)) {
      // Rows of a statement never described: which columns they hold is unknown, so nothing passes.
      throw new Error('a result arrived for a statement whose columns were never described; the gateway cannot mask it');
    }
    return (portal.plan = PASS_THROUGH);
  }

  masksOf(head: Pending | undefined): MaskPlan {
    if (head?.kind === 'query') return head.ruling.masks;
    if (head?.kind === 'execute') return head.portal.statement?.ruling.masks ?? EMPTY_MASK_PLAN;
    if (head?.kind === 'describe') return (head.statement ?? head.portal?.statement)?.ruling.masks ?? EMPTY_MASK_PLAN;
    return this.connectionMasks();
  }

  /** Plans masking for a result described by `frame`; undefined when nothing is masked (the description need not even be read). */
  described(frame: Buffer, head: Pending | undefined): Planning | undefined {
    const masks = this.masksOf(head);
    if (!masksResults(masks)) return undefined;
    const described = this.#described(frame);
    const columns = head?.kind === 'query' ? this.#queryColumns(head) : head?.kind === 'describe' && head.portal ? this.#statementColumns(head.portal.statement) : undefined;
    const apply = () => {
      if (head?.kind === 'query') head.plan = this.#plan(described, masks, columns);
      else if (head?.kind === 'describe') {
        if (head.statement) head.statement.fields = described.fields;
        if (head.portal) {
          head.portal.fields = described.fields;
          head.portal.plan = this.#plan(described, masks, columns);
        }
      }
    };
    // Planned before for these masks and columns: the tables it names were looked up then.
    const lookup = masks.columns.length === 0 || this.#knownPlan(described, masks, columns) ? [] : tableOids(described.fields).filter((o) => !this.#catalog.cached(o));
    return { lookup, apply };
  }

  /** The fields of a RowDescription; a statement run again is described in the same bytes, read once. */
  #described(frame: Buffer): Description {
    const last = this.#lastDescription;
    if (last?.catalogVersion === this.#catalog.version && last.frame.equals(frame)) return last;
    return (this.#lastDescription = { frame: Buffer.from(frame), fields: readRowDescription(frame), catalogVersion: this.#catalog.version, plans: new Map() });
  }

  /** The plan made before from this description for these masks and columns, if any. */
  #knownPlan(described: Description, masks: MaskPlan, columns: readonly ColumnLineage[] | null | undefined): ResultPlan | undefined {
    const known = described.plans.get(masks);
    return known && known.columns === columns ? known.plan : undefined;
  }

  /** A result's masking plan, kept with its description for the masks and lineage it was made for. */
  #plan(described: Description, masks: MaskPlan, columns: readonly ColumnLineage[] | null | undefined): ResultPlan {
    const known = this.#knownPlan(described, masks, columns);
    if (known) return known;
    const plan = planResult(described.fields, masks, this.#catalog, undefined, columns);
    described.plans.set(masks, { columns, plan });
    return plan;
  }

  /** The lineage of the next result of a simple query (`results` counts those described); untraced (null) past the last one predicted. */
  #queryColumns(head: Extract<Pending, { kind: 'query' }>): readonly ColumnLineage[] | null | undefined {
    if (!head.lineage) return undefined;
    const result = head.lineage.results[head.results ?? 0];
    head.results = (head.results ?? 0) + 1;
    return this.#resultColumns(result);
  }

  #statementColumns(statement: Statement | undefined): readonly ColumnLineage[] | null | undefined {
    return statement?.lineage && this.#resultColumns(statement.lineage.results[0]);
  }

  #resultColumns(result: ResultLineage | undefined): readonly ColumnLineage[] | null {
    if (!result || 'unknown' in result) return null;
    if ('cursor' in result) return this.#resultColumns(this.#state.portal(result.cursor)?.statement?.lineage?.results[0]);
    if ('prepared' in result) return this.#resultColumns(this.#state.statement(result.prepared)?.lineage?.results[0]);
    return result.columns;
  }

  /**
   * Whether the statement being answered reads a masked column (itself, or what it EXECUTEs or
   * FETCHes), so its errors and notices could quote a value. Rows it writes are read by constraints,
   * indexes and triggers: only an integrity violation (class 23, whose values are in its DETAIL, masked
   * by maskNotice) keeps its words then.
   */
  readsMasked(head: Pending | undefined, sqlstate?: string): boolean {
    const lineage = head?.kind === 'query' ? head.lineage : head?.kind === 'execute' ? head.portal.statement?.lineage : undefined;
    if (lineage === undefined) return false;
    const masks = this.connectionMasks().columns;
    if (touchesMasked(lineage, masks)) return true;
    if (!sqlstate?.startsWith('23') && maskingSource(lineage.checks, masks) !== undefined) return true;
    return lineage.results.some((r) => {
      const named = 'cursor' in r ? this.#state.portal(r.cursor)?.statement : 'prepared' in r ? this.#state.statement(r.prepared) : undefined;
      return ('cursor' in r || 'prepared' in r) && touchesMasked(named?.lineage ?? UNTRACED, masks);
    });
  }
}
