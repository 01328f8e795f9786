import { PacketChannel } from './channel.js';
import type { Reach } from './classify.js';
import { connectUpstream, type Target } from './upstream.js';
import { Capability, isEof, readErr, Reader } from './packets.js';

const CAPABILITIES = Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH | Capability.LONG_PASSWORD | Capability.TRANSACTIONS;

/**
 * Which tables are views, and what each view's definition says, asked of the target's
 * information_schema on a connection of the gateway's own, and remembered until DDL runs. A view's
 * columns name the view as their table: they are masked by name, and by what its definition reads. A
 * table the catalog does not know (a derived table, a CTE) counts as a view without a definition.
 */
export class Catalog {
  readonly #target: Target;
  readonly #kinds = new Map<string, 'table' | 'view'>();
  readonly #definitions = new Map<string, string>();
  #channel: Promise<PacketChannel> | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(target: Target) {
    this.#target = target;
  }

  /** A table name as the statement wrote it (`t` or `schema.t`), qualified with the connection's database. */
  qualify(table: string): string {
    return table.startsWith('.') ? `${this.#target.database}${table}` : table;
  }

  /**
   * What a statement reaches with the views it reads opened: each view's definition (and the views
   * that one reads) adds its tables and columns. `tables` are those of the statement and its result.
   */
  async reach(base: Reach, tables: readonly string[], reachOf: (definition: string) => Reach): Promise<Reach> {
    const all = { tables: new Set<string>(), columns: new Set(base.columns), star: base.star };
    let next = [...new Set([...base.tables, ...tables].map((t) => this.qualify(t)))];
    while (next.length) {
      const kinds = await this.kinds(next);
      const found: string[] = [];
      for (const table of next) {
        all.tables.add(table);
        const definition = kinds.get(table) === 'view' ? this.#definitions.get(table) : undefined;
        if (!definition) continue;
        const inner = reachOf(definition);
        inner.columns.forEach((c) => all.columns.add(c));
        all.star ||= inner.star;
        for (const t of inner.tables) if (!all.tables.has(this.qualify(t))) found.push(this.qualify(t));
      }
      next = [...new Set(found)];
    }
    return all;
  }

  /** The kinds of these schema.table names, looked up when not known yet. */
  async kinds(tables: readonly string[]): Promise<ReadonlyMap<string, 'table' | 'view'>> {
    const unknown = tables.filter((t) => !this.#kinds.has(t));
    if (unknown.length) {
      const lookup = this.#queue.then(() => this.#lookUp(unknown));
      this.#queue = lookup.catch(() => undefined);
      await lookup;
    }
    return this.#kinds;
  }

  /** DDL may have made or replaced a view: everything is asked again. */
  forget(): void {
    this.#kinds.clear();
    this.#definitions.clear();
  }

  async #lookUp(tables: readonly string[]): Promise<void> {
    const hex = (s: string) => `CONVERT(X'${Buffer.from(s, 'utf8').toString('hex')}' USING utf8mb4)`;
    const pairs = tables.map((t) => {
      const dot = t.indexOf('.');
      return `(${hex(t.slice(0, dot))}, ${hex(t.slice(dot + 1))})`;
    });
    const sql =
      'SELECT t.TABLE_SCHEMA, t.TABLE_NAME, t.TABLE_TYPE, v.VIEW_DEFINITION FROM information_schema.TABLES t LEFT JOIN information_schema.VIEWS v ' +
      `ON v.TABLE_SCHEMA = t.TABLE_SCHEMA AND v.TABLE_NAME = t.TABLE_NAME WHERE (t.TABLE_SCHEMA, t.TABLE_NAME) IN (${pairs.join(', ')})`;
    const rows = await this.#query(sql);
    for (const t of tables) this.#kinds.set(t, 'view');
    for (const [schema, name, type, definition] of rows) {
      if (type === 'BASE TABLE' || type === 'SYSTEM VERSIONED') this.#kinds.set(`${schema}.${name}`, 'table');
      else if (definition) this.#definitions.set(`${schema}.${name}`, definition);
    }
  }

  async #query(sql: string): Promise<string[][]> {
    this.#channel ??= connectUpstream(this.#target, CAPABILITIES).then(({ channel }) => channel);
    let channel: PacketChannel;
    try {
      channel = await this.#channel;
    } catch (e) {
      this.#channel = undefined;
      throw e;
    }
    try {
      channel.send(0, Buffer.concat([Buffer.from([0x03]), Buffer.from(sql, 'utf8')]));
      const first = (await channel.read()).payload;
      if (first[0] === 0xff) throw new Error(readErr(first).message);
      const columns = new Reader(first).lenenc() ?? 0;
      for (let i = 0; i <= columns; i++) await channel.read();
      const rows: string[][] = [];
      for (let p = (await channel.read()).payload; !isEof(p); p = (await channel.read()).payload) {
        if (p[0] === 0xff) throw new Error(readErr(p).message);
        const r = new Reader(p);
        rows.push(Array.from({ length: columns }, () => r.lenencString()));
      }
      return rows;
    } catch (e) {
      channel.socket.destroy();
      this.#channel = undefined;
      throw e;
    }
  }

  close(): void {
    this.#channel?.then((c) => c.socket.destroy()).catch(() => undefined);
  }
}
