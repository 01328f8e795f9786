import { PacketChannel } from './channel.js';
import { connectUpstream, type Target } from './upstream.js';
import { Capability, isEof, readErr, Reader } from './packets.js';

const CAPABILITIES = Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH | Capability.LONG_PASSWORD | Capability.TRANSACTIONS;

/**
 * Which tables are views, asked of the target's information_schema on a connection of the gateway's
 * own, and remembered until DDL runs. A view's columns name the view as their table, so its columns
 * are masked by name alone. A table the catalog does not know (a materialised subquery) counts as a view.
 */
export class Catalog {
  readonly #target: Target;
  readonly #kinds = new Map<string, 'table' | 'view'>();
  #channel: Promise<PacketChannel> | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(target: Target) {
    this.#target = target;
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
  }

  async #lookUp(tables: readonly string[]): Promise<void> {
    const hex = (s: string) => `CONVERT(X'${Buffer.from(s, 'utf8').toString('hex')}' USING utf8mb4)`;
    const pairs = tables.map((t) => {
      const dot = t.indexOf('.');
      return `(${hex(t.slice(0, dot))}, ${hex(t.slice(dot + 1))})`;
    });
    const sql = `SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE (TABLE_SCHEMA, TABLE_NAME) IN (${pairs.join(', ')})`;
    const rows = await this.#query(sql);
    for (const t of tables) this.#kinds.set(t, 'view');
    for (const [schema, name, type] of rows) if (type === 'BASE TABLE' || type === 'SYSTEM VERSIONED') this.#kinds.set(`${schema}.${name}`, 'table');
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
