import { createHash, type Hash } from 'node:crypto';
import type { ClientChannel, ServerChannel } from 'ssh2';
import type { AdapterGovernor, Ruling } from '../../core/governor.js';

/** SFTP v3 packet types (draft-ietf-secsh-filexfer-02), the ones the gateway reads. */
const enum Sftp {
  Init = 1,
  Open = 3,
  Close = 4,
  Read = 5,
  Write = 6,
  Setstat = 9,
  Fsetstat = 10,
  Opendir = 11,
  Remove = 13,
  Mkdir = 14,
  Rmdir = 15,
  Rename = 18,
  Symlink = 20,
  Status = 101,
  Handle = 102,
  Data = 103,
  Extended = 200,
}

const FX_PERMISSION_DENIED = 3;
const FX_FAILURE = 4;
const OPEN_WRITES = 0x02 | 0x04 | 0x08 | 0x10; // WRITE, APPEND, CREAT, TRUNC
/** OpenSSH caps a packet at 256 KiB; anything far larger is not SFTP. */
const MAX_PACKET = 1 << 20;

/** Extensions by the class of what they do; metadata-only ones pass unrecorded. */
const EXTENSIONS: Readonly<Record<string, string | null>> = {
  'posix-rename@openssh.com': 'rename',
  'hardlink@openssh.com': 'symlink',
  'lsetstat@openssh.com': 'setstat',
  'copy-data': 'write',
  'statvfs@openssh.com': null,
  'fstatvfs@openssh.com': null,
  'fsync@openssh.com': null,
  'limits@openssh.com': null,
  'expand-path@openssh.com': null,
  'home-directory': null,
  'users-groups-by-id@openssh.com': null,
};

export class MalformedSftpError extends Error {}

/** Reads SFTP fields from one packet; throws MalformedSftpError past its end. */
class Fields {
  #at: number;
  constructor(
    readonly packet: Buffer,
    at: number,
  ) {
    this.#at = at;
  }
  uint32(): number {
    if (this.#at + 4 > this.packet.length) throw new MalformedSftpError('an sftp packet ends inside a field');
    const v = this.packet.readUInt32BE(this.#at);
    this.#at += 4;
    return v;
  }
  uint64(): number {
    const high = this.uint32();
    return high * 2 ** 32 + this.uint32();
  }
  bytes(): Buffer {
    const length = this.uint32();
    if (this.#at + length > this.packet.length) throw new MalformedSftpError('an sftp string runs past its packet');
    const v = this.packet.subarray(this.#at, this.#at + length);
    this.#at += length;
    return v;
  }
  string(): string {
    return this.bytes().toString('utf8');
  }
}

/** Splits a byte stream into whole SFTP packets (uint32 length, then that many bytes). */
class PacketSplitter {
  #chunks: Buffer[] = [];
  #size = 0;
  constructor(readonly onPacket: (packet: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size >= 4) {
      const head = this.#chunks[0]!.length >= 4 ? this.#chunks[0]! : this.#merge();
      const length = head.readUInt32BE(0);
      if (length < 1 || length > MAX_PACKET) throw new MalformedSftpError(`an sftp packet of ${length} bytes is not valid`);
      if (this.#size < length + 4) return;
      const all = this.#merge();
      this.onPacket(all.subarray(0, length + 4));
      const rest = all.subarray(length + 4);
      this.#chunks = rest.length ? [rest] : [];
      this.#size = rest.length;
    }
  }

  #merge(): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#chunks = [all];
    return all;
  }
}

/**
 * Reads the target's answers as they stream past, without holding them: small packets are gathered
 * whole, DATA payloads are handed on piece by piece for hashing.
 */
class ResponseObserver {
  /** The packet being gathered (header, or all of a small packet). */
  #head = Buffer.alloc(0);
  /** Payload bytes of a DATA packet still to come, and where they go. */
  #streaming = 0;
  #sink: ((piece: Buffer) => void) | undefined;

  constructor(
    readonly on: {
      handle(id: number, handle: Buffer): void;
      data(id: number): ((piece: Buffer) => void) | undefined;
      answered(id: number): void;
    },
  ) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#streaming > 0) {
        const n = Math.min(this.#streaming, chunk.length - at);
        this.#sink?.(chunk.subarray(at, at + n));
        this.#streaming -= n;
        at += n;
        continue;
      }
      const n = Math.min(this.#need() - this.#head.length, chunk.length - at);
      this.#head = Buffer.concat([this.#head, chunk.subarray(at, at + n)]);
      at += n;
      if (this.#head.length === 5) {
        const length = this.#head.readUInt32BE(0);
        if (length < 1 || (this.#head[4] !== Sftp.Data && length > MAX_PACKET)) throw new MalformedSftpError(`an sftp packet of ${length} bytes is not valid`);
      }
      if (this.#head.length >= 5 && this.#head.length === this.#need()) this.#packet();
    }
  }

  /** The length and type first, then either the DATA header or the whole (small) packet. */
  #need(): number {
    if (this.#head.length < 5) return 5;
    return this.#head[4] === Sftp.Data ? 13 : 4 + this.#head.readUInt32BE(0);
  }

  #packet(): void {
    const head = this.#head;
    this.#head = Buffer.alloc(0);
    const type = head[4];
    const f = new Fields(head, 5);
    if (type === Sftp.Data) {
      const id = f.uint32();
      const length = f.uint32();
      if (length + 9 !== head.readUInt32BE(0)) throw new MalformedSftpError('an sftp DATA packet whose lengths disagree');
      this.#sink = this.on.data(id);
      this.#streaming = length;
      return;
    }
    if (head.length < 9) return;
    const id = f.uint32();
    if (type === Sftp.Handle) this.on.handle(id, f.bytes());
    this.on.answered(id);
  }
}

/** A file the job opened: its bytes are counted and hashed while they go through in order. */
interface Transfer {
  path: string;
  direction: 'upload' | 'download';
  op: number;
  bytes: number;
  next: number;
  hash: Hash | undefined;
}

interface SftpContext {
  connection: string;
  governor: AdapterGovernor;
  /** The line the job reads when the record cannot be written. */
  unrecorded(e: unknown): string;
}

/**
 * Relays an sftp subsystem (sftp, and scp, which speaks SFTP since OpenSSH 9) between the job and the
 * target. Each operation that changes or opens something is an operation of its own class, checked
 * before it is forwarded; a refused one is answered SSH_FX_PERMISSION_DENIED with the reason. Files
 * are recorded by name, size and SHA-256, and never rewritten.
 */
export function relaySftp(channel: ServerChannel, stream: ClientChannel, ctx: SftpContext): void {
  const opens = new Map<number, Transfer>();
  const handles = new Map<string, Transfer>();
  const reads = new Map<number, { transfer: Transfer; offset: number }>();
  const queue: Buffer[] = [];
  let waiting = false;
  let ended = false;

  const fail = (e: unknown) => {
    ctx.governor.note('protocol.error', { connection: ctx.connection, error: (e as Error).message });
    channel.close();
    stream.close();
  };
  const toTarget = (packet: Buffer) => {
    if (!stream.write(packet)) channel.pause();
  };
  const toJob = (packet: Buffer) => {
    if (!channel.write(packet)) stream.pause();
  };
  stream.on('drain', () => channel.resume());
  channel.on('drain', () => stream.resume());

  const finish = (handle: string) => {
    const t = handles.get(handle);
    if (!t) return;
    handles.delete(handle);
    ctx.governor.note('transfer', {
      connection: ctx.connection,
      op: t.op,
      path: t.path,
      direction: t.direction,
      bytes: t.bytes,
      ...(t.hash ? { sha256: t.hash.digest('hex') } : { sha256_unavailable: 'the file was not transferred in order' }),
    });
  };
  const count = (t: Transfer, offset: number, data: Buffer) => {
    t.bytes += data.length;
    if (t.hash && offset === t.next) t.hash.update(data);
    else t.hash = undefined;
    t.next = offset + data.length;
  };

  /** Runs client packets in order; a pending decision holds the ones behind it. */
  const drain = () => {
    while (!waiting && queue.length) {
      const packet = queue.shift()!;
      const request = classify(packet);
      if (!request) {
        observeRequest(packet);
        toTarget(packet);
        continue;
      }
      const decided = ctx.governor.decide({
        connection: ctx.connection,
        protocol: 'ssh',
        text: `sftp ${request.kind} ${request.paths.join(' ')}`,
        classes: new Set(['sftp', request.kind]),
        writes: request.kind !== 'read' && request.kind !== 'list',
        path: request.paths[0]!,
      });
      const apply = (ruling: Ruling) => {
        if (ended) return;
        if (!ruling.allowed) {
          toJob(status(request.id, FX_PERMISSION_DENIED, `govern: ${ruling.message ?? 'refused'}`));
          return;
        }
        try {
          ctx.governor.commit();
        } catch (e) {
          toJob(status(request.id, FX_FAILURE, ctx.unrecorded(e)));
          return;
        }
        if (request.type === Sftp.Open) {
          const direction = request.kind === 'write' ? 'upload' : 'download';
          opens.set(request.id, { path: request.paths[0]!, direction, op: ruling.seq, bytes: 0, next: 0, hash: createHash('sha256') });
        }
        toTarget(packet);
      };
      if (decided instanceof Promise) {
        waiting = true;
        channel.pause();
        void decided.then(apply, fail).finally(() => {
          waiting = false;
          channel.resume();
          try {
            drain();
          } catch (e) {
            fail(e);
          }
        });
      } else apply(decided);
    }
  };

  /** Requests that need no decision still feed the transfer records. */
  const observeRequest = (packet: Buffer) => {
    const type = packet[4];
    if (type === Sftp.Init) return;
    const f = new Fields(packet, 5);
    const id = f.uint32();
    if (type === Sftp.Write) {
      const t = handles.get(f.bytes().toString('latin1'));
      const offset = f.uint64();
      if (t) count(t, offset, f.bytes());
    } else if (type === Sftp.Read) {
      const t = handles.get(f.bytes().toString('latin1'));
      if (t) reads.set(id, { transfer: t, offset: f.uint64() });
    } else if (type === Sftp.Close) {
      finish(f.bytes().toString('latin1'));
    }
  };

  const fromJob = new PacketSplitter((packet) => queue.push(packet));
  const fromTarget = new ResponseObserver({
    handle: (id, handle) => {
      const t = opens.get(id);
      if (t) handles.set(handle.toString('latin1'), t);
    },
    data: (id) => {
      const read = reads.get(id);
      reads.delete(id);
      if (!read) return undefined;
      const { transfer, offset } = read;
      let at = offset;
      return (piece) => {
        count(transfer, at, piece);
        at += piece.length;
      };
    },
    answered: (id) => {
      opens.delete(id);
      reads.delete(id);
    },
  });

  channel.on('data', (chunk: Buffer) => {
    try {
      fromJob.push(chunk);
      drain();
    } catch (e) {
      fail(e);
    }
  });
  stream.on('data', (chunk: Buffer) => {
    try {
      fromTarget.push(chunk);
    } catch (e) {
      return fail(e);
    }
    // The target's answers are only read, never changed: they go on as they came.
    toJob(chunk);
  });
  stream.stderr.on('data', (chunk: Buffer) => channel.stderr.write(chunk));
  channel.on('end', () => {
    if (!waiting && queue.length === 0) stream.end();
    else void waitThenEnd();
  });
  const waitThenEnd = async () => {
    while (waiting || queue.length) await new Promise((r) => setTimeout(r, 10));
    stream.end();
  };
  stream.on('error', () => undefined);
  stream.on('exit', (code: number | null) => {
    try {
      if (typeof code === 'number') channel.exit(code);
    } catch {
      // The job left first.
    }
  });
  channel.on('close', () => {
    ended = true;
    stream.close();
  });
  stream.on('close', () => {
    ended = true;
    for (const handle of [...handles.keys()]) finish(handle);
    channel.end();
  });
}

interface SftpRequest {
  type: number;
  id: number;
  kind: string;
  paths: string[];
}

/** The request's class and paths, for those the policy decides on; undefined for the rest. */
function classify(packet: Buffer): SftpRequest | undefined {
  const type = packet[4]!;
  if (type === Sftp.Init) return undefined;
  const f = new Fields(packet, 5);
  const id = f.uint32();
  const one = (kind: string) => ({ type, id, kind, paths: [f.string()] });
  switch (type) {
    case Sftp.Open: {
      const path = f.string();
      const flags = f.uint32();
      return { type, id, kind: flags & OPEN_WRITES ? 'write' : 'read', paths: [path] };
    }
    case Sftp.Opendir:
      return one('list');
    case Sftp.Remove:
      return one('remove');
    case Sftp.Mkdir:
      return one('mkdir');
    case Sftp.Rmdir:
      return one('rmdir');
    case Sftp.Setstat:
      return one('setstat');
    case Sftp.Fsetstat:
      return { type, id, kind: 'setstat', paths: ['(open file)'] };
    case Sftp.Rename:
      return { type, id, kind: 'rename', paths: [f.string(), f.string()] };
    case Sftp.Symlink:
      return { type, id, kind: 'symlink', paths: [f.string(), f.string()] };
    case Sftp.Extended: {
      const name = f.string();
      const kind = name in EXTENSIONS ? EXTENSIONS[name] : 'unknown';
      if (kind === null) return undefined;
      if (kind === 'unknown') return { type, id, kind, paths: [name] };
      return { type, id, kind: kind!, paths: [f.string(), ...(kind === 'rename' || kind === 'symlink' ? [f.string()] : [])] };
    }
    default:
      return undefined;
  }
}

function status(id: number, code: number, message: string): Buffer {
  const text = Buffer.from(message);
  const packet = Buffer.alloc(4 + 1 + 4 + 4 + 4 + text.length + 4);
  let at = packet.writeUInt32BE(packet.length - 4, 0);
  at = packet.writeUInt8(Sftp.Status, at);
  at = packet.writeUInt32BE(id, at);
  at = packet.writeUInt32BE(code, at);
  at = packet.writeUInt32BE(text.length, at);
  at += text.copy(packet, at);
  packet.writeUInt32BE(0, at);
  return packet;
}
