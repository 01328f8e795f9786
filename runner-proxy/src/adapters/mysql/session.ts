import type { AdapterGovernor, Ruling } from '../../core/governor.js';
import type { MaskPlan, Operation } from '../../policy/operation.js';
import { hideCredentials } from '../../masking/credentials.js';
import { REDACT_ALL } from '../../masking/masker.js';
import type { Catalog } from './catalog.js';
import type { PacketChannel } from './channel.js';
import type { MysqlClassification, MysqlClassifier, PreparedSql, Reach } from './classify.js';
import {
  Capability,
  eofStatus,
  errPacket,
  MalformedPacketError,
  okStatus,
  readColumnDefinition,
  readErr,
  Reader,
  SERVER_MORE_RESULTS_EXISTS,
  SERVER_STATUS_NO_BACKSLASH_ESCAPES,
  type ColumnDefinition,
  type Packet,
} from './packets.js';
import { maskBinaryRow, maskError, maskTextRow, PASS_THROUGH, planResult, sourceTables, type MaskCounts, type ResultPlan } from './result-mask.js';

export const Command = {
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  STATISTICS: 0x09,
  PING: 0x0e,
  CHANGE_USER: 0x11,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  SET_OPTION: 0x1b,
  STMT_FETCH: 0x1c,
  RESET_CONNECTION: 0x1f,
} as const;

/** A refusal as MySQL's own access error: the client reports it and the session goes on. */
const REFUSED_CODE = 1142;
const REFUSED_SQLSTATE = '42000';

export interface SessionContext {
  connection: string;
  governor: AdapterGovernor;
  classifier: MysqlClassifier;
  catalog: Catalog;
  /** The capabilities the job's client and the target both use. */
  capabilities: number;
  /** The target's status flags when the session began. */
  status: number;
}

/** A statement prepared with COM_STMT_PREPARE: the ruling it runs under and its result columns. */
interface Prepared {
  ruling: Ruling;
  reach: Reach;
  columns?: ColumnDefinition[];
}

/** What a response to one command came to, for the record. */
interface Outcome {
  rows: number;
  affected: number;
  bytes: number;
  counts: MaskCounts;
  error?: string;
}

/**
 * One job connection after authentication. MySQL is one command, then its whole response: each
 * command is read, decided and committed before it is forwarded, and its response is relayed with
 * masks applied before the next command is read. A refusal is an ERR packet from the gateway, which
 * the client reports as a statement's error; the target never saw the command, so the session goes on.
 */
export class MysqlSession {
  readonly #ctx: SessionContext;
  readonly #client: PacketChannel;
  readonly #server: PacketChannel;
  readonly #prepared = new Map<number, Prepared>();
  /** Statements prepared in SQL (`PREPARE name FROM '…'`) that the target confirmed, by lower-case name. */
  readonly #preparedSql = new Map<string, PreparedSql>();
  readonly #deprecateEof: boolean;
  /**
   * The target says (in every OK and EOF) that its sql_mode reads a backslash in a string as itself:
   * the gateway splits and reads text by the default quoting, so text is refused while this holds.
   */
  #backslashLiteral: boolean;

  constructor(ctx: SessionContext, client: PacketChannel, server: PacketChannel) {
    this.#ctx = ctx;
    this.#client = client;
    this.#server = server;
    this.#deprecateEof = (ctx.capabilities & Capability.DEPRECATE_EOF) !== 0;
    this.#backslashLiteral = (ctx.status & SERVER_STATUS_NO_BACKSLASH_ESCAPES) !== 0;
  }

  /** Follows the target's status flags, as each OK and EOF confirms them. */
  #confirmed(status: number): number {
    this.#backslashLiteral = (status & SERVER_STATUS_NO_BACKSLASH_ESCAPES) !== 0;
    return status;
  }

  /** True (the client told, the refusal recorded) when text cannot be read as the target will read it. */
  #unreadable(command: number): boolean {
    if (!this.#backslashLiteral) return false;
    this.#ctx.governor.note('protocol.refused', { connection: this.#ctx.connection, command, reason: 'sql_mode NO_BACKSLASH_ESCAPES' });
    this.#refuse('the session\'s sql_mode has NO_BACKSLASH_ESCAPES, and the gateway reads strings with backslash escapes; open a new connection without it');
    return true;
  }

  /** Serves commands until either side leaves. */
  async run(): Promise<void> {
    for (;;) {
      const command = await this.#client.read();
      if (command.payload.length === 0) throw new MalformedPacketError('an empty command');
      if (!(await this.#command(command))) return;
    }
  }

  end(): void {
    this.#client.socket.destroy();
    this.#server.socket.destroy();
  }

  /** Returns false once the session is over. */
  async #command({ payload }: Packet): Promise<boolean> {
    const code = payload[0]!;
    switch (code) {
      case Command.QUIT:
        this.#forward(payload);
        await this.#server.flush();
        return false;
      case Command.QUERY:
        await this.#query(payload);
        return true;
      case Command.INIT_DB:
        await this.#governed(payload, this.#op(`USE \`${payload.toString('utf8', 1)}\``, { classes: new Set(['session']), writes: false, commands: ['USE'], reach: { tables: new Set(), columns: new Set(), star: false }, prepares: new Map() }));
        return true;
      case Command.PING:
      case Command.STMT_RESET:
      case Command.SET_OPTION:
      case Command.STATISTICS:
        this.#forward(payload);
        await this.#relaySingle();
        return true;
      case Command.RESET_CONNECTION:
        this.#prepared.clear();
        this.#preparedSql.clear();
        this.#forward(payload);
        await this.#relaySingle();
        return true;
      case Command.STMT_PREPARE:
        await this.#prepare(payload);
        return true;
      case Command.STMT_EXECUTE:
        await this.#execute(payload);
        return true;
      case Command.STMT_SEND_LONG_DATA:
        this.#forward(payload);
        return true;
      case Command.STMT_CLOSE:
        this.#prepared.delete(payload.length >= 5 ? payload.readUInt32LE(1) : -1);
        this.#forward(payload);
        return true;
      case Command.STMT_FETCH:
        await this.#fetch(payload);
        return true;
      case Command.CHANGE_USER:
        // Another user would need the gateway's own login; the job's URL admits one.
        this.#refuse('COM_CHANGE_USER is not supported through the gateway; open a new connection');
        await this.#client.flush();
        return false;
      default:
        this.#ctx.governor.note('protocol.refused', { connection: this.#ctx.connection, command: code });
        this.#client.send(1, errPacket(1047, '08S01', `govern: command 0x${code.toString(16)} is not supported through the gateway`));
        return true;
    }
  }

  #op(text: string, sql: MysqlClassification): Operation & { sql: MysqlClassification } {
    return {
      connection: this.#ctx.connection,
      protocol: 'mysql',
      text: this.#ctx.governor.masker.maskText(hideCredentials(text), REDACT_ALL).text,
      classes: sql.classes,
      writes: sql.writes,
      sql,
    };
  }

  async #query(payload: Buffer): Promise<void> {
    if (this.#unreadable(Command.QUERY)) return;
    const text = payload.toString('utf8', 1);
    const sql = this.#ctx.classifier.classify(text, this.#preparedSql);
    const outcome = await this.#governed(payload, this.#op(text, sql));
    if (!outcome) return;
    // After an error the gateway cannot tell which statements ran: what the text prepared is forgotten.
    for (const [name, prepared] of sql.prepares) {
      if (prepared && !outcome.error) this.#preparedSql.set(name, prepared);
      else this.#preparedSql.delete(name);
    }
  }

  /** Decides, records, then forwards a command and relays its result sets; refused, answers ERR and returns undefined. */
  async #governed(payload: Buffer, op: Operation & { sql: MysqlClassification }): Promise<Outcome | undefined> {
    const ruling = await this.#decide(op);
    if (!ruling) return undefined;
    const started = performance.now();
    this.#forward(payload);
    const outcome = await this.#relayResults(ruling, op.sql.reach, false, op.classes.has('load_local'));
    if ([...op.classes].some((c) => c === 'ddl' || c === 'create' || c === 'alter' || c === 'drop')) this.#ctx.catalog.forget();
    this.#completed(ruling, outcome, started);
    return outcome;
  }

  /** The ruling of an operation once it is in the record; undefined (and the client told) when refused. */
  async #decide(op: Operation): Promise<Ruling | undefined> {
    const ruling = await this.#ctx.governor.decide(op);
    if (!ruling.allowed) {
      this.#refuse(ruling.message ?? `refused by rule "${ruling.rule}"`);
      return undefined;
    }
    try {
      await new Promise<void>((resolve, reject) => this.#ctx.governor.commitThen((failure) => (failure ? reject(failure) : resolve())));
    } catch (e) {
      this.#refuse(`the session record cannot be written: ${(e as Error).message}`);
      return undefined;
    }
    return ruling;
  }

  #refuse(message: string, seq = 1): void {
    this.#client.send(seq, errPacket(REFUSED_CODE, REFUSED_SQLSTATE, `govern: ${message}`));
  }

  #forward(payload: Buffer): void {
    this.#server.send(0, payload);
    void this.#server.flush();
  }

  #completed(ruling: Ruling, outcome: Outcome, started: number): void {
    this.#ctx.governor.completed(ruling, {
      rows: outcome.rows || outcome.affected,
      bytes: outcome.bytes,
      maskedValues: outcome.counts.masked,
      ...(outcome.counts.masked && { maskedBy: outcome.counts.by }),
      durationMs: performance.now() - started,
      ...(outcome.error && { error: outcome.error }),
    });
  }

  /** A response of one packet (OK, ERR, EOF or a string), relayed as it is. */
  async #relaySingle(): Promise<void> {
    const { seq, payload } = await this.#server.read();
    this.#client.send(seq, payload);
  }

  async #prepare(payload: Buffer): Promise<void> {
    if (this.#unreadable(Command.STMT_PREPARE)) return;
    const text = payload.toString('utf8', 1);
    const sql = this.#ctx.classifier.classify(text);
    const ruling = await this.#decide(this.#op(text, sql));
    if (!ruling) return;
    this.#forward(payload);
    let seq = 1;
    const relay = async () => {
      const p = await this.#server.read();
      seq = this.#client.send(seq, p.payload);
      return p.payload;
    };
    const ok = await relay();
    if (ok[0] !== 0x00) {
      if (ok[0] === 0xff) this.#completed(ruling, { rows: 0, affected: 0, bytes: 0, counts: { masked: 0, by: {} }, error: readErr(ok).message }, performance.now());
      return;
    }
    const r = new Reader(ok, 1);
    const id = r.u32();
    const columnCount = r.u16();
    const paramCount = r.u16();
    for (let i = 0; i < paramCount; i++) await relay();
    if (paramCount && !this.#deprecateEof) await relay();
    const columns: ColumnDefinition[] = [];
    for (let i = 0; i < columnCount; i++) columns.push(readColumnDefinition(await relay()));
    if (columnCount && !this.#deprecateEof) await relay();
    this.#prepared.set(id, { ruling, reach: sql.reach, columns });
  }

  async #execute(payload: Buffer): Promise<void> {
    const prepared = payload.length >= 5 ? this.#prepared.get(payload.readUInt32LE(1)) : undefined;
    // A statement the gateway did not see prepared cannot run: the target would not know it either.
    if (!prepared) {
      this.#client.send(1, errPacket(1243, 'HY000', 'govern: unknown prepared statement handler given to EXECUTE'));
      return;
    }
    const started = performance.now();
    this.#forward(payload);
    this.#completed(prepared.ruling, await this.#relayResults(prepared.ruling, prepared.reach, true, false, prepared), started);
  }

  /** COM_STMT_FETCH of a cursor: binary rows of the columns its execution described. */
  async #fetch(payload: Buffer): Promise<void> {
    const prepared = payload.length >= 5 ? this.#prepared.get(payload.readUInt32LE(1)) : undefined;
    if (!prepared?.columns) {
      this.#client.send(1, errPacket(1243, 'HY000', 'govern: unknown prepared statement handler given to FETCH'));
      return;
    }
    this.#forward(payload);
    const outcome = emptyOutcome();
    const plan = await this.#plan(prepared.ruling.masks, prepared.columns, prepared.reach);
    await this.#relayRows(1, prepared.ruling.masks, prepared.columns, plan, true, outcome);
  }

  async #plan(masks: MaskPlan, columns: readonly ColumnDefinition[], reach: Reach): Promise<ResultPlan> {
    if (masks.columns.length === 0 && masks.detectors.size === 0) return PASS_THROUGH;
    if (masks.columns.length === 0) return planResult(masks, columns, new Map(), reach);
    const catalog = this.#ctx.catalog;
    const opened = await catalog.reach(reach, sourceTables(columns), (definition) => this.#ctx.classifier.reachOf(definition));
    return planResult(masks, columns, await catalog.kinds(sourceTables(columns)), opened);
  }

  /**
   * Relays the response to a statement: OK, ERR, or result sets (column count, definitions, rows), as
   * many as the target says follow. A request for a local file is answered only for a statement the
   * policy allowed as `load_local`; otherwise the target gets an empty file and the job an error.
   */
  async #relayResults(ruling: Ruling, reach: Reach, binary: boolean, mayLoadLocal: boolean, prepared?: Prepared): Promise<Outcome> {
    const outcome = emptyOutcome();
    const masks = ruling.masks;
    let seq = 1;
    for (;;) {
      const first = await this.#server.read();
      const head = first.payload[0];
      if (head === 0x00) {
        const { affected, status } = okStatus(first.payload);
        outcome.affected += affected;
        seq = this.#client.send(seq, first.payload);
        if (this.#confirmed(status) & SERVER_MORE_RESULTS_EXISTS) continue;
        return outcome;
      }
      if (head === 0xff) {
        const error = readErr(first.payload);
        const message = maskError(error.message, masks, this.#ctx.governor.masker, REDACT_ALL);
        outcome.error = message;
        this.#client.send(seq, errPacket(error.code, error.sqlstate, message));
        return outcome;
      }
      if (head === 0xfb) {
        seq = await this.#localFile(first.seq, first.payload, mayLoadLocal, seq);
        if (seq < 0) return outcome;
        continue;
      }
      const columnCount = new Reader(first.payload).lenenc() ?? 0;
      seq = this.#client.send(seq, first.payload);
      const columns: ColumnDefinition[] = [];
      for (let i = 0; i < columnCount; i++) {
        const p = await this.#server.read();
        columns.push(readColumnDefinition(p.payload));
        seq = this.#client.send(seq, p.payload);
      }
      if (!this.#deprecateEof) seq = this.#client.send(seq, (await this.#server.read()).payload);
      if (prepared) prepared.columns = columns;
      const plan = await this.#plan(masks, columns, reach);
      const more = await this.#relayRows(seq, masks, columns, plan, binary, outcome);
      if (more < 0) return outcome;
      seq = more;
    }
  }

  /** Rows up to their terminator; returns the next sequence id when more result sets follow, else -1. */
  async #relayRows(seq: number, masks: MaskPlan, columns: readonly ColumnDefinition[], plan: ResultPlan, binary: boolean, outcome: Outcome): Promise<number> {
    const masker = this.#ctx.governor.masker;
    for (;;) {
      if (!this.#server.hasReady) await this.#client.flush();
      const { payload } = await this.#server.read();
      if (payload[0] === 0xff) {
        const error = readErr(payload);
        outcome.error = maskError(error.message, masks, masker, REDACT_ALL);
        this.#client.send(seq, errPacket(error.code, error.sqlstate, outcome.error));
        return -1;
      }
      if (payload[0] === 0xfe && payload.length < (this.#deprecateEof ? 0xffffff : 9)) {
        seq = this.#client.send(seq, payload);
        const status = this.#confirmed(this.#deprecateEof ? okStatus(payload).status : eofStatus(payload));
        return status & SERVER_MORE_RESULTS_EXISTS ? seq : -1;
      }
      outcome.rows++;
      outcome.bytes += payload.length;
      const row = !plan.active ? payload : binary ? maskBinaryRow(payload, columns, plan, masker, masks.detectors, outcome.counts) : maskTextRow(payload, plan, masker, masks.detectors, outcome.counts);
      seq = this.#client.send(seq, row);
    }
  }

  /**
   * The target asks for a local file (LOAD DATA LOCAL INFILE). For an allowed statement the job's
   * client is asked and its packets relayed; for any other, the target is sent an empty file and the
   * job gets an error in place of the target's answer. Returns the next sequence id toward the job,
   * or -1 when the response is over.
   */
  async #localFile(serverSeq: number, request: Buffer, allowed: boolean, seq: number): Promise<number> {
    if (!allowed) {
      this.#server.send(serverSeq + 1, Buffer.alloc(0));
      await this.#server.flush();
      const answer = (await this.#server.read()).payload;
      // What would follow belongs to statements after the refused one: the connection cannot stay in step.
      if (answer[0] === 0x00 && okStatus(answer).status & SERVER_MORE_RESULTS_EXISTS) throw new Error('the target asked for a local file inside a multi-statement text');
      this.#refuse('the target asked for a local file, and this statement was not allowed as load_local', seq);
      return -1;
    }
    this.#client.send(seq, request);
    let upSeq = serverSeq + 1;
    for (;;) {
      const piece = await this.#client.read();
      upSeq = this.#server.send(upSeq, piece.payload);
      seq = piece.seq + 1;
      if (piece.payload.length === 0) break;
    }
    await this.#server.flush();
    return seq;
  }
}

function emptyOutcome(): Outcome {
  return { rows: 0, affected: 0, bytes: 0, counts: { masked: 0, by: {} } };
}
