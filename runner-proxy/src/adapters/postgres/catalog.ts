import type { Socket } from 'node:net';
import { FrameQueue } from './codec/frame-queue.js';
import { Backend, readDataRow, readNotice, writeQuery } from './codec/messages.js';
import { connectUpstream, type Target, type UpstreamConnection } from './upstream.js';

/**
 * The names a relation and its columns had when the gateway first saw them (by OID and attribute
 * number): masks match those as well as the current ones, so that a rename keeps a column masked.
 */
export interface FirstSeen {
  schema: string;
  name: string;
  /** First-seen column names by current name. */
  columns: ReadonlyMap<string, string>;
}

/** A table as the catalog describes it: enough to match mask rules by name. */
export interface TableInfo {
  firstSeen: FirstSeen;
  oid: number;
  schema: string;
  name: string;
  /** Views and materialized views report their own columns, not their base tables'. */
  isView: boolean;
  /** Column names by attribute number. */
  columns: ReadonlyMap<number, string>;
  /** Column names in attribute order, for INSERT and COPY without a column list. */
  ordered: readonly string[];
}

/** A relation as a statement names it: its columns in order and, for a view, its definition. */
export interface RelationInfo {
  firstSeen?: FirstSeen;
  schema: string;
  name: string;
  columns: readonly string[];
  /** Views and materialized views: the SELECT they are defined by, as the target prints it. */
  definition?: string;
}

/**
 * Resolves table OIDs (from RowDescription) and table names (from statements) through the target's
 * catalog, on a connection of the gateway's own, once per table: results are cached by OID. One
 * catalog serves every session of a connection; its queries run one at a time.
 */
export class Catalog {
  readonly #target: Target;
  readonly #tables = new Map<number, TableInfo>();
  /** Relations by the name a statement used (`null`: no such relation); cleared with each new version. */
  readonly #relations = new Map<string, RelationInfo | null>();
  /** By OID: the names first seen, attribute number by attribute number; kept across versions. */
  readonly #identities = new Map<number, { schema: string; name: string; columns: Map<number, string> }>();
  #ownFunctions: Promise<ReadonlySet<string>> | undefined;
  /** Changes whenever DDL may have changed what names mean; results derived from the catalog key on it. */
  version = 0;
  #connection: Promise<CatalogConnection> | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(target: Target) {
    this.#target = target;
  }

  cached(oid: number): TableInfo | undefined {
    return this.#tables.get(oid);
  }

  /** Looks up the OIDs not yet known; resolves once all are in the cache (unknown OIDs stay absent). */
  async describe(oids: readonly number[]): Promise<void> {
    const missing = [...new Set(oids)].filter((o) => o !== 0 && !this.#tables.has(o));
    if (missing.length === 0) return;
    const rows = await this.#query(
      `SELECT c.oid, n.nspname, c.relname, c.relkind, a.attnum, a.attname FROM pg_catalog.pg_class c ` +
        `JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ` +
        `JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ` +
        `WHERE c.oid IN (${missing.map((o) => String(Math.trunc(o))).join(',')}) ORDER BY c.oid, a.attnum`,
    );
    const building = new Map<number, { schema: string; name: string; isView: boolean; columns: Map<number, string>; ordered: string[] }>();
    for (const [oid, schema, name, kind, attnum, attname] of rows) {
      const key = Number(oid);
      let t = building.get(key);
      if (!t) building.set(key, (t = { schema: schema!, name: name!, isView: kind === 'v' || kind === 'm', columns: new Map(), ordered: [] }));
      t.columns.set(Number(attnum), attname!);
      t.ordered.push(attname!);
    }
    for (const [oid, t] of building) this.#tables.set(oid, { oid, ...t, firstSeen: this.#firstSeen(oid, t.schema, t.name, t.columns) });
  }

  /** Records the names of a relation not seen before (and of its columns), and maps current names to them. */
  #firstSeen(oid: number, schema: string, name: string, columns: ReadonlyMap<number, string>): FirstSeen {
    let identity = this.#identities.get(oid);
    if (!identity) this.#identities.set(oid, (identity = { schema, name, columns: new Map() }));
    const byName = new Map<string, string>();
    for (const [attnum, column] of columns) {
      if (!identity.columns.has(attnum)) identity.columns.set(attnum, column);
      byName.set(column, identity.columns.get(attnum)!);
    }
    return { schema: identity.schema, name: identity.name, columns: byName };
  }

  /** A table by the name a statement uses (resolved with the target's default search_path). */
  async byName(qualifiedName: string): Promise<TableInfo | undefined> {
    const [row] = await this.#query(`SELECT pg_catalog.to_regclass(${literal(qualifiedName)})::oid`);
    const oid = Number(row?.[0] ?? 0);
    if (!oid) return undefined;
    this.#tables.delete(oid); // a name lookup happens before writes: take the table as it is now
    await this.describe([oid]);
    return this.#tables.get(oid);
  }

  /** Forgets what DDL may have changed: tables, views, functions. */
  invalidate(): void {
    this.version++;
    this.#tables.clear();
    this.#relations.clear();
    this.#ownFunctions = undefined;
  }

  relation(quotedName: string): RelationInfo | null | undefined {
    return this.#relations.get(quotedName);
  }

  /** Looks up relations by quoted, possibly schema-qualified name (as the target's default search_path resolves them). */
  async relations(quotedNames: readonly string[]): Promise<void> {
    const missing = [...new Set(quotedNames)].filter((n) => !this.#relations.has(n));
    if (missing.length === 0) return;
    const version = this.version;
    const rows = await this.#query(
      `SELECT q.name, n.nspname, c.relname, ` +
        `(SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.attnum, a.attname) ORDER BY a.attnum) FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), ` +
        `CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END, c.oid ` +
        `FROM pg_catalog.unnest(ARRAY[${missing.map(literal).join(',')}]::text[]) AS q(name) ` +
        // A temporary relation of the job's own session is not on this connection's search_path: found by name when only one session has it.
        `LEFT JOIN pg_catalog.pg_class c ON c.oid = COALESCE(pg_catalog.to_regclass(q.name), (SELECT min(t.oid::text)::oid FROM pg_catalog.pg_class t ` +
        `JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace WHERE tn.nspname LIKE 'pg\\_temp\\_%' ` +
        `AND '"' || pg_catalog.replace(t.relname, '"', '""') || '"' = q.name HAVING count(*) = 1)) ` +
        `LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace`,
    );
    if (version !== this.version) return;
    for (const [name, schema, relname, columns, definition, oid] of rows) {
      if (relname === null) {
        this.#relations.set(name!, null);
        continue;
      }
      const attributes = new Map(columns ? (JSON.parse(columns) as [number, string][]) : []);
      this.#relations.set(name!, {
        schema: schema!,
        name: relname,
        columns: [...attributes.values()],
        firstSeen: this.#firstSeen(Number(oid), schema!, relname, attributes),
        ...(definition !== null && { definition: definition! }),
      });
    }
  }

  /**
   * Names of functions the target defines itself (outside pg_catalog and extensions): what they return
   * cannot be traced to their arguments. A name shared with a built-in counts as the target's own.
   */
  ownFunctions(): Promise<ReadonlySet<string>> {
    const loading = (this.#ownFunctions ??= this.#query(
      `SELECT DISTINCT p.proname FROM pg_catalog.pg_proc p WHERE p.pronamespace <> 'pg_catalog'::pg_catalog.regnamespace ` +
        `AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'e')`,
    ).then((rows) => new Set(rows.map(([name]) => name!))));
    loading.catch(() => (this.#ownFunctions = undefined));
    return loading;
  }

  close(): void {
    void this.#connection?.then((c) => c.close()).catch(() => undefined);
    this.#connection = undefined;
  }

  #query(sql: string): Promise<(string | null)[][]> {
    // The target may end the gateway's own connection while it idles (pg_terminate_backend,
    // idle_session_timeout, a restart): a lookup only reads, so it is asked once more on a new connection.
    const run = this.#queue.then(() => this.#attempt(sql).catch((e: unknown) => (e instanceof ConnectionLost ? this.#attempt(sql) : Promise.reject(e))));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #attempt(sql: string): Promise<(string | null)[][]> {
    let connection: CatalogConnection;
    try {
      connection = await (this.#connection ??= CatalogConnection.open(this.#target));
      if (connection.closed) connection = await (this.#connection = CatalogConnection.open(this.#target));
    } catch (e) {
      this.#connection = undefined;
      throw e;
    }
    try {
      return await connection.query(sql);
    } catch (e) {
      if (e instanceof ConnectionLost) this.#connection = undefined;
      throw e;
    }
  }
}

/** The catalog's connection ended under a query, rather than the query failing: it may be asked again on a new one. */
class ConnectionLost extends Error {}

const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** A minimal simple-query client over the gateway's own upstream connection. */
class CatalogConnection {
  readonly #upstream: UpstreamConnection;
  readonly #frames: FrameQueue;
  closed = false;

  private constructor(upstream: UpstreamConnection) {
    this.#upstream = upstream;
    this.#frames = new FrameQueue(upstream.socket as Socket, 'the catalog connection', Buffer.concat(upstream.leftover));
    upstream.socket.once('close', () => (this.closed = true));
  }

  static async open(target: Target): Promise<CatalogConnection> {
    return new CatalogConnection(await connectUpstream(target, { application_name: 'govern catalog' }));
  }

  /** Runs one query; its rows as text, or its error. */
  async query(sql: string): Promise<(string | null)[][]> {
    this.#upstream.socket.write(writeQuery(sql));
    const rows: (string | null)[][] = [];
    let error: string | undefined;
    for (;;) {
      const { code, frame } = await this.#frames.next().catch((e: Error) => {
        // The socket failed or closed (a target's FATAL comes just before): this connection is done.
        this.closed = true;
        throw new ConnectionLost(e.message);
      });
      if (code === Backend.DataRow) rows.push(readDataRow(frame).map((c) => (c === null ? null : c.toString('utf8'))));
      else if (code === Backend.ErrorResponse) error = readNotice(frame).get('M') ?? 'catalog query failed';
      else if (code === Backend.ReadyForQuery) {
        if (error) throw new Error(error);
        return rows;
      }
    }
  }

  close(): void {
    this.#upstream.socket.end();
  }
}
