export const id = 928;
export const ids = [928];
export const modules = {

/***/ 6316:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   p: () => (/* binding */ drainListener)
/* harmony export */ });
/**
 * Stops a listener as `Listener.close` promises: no new connections, the open sessions given until the
 * deadline to finish, then ended; resolves once the server has closed.
 */
async function drainListener(server, sessions, deadlineMs) {
    const closed = new Promise((resolve) => server.close(() => resolve()));
    const deadline = Date.now() + deadlineMs;
    while (sessions.size > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
    for (const session of sessions)
        session.end();
    await closed;
}


/***/ }),

/***/ 2928:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  PostgresAdapter: () => (/* binding */ PostgresAdapter)
});

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:net"
var external_node_net_ = __webpack_require__(7030);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(8161);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: ./runner-proxy/src/base/errors.ts
var errors = __webpack_require__(5256);
;// CONCATENATED MODULE: ./runner-proxy/src/base/lru.ts
/**
 * A map of bounded size that forgets its least recently used entries first, in two generations: new
 * and used entries go to the current one; when it is full it becomes the previous one and the one
 * before is dropped whole. Nothing is ever iterated (evicting through a Map's iterator costs time in
 * proportion to the entries deleted before), so every call is O(1).
 */
class LruCache {
    #current = new Map();
    #previous = new Map();
    #generation;
    /** Holds at most `capacity` entries, and always the `capacity / 2` most recently used. */
    constructor(capacity) {
        this.#generation = Math.max(1, Math.floor(capacity / 2));
    }
    get size() {
        return this.#current.size + this.#previous.size;
    }
    get(key) {
        const value = this.#current.get(key);
        if (value !== undefined)
            return value;
        const old = this.#previous.get(key);
        if (old !== undefined) {
            this.#previous.delete(key);
            this.set(key, old);
        }
        return old;
    }
    set(key, value) {
        this.#previous.delete(key);
        this.#current.set(key, value);
        if (this.#current.size >= this.#generation) {
            this.#previous = this.#current;
            this.#current = new Map();
        }
    }
}

// EXTERNAL MODULE: ./runner-proxy/src/adapters/guard.ts
var guard = __webpack_require__(923);
// EXTERNAL MODULE: ./runner-proxy/src/adapters/run-ca.ts
var run_ca = __webpack_require__(4012);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/codec/frames.ts
/**
 * Framing of the PostgreSQL protocol after startup: a type byte and an int32 length that counts itself.
 * The reader is push-style (as in pg-protocol): it hands out views of whole frames as they complete.
 * Views point into the socket's chunks, which are never reused, so a view may go straight to the
 * other socket's write(). A leftover partial frame is joined with the next chunk into a fresh buffer.
 */
const HEADER_LENGTH = 5;
/**
 * A big-endian int32 read and written without Buffer's call and checks, for the per-message and per-row
 * paths: the caller knows the four bytes are there.
 */
function int32At(b, at) {
    return (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
}
function putInt32(b, at, value) {
    b[at] = value >>> 24;
    b[at + 1] = value >>> 16;
    b[at + 2] = value >>> 8;
    b[at + 3] = value;
}
class FrameTooLargeError extends Error {
    code;
    length;
    constructor(code, length, max) {
        super(`a ${String.fromCharCode(code)} message of ${length} bytes is larger than the ${max} bytes the gateway inspects`);
        this.code = code;
        this.length = length;
    }
}
class MalformedFrameError extends Error {
}
/** The type byte of a DataRow, the one message read row by row. */
const DATA_ROW = 0x44;
/**
 * A frame at least this large that the sink may stream is streamed as soon as it is known not to be
 * whole in what arrived (a COPY FROM STDIN sent as one CopyData): it passes at the pace of the pipe,
 * in constant memory, rather than being held until its last byte.
 */
const STREAM_EARLY = 256 * 1024;
class FrameReader {
    #sink;
    #maxFrame;
    #buffer = Buffer.alloc(0);
    #offset = 0;
    /** Chunks that arrived for a frame not yet whole, joined once it is: never one copy per chunk. */
    #waiting = [];
    #waitingBytes = 0;
    /** Bytes the frame begun at #offset still needs. */
    #missing = 0;
    /** Bytes of a streamed frame still to come. */
    #streamRemaining = 0;
    #paused = false;
    constructor(sink, { maxFrame }) {
        this.#sink = sink;
        this.#maxFrame = maxFrame;
    }
    get paused() {
        return this.#paused;
    }
    /** Bytes received but not yet handed out. */
    get buffered() {
        return this.#buffer.length - this.#offset + this.#waitingBytes;
    }
    push(chunk) {
        if (this.#missing > 0) {
            this.#waiting.push(chunk);
            this.#waitingBytes += chunk.length;
            if (this.#waitingBytes < this.#missing)
                return;
            this.#buffer = Buffer.concat([this.#buffer.subarray(this.#offset), ...this.#waiting]);
            this.#offset = 0;
            this.#waiting = [];
            this.#waitingBytes = 0;
            this.#missing = 0;
        }
        else if (this.#offset >= this.#buffer.length) {
            this.#buffer = chunk;
            this.#offset = 0;
        }
        else {
            this.#buffer = Buffer.concat([this.#buffer.subarray(this.#offset), chunk]);
            this.#offset = 0;
        }
        if (!this.#paused)
            this.#drain();
    }
    resume() {
        this.#paused = false;
        this.#drain();
    }
    #drain() {
        const buf = this.#buffer;
        let offset = this.#offset;
        while (!this.#paused) {
            if (this.#streamRemaining > 0) {
                const take = Math.min(this.#streamRemaining, buf.length - offset);
                if (take === 0)
                    break;
                this.#streamRemaining -= take;
                this.#sink.streamed(buf.subarray(offset, offset + take));
                offset += take;
                continue;
            }
            if (buf.length - offset < HEADER_LENGTH)
                break;
            const code = buf[offset];
            const length = int32At(buf, offset + 1);
            if (length < 4) {
                this.#offset = offset;
                throw new MalformedFrameError(`a ${String.fromCharCode(code)} message declares the impossible length ${length}`);
            }
            const total = length + 1;
            if (total > this.#maxFrame) {
                if (!this.#sink.mayStream(code, total)) {
                    this.#offset = offset;
                    throw new FrameTooLargeError(code, total, this.#maxFrame);
                }
                this.#streamRemaining = total;
                continue;
            }
            if (buf.length - offset < total) {
                if (total >= STREAM_EARLY && this.#sink.mayStream(code, total)) {
                    this.#streamRemaining = total;
                    continue;
                }
                this.#missing = total - (buf.length - offset);
                break;
            }
            const start = offset;
            offset += total;
            const more = code === DATA_ROW && this.#sink.dataRow ? this.#sink.dataRow(buf, start, offset) : this.#sink.frame(code, buf.subarray(start, offset));
            if (!more)
                this.#paused = true;
        }
        this.#offset = offset;
    }
}
/**
 * Collects what to write for one batch of input. Untouched frames are views of the input and
 * neighbouring ones join into one piece; frames the gateway makes are written into an arena, so a
 * run of rewritten rows is one piece too. A batch leaves as one write (writev when it has several).
 * An arena is never written into again once taken: the socket may still hold it.
 */
const ARENA_SIZE = 64 * 1024;
class OutputBatch {
    #parts = [];
    #run;
    #runStart = 0;
    #runEnd = 0;
    #arena;
    #arenaUsed = 0;
    /** A view to pass on as it is. */
    pass(view) {
        this.#extend(view, view.byteOffset, view.byteOffset + view.length);
    }
    /** Bytes start…end of `source` to pass on as they are, without a view of their own. */
    passRange(source, start, end) {
        this.#extend(source, source.byteOffset + start, source.byteOffset + end);
    }
    /**
     * Room for n new bytes at `arena[offset]`, to be filled by the caller before the batch is taken.
     * No view is made for them: a masked result reserves once per row.
     */
    reserve(n) {
        if (!this.#arena || this.#arenaUsed + n > this.#arena.length) {
            this.#arena = Buffer.allocUnsafe(Math.max(ARENA_SIZE, n));
            this.#arenaUsed = 0;
        }
        const offset = this.#arenaUsed;
        this.#arenaUsed += n;
        // Rows masked one after another go in one run, known without asking a view for its memory.
        if (this.#run === this.#arena && this.#runEnd === this.#arena.byteOffset + offset)
            this.#runEnd += n;
        else
            this.#extend(this.#arena, this.#arena.byteOffset + offset, this.#arena.byteOffset + offset + n);
        return offset;
    }
    /** Where `reserve` made room. */
    get arena() {
        return this.#arena;
    }
    /** New bytes made by the gateway. */
    push(bytes) {
        if (bytes.length > ARENA_SIZE / 4) {
            this.#closeRun();
            this.#parts.push(bytes);
            return;
        }
        const offset = this.reserve(bytes.length);
        this.#arena.set(bytes, offset);
    }
    /** Adds bytes start…end of `source`'s memory (offsets in its ArrayBuffer), joining the run they follow. */
    #extend(source, start, end) {
        if (this.#run && this.#run.buffer === source.buffer && this.#runEnd === start) {
            this.#runEnd = end;
            return;
        }
        this.#closeRun();
        this.#run = source;
        this.#runStart = start;
        this.#runEnd = end;
    }
    get empty() {
        return this.#parts.length === 0 && !this.#run;
    }
    /** Everything collected, as few buffers as possible; the batch is empty afterwards. */
    take() {
        this.#closeRun();
        const parts = this.#parts;
        this.#parts = [];
        this.#arena = undefined;
        return parts;
    }
    /** Writes the batch to a socket; returns false when the socket asks the writer to wait for 'drain'. */
    flushTo(socket) {
        const parts = this.take();
        if (parts.length === 0)
            return true;
        if (parts.length === 1)
            return socket.write(parts[0]);
        socket.cork();
        let ok = true;
        for (const p of parts)
            ok = socket.write(p);
        socket.uncork();
        return ok;
    }
    #closeRun() {
        if (!this.#run)
            return;
        this.#parts.push(Buffer.from(this.#run.buffer, this.#runStart, this.#runEnd - this.#runStart));
        this.#run = undefined;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/codec/frame-queue.ts

/**
 * Frames from a socket, awaited one at a time: for the short exchanges of startup and authentication,
 * before a connection switches to streaming. `detach()` hands back what arrived beyond them.
 */
class FrameQueue {
    #socket;
    #queue = [];
    #waiter;
    #failure;
    #reader;
    #onData = (chunk) => {
        try {
            this.#reader.push(chunk);
        }
        catch (e) {
            this.fail(e);
        }
    };
    #onError;
    #onClose;
    constructor(socket, describe, initial) {
        this.#socket = socket;
        this.#reader = new FrameReader({
            frame: (code, frame) => {
                this.#deliver({ code, frame: Buffer.from(frame) });
                return true;
            },
            mayStream: () => false,
            streamed: () => undefined,
        }, { maxFrame: 1 << 20 });
        this.#onError = (e) => this.fail(new Error(`${describe} failed: ${e.message}`));
        this.#onClose = () => this.fail(new Error(`${describe} closed`));
        socket.on('data', this.#onData);
        socket.on('error', this.#onError);
        socket.on('close', this.#onClose);
        if (initial?.length)
            this.#onData(initial);
        socket.resume();
    }
    fail(e) {
        this.#failure ??= e;
        const waiter = this.#waiter;
        this.#waiter = undefined;
        waiter?.(e);
    }
    #deliver(m) {
        const waiter = this.#waiter;
        if (waiter) {
            this.#waiter = undefined;
            waiter(m);
        }
        else {
            this.#queue.push(m);
        }
    }
    next() {
        const queued = this.#queue.shift();
        if (queued)
            return Promise.resolve(queued);
        if (this.#failure)
            return Promise.reject(this.#failure);
        return new Promise((resolve, reject) => (this.#waiter = (m) => (m instanceof Error ? reject(m) : resolve(m))));
    }
    /** Stops listening and pauses the socket; returns the frames that arrived but were not taken. */
    detach() {
        this.#socket.off('data', this.#onData);
        this.#socket.off('error', this.#onError);
        this.#socket.off('close', this.#onClose);
        this.#socket.pause();
        const rest = this.#queue.splice(0).map((m) => m.frame);
        return rest.length ? Buffer.concat(rest) : undefined;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/codec/messages.ts

/** Startup packet codes (the untyped first message). */
const PROTOCOL_3_0 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** A cursor over one message body; reads past the end throw MalformedFrameError. */
class Reader {
    #buf;
    #pos;
    #end;
    constructor(buf, start = HEADER_LENGTH, end = buf.length) {
        this.#buf = buf;
        this.#pos = start;
        this.#end = end;
    }
    get position() {
        return this.#pos;
    }
    get done() {
        return this.#pos >= this.#end;
    }
    #need(n) {
        if (this.#pos + n > this.#end)
            throw new MalformedFrameError('a message ends before its fields do');
    }
    byte() {
        this.#need(1);
        return this.#buf[this.#pos++];
    }
    int16() {
        this.#need(2);
        const v = this.#buf.readInt16BE(this.#pos);
        this.#pos += 2;
        return v;
    }
    int32() {
        this.#need(4);
        const v = this.#buf.readInt32BE(this.#pos);
        this.#pos += 4;
        return v;
    }
    cstring() {
        const zero = this.#buf.indexOf(0, this.#pos);
        if (zero < 0 || zero >= this.#end)
            throw new MalformedFrameError('a string in a message is not terminated');
        const s = this.#buf.toString('utf8', this.#pos, zero);
        this.#pos = zero + 1;
        return s;
    }
    /** A view of the next n bytes, not a copy. */
    bytes(n) {
        this.#need(n);
        const v = this.#buf.subarray(this.#pos, this.#pos + n);
        this.#pos += n;
        return v;
    }
    rest() {
        const v = this.#buf.subarray(this.#pos, this.#end);
        this.#pos = this.#end;
        return v;
    }
}
/** Builds one message; the header is patched in at the end (as pg-protocol's Writer does). */
class Writer {
    #buf;
    #pos = HEADER_LENGTH;
    constructor(size = 256) {
        this.#buf = Buffer.allocUnsafe(Math.max(size, HEADER_LENGTH));
    }
    #ensure(n) {
        if (this.#pos + n <= this.#buf.length)
            return;
        const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
        this.#buf.copy(next, 0, 0, this.#pos);
        this.#buf = next;
    }
    byte(v) {
        this.#ensure(1);
        this.#buf[this.#pos++] = v;
        return this;
    }
    int16(v) {
        this.#ensure(2);
        this.#buf.writeInt16BE(v, this.#pos);
        this.#pos += 2;
        return this;
    }
    int32(v) {
        this.#ensure(4);
        this.#buf.writeInt32BE(v, this.#pos);
        this.#pos += 4;
        return this;
    }
    cstring(s) {
        const n = Buffer.byteLength(s);
        this.#ensure(n + 1);
        this.#buf.write(s, this.#pos, 'utf8');
        this.#pos += n;
        this.#buf[this.#pos++] = 0;
        return this;
    }
    bytes(b) {
        this.#ensure(b.length);
        this.#buf.set(b, this.#pos);
        this.#pos += b.length;
        return this;
    }
    /** The finished message with its type byte; untyped startup-style messages pass no code. */
    finish(code) {
        if (code === undefined) {
            this.#buf.writeInt32BE(this.#pos - HEADER_LENGTH + 4, HEADER_LENGTH - 4);
            return this.#buf.subarray(HEADER_LENGTH - 4, this.#pos);
        }
        this.#buf[0] = code;
        this.#buf.writeInt32BE(this.#pos - 1, 1);
        return this.#buf.subarray(0, this.#pos);
    }
}
/** The body of an untyped startup packet (after its length). */
function readStartup(body) {
    if (body.length < 4)
        throw new MalformedFrameError('the startup packet is too short');
    const code = body.readInt32BE(0);
    if (code === CANCEL_REQUEST) {
        if (body.length < 12)
            throw new MalformedFrameError('the cancel request is too short');
        return { code, cancel: { pid: body.readInt32BE(4), secret: body.subarray(8) } };
    }
    if (code >> 16 !== 3)
        return { code };
    const reader = new Reader(body, 4, body.length);
    const parameters = {};
    for (;;) {
        const key = reader.cstring();
        if (key === '')
            break;
        parameters[key] = reader.cstring();
    }
    if (!reader.done)
        throw new MalformedFrameError('the startup packet has bytes after its terminator');
    return { code, startup: { protocol: code, parameters } };
}
function readParse(frame) {
    const r = new Reader(frame);
    const statement = r.cstring();
    const query = r.cstring();
    const count = r.int16();
    const paramTypes = [];
    for (let i = 0; i < count; i++)
        paramTypes.push(r.int32());
    return { statement, query, paramTypes };
}
function readBind(frame) {
    const r = new Reader(frame);
    const portal = r.cstring();
    const statement = r.cstring();
    const paramFormats = [];
    for (let i = r.int16(); i > 0; i--)
        paramFormats.push(r.int16());
    const params = [];
    for (let i = r.int16(); i > 0; i--) {
        const len = r.int32();
        params.push(len < 0 ? null : r.bytes(len));
    }
    const resultFormats = [];
    for (let i = r.int16(); i > 0; i--)
        resultFormats.push(r.int16());
    return { portal, statement, paramFormats, params, resultFormats };
}
function writeBind(m) {
    const w = new Writer(64 + m.params.reduce((n, p) => n + (p?.length ?? 0) + 4, 0));
    w.cstring(m.portal).cstring(m.statement).int16(m.paramFormats.length);
    for (const f of m.paramFormats)
        w.int16(f);
    w.int16(m.params.length);
    for (const p of m.params) {
        if (p === null)
            w.int32(-1);
        else
            w.int32(p.length).bytes(p);
    }
    w.int16(m.resultFormats.length);
    for (const f of m.resultFormats)
        w.int16(f);
    return w.finish(66 /* Frontend.Bind */);
}
/** Describe and Close: 'S' statement or 'P' portal, and a name. */
function readTarget(frame) {
    const r = new Reader(frame);
    const kind = String.fromCharCode(r.byte());
    if (kind !== 'S' && kind !== 'P')
        throw new MalformedFrameError(`a Describe or Close names "${kind}", neither statement nor portal`);
    return { kind, name: r.cstring() };
}
function readExecute(frame) {
    const r = new Reader(frame);
    return { portal: r.cstring(), maxRows: r.int32() };
}
function readCString(frame) {
    return new Reader(frame).cstring();
}
function writeQuery(text) {
    return new Writer(text.length + 16).cstring(text).finish(81 /* Frontend.Query */);
}
function writeParse(m) {
    const w = new Writer(m.query.length + 32).cstring(m.statement).cstring(m.query).int16(m.paramTypes.length);
    for (const t of m.paramTypes)
        w.int32(t);
    return w.finish(80 /* Frontend.Parse */);
}
function readRowDescription(frame) {
    const r = new Reader(frame);
    const fields = [];
    for (let i = r.int16(); i > 0; i--) {
        fields.push({ name: r.cstring(), tableOid: r.int32(), column: r.int16(), typeOid: r.int32(), typeSize: r.int16(), typeModifier: r.int32(), format: r.int16() });
    }
    return fields;
}
/** DataRow cells as views; null for SQL NULL. */
function readDataRow(frame) {
    const r = new Reader(frame);
    const count = r.int16();
    const cells = new Array(count);
    for (let i = 0; i < count; i++) {
        const len = r.int32();
        cells[i] = len < 0 ? null : r.bytes(len);
    }
    return cells;
}
function readNotice(frame) {
    const r = new Reader(frame);
    const fields = new Map();
    for (let code = r.byte(); code !== 0; code = r.byte())
        fields.set(String.fromCharCode(code), r.cstring());
    return fields;
}
function writeNotice(code, fields) {
    const w = new Writer(128);
    for (const [k, v] of fields)
        w.byte(k.charCodeAt(0)).cstring(v);
    return w.byte(0).finish(code);
}
function readParameterStatus(frame) {
    const r = new Reader(frame);
    return { name: r.cstring(), value: r.cstring() };
}
function readNotification(frame) {
    const r = new Reader(frame);
    return { pid: r.int32(), channel: r.cstring(), payload: r.cstring() };
}
function writeNotification(n) {
    return new Writer(64 + n.payload.length).int32(n.pid).cstring(n.channel).cstring(n.payload).finish(65 /* Backend.NotificationResponse */);
}
/** CopyIn/Out/BothResponse: the overall format (0 text, 1 binary) and one format per column. */
function readCopyResponse(frame) {
    const r = new Reader(frame);
    const format = r.byte();
    const columnFormats = [];
    for (let i = r.int16(); i > 0; i--)
        columnFormats.push(r.int16());
    return { format, columnFormats };
}
function writeAuthentication(code, payload) {
    const w = new Writer(64).int32(code);
    if (Array.isArray(payload)) {
        for (const mechanism of payload)
            w.cstring(mechanism);
        w.byte(0);
    }
    else if (payload) {
        w.bytes(payload);
    }
    return w.finish(82 /* Backend.Authentication */);
}
function writeParameterStatus(name, value) {
    return new Writer(64).cstring(name).cstring(value).finish(83 /* Backend.ParameterStatus */);
}
function writeBackendKeyData(pid, secret) {
    return new Writer(16).int32(pid).int32(secret).finish(75 /* Backend.BackendKeyData */);
}
function writeReadyForQuery(status) {
    return new Writer(8).byte(status.charCodeAt(0)).finish(90 /* Backend.ReadyForQuery */);
}
function writeNegotiateProtocolVersion(minor, unsupported) {
    const w = new Writer(64).int32(minor).int32(unsupported.length);
    for (const o of unsupported)
        w.cstring(o);
    return w.finish(118 /* Backend.NegotiateProtocolVersion */);
}
/** An error in the client's own protocol: SQLSTATE, message, and optionally detail and hint. */
function errorFields(severity, sqlstate, message, detail, hint) {
    const fields = new Map([
        ['S', severity],
        ['V', severity],
        ['C', sqlstate],
        ['M', message],
    ]);
    if (detail)
        fields.set('D', detail);
    if (hint)
        fields.set('H', hint);
    return fields;
}

// EXTERNAL MODULE: external "node:tls"
var external_node_tls_ = __webpack_require__(1692);
// EXTERNAL MODULE: ./node_modules/pg-protocol/esm/index.js
var esm = __webpack_require__(4172);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/scram.ts

/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it: the gateway verifies the job's
 * job-scoped password with it, and authenticates to the target with the real one. Channel binding
 * (-PLUS) is not offered: the job's side is plain TCP on loopback.
 */
const MECHANISM = 'SCRAM-SHA-256';
const ITERATIONS = 4096;
const hmac = (key, text) => (0,external_node_crypto_.createHmac)('sha256', key).update(text).digest();
const sha256 = (data) => (0,external_node_crypto_.createHash)('sha256').update(data).digest();
function xor(a, b) {
    const out = Buffer.allocUnsafe(a.length);
    for (let i = 0; i < a.length; i++)
        out[i] = a[i] ^ b[i];
    return out;
}
function attributes(message) {
    const map = new Map();
    for (const part of message.split(',')) {
        const eq = part.indexOf('=');
        if (eq === 1)
            map.set(part[0], part.slice(2));
    }
    return map;
}
class ScramError extends Error {
}
function makeVerifier(password, salt = (0,external_node_crypto_.randomBytes)(16), iterations = ITERATIONS) {
    const salted = (0,external_node_crypto_.pbkdf2Sync)(password, salt, iterations, 32, 'sha256');
    return { salt, iterations, storedKey: sha256(hmac(salted, 'Client Key')), serverKey: hmac(salted, 'Server Key') };
}
/** One server-side exchange: client-first → server-first, client-final → server-final. */
class ScramServer {
    #verifier;
    #clientFirstBare = '';
    #serverFirst = '';
    #nonce = '';
    #gs2Header = '';
    constructor(verifier) {
        this.#verifier = verifier;
    }
    /** The SASLInitialResponse's data; returns the server-first-message. */
    start(clientFirst) {
        const secondComma = clientFirst.indexOf(',', clientFirst.indexOf(',') + 1);
        if (secondComma < 0)
            throw new ScramError('malformed SCRAM client-first-message');
        const flag = clientFirst[0];
        if (flag === 'p')
            throw new ScramError('channel binding was requested, but the gateway offers none on loopback');
        if (flag !== 'n' && flag !== 'y')
            throw new ScramError('malformed SCRAM client-first-message');
        this.#gs2Header = clientFirst.slice(0, secondComma + 1);
        this.#clientFirstBare = clientFirst.slice(secondComma + 1);
        const clientNonce = attributes(this.#clientFirstBare).get('r');
        if (!clientNonce)
            throw new ScramError('the SCRAM client-first-message has no nonce');
        this.#nonce = clientNonce + (0,external_node_crypto_.randomBytes)(18).toString('base64');
        this.#serverFirst = `r=${this.#nonce},s=${this.#verifier.salt.toString('base64')},i=${this.#verifier.iterations}`;
        return this.#serverFirst;
    }
    /** The SASLResponse's data; returns the server-final-message, or throws when the proof is wrong. */
    finish(clientFinal) {
        const attrs = attributes(clientFinal);
        const proofAt = clientFinal.lastIndexOf(',p=');
        if (proofAt < 0 || !attrs.get('p'))
            throw new ScramError('the SCRAM client-final-message has no proof');
        if (attrs.get('r') !== this.#nonce)
            throw new ScramError('the SCRAM nonce does not match');
        if (attrs.get('c') !== Buffer.from(this.#gs2Header).toString('base64'))
            throw new ScramError('the SCRAM channel binding does not match');
        const withoutProof = clientFinal.slice(0, proofAt);
        const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`;
        const proof = Buffer.from(attrs.get('p'), 'base64');
        const signature = hmac(this.#verifier.storedKey, authMessage);
        if (proof.length !== signature.length)
            throw new ScramError('password authentication failed');
        const clientKey = xor(proof, signature);
        if (!(0,external_node_crypto_.timingSafeEqual)(sha256(clientKey), this.#verifier.storedKey))
            throw new ScramError('password authentication failed');
        return `v=${hmac(this.#verifier.serverKey, authMessage).toString('base64')}`;
    }
}
/** RFC 3454 B.1: mapped to nothing. */
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/gu;
/** RFC 3454 C.1.2: non-ASCII spaces, mapped to SPACE. */
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/gu;
/** RFC 3454 C.1.2, C.2.1, C.2.2, C.3 to C.9: prohibited in the output. */
const PROHIBITED = new RegExp('[\\u00A0\\u1680\\u2000-\\u200B\\u202F\\u205F\\u3000\\u0000-\\u001F\\u007F-\\u009F\\u06DD\\u070F\\u180E\\u200C\\u200D\\u2028\\u2029' +
    '\\u2060-\\u2063\\u206A-\\u206F\\uFEFF\\uFFF9-\\uFFFD\\u{1D173}-\\u{1D17A}\\uE000-\\uF8FF\\u{F0000}-\\u{FFFFD}\\u{100000}-\\u{10FFFD}' +
    '\\uFDD0-\\uFDEF\\uFFFE\\uFFFF\\u{1FFFE}\\u{1FFFF}\\u{2FFFE}\\u{2FFFF}\\u{3FFFE}\\u{3FFFF}\\u{4FFFE}\\u{4FFFF}\\u{5FFFE}\\u{5FFFF}' +
    '\\u{6FFFE}\\u{6FFFF}\\u{7FFFE}\\u{7FFFF}\\u{8FFFE}\\u{8FFFF}\\u{9FFFE}\\u{9FFFF}\\u{AFFFE}\\u{AFFFF}\\u{BFFFE}\\u{BFFFF}\\u{CFFFE}\\u{CFFFF}' +
    '\\u{DFFFE}\\u{DFFFF}\\u{EFFFE}\\u{EFFFF}\\u{FFFFE}\\u{FFFFF}\\u{10FFFE}\\u{10FFFF}\\uD800-\\uDFFF\\u2FF0-\\u2FFB\\u0340\\u0341\\u200E\\u200F' +
    '\\u202A-\\u202E\\u{E0001}\\u{E0020}-\\u{E007F}]', 'u');
/** RFC 3454 D.1, characters with bidirectional property R or AL. */
const RAND_AL = /[\u05BE\u05C0\u05C3\u05D0-\u05EA\u05F0-\u05F4\u061B\u061F\u0621-\u063A\u0640-\u064A\u066D-\u066F\u0671-\u06D5\u06DD\u06E5\u06E6\u06FA-\u06FE\u0700-\u070D\u0710\u0712-\u072C\u0780-\u07A5\u07B1\u200F\uFB1D\uFB1F-\uFB28\uFB2A-\uFB36\uFB38-\uFB3C\uFB3E\uFB40\uFB41\uFB43\uFB44\uFB46-\uFBB1\uFBD3-\uFD3D\uFD50-\uFD8F\uFD92-\uFDC7\uFDF0-\uFDFC\uFE70-\uFE74\uFE76-\uFEFC]/u;
/**
 * SASLprep (RFC 4013) of a password, as PostgreSQL applies it when it stores a SCRAM secret and libpq
 * when it answers: map, NFKC, then check prohibited characters and bidirectional text. A password it
 * rejects is used as it is, as both of them do. Unassigned code points are not checked (PostgreSQL
 * accepts them in stored passwords alike).
 */
function saslPrep(password) {
    if (/^[\x20-\x7E]*$/.test(password))
        return password;
    const prepared = password.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ').normalize('NFKC');
    if (PROHIBITED.test(prepared))
        return password;
    if (RAND_AL.test(prepared)) {
        const chars = [...prepared];
        const leftToRight = chars.some((c) => /\p{L}/u.test(c) && !RAND_AL.test(c));
        if (leftToRight || !RAND_AL.test(chars[0]) || !RAND_AL.test(chars.at(-1)))
            return password;
    }
    return prepared;
}
/** One client-side exchange with the target. */
class ScramClient {
    #password;
    #clientNonce = (0,external_node_crypto_.randomBytes)(18).toString('base64');
    #clientFirstBare = '';
    #expectedServerSignature;
    constructor(password) {
        this.#password = saslPrep(password);
    }
    /** The SASLInitialResponse data. */
    first() {
        this.#clientFirstBare = `n=*,r=${this.#clientNonce}`;
        return `n,,${this.#clientFirstBare}`;
    }
    /** Answers the server-first-message with the client-final-message. */
    respond(serverFirst) {
        const attrs = attributes(serverFirst);
        const nonce = attrs.get('r');
        const salt = attrs.get('s');
        const iterations = Number(attrs.get('i'));
        if (!nonce?.startsWith(this.#clientNonce) || nonce.length === this.#clientNonce.length)
            throw new ScramError('the target sent a bad SCRAM nonce');
        if (!salt || !Number.isInteger(iterations) || iterations < 1)
            throw new ScramError('the target sent a malformed SCRAM server-first-message');
        const salted = (0,external_node_crypto_.pbkdf2Sync)(this.#password, Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
        const clientKey = hmac(salted, 'Client Key');
        const withoutProof = `c=biws,r=${nonce}`;
        const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
        const proof = xor(clientKey, hmac(sha256(clientKey), authMessage));
        this.#expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage);
        return `${withoutProof},p=${proof.toString('base64')}`;
    }
    /** Checks the server-final-message, so a target that does not know the password is not trusted. */
    verify(serverFinal) {
        const v = Buffer.from(attributes(serverFinal).get('v') ?? '', 'base64');
        const expected = this.#expectedServerSignature;
        if (!expected || v.length !== expected.length || !(0,external_node_crypto_.timingSafeEqual)(v, expected)) {
            throw new ScramError("the target's SCRAM server signature does not verify");
        }
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/upstream.ts








const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'];
class TargetError extends Error {
}
function parseTargetUrl(url, ca) {
    let u;
    try {
        u = new URL(url);
    }
    catch {
        throw new TargetError('the postgres url is not a URL (postgres://user:password@host:port/database)');
    }
    if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
        throw new TargetError(`the postgres url has the scheme ${u.protocol}, not postgres:`);
    const sslmode = (u.searchParams.get('sslmode') ?? 'prefer');
    if (!SSL_MODES.includes(sslmode))
        throw new TargetError(`sslmode "${sslmode}" is not one of ${SSL_MODES.join(', ')}`);
    const user = decodeURIComponent(u.username);
    if (!user)
        throw new TargetError('the postgres url names no user');
    return {
        host: u.hostname.replace(/^\[|\]$/g, '') || 'localhost',
        port: Number(u.port || 5432),
        user,
        password: decodeURIComponent(u.password),
        database: decodeURIComponent(u.pathname.slice(1)) || user,
        sslmode,
        ...(ca && { ca }),
    };
}
function openSocket(target, timeoutMs) {
    return new Promise((resolve, reject) => {
        const socket = (0,external_node_net_.connect)({ host: target.host, port: target.port });
        socket.setNoDelay(true);
        const timer = setTimeout(() => socket.destroy(new TargetError(`cannot reach ${target.host}:${target.port} within ${timeoutMs / 1000} s`)), timeoutMs);
        socket.once('connect', () => {
            clearTimeout(timer);
            socket.removeAllListeners('error');
            resolve(socket);
        });
        socket.once('error', (e) => {
            clearTimeout(timer);
            reject(e instanceof TargetError ? e : new TargetError(`cannot reach ${target.host}:${target.port}: ${e.message}`));
        });
    });
}
/** SSLRequest, then TLS when the server agrees; sslmode decides what a refusal means. */
async function negotiateTls(socket, target) {
    if (target.sslmode === 'disable')
        return socket;
    socket.write(esm/* serialize */.lK.requestSsl());
    const answer = await new Promise((resolve, reject) => {
        socket.once('data', (d) => (d.length === 1 ? resolve(d[0]) : reject(new TargetError('the target answered the SSL request with more than one byte'))));
        socket.once('error', reject);
    });
    socket.removeAllListeners('error');
    if (answer === 0x4e /* N */) {
        if (target.sslmode !== 'prefer')
            throw new TargetError(`the target does not offer TLS, which sslmode=${target.sslmode} requires`);
        return socket;
    }
    if (answer !== 0x53 /* S */)
        throw new TargetError('the target answered the SSL request with neither S nor N');
    const verify = target.sslmode === 'verify-ca' || target.sslmode === 'verify-full';
    return new Promise((resolve, reject) => {
        const tls = (0,external_node_tls_.connect)({
            socket,
            ...((0,external_node_net_.isIP)(target.host) === 0 && { servername: target.host }),
            rejectUnauthorized: verify,
            ...(target.ca && { ca: target.ca }),
            // verify-ca checks the chain but not the name, as libpq does.
            ...(target.sslmode !== 'verify-full' && { checkServerIdentity: () => undefined }),
        });
        tls.once('secureConnect', () => {
            tls.removeAllListeners('error');
            resolve(tls);
        });
        tls.once('error', (e) => reject(new TargetError(`TLS to the target failed: ${e.message}`)));
    });
}
function startupMessage(parameters) {
    const w = new Writer(256).int32(PROTOCOL_3_0);
    for (const [k, v] of Object.entries(parameters))
        w.cstring(k).cstring(v);
    return w.byte(0).finish();
}
function md5Password(user, password, salt) {
    const inner = (0,external_node_crypto_.createHash)('md5').update(password + user).digest('hex');
    return `md5${(0,external_node_crypto_.createHash)('md5').update(Buffer.concat([Buffer.from(inner), salt])).digest('hex')}`;
}
/**
 * Connects and authenticates to the target with the real credentials (SCRAM-SHA-256, md5 or cleartext,
 * over TLS per sslmode), and collects ParameterStatus and BackendKeyData up to ReadyForQuery.
 */
async function connectUpstream(target, parameters, timeoutMs = 15_000) {
    const socket = await negotiateTls(await openSocket(target, timeoutMs), target);
    const reader = new FrameQueue(socket, 'the target connection');
    const timer = setTimeout(() => reader.fail(new TargetError(`the target did not finish authentication within ${timeoutMs / 1000} s`)), timeoutMs);
    try {
        socket.write(startupMessage({ ...parameters, user: target.user, database: target.database }));
        const result = { parameters: new Map(), pid: 0, secret: 0 };
        let scram;
        for (;;) {
            const { code, frame } = await reader.next();
            if (code === 69 /* Backend.ErrorResponse */) {
                throw new TargetError(`the target refused the connection: ${readNotice(frame).get('M') ?? 'no message'}`);
            }
            if (code === 82 /* Backend.Authentication */) {
                const r = new Reader(frame);
                const auth = r.int32();
                if (auth === 0 /* AuthCode.Ok */)
                    continue;
                if (auth === 3 /* AuthCode.CleartextPassword */)
                    socket.write(esm/* serialize */.lK.password(target.password));
                else if (auth === 5 /* AuthCode.MD5Password */)
                    socket.write(esm/* serialize */.lK.password(md5Password(target.user, target.password, r.bytes(4))));
                else if (auth === 10 /* AuthCode.SASL */) {
                    const mechanisms = [];
                    for (let m = r.cstring(); m !== ''; m = r.cstring())
                        mechanisms.push(m);
                    if (!mechanisms.includes(MECHANISM))
                        throw new TargetError(`the target offers ${mechanisms.join(', ')}, not ${MECHANISM}`);
                    scram = new ScramClient(target.password);
                    socket.write(esm/* serialize */.lK.sendSASLInitialResponseMessage(MECHANISM, scram.first()));
                }
                else if (auth === 11 /* AuthCode.SASLContinue */ && scram) {
                    socket.write(esm/* serialize */.lK.sendSCRAMClientFinalMessage(scram.respond(r.rest().toString('utf8'))));
                }
                else if (auth === 12 /* AuthCode.SASLFinal */ && scram) {
                    scram.verify(r.rest().toString('utf8'));
                }
                else {
                    throw new TargetError(`the target asks for authentication method ${auth}, which the gateway does not speak`);
                }
            }
            else if (code === 83 /* Backend.ParameterStatus */) {
                const { name, value } = readParameterStatus(frame);
                result.parameters.set(name, value);
            }
            else if (code === 75 /* Backend.BackendKeyData */) {
                result.pid = frame.readInt32BE(HEADER_LENGTH);
                result.secret = frame.readInt32BE(HEADER_LENGTH + 4);
            }
            else if (code === 90 /* Backend.ReadyForQuery */) {
                const leftover = reader.detach();
                return { socket, ...result, leftover: leftover ? [leftover] : [] };
            }
            // NoticeResponse and NegotiateProtocolVersion during startup carry nothing the gateway needs.
        }
    }
    catch (e) {
        reader.detach();
        socket.destroy();
        throw e instanceof TargetError || !(e instanceof Error) ? e : new TargetError(e.message);
    }
    finally {
        clearTimeout(timer);
    }
}
/** Sends a CancelRequest for a target backend on a connection of its own, as the protocol wants. */
async function cancelUpstream(target, pid, secret) {
    const socket = await openSocket(target, 5_000);
    socket.end(esm/* serialize */.lK.cancel(pid, secret));
    socket.on('error', () => undefined);
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/catalog.ts



/**
 * Resolves table OIDs (from RowDescription) and table names (from statements) through the target's
 * catalog, on a connection of the gateway's own, once per table: results are cached by OID. One
 * catalog serves every session of a connection; its queries run one at a time.
 */
class Catalog {
    #target;
    #tables = new Map();
    /** Relations by the name a statement used (`null`: no such relation); cleared with each new version. */
    #relations = new Map();
    /** By OID: the names first seen, attribute number by attribute number; kept across versions. */
    #identities = new Map();
    #ownFunctions;
    /** Changes whenever DDL may have changed what names mean; results derived from the catalog key on it. */
    version = 0;
    #connection;
    #queue = Promise.resolve();
    constructor(target) {
        this.#target = target;
    }
    cached(oid) {
        return this.#tables.get(oid);
    }
    /** Looks up the OIDs not yet known; resolves once all are in the cache (unknown OIDs stay absent). */
    async describe(oids) {
        const missing = [...new Set(oids)].filter((o) => o !== 0 && !this.#tables.has(o));
        if (missing.length === 0)
            return;
        const rows = await this.#query(`SELECT c.oid, n.nspname, c.relname, c.relkind, a.attnum, a.attname FROM pg_catalog.pg_class c ` +
            `JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ` +
            `JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ` +
            `WHERE c.oid IN (${missing.map((o) => String(Math.trunc(o))).join(',')}) ORDER BY c.oid, a.attnum`);
        const building = new Map();
        for (const [oid, schema, name, kind, attnum, attname] of rows) {
            const key = Number(oid);
            let t = building.get(key);
            if (!t)
                building.set(key, (t = { schema: schema, name: name, isView: kind === 'v' || kind === 'm', columns: new Map(), ordered: [] }));
            t.columns.set(Number(attnum), attname);
            t.ordered.push(attname);
        }
        for (const [oid, t] of building)
            this.#tables.set(oid, { oid, ...t, firstSeen: this.#firstSeen(oid, t.schema, t.name, t.columns) });
    }
    /** Records the names of a relation not seen before (and of its columns), and maps current names to them. */
    #firstSeen(oid, schema, name, columns) {
        let identity = this.#identities.get(oid);
        if (!identity)
            this.#identities.set(oid, (identity = { schema, name, columns: new Map() }));
        const byName = new Map();
        for (const [attnum, column] of columns) {
            if (!identity.columns.has(attnum))
                identity.columns.set(attnum, column);
            byName.set(column, identity.columns.get(attnum));
        }
        return { schema: identity.schema, name: identity.name, columns: byName };
    }
    /** A table by the name a statement uses (resolved with the target's default search_path). */
    async byName(qualifiedName) {
        const [row] = await this.#query(`SELECT pg_catalog.to_regclass(${literal(qualifiedName)})::oid`);
        const oid = Number(row?.[0] ?? 0);
        if (!oid)
            return undefined;
        this.#tables.delete(oid); // a name lookup happens before writes: take the table as it is now
        await this.describe([oid]);
        return this.#tables.get(oid);
    }
    /** Forgets what DDL may have changed: tables, views, functions. */
    invalidate() {
        this.version++;
        this.#tables.clear();
        this.#relations.clear();
        this.#ownFunctions = undefined;
    }
    relation(quotedName) {
        return this.#relations.get(quotedName);
    }
    /** Looks up relations by quoted, possibly schema-qualified name (as the target's default search_path resolves them). */
    async relations(quotedNames) {
        const missing = [...new Set(quotedNames)].filter((n) => !this.#relations.has(n));
        if (missing.length === 0)
            return;
        const version = this.version;
        const rows = await this.#query(`SELECT q.name, n.nspname, c.relname, ` +
            `(SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.attnum, a.attname) ORDER BY a.attnum) FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), ` +
            `CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END, c.oid ` +
            `FROM pg_catalog.unnest(ARRAY[${missing.map(literal).join(',')}]::text[]) AS q(name) ` +
            // A temporary relation of the job's own session is not on this connection's search_path: found by name when only one session has it.
            `LEFT JOIN pg_catalog.pg_class c ON c.oid = COALESCE(pg_catalog.to_regclass(q.name), (SELECT min(t.oid::text)::oid FROM pg_catalog.pg_class t ` +
            `JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace WHERE tn.nspname LIKE 'pg\\_temp\\_%' ` +
            `AND '"' || pg_catalog.replace(t.relname, '"', '""') || '"' = q.name HAVING count(*) = 1)) ` +
            `LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace`);
        if (version !== this.version)
            return;
        for (const [name, schema, relname, columns, definition, oid] of rows) {
            if (relname === null) {
                this.#relations.set(name, null);
                continue;
            }
            const attributes = new Map(columns ? JSON.parse(columns) : []);
            this.#relations.set(name, {
                schema: schema,
                name: relname,
                columns: [...attributes.values()],
                firstSeen: this.#firstSeen(Number(oid), schema, relname, attributes),
                ...(definition !== null && { definition: definition }),
            });
        }
    }
    /**
     * Names of functions the target defines itself (outside pg_catalog and extensions): what they return
     * cannot be traced to their arguments. A name shared with a built-in counts as the target's own.
     */
    ownFunctions() {
        const loading = (this.#ownFunctions ??= this.#query(`SELECT DISTINCT p.proname FROM pg_catalog.pg_proc p WHERE p.pronamespace <> 'pg_catalog'::pg_catalog.regnamespace ` +
            `AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'e')`).then((rows) => new Set(rows.map(([name]) => name))));
        loading.catch(() => (this.#ownFunctions = undefined));
        return loading;
    }
    close() {
        void this.#connection?.then((c) => c.close()).catch(() => undefined);
        this.#connection = undefined;
    }
    #query(sql) {
        // The target may end the gateway's own connection while it idles (pg_terminate_backend,
        // idle_session_timeout, a restart): a lookup only reads, so it is asked once more on a new connection.
        const run = this.#queue.then(() => this.#attempt(sql).catch((e) => (e instanceof ConnectionLost ? this.#attempt(sql) : Promise.reject(e))));
        this.#queue = run.catch(() => undefined);
        return run;
    }
    async #attempt(sql) {
        let connection;
        try {
            connection = await (this.#connection ??= CatalogConnection.open(this.#target));
            if (connection.closed)
                connection = await (this.#connection = CatalogConnection.open(this.#target));
        }
        catch (e) {
            this.#connection = undefined;
            throw e;
        }
        try {
            return await connection.query(sql);
        }
        catch (e) {
            if (e instanceof ConnectionLost)
                this.#connection = undefined;
            throw e;
        }
    }
}
/** The catalog's connection ended under a query, rather than the query failing: it may be asked again on a new one. */
class ConnectionLost extends Error {
}
const literal = (text) => `'${text.replaceAll("'", "''")}'`;
/** A minimal simple-query client over the gateway's own upstream connection. */
class CatalogConnection {
    #upstream;
    #frames;
    closed = false;
    constructor(upstream) {
        this.#upstream = upstream;
        this.#frames = new FrameQueue(upstream.socket, 'the catalog connection', Buffer.concat(upstream.leftover));
        upstream.socket.once('close', () => (this.closed = true));
    }
    static async open(target) {
        return new CatalogConnection(await connectUpstream(target, { application_name: 'govern catalog' }));
    }
    /** Runs one query; its rows as text, or its error. */
    async query(sql) {
        this.#upstream.socket.write(writeQuery(sql));
        const rows = [];
        let error;
        for (;;) {
            const { code, frame } = await this.#frames.next().catch((e) => {
                // The socket failed or closed (a target's FATAL comes just before): this connection is done.
                this.closed = true;
                throw new ConnectionLost(e.message);
            });
            if (code === 68 /* Backend.DataRow */)
                rows.push(readDataRow(frame).map((c) => (c === null ? null : c.toString('utf8'))));
            else if (code === 69 /* Backend.ErrorResponse */)
                error = readNotice(frame).get('M') ?? 'catalog query failed';
            else if (code === 90 /* Backend.ReadyForQuery */) {
                if (error)
                    throw new Error(error);
                return rows;
            }
        }
    }
    close() {
        this.#upstream.socket.end();
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/builtin-functions.ts
/**
 * What a call to a function does, from the facts of PostgreSQL's own catalog about its built-in
 * functions (`pg_catalog`): PostgreSQL 15's lists, and some later versions' non-volatile names. Made by
 *   SELECT DISTINCT lower(proname) FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace AND provolatile = 'v'
 * and, for the second list, the `pg_%`/`lo%` names none of whose forms is volatile. The test
 * `pg-guardrail-classes.test.ts` checks every built-in of the server it runs against, so a drift shows.
 */
/** Built-ins with a volatile form: they may change something, so each is dangerous unless reviewed. */
const VOLATILE_BUILTINS = new Set(`
  amvalidate bernoulli binary_upgrade_create_empty_extension binary_upgrade_set_missing_value
  binary_upgrade_set_next_array_pg_type_oid binary_upgrade_set_next_heap_pg_class_oid
  binary_upgrade_set_next_heap_relfilenode binary_upgrade_set_next_index_pg_class_oid
  binary_upgrade_set_next_index_relfilenode binary_upgrade_set_next_multirange_array_pg_type_oid
  binary_upgrade_set_next_multirange_pg_type_oid binary_upgrade_set_next_pg_authid_oid
  binary_upgrade_set_next_pg_enum_oid binary_upgrade_set_next_pg_tablespace_oid
  binary_upgrade_set_next_pg_type_oid binary_upgrade_set_next_toast_pg_class_oid
  binary_upgrade_set_next_toast_relfilenode binary_upgrade_set_record_init_privs brin_desummarize_range
  brin_summarize_new_values brin_summarize_range brinhandler bthandler clock_timestamp current_query currtid2
  currval cursor_to_xml cursor_to_xmlschema dsnowball_init dsnowball_lexize gen_random_uuid
  gin_clean_pending_list ginhandler gisthandler hashhandler heap_tableam_handler lastval lo_close lo_creat
  lo_create lo_export lo_from_bytea lo_get lo_import lo_lseek lo_lseek64 lo_open lo_put lo_tell lo_tell64
  lo_truncate lo_truncate64 lo_unlink loread lowrite nextval pg_advisory_lock pg_advisory_lock_shared
  pg_advisory_unlock pg_advisory_unlock_all pg_advisory_unlock_shared pg_advisory_xact_lock
  pg_advisory_xact_lock_shared pg_backup_start pg_backup_stop pg_blocking_pids pg_cancel_backend
  pg_collation_actual_version pg_control_checkpoint pg_control_init pg_control_recovery pg_control_system
  pg_copy_logical_replication_slot pg_copy_physical_replication_slot pg_create_logical_replication_slot
  pg_create_physical_replication_slot pg_create_restore_point pg_current_logfile pg_current_wal_flush_lsn
  pg_current_wal_insert_lsn pg_current_wal_lsn pg_database_collation_actual_version pg_database_size
  pg_drop_replication_slot pg_export_snapshot pg_extension_config_dump pg_get_backend_memory_contexts
  pg_get_multixact_members pg_get_shmem_allocations pg_get_wal_replay_pause_state pg_get_wal_resource_managers
  pg_hba_file_rules pg_ident_file_mappings pg_import_system_collations pg_indexes_size pg_is_in_recovery
  pg_is_wal_replay_paused pg_isolation_test_session_is_blocked pg_jit_available pg_last_committed_xact
  pg_last_wal_receive_lsn pg_last_wal_replay_lsn pg_last_xact_replay_timestamp pg_lock_status
  pg_log_backend_memory_contexts pg_logical_emit_message pg_logical_slot_get_binary_changes
  pg_logical_slot_get_changes pg_logical_slot_peek_binary_changes pg_logical_slot_peek_changes
  pg_ls_archive_statusdir pg_ls_dir pg_ls_logdir pg_ls_logicalmapdir pg_ls_logicalsnapdir pg_ls_replslotdir
  pg_ls_tmpdir pg_ls_waldir pg_nextoid pg_notification_queue_usage pg_notify pg_partition_ancestors
  pg_partition_tree pg_prepared_xact pg_promote pg_read_binary_file pg_read_file pg_read_file_old
  pg_relation_size pg_reload_conf pg_replication_origin_advance pg_replication_origin_create
  pg_replication_origin_drop pg_replication_origin_progress pg_replication_origin_session_is_setup
  pg_replication_origin_session_progress pg_replication_origin_session_reset
  pg_replication_origin_session_setup pg_replication_origin_xact_reset pg_replication_origin_xact_setup
  pg_replication_slot_advance pg_rotate_logfile pg_rotate_logfile_old pg_safe_snapshot_blocking_pids
  pg_sequence_last_value pg_show_all_file_settings pg_show_replication_origin_status pg_sleep pg_sleep_for
  pg_sleep_until pg_stat_clear_snapshot pg_stat_file pg_stat_force_next_flush pg_stat_get_recovery_prefetch
  pg_stat_get_xact_blocks_fetched pg_stat_get_xact_blocks_hit pg_stat_get_xact_function_calls
  pg_stat_get_xact_function_self_time pg_stat_get_xact_function_total_time pg_stat_get_xact_numscans
  pg_stat_get_xact_tuples_deleted pg_stat_get_xact_tuples_fetched pg_stat_get_xact_tuples_hot_updated
  pg_stat_get_xact_tuples_inserted pg_stat_get_xact_tuples_returned pg_stat_get_xact_tuples_updated
  pg_stat_have_stats pg_stat_reset pg_stat_reset_replication_slot pg_stat_reset_shared
  pg_stat_reset_single_function_counters pg_stat_reset_single_table_counters pg_stat_reset_slru
  pg_stat_reset_subscription_stats pg_stop_making_pinned_objects pg_switch_wal pg_table_size
  pg_tablespace_size pg_terminate_backend pg_total_relation_size pg_try_advisory_lock
  pg_try_advisory_lock_shared pg_try_advisory_xact_lock pg_try_advisory_xact_lock_shared pg_wal_replay_pause
  pg_wal_replay_resume pg_xact_commit_timestamp pg_xact_commit_timestamp_origin pg_xact_status
  plpgsql_call_handler plpgsql_inline_handler plpgsql_validator query_to_xml query_to_xml_and_xmlschema
  query_to_xmlschema random ri_fkey_cascade_del ri_fkey_cascade_upd ri_fkey_check_ins ri_fkey_check_upd
  ri_fkey_noaction_del ri_fkey_noaction_upd ri_fkey_restrict_del ri_fkey_restrict_upd ri_fkey_setdefault_del
  ri_fkey_setdefault_upd ri_fkey_setnull_del ri_fkey_setnull_upd set_config setseed setval spghandler
  suppress_redundant_updates_trigger system timeofday ts_rewrite ts_stat tsvector_update_trigger
  tsvector_update_trigger_column txid_status unique_key_recheck
`.split(/\s+/).filter(Boolean));
/**
 * Built-ins named `pg_…` or `lo…` none of whose forms is volatile (PostgreSQL 16–18's that read only
 * at the end). A `pg_`/`lo_` name in neither list is taken for a newer server's volatile built-in.
 */
const NON_VOLATILE_SYSTEM_FUNCTIONS = new Set(`
  log log10 lower lower_inc lower_inf pg_available_extension_versions pg_available_extensions pg_backend_pid
  pg_char_to_encoding pg_client_encoding pg_collation_for pg_collation_is_visible pg_column_compression
  pg_column_is_updatable pg_column_size pg_conf_load_time pg_config pg_conversion_is_visible
  pg_current_snapshot pg_current_xact_id pg_current_xact_id_if_assigned pg_cursor pg_ddl_command_in
  pg_ddl_command_out pg_ddl_command_recv pg_ddl_command_send pg_dependencies_in pg_dependencies_out
  pg_dependencies_recv pg_dependencies_send pg_describe_object pg_encoding_max_length pg_encoding_to_char
  pg_event_trigger_ddl_commands pg_event_trigger_dropped_objects pg_event_trigger_table_rewrite_oid
  pg_event_trigger_table_rewrite_reason pg_extension_update_paths pg_filenode_relation pg_function_is_visible
  pg_get_catalog_foreign_keys pg_get_constraintdef pg_get_expr pg_get_function_arg_default
  pg_get_function_arguments pg_get_function_identity_arguments pg_get_function_result pg_get_function_sqlbody
  pg_get_functiondef pg_get_indexdef pg_get_keywords pg_get_object_address pg_get_partition_constraintdef
  pg_get_partkeydef pg_get_publication_tables pg_get_replica_identity_index pg_get_replication_slots
  pg_get_ruledef pg_get_serial_sequence pg_get_statisticsobjdef pg_get_statisticsobjdef_columns
  pg_get_statisticsobjdef_expressions pg_get_triggerdef pg_get_userbyid pg_get_viewdef pg_has_role
  pg_identify_object pg_identify_object_as_address pg_index_column_has_property pg_index_has_property
  pg_indexam_has_property pg_indexam_progress_phasename pg_is_other_temp_schema pg_listening_channels pg_lsn
  pg_lsn_cmp pg_lsn_eq pg_lsn_ge pg_lsn_gt pg_lsn_hash pg_lsn_hash_extended pg_lsn_in pg_lsn_larger pg_lsn_le
  pg_lsn_lt pg_lsn_mi pg_lsn_mii pg_lsn_ne pg_lsn_out pg_lsn_pli pg_lsn_recv pg_lsn_send pg_lsn_smaller
  pg_mcv_list_in pg_mcv_list_items pg_mcv_list_out pg_mcv_list_recv pg_mcv_list_send pg_my_temp_schema
  pg_ndistinct_in pg_ndistinct_out pg_ndistinct_recv pg_ndistinct_send pg_node_tree_in pg_node_tree_out
  pg_node_tree_recv pg_node_tree_send pg_opclass_is_visible pg_operator_is_visible pg_opfamily_is_visible
  pg_options_to_table pg_partition_root pg_postmaster_start_time pg_prepared_statement pg_relation_filenode
  pg_relation_filepath pg_relation_is_publishable pg_relation_is_updatable pg_replication_origin_oid
  pg_sequence_parameters pg_settings_get_flags pg_show_all_settings pg_size_bytes pg_size_pretty
  pg_snapshot_in pg_snapshot_out pg_snapshot_recv pg_snapshot_send pg_snapshot_xip pg_snapshot_xmax
  pg_snapshot_xmin pg_stat_get_activity pg_stat_get_analyze_count pg_stat_get_archiver
  pg_stat_get_autoanalyze_count pg_stat_get_autovacuum_count pg_stat_get_backend_activity
  pg_stat_get_backend_activity_start pg_stat_get_backend_client_addr pg_stat_get_backend_client_port
  pg_stat_get_backend_dbid pg_stat_get_backend_idset pg_stat_get_backend_pid pg_stat_get_backend_start
  pg_stat_get_backend_userid pg_stat_get_backend_wait_event pg_stat_get_backend_wait_event_type
  pg_stat_get_backend_xact_start pg_stat_get_bgwriter_buf_written_checkpoints
  pg_stat_get_bgwriter_buf_written_clean pg_stat_get_bgwriter_maxwritten_clean
  pg_stat_get_bgwriter_requested_checkpoints pg_stat_get_bgwriter_stat_reset_time
  pg_stat_get_bgwriter_timed_checkpoints pg_stat_get_blocks_fetched pg_stat_get_blocks_hit
  pg_stat_get_buf_alloc pg_stat_get_buf_fsync_backend pg_stat_get_buf_written_backend
  pg_stat_get_checkpoint_sync_time pg_stat_get_checkpoint_write_time pg_stat_get_db_active_time
  pg_stat_get_db_blk_read_time pg_stat_get_db_blk_write_time pg_stat_get_db_blocks_fetched
  pg_stat_get_db_blocks_hit pg_stat_get_db_checksum_failures pg_stat_get_db_checksum_last_failure
  pg_stat_get_db_conflict_all pg_stat_get_db_conflict_bufferpin pg_stat_get_db_conflict_lock
  pg_stat_get_db_conflict_snapshot pg_stat_get_db_conflict_startup_deadlock pg_stat_get_db_conflict_tablespace
  pg_stat_get_db_deadlocks pg_stat_get_db_idle_in_transaction_time pg_stat_get_db_numbackends
  pg_stat_get_db_session_time pg_stat_get_db_sessions pg_stat_get_db_sessions_abandoned
  pg_stat_get_db_sessions_fatal pg_stat_get_db_sessions_killed pg_stat_get_db_stat_reset_time
  pg_stat_get_db_temp_bytes pg_stat_get_db_temp_files pg_stat_get_db_tuples_deleted
  pg_stat_get_db_tuples_fetched pg_stat_get_db_tuples_inserted pg_stat_get_db_tuples_returned
  pg_stat_get_db_tuples_updated pg_stat_get_db_xact_commit pg_stat_get_db_xact_rollback
  pg_stat_get_dead_tuples pg_stat_get_function_calls pg_stat_get_function_self_time
  pg_stat_get_function_total_time pg_stat_get_ins_since_vacuum pg_stat_get_last_analyze_time
  pg_stat_get_last_autoanalyze_time pg_stat_get_last_autovacuum_time pg_stat_get_last_vacuum_time
  pg_stat_get_live_tuples pg_stat_get_mod_since_analyze pg_stat_get_numscans pg_stat_get_progress_info
  pg_stat_get_replication_slot pg_stat_get_slru pg_stat_get_snapshot_timestamp pg_stat_get_subscription
  pg_stat_get_subscription_stats pg_stat_get_tuples_deleted pg_stat_get_tuples_fetched
  pg_stat_get_tuples_hot_updated pg_stat_get_tuples_inserted pg_stat_get_tuples_returned
  pg_stat_get_tuples_updated pg_stat_get_vacuum_count pg_stat_get_wal pg_stat_get_wal_receiver
  pg_stat_get_wal_senders pg_statistics_obj_is_visible pg_table_is_visible pg_tablespace_databases
  pg_tablespace_location pg_timezone_abbrevs pg_timezone_names pg_trigger_depth pg_ts_config_is_visible
  pg_ts_dict_is_visible pg_ts_parser_is_visible pg_ts_template_is_visible pg_type_is_visible pg_typeof
  pg_visible_in_snapshot pg_wal_lsn_diff pg_walfile_name pg_walfile_name_offset
  pg_input_is_valid pg_input_error_info pg_basetype pg_get_acl pg_split_walfile_name pg_column_toast_chunk_id
`.split(/\s+/).filter(Boolean));
/**
 * Volatile built-ins reviewed for what they do, with the classes that says (none: they only read).
 * Every other volatile built-in is `dangerous_function`: writing server files or large objects,
 * listing server directories, stopping backends, replication, statistics resets.
 */
const REVIEWED_VOLATILE = new Map([
    ...`clock_timestamp timeofday random gen_random_uuid current_query currval lastval txid_status pg_sleep pg_sleep_for
    pg_sleep_until pg_blocking_pids pg_safe_snapshot_blocking_pids pg_isolation_test_session_is_blocked pg_lock_status
    pg_collation_actual_version pg_database_collation_actual_version pg_database_size pg_indexes_size pg_relation_size
    pg_table_size pg_tablespace_size pg_total_relation_size pg_partition_ancestors pg_partition_tree pg_sequence_last_value
    pg_is_in_recovery pg_is_wal_replay_paused pg_get_wal_replay_pause_state pg_jit_available pg_current_wal_lsn
    pg_current_wal_flush_lsn pg_current_wal_insert_lsn pg_last_wal_receive_lsn pg_last_wal_replay_lsn
    pg_last_xact_replay_timestamp pg_last_committed_xact pg_xact_commit_timestamp pg_xact_commit_timestamp_origin pg_xact_status
    pg_prepared_xact pg_notification_queue_usage pg_get_backend_memory_contexts pg_get_shmem_allocations
    pg_get_multixact_members pg_stat_clear_snapshot pg_stat_force_next_flush pg_stat_have_stats pg_stat_get_xact_blocks_fetched
    pg_stat_get_xact_blocks_hit pg_stat_get_xact_function_calls pg_stat_get_xact_function_self_time
    pg_stat_get_xact_function_total_time pg_stat_get_xact_numscans pg_stat_get_xact_tuples_deleted
    pg_stat_get_xact_tuples_fetched pg_stat_get_xact_tuples_hot_updated pg_stat_get_xact_tuples_inserted
    pg_stat_get_xact_tuples_returned pg_stat_get_xact_tuples_updated pg_advisory_unlock pg_advisory_unlock_shared
    pg_advisory_unlock_all lo_open lo_close loread lo_get lo_lseek lo_lseek64 lo_tell lo_tell64`
        .split(/\s+/)
        .filter(Boolean)
        .map((name) => [name, []]),
    // Advisory locks only take a lock, as LOCK does.
    ...`pg_advisory_lock pg_advisory_lock_shared pg_advisory_xact_lock pg_advisory_xact_lock_shared pg_try_advisory_lock
    pg_try_advisory_lock_shared pg_try_advisory_xact_lock pg_try_advisory_xact_lock_shared`
        .split(/\s+/)
        .filter(Boolean)
        .map((name) => [name, ['lock', 'write']]),
    ['nextval', ['write']],
    ['setval', ['write']],
    ['setseed', ['session']],
    ['pg_notify', ['notify']],
    // Classified by its arguments (see settingClasses).
    ['set_config', []],
    ...['query_to_xml', 'query_to_xml_and_xmlschema', 'query_to_xmlschema', 'cursor_to_xml', 'cursor_to_xmlschema', 'ts_stat', 'ts_rewrite'].map((name) => [name, ['unknown', 'write']]),
]);
/** Functions of extensions that reach other servers. */
const DANGEROUS_EXTENSION_FUNCTIONS = new Set(['dblink', 'dblink_exec', 'dblink_open', 'dblink_connect', 'dblink_connect_u', 'dblink_send_query', 'dblink_fetch']);
/**
 * The classes a call contributes, from what the catalog says of the function: a volatile built-in is
 * `dangerous_function` unless reviewed, and so is a `pg_…`/`lo_…` name the catalog facts do not know
 * (a newer server's built-in, or an extension's). Other names are the target's own functions.
 */
function functionClasses(name) {
    const reviewed = REVIEWED_VOLATILE.get(name);
    if (reviewed)
        return reviewed;
    if (DANGEROUS_EXTENSION_FUNCTIONS.has(name) || VOLATILE_BUILTINS.has(name))
        return ['dangerous_function', 'write'];
    if (/^(pg_|lo_)/.test(name) && !NON_VOLATILE_SYSTEM_FUNCTIONS.has(name))
        return ['dangerous_function', 'write'];
    return [];
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/filters.ts
/**
 * Whether a DELETE, UPDATE, MERGE action or ON CONFLICT DO UPDATE is restricted to some of its
 * target's rows, judged from what its condition compares rather than from a list of tautologies.
 *
 * A condition restricts only in these shapes (an allow-list; everything else reaches every row):
 * - a comparison (`= <> < > <= >=`, `IN`, `BETWEEN`, `IS [NOT] DISTINCT FROM`, `LIKE`/`ILIKE`, `= ANY`)
 *   of a bare column of the target (a cast of one too) with values that come from outside the row:
 *   constants, parameters, expressions of those, columns of another table, subqueries over other data;
 * - `IS [NOT] TRUE/FALSE` of a bare column of the target; `WHERE CURRENT OF` a cursor;
 * - `EXISTS` of a subquery over other data whose own condition restricts the target that way;
 * - `AND` with one restricting side; `OR` whose every side is an equality (see `#restriction`).
 * Data counts as the same as the target's (so never restricting) when it reads a relation of the
 * target's name, or a CTE or subquery that does: self-joins in `USING`/`FROM`/`MERGE … USING`, `IN
 * (SELECT id FROM target)`. Where other relations are joined, only columns qualified with the target's
 * name or alias count as the target's. `LIKE` patterns made only of `%` keep every row.
 */
const node = (n, type) => (n && typeof n === 'object' ? n[type] : undefined);
const sval = (n) => node(n, 'String')?.sval;
/** Comparison operators whose truth depends on both sides: each can be false for some value. */
const COMPARISONS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=']);
const COMPARISON_KINDS = new Set(['AEXPR_OP', 'AEXPR_OP_ANY', 'AEXPR_OP_ALL', 'AEXPR_IN', 'AEXPR_DISTINCT', 'AEXPR_NOT_DISTINCT', 'AEXPR_LIKE', 'AEXPR_ILIKE', 'AEXPR_BETWEEN', 'AEXPR_NOT_BETWEEN', 'AEXPR_BETWEEN_SYM', 'AEXPR_NOT_BETWEEN_SYM']);
/** What the statement knows of its target: the table's name, and the CTEs that read it. */
class FilterContext {
    #relname;
    #sameDataCtes = new Set();
    #facts;
    /**
     * `ctes`: every CTE of the whole statement, by name (a name defined twice counts if either reads the
     * target); `facts` learns whether the verdict read a constant's value.
     */
    constructor(relname, ctes, facts) {
        this.#relname = relname;
        this.#facts = facts;
        // A CTE reads the target if its body does, directly or through another CTE: repeat to a fixed point.
        for (let changed = true; changed;) {
            changed = false;
            for (const [name, bodies] of ctes) {
                if (!this.#sameDataCtes.has(name) && bodies.some((b) => this.readsTarget(b))) {
                    this.#sameDataCtes.add(name);
                    changed = true;
                }
            }
        }
    }
    /** Whether a tree reads the target's rows anywhere: its table, or a CTE that does. */
    readsTarget(tree) {
        if (!tree || typeof tree !== 'object')
            return false;
        if (Array.isArray(tree))
            return tree.some((t) => this.readsTarget(t));
        const range = node(tree, 'RangeVar');
        if (range && (range.relname === this.#relname || (!range.schemaname && this.#sameDataCtes.has(String(range.relname)))))
            return true;
        return Object.values(tree).some((v) => this.readsTarget(v));
    }
    /** The scope of a statement on the target (its RangeVar) joined with `others` (USING, FROM, MERGE's source). */
    scope(target, others) {
        const joined = new Map();
        for (const o of others)
            this.#collectRelations(o, joined);
        return { target: targetNames(target), others: joined, bareIsTarget: others.length === 0 };
    }
    /** ON CONFLICT DO UPDATE's scope: the target's columns, and `excluded`, the row proposed from `source`. */
    conflictScope(target, source) {
        return { target: targetNames(target), others: new Map([['excluded', this.readsTarget(source)]]), bareIsTarget: true };
    }
    #collectRelations(from, into) {
        const range = node(from, 'RangeVar');
        if (range) {
            const alias = range.alias?.aliasname;
            into.set(alias ?? String(range.relname), this.readsTarget(from));
            return;
        }
        const join = node(from, 'JoinExpr');
        if (join) {
            this.#collectRelations(join.larg, into);
            this.#collectRelations(join.rarg, into);
            const alias = join.alias?.aliasname;
            if (alias)
                into.set(alias, this.readsTarget(from));
            return;
        }
        const sub = node(from, 'RangeSubselect') ?? node(from, 'RangeFunction') ?? node(from, 'RangeTableFunc');
        const alias = sub?.alias?.aliasname;
        if (alias)
            into.set(alias, this.readsTarget(from));
    }
    /** Whether `condition` (a WHERE, ON or WHEN) restricts the target's rows in `scope`. */
    restricts(condition, scope) {
        return this.#restriction(condition, scope, false) !== 'none';
    }
    /**
     * How a condition (under NOT when `negated`) restricts the target: to the rows equal to given values
     * (`point`), to some other part of them (`broad`), or not at all. Only points combine under OR, since
     * two broad conditions (`id < 5 OR id >= 5`), or a broad one and a point (`id <> 5 OR id = 5`), may
     * cover every row; a NOT of a set (`NOT IN (subquery)`, `<> ALL`, `NOT EXISTS`) holds for every row
     * when the set is empty, so it restricts nothing.
     */
    #restriction(condition, scope, negated) {
        if (condition === undefined || condition === null)
            return 'none';
        const bool = node(condition, 'BoolExpr');
        if (bool) {
            const args = bool.args ?? [];
            if (bool.boolop === 'NOT_EXPR')
                return this.#restriction(args[0], scope, !negated);
            const kinds = args.map((a) => this.#restriction(a, scope, negated));
            // NOT swaps AND and OR (De Morgan).
            if ((bool.boolop === 'AND_EXPR') !== negated)
                return kinds.includes('point') ? 'point' : kinds.includes('broad') ? 'broad' : 'none';
            return kinds.length > 0 && kinds.every((k) => k === 'point') ? 'point' : 'none';
        }
        if (node(condition, 'CurrentOfExpr'))
            return negated ? 'broad' : 'point';
        const test = node(condition, 'BooleanTest');
        if (test)
            return this.#side(test.arg, scope) === 'target' ? 'broad' : 'none';
        const sub = node(condition, 'SubLink');
        if (sub)
            return this.#subqueryRestriction(sub, scope, negated);
        const expr = node(condition, 'A_Expr');
        return expr ? this.#comparison(expr, scope, negated) : 'none';
    }
    /** `[NOT] EXISTS (…)`, `x [NOT] IN (subquery)`, `x op ANY/ALL (subquery)`. */
    #subqueryRestriction(sub, scope, negated) {
        if (sub.subLinkType === 'EXISTS_SUBLINK')
            return negated ? 'none' : this.#existsRestriction(sub.subselect, scope);
        if (sub.subLinkType !== 'ANY_SUBLINK' && sub.subLinkType !== 'ALL_SUBLINK')
            return 'none';
        const operator = sval(sub.operName?.at(-1)) ?? '=';
        if (!COMPARISONS.has(operator) || this.#side(sub.testexpr, scope) !== 'target')
            return 'none';
        // x op ANY (empty) is false, x op ALL (empty) true; NOT swaps them.
        if ((sub.subLinkType === 'ALL_SUBLINK') !== negated)
            return 'none';
        const point = operator === '=' && !negated;
        if (this.#outsideSubquery(sub.subselect, scope))
            return point ? 'point' : 'broad';
        return point && this.#restrictedSelf(sub.subselect) ? 'point' : 'none';
    }
    /**
     * `IN (SELECT … FROM target WHERE …)`: a subquery over the target's own rows (alone, or in an inner
     * join with other data) that its own condition restricts yields values of some rows only.
     */
    #restrictedSelf(subselect) {
        const select = node(subselect, 'SelectStmt');
        const from = select?.fromClause ?? [];
        if (!select || from.length !== 1)
            return false;
        const own = (n) => node(n, 'RangeVar')?.relname === this.#relname;
        const join = node(from[0], 'JoinExpr');
        if (own(from[0]))
            return this.restricts(select.whereClause, this.scope(node(from[0], 'RangeVar'), []));
        if (!join || join.jointype !== 'JOIN_INNER' || join.usingClause || join.isNatural)
            return false;
        const [mine, other] = own(join.larg) ? [join.larg, join.rarg] : own(join.rarg) ? [join.rarg, join.larg] : [];
        if (!mine || this.readsTarget(other))
            return false;
        const both = { BoolExpr: { boolop: 'AND_EXPR', args: [join.quals, select.whereClause].filter((c) => c !== undefined) } };
        return this.restricts(both, this.scope(node(mine, 'RangeVar'), [other]));
    }
    /** A comparison of a bare column of the target with values from outside its row. */
    #comparison(expr, scope, negated) {
        const kind = String(expr.kind);
        const operator = sval(expr.name?.at(-1)) ?? '';
        const like = kind === 'AEXPR_LIKE' || kind === 'AEXPR_ILIKE';
        if (!COMPARISON_KINDS.has(kind) || (!kind.includes('BETWEEN') && !like && !COMPARISONS.has(operator)))
            return 'none';
        const list = node(expr.rexpr, 'List')?.items;
        const compares = this.#compares(expr.lexpr, list ?? [expr.rexpr], scope) || (list === undefined && this.#compares(expr.rexpr, [expr.lexpr], scope));
        if (!compares)
            return 'none';
        switch (kind) {
            case 'AEXPR_BETWEEN':
            case 'AEXPR_BETWEEN_SYM':
            case 'AEXPR_NOT_BETWEEN':
            case 'AEXPR_NOT_BETWEEN_SYM':
                // NOT BETWEEN is `x < low OR x > high`: true for every row when low > high.
                return kind.includes('NOT') !== negated ? 'none' : 'broad';
            case 'AEXPR_OP_ANY':
            case 'AEXPR_OP_ALL':
                if ((kind === 'AEXPR_OP_ALL') !== negated)
                    return 'none';
                return operator === '=' && !negated ? 'point' : 'broad';
            case 'AEXPR_DISTINCT':
            case 'AEXPR_NOT_DISTINCT':
                // IS DISTINCT FROM an expression that may be NULL is IS NOT NULL: only a constant or a parameter will do.
                if (!this.#plain(expr.lexpr) && !this.#plain(expr.rexpr))
                    return 'none';
                return (kind === 'AEXPR_NOT_DISTINCT') !== negated ? 'point' : 'broad';
            case 'AEXPR_LIKE':
            case 'AEXPR_ILIKE': {
                // A pattern computed from constants may be `%`: only a constant or a parameter will do.
                if (!this.#plain(expr.rexpr))
                    return 'none';
                const pattern = constantText(expr.rexpr);
                if (pattern !== undefined)
                    this.#facts.readsValue = true;
                const positive = !operator.startsWith('!') !== negated;
                return positive && pattern !== undefined && /^[%_]*$/.test(pattern) ? 'none' : 'broad';
            }
            default: {
                const equality = operator === '=' ? !negated : operator === '<>' || operator === '!=' ? negated : false;
                return equality ? 'point' : 'broad';
            }
        }
    }
    /** A constant other than NULL (which the normalized text hides: a value read), or a parameter, cast or not. */
    #plain(n) {
        const cast = node(n, 'TypeCast');
        if (cast)
            return this.#plain(cast.arg);
        const constant = node(n, 'A_Const');
        if (constant)
            this.#facts.readsValue = true;
        return node(n, 'ParamRef') !== undefined || (constant !== undefined && !constant.isnull);
    }
    /** A bare column of the target on one side, and only values from outside the row on the other. */
    #compares(left, right, scope) {
        return this.#side(left, scope) === 'target' && right.length > 0 && right.every((r) => this.#side(r, scope) === 'outside');
    }
    /**
     * EXISTS (subquery over other data WHERE it restricts the target), correlated by the target's name. A
     * subquery that aggregates or groups returns a row whatever its WHERE says: it restricts nothing.
     */
    #existsRestriction(subselect, scope) {
        const select = node(subselect, 'SelectStmt');
        if (!select || this.readsTarget(subselect))
            return 'none';
        if (select.groupClause || select.havingClause || mentionsCall(select.targetList))
            return 'none';
        const inner = new Map(scope.others);
        for (const f of select.fromClause ?? [])
            this.#collectRelations(f, inner);
        const target = new Set([...scope.target].filter((n) => !inner.has(n)));
        // An unqualified name inside may be the subquery's column or the target's: it counts as neither.
        return this.#restriction(select.whereClause, { target, others: inner, bareIsTarget: false }, false);
    }
    /**
     * What an expression is to the target's row: a bare column of it (`target`), a value from outside the
     * row (`outside`: no column of the target or of the same data), or neither.
     */
    #side(expr, scope) {
        const cast = node(expr, 'TypeCast') ?? node(expr, 'CollateClause');
        if (cast)
            return this.#side(cast.arg, scope);
        const ref = node(expr, 'ColumnRef');
        if (ref) {
            const fields = ref.fields ?? [];
            if (fields.some((f) => node(f, 'A_Star')))
                return 'mixed';
            if (fields.length === 1)
                return scope.bareIsTarget ? 'target' : 'mixed';
            const qualifier = fields.slice(0, -1).map(sval).slice(-2).join('.');
            const relation = fields.length >= 2 ? sval(fields.at(-2)) : undefined;
            if (scope.target.has(qualifier) || (relation !== undefined && scope.target.has(relation)))
                return 'target';
            const other = relation === undefined ? undefined : scope.others.get(relation);
            return other === false ? 'outside' : 'mixed';
        }
        return this.#outside(expr, scope) ? 'outside' : 'mixed';
    }
    /** No column of the target (or of the same data), and no subquery reading the target, anywhere in it. */
    #outside(expr, scope) {
        if (!expr || typeof expr !== 'object')
            return true;
        if (Array.isArray(expr))
            return expr.every((e) => this.#outside(e, scope));
        if (node(expr, 'ColumnRef'))
            return this.#side(expr, scope) === 'outside';
        const sub = node(expr, 'SubLink');
        if (sub)
            return this.#outsideSubquery(sub.subselect, scope) && this.#outside(sub.testexpr, scope);
        return Object.values(expr).every((v) => this.#outside(v, scope));
    }
    /**
     * A subquery over other data: it reads no relation of the target's data and names no column of the
     * target. A name it does not qualify could be the target's (when its own relations have no such
     * column), so it may have none.
     */
    #outsideSubquery(subselect, scope) {
        if (this.readsTarget(subselect))
            return false;
        const select = node(subselect, 'SelectStmt');
        // Without a FROM of its own, every name in it is the outer row's.
        if (select && !select.fromClause && !select.valuesLists && !select.larg)
            return false;
        return !mayNameTarget(subselect, scope.target);
    }
}
/** Whether a tree has a column reference that may be the target's: qualified with its name, or not qualified. */
function mayNameTarget(tree, target) {
    if (!tree || typeof tree !== 'object')
        return false;
    if (Array.isArray(tree))
        return tree.some((t) => mayNameTarget(t, target));
    const ref = node(tree, 'ColumnRef');
    if (ref) {
        const fields = ref.fields ?? [];
        if (fields.length === 1)
            return !node(fields[0], 'A_Star');
        return target.has(sval(fields.at(-2)) ?? '');
    }
    return Object.values(tree).some((v) => mayNameTarget(v, target));
}
function targetNames(target) {
    const alias = target.alias?.aliasname;
    if (alias)
        return new Set([alias]);
    return new Set([String(target.relname), ...(target.schemaname ? [`${String(target.schemaname)}.${String(target.relname)}`] : [])]);
}
/** Whether a tree calls a function anywhere (an aggregate would make a row of no rows). */
function mentionsCall(tree) {
    if (!tree || typeof tree !== 'object')
        return false;
    if (Array.isArray(tree))
        return tree.some(mentionsCall);
    if (node(tree, 'FuncCall'))
        return true;
    return Object.values(tree).some(mentionsCall);
}
/** The text of a string constant (a LIKE pattern). */
function constantText(n) {
    const text = node(n, 'A_Const')?.sval?.sval;
    return typeof text === 'string' ? text : undefined;
}
/** Every CTE in a tree by name: a DML statement inside a CTE may refer to its siblings. */
function ctesIn(tree, into = new Map()) {
    if (!tree || typeof tree !== 'object')
        return into;
    if (Array.isArray(tree)) {
        for (const t of tree)
            ctesIn(t, into);
        return into;
    }
    const cte = node(tree, 'CommonTableExpr');
    if (cte?.ctename)
        into.set(String(cte.ctename), [...(into.get(String(cte.ctename)) ?? []), cte.ctequery]);
    for (const v of Object.values(tree))
        ctesIn(v, into);
    return into;
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/shape.ts
/**
 * A statement's shape without the parser: one pass of PostgreSQL's lexical rules cuts out every
 * constant, so that texts differing only in their constants' values share a key, and the classifier
 * finds what it decided for one of them without normalizing or parsing the other.
 *
 * The key is trusted only where the scan cannot misread the text as PostgreSQL's lexer reads it. Any
 * construct it does not follow exactly gives no shape, and the parser decides: a standard string
 * holding a backslash (standard_conforming_strings could make it an escape), `U&`, `B`, `X` and `N`
 * strings, non-decimal or underscored numbers, a number run into a name, an unterminated string,
 * quoted name, dollar quote or comment, a control character or a backslash outside a string. Only texts
 * whose every statement is a SELECT, INSERT, UPDATE, DELETE, WITH or VALUES have a shape: their
 * constants are all replaced by the parser's normalization too, which the classification's rule of
 * reading a constant's value only with `readsValue` set is made against.
 */
const SHAPED = /^\s*(select|insert|update|delete|with|values)\b/i;
const STATEMENT_START = /^(select|insert|update|delete|with|values)$/i;
const INTEGER = '\u0001';
const STRING = '\u0002';
const NUMBER = '\u0003';
const isDigit = (c) => c >= 0x30 && c <= 0x39;
/** What starts a name or a dollar quote's tag: letters, `_`, and every non-ASCII character (as PostgreSQL's high-bit bytes). */
const isNameStart = (c) => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80;
const isTagPart = (c) => isNameStart(c) || isDigit(c);
const isNamePart = (c) => isTagPart(c) || c === 0x24;
/** Whitespace as PostgreSQL's lexer knows it: space, tab, newline, carriage return, form feed. */
const isSpace = (c) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c;
/** Characters no key may hold outside a constant, so that its marks are unambiguous; PostgreSQL reads none of them as whitespace. */
const CONTROL = /[\u0000-\u0008\u000b\u000e-\u001f\u007f]/;
/**
 * NUL, then the text with each constant's value replaced: an integer by U+0001, any other number by
 * U+0003, a string's body (between its quotes, which stay) by U+0002. Everything else is kept as it
 * was, comments included, so two texts with one key differ in their constants' values alone.
 */
function statementShape(sql) {
    if (!SHAPED.test(sql) || CONTROL.test(sql))
        return undefined;
    const length = sql.length;
    let key = '\u0000';
    let copied = 0;
    /** After a `;`: the next word must start a statement of a shaped kind. */
    let statementStart = false;
    const replace = (start, end, mark) => {
        key += sql.slice(copied, start) + mark;
        copied = end;
    };
    for (let i = 0; i < length; i++) {
        const c = sql.charCodeAt(i);
        if (isSpace(c))
            continue;
        const next = sql.charCodeAt(i + 1);
        if (c === 0x2d && next === 0x2d) {
            // -- to the end of the line.
            while (i + 1 < length && sql.charCodeAt(i + 1) !== 0x0a && sql.charCodeAt(i + 1) !== 0x0d)
                i++;
            continue;
        }
        if (c === 0x2f && next === 0x2a) {
            // Block comments nest.
            let depth = 1;
            for (i += 2; depth > 0; i++) {
                if (i + 1 >= length)
                    return undefined;
                const a = sql.charCodeAt(i);
                const b = sql.charCodeAt(i + 1);
                if (a === 0x2f && b === 0x2a)
                    (depth++, i++);
                else if (a === 0x2a && b === 0x2f)
                    (depth--, i++);
            }
            i--;
            continue;
        }
        if (statementStart) {
            statementStart = false;
            if (!isNameStart(c))
                return undefined;
            let end = i + 1;
            while (end < length && isNamePart(sql.charCodeAt(end)))
                end++;
            if (!STATEMENT_START.test(sql.slice(i, end)))
                return undefined;
        }
        if (c === 0x27) {
            const end = standardStringEnd(sql, i + 1);
            if (end < 0)
                return undefined;
            replace(i + 1, end, STRING);
            i = end;
            continue;
        }
        if (c === 0x22) {
            // A quoted name, `""` for a quote: kept.
            for (i++;; i++) {
                if (i >= length)
                    return undefined;
                if (sql.charCodeAt(i) !== 0x22)
                    continue;
                if (sql.charCodeAt(i + 1) !== 0x22)
                    break;
                i++;
            }
            continue;
        }
        if (c === 0x24) {
            if (isDigit(next)) {
                // A parameter: kept.
                while (i + 1 < length && isDigit(sql.charCodeAt(i + 1)))
                    i++;
                if (isNamePart(sql.charCodeAt(i + 1)))
                    return undefined;
                continue;
            }
            const end = dollarQuoted(sql, i);
            if (end === undefined)
                return undefined;
            replace(end.bodyStart, end.bodyEnd, STRING);
            i = end.end - 1;
            continue;
        }
        if (isDigit(c) || (c === 0x2e && isDigit(next))) {
            const end = numberEnd(sql, i);
            if (end < 0)
                return undefined;
            replace(i, end, sql.slice(i, end).search(/[.eE]/) < 0 ? INTEGER : NUMBER);
            i = end - 1;
            continue;
        }
        if (isNameStart(c)) {
            if (next === 0x27) {
                if (c === 0x65 || c === 0x45) {
                    // E'…': backslash escapes, whatever standard_conforming_strings says.
                    const end = escapeStringEnd(sql, i + 2);
                    if (end < 0)
                        return undefined;
                    replace(i + 2, end, STRING);
                    i = end;
                    continue;
                }
                // B'…', X'…', N'…' (and U&'…' below) are not followed here.
                if (/[bBxXnN]/.test(sql[i]))
                    return undefined;
            }
            if ((c === 0x75 || c === 0x55) && next === 0x26)
                return undefined;
            while (i + 1 < length && isNamePart(sql.charCodeAt(i + 1)))
                i++;
            continue;
        }
        if (c === 0x3b) {
            statementStart = true;
            continue;
        }
        // A backslash outside a string: the parser decides what it means.
        if (c === 0x5c)
            return undefined;
    }
    return key + sql.slice(copied);
}
/** Where a standard string's closing quote is, from its body's start; -1 when there is none, or a backslash the setting could make an escape. */
function standardStringEnd(sql, from) {
    for (let i = from; i < sql.length; i++) {
        const c = sql.charCodeAt(i);
        if (c === 0x5c)
            return -1;
        if (c !== 0x27)
            continue;
        if (sql.charCodeAt(i + 1) !== 0x27)
            return i;
        i++;
    }
    return -1;
}
/** Where an E string's closing quote is: a backslash takes the next character whatever it is, `''` is a quote. */
function escapeStringEnd(sql, from) {
    for (let i = from; i < sql.length; i++) {
        const c = sql.charCodeAt(i);
        if (c === 0x5c)
            i++;
        else if (c === 0x27) {
            if (sql.charCodeAt(i + 1) !== 0x27)
                return i;
            i++;
        }
    }
    return -1;
}
/** A dollar-quoted string from its first `$`: `$tag$…$tag$`, the tag a name without `$` (or none). */
function dollarQuoted(sql, start) {
    let i = start + 1;
    if (i < sql.length && !isNameStart(sql.charCodeAt(i)) && sql.charCodeAt(i) !== 0x24)
        return undefined;
    while (i < sql.length && isTagPart(sql.charCodeAt(i)))
        i++;
    if (sql.charCodeAt(i) !== 0x24)
        return undefined;
    const tag = sql.slice(start, i + 1);
    const bodyEnd = sql.indexOf(tag, i + 1);
    if (bodyEnd < 0)
        return undefined;
    return { bodyStart: i + 1, bodyEnd, end: bodyEnd + tag.length };
}
/**
 * Where a decimal number ends: digits, a fraction, an exponent. -1 for what the scan does not follow:
 * `0x`, `0o`, `0b` and `_` forms (PostgreSQL 16), `1..2`, an exponent without digits, and a number run
 * into a name or another point (trailing junk, refused by PostgreSQL 15 and read otherwise before).
 */
function numberEnd(sql, start) {
    let i = start;
    const digits = () => {
        const from = i;
        while (isDigit(sql.charCodeAt(i)))
            i++;
        return i - from;
    };
    const intDigits = digits();
    if (intDigits === 1 && sql.charCodeAt(start) === 0x30 && /[xXoObB]/.test(sql[i] ?? ''))
        return -1;
    if (sql.charCodeAt(i) === 0x2e) {
        if (sql.charCodeAt(i + 1) === 0x2e)
            return -1;
        i++;
        if (digits() === 0 && intDigits === 0)
            return -1;
    }
    if (sql.charCodeAt(i) === 0x65 || sql.charCodeAt(i) === 0x45) {
        i++;
        if (sql.charCodeAt(i) === 0x2b || sql.charCodeAt(i) === 0x2d)
            i++;
        if (digits() === 0)
            return -1;
    }
    const after = sql.charCodeAt(i);
    if (isNamePart(after) || after === 0x2e)
        return -1;
    return i;
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/classify.ts



const WRITE_CLASSES = new Set([
    'write', 'insert', 'update', 'delete', 'merge', 'delete_without_where', 'update_without_where', 'ddl', 'create', 'alter',
    'drop', 'truncate', 'grant', 'set_role', 'integrity_setting', 'alter_system', 'copy_from', 'copy_program', 'dangerous_function', 'unknown',
    'maintenance', 'lock',
]);
/** Functions that run SQL given as text: what they do cannot be known from the statement. */
const SQL_RUNNING_FUNCTIONS = new Set([
    'query_to_xml', 'query_to_xml_and_xmlschema', 'query_to_xmlschema', 'cursor_to_xml', 'cursor_to_xmlschema', 'ts_stat', 'ts_rewrite',
    'dblink', 'dblink_exec', 'dblink_open', 'dblink_send_query', 'dblink_fetch', 'dblink_build_sql_insert', 'dblink_build_sql_update',
    'dblink_build_sql_delete', 'table_to_xml', 'table_to_xml_and_xmlschema', 'schema_to_xml', 'database_to_xml',
    'database_to_xml_and_xmlschema', 'schema_to_xml_and_xmlschema',
]);
/** Settings whose change makes the session act as someone else. */
const ROLE_SETTINGS = new Set(['role', 'session_authorization']);
/** Settings that turn off integrity checks (triggers, foreign keys, read-only, checksums) or auditing. */
const INTEGRITY_SETTINGS = new Set([
    'session_replication_role', 'zero_damaged_pages', 'ignore_checksum_failure',
    'ignore_system_indexes', 'ignore_invalid_pages', 'allow_system_table_mods', 'allow_in_place_tablespaces', 'row_security', 'track_activities',
]);
const AUDIT_SETTING = /^(log_|pgaudit\.|debug_)/;
/** Settings that only turning off weakens: READ ONLY is harmless, READ WRITE lifts a read-only default. */
const READ_ONLY_SETTINGS = new Set(['transaction_read_only', 'default_transaction_read_only']);
/**
 * The classes of changing a setting (its name case-folded, as PostgreSQL reads it) to `value` (a
 * constant's text; undefined when computed).
 */
function settingClasses(name, value, c) {
    const folded = name.toLowerCase();
    if (ROLE_SETTINGS.has(folded))
        return ['set_role', 'write'];
    if (INTEGRITY_SETTINGS.has(folded) || AUDIT_SETTING.test(folded))
        return ['integrity_setting', 'write'];
    if (READ_ONLY_SETTINGS.has(folded)) {
        c.readsValue = true;
        if (!/^(on|true|yes|1)$/i.test(value ?? ''))
            return ['integrity_setting', 'write'];
    }
    return ['session'];
}
class Collector {
    prepared;
    parser;
    classes = new Set();
    /** False when the result depends on the session (PREPARE, EXECUTE, DEALLOCATE). */
    cacheable = true;
    /** Set when the result read a constant's value: it holds for this exact text only. */
    readsValue = false;
    /** Every CTE of the statement being walked, by name. */
    ctes = new Map();
    copies = [];
    prepares = new Map();
    constructor(prepared, parser) {
        this.prepared = prepared;
        this.parser = parser;
    }
    add(...classes) {
        for (const c of classes)
            this.classes.add(c);
    }
    filters(target) {
        return new FilterContext(String(target.relname), this.ctes, this);
    }
}
const nodeType = (n) => {
    if (!n || typeof n !== 'object' || Array.isArray(n))
        return undefined;
    const keys = Object.keys(n);
    return keys.length === 1 && /^[A-Z]/.test(keys[0]) ? [keys[0], n[keys[0]]] : undefined;
};
function funcName(fn) {
    const parts = fn.funcname ?? [];
    const last = parts.at(-1);
    return (last?.String?.sval ?? '').toLowerCase();
}
/**
 * MERGE takes the class of each action. An UPDATE or DELETE of matched rows is restricted when its join
 * condition or its own WHEN condition restricts the target (see filters.ts); one of the rows the source
 * does not match (NOT MATCHED BY SOURCE) only by its own condition.
 */
function mergeActionClasses(node, c) {
    const target = node.relation;
    const filters = c.filters(target);
    const joined = filters.scope(target, [node.sourceRelation]);
    const alone = filters.scope(target, []);
    const joinRestricts = filters.restricts(node.joinCondition, joined);
    const classes = [];
    for (const w of node.mergeWhenClauses ?? []) {
        const clause = w.MergeWhenClause ?? {};
        const action = clause.commandType === 'CMD_UPDATE' ? 'update' : clause.commandType === 'CMD_DELETE' ? 'delete' : clause.commandType === 'CMD_INSERT' ? 'insert' : undefined;
        if (!action)
            continue;
        classes.push(action);
        if (action === 'insert')
            continue;
        const restricted = clause.matchKind === 'MERGE_WHEN_NOT_MATCHED_BY_SOURCE' ? filters.restricts(clause.condition, alone) : joinRestricts || filters.restricts(clause.condition, joined);
        if (!restricted)
            classes.push(`${action}_without_where`);
    }
    return classes;
}
/** UPDATE and DELETE: restricted when their WHERE restricts the target, with USING/FROM joined. */
function unrestricted(node, joined, c) {
    const target = node.relation;
    const filters = c.filters(target);
    return !filters.restricts(node.whereClause, filters.scope(target, joined ?? []));
}
/**
 * ON CONFLICT DO UPDATE updates the rows whose key matches a proposed row: restricted when the proposed
 * rows come from outside the target (VALUES, parameters, other tables) or its WHERE restricts.
 */
function conflictUnrestricted(node, c) {
    const target = node.relation;
    const filters = c.filters(target);
    const conflict = node.onConflictClause;
    if (!filters.readsTarget(node.selectStmt))
        return false;
    return !filters.restricts(conflict.whereClause, filters.conflictScope(target, node.selectStmt));
}
const stringOf = (n) => n?.String?.sval;
/**
 * A COPY's options read as PostgreSQL's ProcessCopyOptions reads them: the old syntax (`CSV HEADER
 * DELIMITER '|'`) arrives as the same options; the last of an option repeated is kept (PostgreSQL
 * refuses the statement anyway). What decides masking beyond the format (the header, the delimiter,
 * the null marker, the quote and escape) is a constant's value, so the classification notes that it
 * read one.
 */
function copySpec(node, c) {
    const relation = node.relation;
    const options = new Map();
    for (const o of node.options ?? []) {
        const def = o.DefElem;
        if (def?.defname)
            options.set(def.defname.toLowerCase(), def.arg);
    }
    if (options.size)
        c.readsValue = true;
    const text = (name) => optionText(options.get(name));
    const format = (text('format') ?? 'text').toLowerCase();
    const columnList = (arg) => (nodeType(arg)?.[0] === 'A_Star' ? '*' : listOf(arg));
    return {
        ...(relation?.relname && { relation: relation.schemaname ? `${relation.schemaname}.${relation.relname}` : relation.relname }),
        ...(Array.isArray(node.attlist) && { columns: node.attlist.map((a) => stringOf(a) ?? '') }),
        ...(node.query !== undefined && { reads: namesIn(node.query) }),
        from: Boolean(node.is_from),
        format,
        ...(text('delimiter') !== undefined && { delimiter: text('delimiter') }),
        ...(text('null') !== undefined && { null: text('null') }),
        ...(text('quote') !== undefined && { quote: text('quote') }),
        ...(text('escape') !== undefined && { escape: text('escape') }),
        header: options.has('header') && headerChoice(options.get('header')),
        ...(options.has('force_null') && { forceNull: columnList(options.get('force_null')) }),
        ...(options.has('force_not_null') && { forceNotNull: columnList(options.get('force_not_null')) }),
        ...(text('encoding') !== undefined && { encoding: text('encoding') }),
    };
}
/** A constant's text (a string, number or boolean, as a DefElem value is read), undefined for any other expression. */
function constantValue(n) {
    const typed = nodeType(n);
    if (typed?.[0] !== 'A_Const')
        return optionText(n);
    const constant = typed[1];
    if ('sval' in constant)
        return optionText({ String: constant.sval });
    if ('ival' in constant)
        return optionText({ Integer: constant.ival });
    if ('fval' in constant)
        return optionText({ Float: constant.fval });
    if ('boolval' in constant)
        return optionText({ Boolean: constant.boolval });
    return undefined;
}
/** An option's value as PostgreSQL's defGetString gives it. */
function optionText(arg) {
    const typed = nodeType(arg);
    if (!typed)
        return undefined;
    const [type, value] = typed;
    if (type === 'String')
        return String(value.sval ?? '');
    if (type === 'Integer')
        return String(value.ival ?? 0);
    if (type === 'Float')
        return String(value.fval ?? '');
    if (type === 'Boolean')
        return value.boolval ? 'true' : 'false';
    return undefined;
}
/**
 * HEADER as defGetCopyHeaderChoice reads it: no value, `true`, `on`, `1` and `match` (COPY FROM checks the
 * names) mean a header line; `false`, `off` and `0` none. Anything else PostgreSQL refuses: taken as a
 * header, whose line COPY TO checks against the column names before passing it unmasked.
 */
function headerChoice(arg) {
    if (arg === undefined)
        return true;
    if (nodeType(arg)?.[0] === 'Integer')
        return (nodeType(arg)[1].ival ?? 0) !== 0;
    const value = optionText(arg)?.toLowerCase();
    return !(value === 'false' || value === 'off');
}
const listOf = (arg) => (nodeType(arg)?.[1].items ?? []).map((i) => stringOf(i) ?? '');
/** The tables a tree reads (RangeVar, with their aliases) and the names its column references use. */
function namesIn(tree) {
    const tables = [];
    const aliases = [];
    const names = [];
    const visitNode = (n) => {
        if (!n || typeof n !== 'object')
            return;
        if (Array.isArray(n))
            return n.forEach(visitNode);
        const range = n.RangeVar;
        if (range?.relname) {
            tables.push(range.schemaname ? `${range.schemaname}.${range.relname}` : range.relname);
            aliases.push(range.alias?.aliasname ?? range.relname);
        }
        const ref = n.ColumnRef;
        if (ref?.fields) {
            const last = ref.fields.at(-1);
            names.push(last.A_Star !== undefined ? '*' : (last.String?.sval ?? '*'));
        }
        Object.values(n).forEach(visitNode);
    };
    visitNode(tree);
    return { tables, aliases, names };
}
/** Whether EXPLAIN's options run the statement: ANALYZE with no value or a true one (defGetBoolean). */
function explainAnalyzes(options) {
    return (options ?? []).some((o) => {
        const def = o.DefElem;
        if (def?.defname?.toLowerCase() !== 'analyze')
            return false;
        if (def.arg === undefined)
            return true;
        const value = optionText(def.arg)?.toLowerCase();
        return !(value === 'false' || value === 'off' || value === '0');
    });
}
/** Node types whose classes do not depend on their content, and whether their children count too. */
const FIXED = {
    TruncateStmt: [['truncate', 'write'], 'descend'],
    AlterSystemStmt: [['alter_system', 'write'], 'skip'],
    GrantStmt: [['grant', 'write'], 'skip'],
    GrantRoleStmt: [['grant', 'write'], 'skip'],
    AlterDefaultPrivilegesStmt: [['grant', 'write'], 'skip'],
    ReassignOwnedStmt: [['grant', 'write'], 'skip'],
    CreateRoleStmt: [['create', 'ddl', 'grant', 'write'], 'skip'],
    AlterRoleStmt: [['alter', 'ddl', 'grant', 'write'], 'skip'],
    AlterRoleSetStmt: [['alter', 'ddl', 'grant', 'write'], 'skip'],
    // A procedure can do anything; its arguments are still looked at.
    CallStmt: [['unknown', 'write'], 'descend'],
    LoadStmt: [['dangerous_function', 'write'], 'skip'],
    VacuumStmt: [['maintenance', 'write'], 'skip'],
    ClusterStmt: [['maintenance', 'write'], 'skip'],
    ReindexStmt: [['maintenance', 'write'], 'skip'],
    CheckPointStmt: [['maintenance', 'write'], 'skip'],
    RefreshMatViewStmt: [['maintenance', 'write'], 'skip'],
    LockStmt: [['lock', 'write'], 'skip'],
    ListenStmt: [['notify'], 'skip'],
    UnlistenStmt: [['notify'], 'skip'],
    NotifyStmt: [['notify'], 'skip'],
    VariableShowStmt: [['session'], 'skip'],
    DiscardStmt: [['session'], 'skip'],
    FetchStmt: [['session'], 'skip'],
    ClosePortalStmt: [['session'], 'skip'],
    ConstraintsSetStmt: [['session'], 'skip'],
    DeclareCursorStmt: [['read'], 'descend'],
};
/** The classes a node type contributes by itself, before its children are visited. */
function visit(type, node, c) {
    const fixed = FIXED[type];
    if (fixed) {
        c.add(...fixed[0]);
        return fixed[1];
    }
    switch (type) {
        case 'SelectStmt':
            c.add('read');
            if (node.intoClause)
                c.add('create', 'ddl', 'write');
            return 'descend';
        case 'MergeStmt':
            c.add('merge', 'write', ...mergeActionClasses(node, c));
            return 'descend';
        case 'InsertStmt': {
            c.add('insert', 'write');
            const conflict = node.onConflictClause;
            if (conflict?.action === 'ONCONFLICT_UPDATE')
                c.add('update', ...(conflictUnrestricted(node, c) ? ['update_without_where'] : []));
            return 'descend';
        }
        case 'UpdateStmt':
            c.add('update', 'write');
            if (unrestricted(node, node.fromClause, c))
                c.add('update_without_where');
            return 'descend';
        case 'DeleteStmt':
            c.add('delete', 'write');
            if (unrestricted(node, node.usingClause, c))
                c.add('delete_without_where');
            return 'descend';
        case 'ExplainStmt':
            c.add('read');
            if (node.options)
                c.readsValue = true;
            return explainAnalyzes(node.options) ? 'descend' : 'skip';
        case 'CopyStmt':
            c.add(node.is_from ? 'copy_from' : 'copy_to', node.is_from ? 'write' : 'read');
            if (node.is_from)
                c.add('insert');
            if (node.is_program || node.filename)
                c.add('copy_program');
            c.copies.push(copySpec(node, c));
            return 'descend';
        case 'CreateFunctionStmt':
            // Defining a function runs nothing; its body, code in a string, makes the text its own shape.
            c.add('create', 'ddl', 'write');
            c.readsValue = true;
            return 'skip';
        case 'TransactionStmt':
            c.add('transaction');
            // BEGIN READ WRITE lifts a read-only default as SET TRANSACTION READ WRITE does.
            for (const o of node.options ?? []) {
                const def = o.DefElem;
                if (def?.defname)
                    c.add(...settingClasses(def.defname, constantValue(def.arg), c).filter((k) => k !== 'session'));
            }
            return 'skip';
        case 'VariableSetStmt':
            if (node.kind === 'VAR_SET_MULTI') {
                // SET TRANSACTION READ WRITE and SET SESSION CHARACTERISTICS set transaction_read_only and the like.
                for (const a of node.args ?? []) {
                    const def = a.DefElem;
                    if (def?.defname)
                        c.add(...settingClasses(def.defname, constantValue(def.arg), c));
                }
            }
            else
                c.add(...(resets(node, c) ? ['session'] : settingClasses(String(node.name ?? ''), constantValue(node.args?.[0]), c)));
            return 'skip';
        case 'DoStmt':
            c.add('unknown', 'write');
            classifyDoBody(node, c);
            return 'skip';
        case 'PrepareStmt': {
            const inner = new Collector(c.prepared, c.parser);
            walkStatement(node.query, inner);
            const name = String(node.name);
            c.prepares.set(name, either(c.prepares.get(name), finish(inner, ['PREPARE'])));
            c.add('session');
            c.cacheable = false;
            return 'skip';
        }
        case 'ExecuteStmt': {
            c.cacheable = false;
            const name = String(node.name);
            const here = c.prepares.get(name);
            const prepared = here ? either(c.prepared.get(name), here) : c.prepared.get(name);
            if (prepared)
                c.add(...prepared.classes);
            else
                c.add('unknown', 'write');
            return 'descend';
        }
        case 'DeallocateStmt':
            c.add('session');
            c.cacheable = false;
            return 'skip';
        case 'FuncCall': {
            const name = funcName(node);
            c.add(...functionClasses(name));
            if (SQL_RUNNING_FUNCTIONS.has(name)) {
                // Their SQL is code in a string: what is derived from it holds for this text alone.
                c.add('unknown', 'write');
                c.readsValue = true;
            }
            if (name === 'set_config') {
                // What set_config changes depends on its first argument's value; a computed one may be anything.
                c.readsValue = true;
                const [name, value] = (node.args ?? []).map(constantValue);
                c.add(...(name === undefined ? ['set_role', 'integrity_setting', 'write'] : settingClasses(name, value, c)));
            }
            return 'descend';
        }
        default:
            if (/^Drop/.test(type))
                c.add('drop', 'ddl', 'write');
            else if (/^(Create|Define)|^(IndexStmt|ViewStmt|RuleStmt|CompositeTypeStmt|ImportForeignSchemaStmt)$/.test(type))
                c.add('create', 'ddl', 'write');
            else if (/^Alter|^(RenameStmt|CommentStmt|SecLabelStmt)$/.test(type))
                c.add('alter', 'ddl', 'write');
            else if (/Stmt$/.test(type))
                c.add('unknown', 'write');
            return 'descend';
    }
}
/**
 * Whether a SET puts a role setting back as it was: RESET, SET … TO DEFAULT (SET SESSION AUTHORIZATION
 * DEFAULT too) and SET ROLE NONE, as RESET ROLE does. Settings of other kinds keep their own classes.
 */
function resets(node, c) {
    if (node.kind === 'VAR_RESET' || node.kind === 'VAR_RESET_ALL' || node.kind === 'VAR_SET_DEFAULT')
        return true;
    if (String(node.name).toLowerCase() !== 'role' || node.kind !== 'VAR_SET_VALUE')
        return false;
    c.readsValue = true;
    const args = node.args ?? [];
    return args.length === 1 && args[0].A_Const?.sval?.sval === 'none';
}
/** Walks one statement's tree, its CTEs known (a DML statement in one may read a sibling). */
function walkStatement(stmt, c) {
    c.ctes = ctesIn(stmt);
    walk(stmt, c);
}
function walk(n, c) {
    if (!n || typeof n !== 'object')
        return;
    if (Array.isArray(n)) {
        for (const item of n)
            walk(item, c);
        return;
    }
    const typed = nodeType(n);
    if (typed) {
        if (visit(typed[0], typed[1], c) === 'skip')
            return;
        walk(typed[1], c);
        return;
    }
    for (const v of Object.values(n))
        walk(v, c);
}
/**
 * Static SQL inside a DO block counts; EXECUTE of a computed string is already `unknown`. The body is
 * parsed inside a dollar quote whose tag it does not hold, so no body can end the quote early; a body
 * the PL/pgSQL parser rejects is `unparseable`, never passed over.
 */
function classifyDoBody(node, c) {
    c.readsValue = true;
    const body = (node.args ?? [])
        .map((a) => a.DefElem)
        .find((d) => d?.defname === 'as')?.arg?.String?.sval;
    const language = (node.args ?? [])
        .map((a) => a.DefElem)
        .find((d) => d?.defname === 'language')?.arg?.String?.sval;
    if (body === undefined || (language && language.toLowerCase() !== 'plpgsql'))
        return;
    let tag = 'governed_do';
    for (let n = 0; body.includes(`$${tag}$`); n++)
        tag = `governed_do_${n}`;
    let tree;
    try {
        tree = c.parser.parsePlPgSQL(`CREATE FUNCTION governed_do() RETURNS void LANGUAGE plpgsql AS $${tag}$${body}$${tag}$`);
    }
    catch {
        c.add('unparseable');
        return;
    }
    const queries = [];
    const collect = (n) => {
        if (!n || typeof n !== 'object')
            return;
        if (Array.isArray(n))
            return n.forEach(collect);
        const expr = n.PLpgSQL_expr;
        if (expr?.query)
            queries.push({ query: expr.query, expression: expr.parseMode !== 0 });
        Object.values(n).forEach(collect);
    };
    collect(tree);
    for (const { query, expression } of queries) {
        try {
            walkStatement(c.parser.parse(expression ? `SELECT ${query}` : query), c);
        }
        catch {
            c.add('unknown');
        }
    }
}
/** What a name PREPAREd as `a` and then as `b` may run: the classes of both. */
function either(a, b) {
    if (!a)
        return b;
    return { ...b, classes: new Set([...a.classes, ...b.classes]), writes: a.writes || b.writes };
}
function finish(c, commands) {
    const writes = [...c.classes].some((k) => WRITE_CLASSES.has(k));
    return {
        classes: c.classes,
        writes,
        commands,
        ...(c.prepares.size && { prepares: c.prepares }),
        ...(c.copies.length && { copies: c.copies }),
        ...(!c.cacheable && { perSession: true }),
    };
}
function commandOf(stmt) {
    const typed = nodeType(stmt);
    if (!typed)
        return 'UNKNOWN';
    return typed[0].replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}
/**
 * Statement shapes longer than this are classified each time rather than remembered: the cache counts
 * entries, and a few thousand multi-megabyte shapes would hold gigabytes.
 */
const MAX_CACHED_KEY = 16 * 1024;
/** One classifier per connection: it knows that connection's PREPAREd statements. */
class SqlClassifier {
    #shared;
    /** Set by the session, which tracks what the target holds; EXECUTE of a name not known here is `unknown`. */
    prepared = () => undefined;
    #prepared = { get: (name) => this.prepared(name) };
    constructor(shared) {
        this.#shared = shared;
    }
    get parser() {
        return this.#shared.parser;
    }
    /**
     * Whether two texts provably classify the same, so that what is cached for one may serve the other:
     * the same shape, on a classification that depends on no session state (see `shape`).
     */
    classifiesSame(a, b) {
        const first = this.classify(a);
        const second = this.classify(b);
        return first.shape !== undefined && !first.perSession && !second.perSession && first.shape === second.shape;
    }
    classify(sql) {
        const { cache, parser } = this.#shared;
        // A known shape differs from a statement parsed before only in its constants' values.
        const shape = statementShape(sql);
        const known = shape === undefined ? undefined : cache.get(shape);
        if (known)
            return known;
        const tooCostly = lexerCostProblem(sql);
        if (tooCostly)
            return syntaxError(new Error(tooCostly));
        let key;
        try {
            key = parser.normalize(sql);
        }
        catch (e) {
            return syntaxError(e);
        }
        const cached = cache.get(key);
        if (cached) {
            if (shape !== undefined)
                cache.set(shape, cached);
            return cached;
        }
        let tree;
        try {
            tree = parser.parse(sql);
        }
        catch (e) {
            return syntaxError(e);
        }
        const c = new Collector(this.#prepared, parser);
        const stmts = tree.stmts ?? [];
        for (const s of stmts)
            walkStatement(s.stmt, c);
        const result = { ...finish(c, stmts.map((s) => commandOf(s.stmt))), shape: c.readsValue ? exactShape(sql) : key };
        // Texts of one normalized form differ in constants only: they classify the same unless a value was read.
        if (c.cacheable && !c.readsValue && key.length <= MAX_CACHED_KEY) {
            cache.set(key, result);
            if (shape !== undefined)
                cache.set(shape, result);
        }
        return result;
    }
}
/** The shape of a text whose classification read a constant's value: the text itself (no normalized text starts with `=`). */
const exactShape = (sql) => `=${sql}`;
/**
 * PostgreSQL's lexer rescans a run of operator characters once for each token it cuts from it, so its
 * time grows with the square of the run: `SELECT 1` and 30,000 `/*` take seconds, and the parser runs
 * on the gateway's one thread. Long runs are therefore counted before parsing, conservatively (inside
 * strings and comments too), and a statement whose runs would cost more than one run of
 * MAX_OPERATOR_RUN characters (some tens of milliseconds) is refused unparsed.
 */
const MAX_OPERATOR_RUN = 2_000;
/** Runs up to this long cost about their length; only the square of longer ones counts. */
const SHORT_RUN = 64;
const OPERATOR_CHARS = new Uint8Array(128);
for (const c of '~!@#^&|`?+-*/%<>=')
    OPERATOR_CHARS[c.charCodeAt(0)] = 1;
function lexerCostProblem(sql) {
    let cost = 0;
    let longest = 0;
    let run = 0;
    for (let i = 0; i <= sql.length; i++) {
        const code = i < sql.length ? sql.charCodeAt(i) : 0;
        if (code < 128 && OPERATOR_CHARS[code]) {
            run++;
            continue;
        }
        if (run > SHORT_RUN)
            cost += run * run;
        longest = Math.max(longest, run);
        run = 0;
    }
    if (cost <= MAX_OPERATOR_RUN * MAX_OPERATOR_RUN)
        return undefined;
    return `the statement holds runs of operator characters (such as + - * / < >) up to ${longest} long, more than the gateway parses (${MAX_OPERATOR_RUN} in all); parsing them takes time that grows with the square of their length`;
}
function syntaxError(e) {
    return { classes: new Set(['unparseable']), writes: true, commands: ['UNPARSEABLE'], syntaxError: e.message };
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/lineage.ts

/** A value's dependencies while the tree is walked: source keys, and whether anything was untraceable. */
class Deps {
    sources = new Map();
    opaque = false;
    static of(...parts) {
        const d = new Deps();
        for (const p of parts)
            if (p)
                d.add(p);
        return d;
    }
    static opaque() {
        const d = new Deps();
        d.opaque = true;
        return d;
    }
    add(other) {
        for (const [k, v] of other.sources)
            this.sources.set(k, v);
        this.opaque ||= other.opaque;
        return this;
    }
    get size() {
        return this.sources.size + (this.opaque ? 1 : 0);
    }
    freeze(spread) {
        return { sources: [...this.sources.values()], opaque: this.opaque, ...(spread && { spread }) };
    }
}
const MAX_VIEW_DEPTH = 16;
/** What a rename or SET SCHEMA can move out of a mask's name: a column, or a relation with its columns. */
const MOVED_KINDS = new Set(['OBJECT_COLUMN', 'OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_FOREIGN_TABLE']);
/** Longer statements are traced each time rather than kept: the cache holds its keys' text. */
const lineage_MAX_CACHED_KEY = 64 * 1024;
const MAX_RECURSION_PASSES = 8;
const quoteIdent = (name) => `"${name.replaceAll('"', '""')}"`;
const relationKey = (rv) => (rv.schemaname ? `${quoteIdent(String(rv.schemaname))}.` : '') + quoteIdent(String(rv.relname));
/** Every relation a tree names, as a quoted name for the catalog. */
function relationNames(tree, out) {
    if (!tree || typeof tree !== 'object')
        return out;
    if (Array.isArray(tree)) {
        for (const item of tree)
            relationNames(item, out);
        return out;
    }
    // RangeVar nodes, and the bare RangeVars that INSERT, UPDATE, DELETE, MERGE and INTO name their targets by.
    if (typeof tree.relname === 'string')
        out.add(relationKey(tree));
    for (const v of Object.values(tree))
        relationNames(v, out);
    return out;
}
/** Walks one statement's tree once the catalog knows every relation it names. */
class Analyzer {
    writes = [];
    predicates = [];
    reads = new Deps();
    checks = new Deps();
    #catalog;
    #ownFunctions;
    #views;
    #parser;
    #viewDepth = 0;
    constructor(catalog, parser, ownFunctions, views) {
        this.#catalog = catalog;
        this.#parser = parser;
        this.#ownFunctions = ownFunctions;
        this.#views = views;
    }
    /** The output columns of any statement that can return rows; undefined for one that returns none. */
    statement(node, scope) {
        const t = nodeType(node);
        if (!t)
            return undefined;
        const [type, n] = t;
        switch (type) {
            case 'SelectStmt': {
                const columns = this.select(n, scope);
                if (n.intoClause)
                    this.#intoTable(n.intoClause, columns);
                return n.intoClause ? undefined : columns;
            }
            case 'InsertStmt':
                return this.#insert(n, scope);
            case 'UpdateStmt':
                return this.#update(n, scope);
            case 'DeleteStmt':
                this.#readWhole(this.#catalog.relation(relationKey(n.relation)));
                this.#filter(n.whereClause, this.#targetScope(n, scope, n.usingClause ?? []));
                return this.#returning(n, scope, n.usingClause ?? []);
            case 'ViewStmt':
                this.statement(n.query, scope);
                return undefined;
            case 'MergeStmt':
                return this.#merge(n, scope);
            case 'CreateTableAsStmt':
                this.#intoTable(n.into, this.statement(n.query, scope) ?? []);
                return undefined;
            case 'CopyStmt':
                if (n.is_from && n.relation)
                    this.#readWhole(this.#catalog.relation(relationKey(n.relation)));
                return n.query ? this.statement(n.query, scope) : undefined;
            case 'ExplainStmt':
                if (explainAnalyzes(n.options))
                    this.statement(n.query, scope);
                return undefined;
            case 'DeclareCursorStmt':
            case 'PrepareStmt':
                return this.statement(n.query, scope);
            case 'CallStmt':
            case 'DoStmt':
                this.reads.opaque = true;
                this.expr(n, scope ?? emptyScope());
                return undefined;
            case 'AlterTableStmt':
                this.#alterTable(n);
                return undefined;
            case 'RenameStmt':
            case 'AlterObjectSchemaStmt':
                this.#moveTo(n);
                return undefined;
            case 'RuleStmt':
                this.#rule(n);
                return undefined;
            default:
                // A statement not traced column by column (DDL above all) reads whole every relation it names.
                for (const name of relationNames(n, new Set()))
                    this.#readWhole(this.#catalog.relation(name));
                return undefined;
        }
    }
    /** The rows of a relation as a whole: every column, read by constraints, indexes and triggers of a write, or by DDL. */
    #readWhole(info) {
        if (info)
            for (const column of info.columns)
                this.checks.add(ownColumn(info, column));
    }
    /**
     * ALTER TABLE: a type changed USING an expression, or a generated column, derives the column's new
     * values from others; INHERIT and ATTACH PARTITION put one table's rows under another's name.
     */
    #alterTable(n) {
        const rv = n.relation;
        const info = this.#catalog.relation(relationKey(rv));
        this.#readWhole(info);
        if (!info)
            return;
        const scope = { entries: [{ alias: String(rv.relname), columns: info.columns.map((c) => ({ name: c, deps: ownColumn(info, c) })) }], ctes: new Map() };
        for (const item of n.cmds ?? []) {
            const cmd = item.AlterTableCmd ?? {};
            const def = nodeType(cmd.def);
            if (cmd.subtype === 'AT_AlterColumnType' && def?.[0] === 'ColumnDef')
                this.#write(info, String(cmd.name), this.expr(def[1].raw_default, scope));
            if (cmd.subtype === 'AT_AddColumn' && def?.[0] === 'ColumnDef')
                this.#write(info, String(def[1].colname), this.expr(def[1].constraints, scope));
            if ((cmd.subtype === 'AT_AlterColumnGenericOptions' || cmd.subtype === 'AT_SetExpression' || cmd.subtype === 'AT_ColumnDefault') && cmd.name)
                this.#write(info, String(cmd.name), this.expr(cmd.def, scope));
            if (cmd.subtype === 'AT_AddInherit' && def?.[0] === 'RangeVar')
                this.#rowsUnder(info, this.#catalog.relation(relationKey(def[1])));
            if (cmd.subtype === 'AT_AttachPartition' && def?.[0] === 'PartitionCmd')
                this.#rowsUnder(this.#catalog.relation(relationKey(def[1].name)), info);
        }
    }
    /** A child's rows read through its parent: each of its columns is written, as it were, to the parent's column of the same name. */
    #rowsUnder(child, parent) {
        if (!child || !parent)
            return;
        for (const column of child.columns)
            this.#write(parent, column, ownColumn(child, column));
    }
    /** A rename (of a column, a table, its schema) writes, as it were, every column it moves to its new name. */
    #moveTo(n) {
        if (!n.relation)
            return;
        const info = this.#catalog.relation(relationKey(n.relation));
        if (!info)
            return;
        const kind = String(n.renameType ?? n.objectType);
        if (!MOVED_KINDS.has(kind))
            return;
        const moved = kind === 'OBJECT_COLUMN' ? info : n.newschema !== undefined ? { ...info, schema: String(n.newschema) } : { ...info, name: String(n.newname ?? info.name) };
        for (const column of info.columns) {
            if (kind === 'OBJECT_COLUMN' && column !== n.subname)
                continue;
            this.#write(moved, kind === 'OBJECT_COLUMN' ? String(n.newname) : column, ownColumn(info, column));
        }
    }
    /** A rule's actions run with every later statement on its table: what they write or return derives from what they read. */
    #rule(n) {
        const rv = n.relation;
        const info = this.#catalog.relation(relationKey(rv));
        const columns = info ? info.columns.map((c) => ({ name: c, deps: ownColumn(info, c) })) : [];
        const scope = { entries: ['new', 'old'].map((alias) => ({ alias, columns, ...(!info && { anyColumn: Deps.opaque() }) })), ctes: new Map() };
        this.#filter(n.whereClause, scope);
        const target = info ?? { schema: rv.schemaname ? String(rv.schemaname) : 'public', name: String(rv.relname), columns: [] };
        for (const action of n.actions ?? []) {
            for (const c of this.statement(action, scope) ?? [])
                this.#write(target, `rule ${String(n.rulename)}`, c.deps);
        }
    }
    select(s, outer) {
        const scope = this.#scopeWith(s, outer);
        if (s.op && s.op !== 'SETOP_NONE') {
            const left = this.select(s.larg, scope);
            const right = this.select(s.rarg, scope);
            return left.map((col, i) => ({ name: col.name, deps: Deps.of(col.deps, right[i]?.deps) }));
        }
        if (s.valuesLists) {
            const columns = [];
            for (const row of s.valuesLists) {
                (row.List?.items ?? []).forEach((item, i) => {
                    const deps = this.expr(item, scope);
                    if (columns[i])
                        columns[i].deps.add(deps);
                    else
                        columns[i] = { name: `column${i + 1}`, deps };
                });
            }
            return columns;
        }
        for (const item of s.fromClause ?? [])
            scope.entries.push(...this.#fromItem(item, scope));
        const columns = this.#targets(s.targetList ?? [], scope);
        this.#filter(s.whereClause, scope);
        this.#filter(s.havingClause, scope);
        this.expr([s.limitCount, s.limitOffset], scope);
        // GROUP BY, ORDER BY, DISTINCT ON and named windows may refer to output columns by name or position.
        const withOutputs = { entries: [{ alias: '', columns }], ctes: new Map(), parent: scope };
        for (const list of [s.groupClause, s.sortClause, s.distinctClause, s.windowClause]) {
            for (const item of list ?? []) {
                // ORDER BY 2, GROUP BY 1: the output column at that position.
                const position = (nodeType(item)?.[0] === 'SortBy' ? item.SortBy.node : item).A_Const?.ival?.ival;
                if (position === undefined)
                    this.#predicate(item, withOutputs);
                else
                    this.#predicateOn(columns[position - 1]?.deps ?? new Deps(), false);
            }
        }
        return columns;
    }
    /** A WHERE, HAVING or ON condition: each AND-ed part on its own, so `ssn = $1 AND …` can be told apart. */
    #filter(condition, scope) {
        if (!condition)
            return;
        const and = condition.BoolExpr;
        if (and?.boolop === 'AND_EXPR')
            return (and.args ?? []).forEach((part) => this.#filter(part, scope));
        this.#predicate(condition, scope, paramEquality(condition));
    }
    #predicate(expr, scope, isParamEquality = false) {
        if (expr)
            this.#predicateOn(this.expr(expr, scope), isParamEquality);
    }
    /** Predicates inside a view's definition are its owner's, not the statement's. */
    #predicateOn(deps, isParamEquality) {
        if (deps.sources.size && this.#viewDepth === 0)
            this.predicates.push({ from: deps.freeze(), paramEquality: isParamEquality });
    }
    /** A new scope under `outer`, with the statement's WITH queries in it. */
    #scopeWith(n, outer) {
        const scope = { entries: [], ctes: new Map(), ...(outer && { parent: outer }) };
        for (const c of n.withClause?.ctes ?? [])
            this.#cte(c.CommonTableExpr, scope);
        return scope;
    }
    #cte(cte, scope) {
        const name = String(cte.ctename);
        const rename = (cols) => renamed(cols, cte.aliascolnames?.map(stringOf));
        // A recursive CTE refers to itself: start from nothing and widen until its lineage stops growing.
        scope.ctes.set(name, null);
        let columns = rename(this.statement(cte.ctequery, scope) ?? []);
        for (let pass = 0; pass < MAX_RECURSION_PASSES; pass++) {
            scope.ctes.set(name, columns);
            const next = rename(this.statement(cte.ctequery, scope) ?? []);
            const grown = next.some((c, i) => c.deps.size > (columns[i]?.deps.size ?? 0));
            columns = next.map((c, i) => ({ ...c, deps: Deps.of(c.deps, columns[i]?.deps) }));
            if (!grown)
                break;
            if (pass === MAX_RECURSION_PASSES - 1)
                columns = columns.map((c) => ({ ...c, deps: Deps.opaque() }));
        }
        scope.ctes.set(name, columns);
    }
    #targets(targets, scope) {
        const out = [];
        for (const t of targets) {
            const rt = t.ResTarget;
            if (!rt)
                continue;
            const ref = rt.val?.ColumnRef;
            if (ref?.fields && ref.fields.at(-1).A_Star !== undefined) {
                out.push(...this.#star(ref.fields.slice(0, -1).map(stringOf), scope));
                continue;
            }
            out.push({ name: rt.name ?? outputName(rt.val), deps: this.expr(rt.val, scope) });
        }
        return out;
    }
    /** `*` or `t.*`: the columns of every entry, or of the named one. */
    #star(qualifier, scope) {
        const entries = qualifier.length ? this.#entriesNamed(qualifier.at(-1), scope) : scope.entries;
        if (entries.length === 0)
            return [{ name: '*', deps: Deps.opaque(), spread: true }];
        return entries.flatMap((e) => (e.anyColumn ? [{ name: '*', deps: e.anyColumn, spread: true }] : e.columns));
    }
    #entriesNamed(alias, scope) {
        for (let s = scope; s; s = s.parent) {
            const found = s.entries.filter((e) => e.alias === alias);
            if (found.length)
                return found;
        }
        return [];
    }
    #fromItem(item, scope) {
        const t = nodeType(item);
        if (!t)
            return [];
        const [type, n] = t;
        const alias = n.alias;
        const colnames = alias?.colnames?.map(stringOf);
        switch (type) {
            case 'RangeVar': {
                const columns = this.#relation(n, scope);
                const name = alias?.aliasname ?? String(n.relname);
                if (columns === null)
                    return [{ alias: name, columns: [], anyColumn: new Deps() }];
                return columns ? [{ alias: name, columns: renamed(columns, colnames) }] : [{ alias: name, columns: [], anyColumn: Deps.opaque() }];
            }
            case 'JoinExpr': {
                const entries = [...this.#fromItem(n.larg, scope), ...this.#fromItem(n.rarg, scope)];
                const joined = { entries: [...scope.entries, ...entries], ctes: new Map(), parent: scope };
                this.#filter(n.quals, joined);
                for (const name of n.usingClause ?? [])
                    this.#predicate({ ColumnRef: { fields: [name] } }, joined);
                if (!alias?.aliasname)
                    return entries;
                return [...entries, { alias: alias.aliasname, columns: renamed(entries.flatMap((e) => e.columns), colnames) }];
            }
            case 'RangeSubselect': {
                // LATERAL or not, the FROM items before it are visible: referring to them without LATERAL is the target's error.
                const lateral = { entries: [...scope.entries], ctes: new Map(), parent: scope };
                const columns = this.statement(n.subquery, lateral) ?? [];
                return [{ alias: alias?.aliasname ?? '', columns: renamed(columns, colnames) }];
            }
            case 'RangeTableSample':
                return this.#fromItem(n.relation, scope);
            default: {
                // Functions in FROM (ROWS FROM, unnest, json_to_record…), XMLTABLE, JSON_TABLE: every column derives from every argument.
                const lateral = { entries: [...scope.entries], ctes: new Map(), parent: scope };
                const deps = this.expr({ ...n, alias: undefined }, lateral);
                const defined = [...(colnames ?? []), ...columnDefinitions(n)];
                const name = alias?.aliasname ?? functionAlias(n);
                const columns = defined.map((c) => ({ name: c ?? '?column?', deps }));
                return [{ alias: name, columns, ...(columns.length === 0 && { anyColumn: deps }) }];
            }
        }
    }
    /** A CTE by name (null: the recursive CTE being worked out), or a table or view through the catalog; undefined when it does not resolve. */
    #relation(rv, scope) {
        if (!rv.schemaname) {
            for (let s = scope; s; s = s.parent) {
                const cte = s.ctes.get(String(rv.relname));
                if (cte !== undefined)
                    return cte && cte.map((c) => ({ ...c }));
            }
        }
        const info = this.#catalog.relation(relationKey(rv));
        if (!info)
            return undefined;
        const defined = info.definition !== undefined ? this.#view(info) : undefined;
        return info.columns.map((column, i) => ({ name: column, deps: ownColumn(info, column).add(defined ? (defined[i]?.deps ?? Deps.opaque()) : new Deps()) }));
    }
    /** A view's columns through its definition, analysed once per catalog version. */
    #view(info) {
        const key = `${info.schema}.${info.name}`;
        const known = this.#views.get(key);
        if (known)
            return known;
        if (this.#viewDepth >= MAX_VIEW_DEPTH)
            return [];
        this.#viewDepth++;
        let columns;
        try {
            const tree = this.#parser.parse(info.definition);
            columns = this.statement(tree.stmts?.[0]?.stmt, undefined) ?? [];
        }
        catch {
            columns = info.columns.map((name) => ({ name, deps: Deps.opaque() }));
        }
        finally {
            this.#viewDepth--;
        }
        this.#views.set(key, columns);
        return columns;
    }
    /** What an expression's value derives from. */
    expr(node, scope) {
        if (!node || typeof node !== 'object')
            return new Deps();
        if (Array.isArray(node))
            return Deps.of(...node.map((n) => this.expr(n, scope)));
        const t = nodeType(node);
        if (t) {
            const [type, n] = t;
            switch (type) {
                case 'ColumnRef': {
                    const deps = this.#column(n.fields ?? [], scope);
                    this.reads.add(deps);
                    return deps;
                }
                case 'A_Const':
                case 'ParamRef':
                    return new Deps();
                case 'SelectStmt':
                    return Deps.of(...this.select(n, scope).map((c) => c.deps));
                case 'FuncCall': {
                    const over = n.over;
                    if (over)
                        for (const clause of [over.partitionClause, over.orderClause])
                            this.#predicate(clause, scope);
                    const args = this.expr({ ...n, funcname: undefined }, scope);
                    this.#sessionWrite(n, scope);
                    if (!this.#ownFunction(n))
                        return args;
                    this.reads.opaque = true;
                    return args.add(Deps.opaque());
                }
                case 'TypeName':
                    return new Deps();
                default:
                    return this.expr(n, scope);
            }
        }
        return Deps.of(...Object.values(node).map((v) => this.expr(v, scope)));
    }
    /** set_config and pg_notify put a value where a later statement reads it back: a setting, a notification's payload. */
    #sessionWrite(fn, scope) {
        const name = (fn.funcname ?? []).map(stringOf).at(-1)?.toLowerCase();
        const args = fn.args ?? [];
        if ((name !== 'set_config' && name !== 'pg_notify') || args.length < 2)
            return;
        const key = args[0].A_Const?.sval?.sval ?? '?';
        const deps = this.expr(args[1], scope);
        if (deps.size)
            this.writes.push({ table: '', qualified: name === 'set_config' ? 'setting' : 'notification on channel', column: key, from: deps.freeze(), session: true });
    }
    #ownFunction(fn) {
        const parts = (fn.funcname ?? []).map(stringOf);
        const name = (parts.at(-1) ?? '').toLowerCase();
        if (SQL_RUNNING_FUNCTIONS.has(name))
            return true;
        if (parts.length > 1 && parts[0] === 'pg_catalog')
            return false;
        return parts.length > 1 || this.#ownFunctions.has(name);
    }
    #column(fields, scope) {
        const names = fields.map(stringOf);
        if (names.some((n) => n === undefined)) {
            // t.*: a whole row.
            const entries = names.length > 1 ? this.#entriesNamed(names.at(-2), scope) : scope.entries;
            return entries.length ? Deps.of(...entries.map(entryDeps)) : Deps.opaque();
        }
        const column = names.at(-1);
        if (names.length >= 2) {
            const entries = this.#entriesNamed(names.at(-2), scope);
            if (entries.length)
                return Deps.of(...entries.map((e) => columnOf(e, column) ?? Deps.opaque()));
            // `a.b` where a is a column of composite type.
            return this.#column([fields[0]], scope);
        }
        for (let s = scope; s; s = s.parent) {
            const found = s.entries.map((e) => columnOf(e, column)).filter((d) => d !== undefined);
            if (found.length)
                return Deps.of(...found);
            const whole = s.entries.filter((e) => e.alias === column);
            if (whole.length)
                return Deps.of(...whole.map(entryDeps));
        }
        return Deps.opaque();
    }
    #insert(n, scope) {
        const info = this.#catalog.relation(relationKey(n.relation));
        this.#readWhole(info);
        const inner = this.#scopeWith(n, scope);
        const values = n.selectStmt ? this.statement(n.selectStmt, inner) ?? [] : [];
        const targets = n.cols?.map((c) => String(c.ResTarget?.name)) ?? [...(info?.columns ?? [])];
        if (info)
            targets.forEach((column, i) => values[i] && this.#write(info, column, values[i].deps));
        const conflict = n.onConflictClause;
        if (conflict?.targetList && info) {
            const excluded = info.columns.map((c) => ({ name: c, deps: Deps.of(values[targets.indexOf(c)]?.deps) }));
            const target = this.#fromItem({ RangeVar: n.relation }, inner);
            const conflictScope = { entries: [...target, { alias: 'excluded', columns: excluded }], ctes: new Map(), parent: inner };
            this.#assignments(info, conflict.targetList, conflictScope);
        }
        return this.#returning(n, inner, []);
    }
    #update(n, scope) {
        const inner = this.#scopeWith(n, scope);
        inner.entries.push(...this.#fromItem({ RangeVar: n.relation }, inner));
        for (const item of n.fromClause ?? [])
            inner.entries.push(...this.#fromItem(item, inner));
        const info = this.#catalog.relation(relationKey(n.relation));
        this.#readWhole(info);
        if (info)
            this.#assignments(info, n.targetList ?? [], inner);
        this.#filter(n.whereClause, inner);
        return this.#returning(n, scope, n.fromClause ?? []);
    }
    #merge(n, scope) {
        const inner = this.#scopeWith(n, scope);
        inner.entries.push(...this.#fromItem({ RangeVar: n.relation }, inner), ...this.#fromItem(n.sourceRelation, inner));
        this.#filter(n.joinCondition, inner);
        const info = this.#catalog.relation(relationKey(n.relation));
        this.#readWhole(info);
        for (const w of n.mergeWhenClauses ?? []) {
            const clause = w.MergeWhenClause ?? {};
            if (!info)
                continue;
            if (clause.commandType === 'CMD_UPDATE')
                this.#assignments(info, clause.targetList ?? [], inner);
            if (clause.commandType === 'CMD_INSERT') {
                const targets = clause.targetList?.map((c) => String(c.ResTarget?.name)) ?? [...info.columns];
                (clause.values ?? []).forEach((v, i) => targets[i] && this.#write(info, targets[i], this.expr(v, inner)));
            }
        }
        return this.#returning(n, scope, [n.sourceRelation]);
    }
    /** SET column = expression (also SET (a, b) = (SELECT …)). */
    #assignments(info, targets, scope) {
        for (const t of targets) {
            const rt = t.ResTarget;
            if (rt?.name)
                this.#write(info, String(rt.name), this.expr(rt.val, scope));
        }
    }
    #returning(n, scope, from) {
        const list = (n.returningClause?.exprs ?? n.returningList);
        if (!list?.length)
            return undefined;
        return this.#targets(list, this.#targetScope(n, scope, from));
    }
    /** The table a DML statement changes, with the relations of its FROM or USING. */
    #targetScope(n, scope, from) {
        const inner = this.#scopeWith(n, scope);
        inner.entries.push(...this.#fromItem({ RangeVar: n.relation }, inner));
        for (const item of from)
            inner.entries.push(...this.#fromItem(item, inner));
        return inner;
    }
    #intoTable(into, columns) {
        const rel = into.rel;
        const schema = rel.schemaname ? String(rel.schemaname) : 'public';
        const info = { schema, name: String(rel.relname), columns: [] };
        const names = into.colNames?.map(stringOf);
        columns.forEach((c, i) => this.#write(info, names?.[i] ?? c.name, c.deps));
    }
    #write(info, column, deps) {
        if (deps.size === 0)
            return;
        this.writes.push({ table: info.name, qualified: `${info.schema}.${info.name}`, column, from: deps.freeze() });
    }
}
/** A column of a relation as its own source: under its current names and those the gateway first saw it by. */
function ownColumn(info, column) {
    const d = new Deps();
    d.sources.set(`${info.schema}.${info.name}\u0000${column}`, { table: info.name, qualified: `${info.schema}.${info.name}`, column });
    const first = info.firstSeen;
    const firstColumn = first?.columns.get(column) ?? column;
    if (first && (first.schema !== info.schema || first.name !== info.name || firstColumn !== column)) {
        d.sources.set(`${first.schema}.${first.name}\u0000${firstColumn}`, { table: first.name, qualified: `${first.schema}.${first.name}`, column: firstColumn });
    }
    return d;
}
function emptyScope() {
    return { entries: [], ctes: new Map() };
}
/** Functions a text creates: called later in the same text, they are the target's own; their bodies' words, to find masked names in. */
function createdFunctions(stmts) {
    const bodies = [];
    for (const stmt of stmts) {
        const t = nodeType(stmt);
        if (t?.[0] !== 'CreateFunctionStmt')
            continue;
        const name = (t[1].funcname ?? []).map(stringOf).at(-1)?.toLowerCase() ?? '';
        const words = new Set();
        const collect = (v) => {
            if (typeof v === 'string') {
                for (const w of v.toLowerCase().split(/[^\p{L}\p{N}_$]+/u))
                    if (w)
                        words.add(w);
            }
            else if (v && typeof v === 'object')
                Object.values(v).forEach(collect);
        };
        collect([t[1].options, t[1].sql_body]);
        bodies.push({ name, words });
    }
    return bodies;
}
/** `column = $n` (either way round, through casts): a lookup by a value the client already has. */
function paramEquality(condition) {
    const e = condition.A_Expr;
    if (!e || e.kind !== 'AEXPR_OP' || stringOf(e.name?.[0]) !== '=')
        return false;
    const bare = (n) => {
        const t = nodeType(n);
        return t?.[0] === 'TypeCast' ? bare(t[1].arg) : t?.[0];
    };
    const sides = [bare(e.lexpr), bare(e.rexpr)].sort().join(' ');
    return sides === 'ColumnRef ParamRef';
}
function renamed(columns, names) {
    if (!names?.length)
        return columns;
    return columns.map((c, i) => (names[i] ? { ...c, name: names[i] } : c));
}
function columnOf(entry, column) {
    const found = entry.columns.filter((c) => c.name === column);
    if (found.length)
        return Deps.of(...found.map((c) => c.deps));
    return entry.anyColumn && Deps.of(entry.anyColumn);
}
function entryDeps(entry) {
    return Deps.of(entry.anyColumn, ...entry.columns.map((c) => c.deps));
}
/** The name PostgreSQL gives an output column with no alias: the column's or the function's, else ?column?. */
function outputName(val) {
    const t = nodeType(val);
    if (t?.[0] === 'ColumnRef')
        return stringOf(t[1].fields.at(-1)) ?? '?column?';
    if (t?.[0] === 'FuncCall')
        return stringOf(t[1].funcname.at(-1)) ?? '?column?';
    if (t?.[0] === 'TypeCast')
        return outputName(t[1].arg);
    return '?column?';
}
/** Column names a function in FROM declares: `AS t(a int, b text)` and ROWS FROM column definitions. */
function columnDefinitions(n) {
    const names = [];
    const visit = (v) => {
        if (!v || typeof v !== 'object')
            return;
        if (Array.isArray(v))
            return v.forEach(visit);
        const def = v.ColumnDef;
        if (def)
            names.push(def.colname);
        else
            Object.values(v).forEach(visit);
    };
    visit([n.coldeflist, n.functions]);
    return names;
}
/** A function in FROM without an alias is called by the function's name. */
function functionAlias(n) {
    const first = n.functions?.[0]?.List?.items?.[0];
    const call = nodeType(first);
    return call?.[0] === 'FuncCall' ? (stringOf(call[1].funcname.at(-1)) ?? '') : '';
}
/** Statements that answer with a RowDescription, and where their columns come from. */
function resultOf(stmt, columns) {
    const t = nodeType(stmt);
    if (!t)
        return undefined;
    const [type, n] = t;
    switch (type) {
        case 'FetchStmt':
            return n.ismove ? undefined : { cursor: String(n.portalname) };
        case 'ExecuteStmt':
            return { prepared: String(n.name) };
        case 'CallStmt':
            return { unknown: true };
        case 'VariableShowStmt':
        case 'ExplainStmt':
            return { columns: [new Deps().freeze(true)] };
        case 'DeclareCursorStmt':
        case 'PrepareStmt':
        case 'CopyStmt':
            return undefined;
        default:
            return columns && { columns: columns.map((c) => c.deps.freeze(c.spread)) };
    }
}
/**
 * Lineage per statement shape and catalog version; bounded, oldest shape first out. One per connection,
 * shared by its sessions, separate from the classification and decision caches.
 */
class LineageCache {
    #catalog;
    #entries = new Map();
    #views = new Map();
    #viewsVersion = -1;
    #size;
    #parser;
    /** `parser` is the connection's own, so that lineage adds no WebAssembly heap of its own. */
    constructor(catalog, parser, size = 2000) {
        this.#catalog = catalog;
        this.#parser = parser;
        this.#size = size;
    }
    /** The cached lineage of a statement shape, if it is known for the current catalog. */
    cached(shape) {
        return this.#entries.get(`${this.#catalog.version}\u0000${shape}`);
    }
    /** Computes a statement's lineage, looking up in the catalog what it names (views recursively). */
    async compute(sql, shape) {
        const key = `${this.#catalog.version}\u0000${shape}`;
        const known = this.#entries.get(key);
        if (known)
            return known;
        const version = this.#catalog.version;
        const tree = this.#parser.parse(sql);
        const stmts = (tree.stmts ?? []).map((s) => s.stmt);
        const functionBodies = createdFunctions(stmts);
        const catalogOwn = await this.#catalog.ownFunctions();
        const ownFunctions = functionBodies.length ? new Set([...catalogOwn, ...functionBodies.map((f) => f.name)]) : catalogOwn;
        await this.#resolveRelations(stmts);
        if (this.#viewsVersion !== this.#catalog.version) {
            this.#views.clear();
            this.#viewsVersion = this.#catalog.version;
        }
        const analyzer = new Analyzer(this.#catalog, this.#parser, ownFunctions, this.#views);
        const results = [];
        const defines = [];
        let copyOut;
        for (const stmt of stmts) {
            const columns = analyzer.statement(stmt, undefined);
            const t = nodeType(stmt);
            const frozen = () => (columns ?? []).map((c) => c.deps.freeze(c.spread));
            defines.push(t?.[0] === 'DeclareCursorStmt' || t?.[0] === 'PrepareStmt' ? frozen() : undefined);
            if (t?.[0] === 'CopyStmt' && !t[1].is_from && columns)
                copyOut ??= frozen();
            const result = resultOf(stmt, columns);
            if (result)
                results.push(result);
        }
        const lineage = {
            results,
            writes: analyzer.writes,
            predicates: analyzer.predicates,
            defines,
            reads: analyzer.reads.freeze(),
            checks: analyzer.checks.freeze(),
            functionBodies,
            ...(copyOut && { copyOut }),
        };
        if (version === this.#catalog.version && key.length <= lineage_MAX_CACHED_KEY) {
            if (this.#entries.size >= this.#size)
                this.#entries.delete(this.#entries.keys().next().value);
            this.#entries.set(key, lineage);
        }
        return lineage;
    }
    /** Resolves every relation named by the statements and, recursively, by the views among them. */
    async #resolveRelations(stmts) {
        let names = relationNames(stmts, new Set());
        for (let depth = 0; names.size && depth < MAX_VIEW_DEPTH; depth++) {
            await this.#catalog.relations([...names]);
            const next = new Set();
            for (const name of names) {
                const definition = this.#catalog.relation(name)?.definition;
                if (definition === undefined)
                    continue;
                try {
                    for (const n of relationNames(this.#parser.parse(definition), new Set()))
                        if (this.#catalog.relation(n) === undefined)
                            next.add(n);
                }
                catch {
                    // An unparseable definition makes the view's columns opaque.
                }
            }
            names = next;
        }
    }
}
/** Whether a value of this lineage must be masked under these column masks; the mask that applies, or true when untraceable. */
function maskingSource(lineage, masks) {
    if (masks.length === 0)
        return undefined;
    if (lineage.opaque)
        return true;
    for (const s of lineage.sources) {
        const mask = masks.find((m) => m.matches(s.table, s.column) || m.matches(s.qualified, s.column));
        if (mask)
            return mask;
    }
    return undefined;
}
/** Where result columns come from, aligned with the columns a RowDescription actually has; all opaque when they cannot be aligned. */
function alignLineage(lineage, count) {
    const spread = lineage?.findIndex((c) => c.spread) ?? -1;
    if (lineage && spread < 0 && lineage.length === count)
        return lineage;
    if (!lineage || spread < 0 || lineage.length - 1 > count)
        return Array.from({ length: count }, () => OPAQUE);
    const after = lineage.length - spread - 1;
    return Array.from({ length: count }, (_, i) => (i < spread ? lineage[i] : i >= count - after ? lineage[i - count + lineage.length] : lineage[spread]));
}
const OPAQUE = Object.freeze({ sources: [], opaque: true });
/**
 * A write that copies a value out of a mask: into a column no rule masks, or one masked by another rule.
 * Values the gateway cannot trace (a function of the target's own) are not counted here.
 */
function maskedCopy(lineage, masks) {
    for (const w of lineage.writes) {
        if (w.session && w.from.opaque && masks.length)
            return `the value written to ${w.qualified} ${w.column} derives from a function the gateway cannot trace`;
        const source = w.from.sources.map((s) => ({ s, mask: masks.find((m) => m.matches(s.table, s.column) || m.matches(s.qualified, s.column)) })).find((x) => x.mask);
        if (!source)
            continue;
        const target = masks.find((m) => m.matches(w.table, w.column) || m.matches(w.qualified, w.column));
        if (target?.rule === source.mask.rule)
            continue;
        return `the value written to ${w.qualified}${w.session ? ' ' : '.'}${w.column} derives from masked column ${source.s.qualified}.${source.s.column}`;
    }
    for (const body of lineage.functionBodies) {
        const words = [...body.words];
        const mask = masks.find((m) => words.some((w) => m.matchesTable(w)) && words.some((w) => m.matchesColumn(w)));
        if (mask)
            return `the body of function ${body.name} names a column masked by rule "${mask.rule}"`;
    }
    return undefined;
}
/** A filter, join, grouping or order on a column whose mask refuses predicates: an oracle for its values. */
function maskedPredicate(lineage, masks) {
    for (const p of lineage.predicates) {
        for (const s of p.from.sources) {
            const mask = masks.find((m) => m.predicates?.refuse && (m.matches(s.table, s.column) || m.matches(s.qualified, s.column)));
            if (mask && !(p.paramEquality && mask.predicates.allowParamEquality)) {
                return `the statement filters, joins, groups, orders or compares on masked column ${s.qualified}.${s.column} (rule "${mask.rule}")`;
            }
        }
    }
    return undefined;
}
/** Whether anything the statement returns, filters on or writes derives from a masked column (or cannot be traced). */
function touchesMasked(lineage, masks) {
    const derived = (c) => maskingSource(c, masks) !== undefined;
    return (derived(lineage.reads) ||
        lineage.results.some((r) => ('columns' in r ? r.columns.some(derived) : 'unknown' in r)) ||
        lineage.predicates.some((p) => derived(p.from)) ||
        lineage.writes.some((w) => derived(w.from)) ||
        (lineage.copyOut?.some(derived) ?? false));
}

// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(1455);
// EXTERNAL MODULE: ./node_modules/libpg-query/wasm/libpg-query.js
var libpg_query = __webpack_require__(3995);
var libpg_query_default = /*#__PURE__*/__webpack_require__.n(libpg_query);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/parser.ts


const wasm = globalThis.WebAssembly;
/**
 * Past this heap size the parser's WebAssembly instance is replaced by a fresh one. The heap starts at
 * 128 MB (reserved, resident only where touched) and grows only when one statement needs more.
 */
const DEFAULT_MAX_HEAP_BYTES = 160 << 20;
/**
 * libpg-query's WebAssembly build keeps a few KB of its heap with every normalization, even of the same
 * statement (18.1.5: 20,000 normalizations add 80 MB of resident memory; parse and scan keep none), and
 * the heap's size does not show it. After this many the instance is replaced, which bounds that part.
 */
const DEFAULT_NORMALIZATIONS_PER_INSTANCE = 2_000;
/**
 * PostgreSQL's own parser (libpg-query, WebAssembly), in an instance this object owns. A WebAssembly
 * heap never shrinks: once a huge statement has grown it past a bound, a fresh instance is made from
 * the compiled module in the background and takes over, and the old one is left to the garbage
 * collector. Calls stay synchronous: until the new instance is ready, the old one keeps answering.
 *
 * V8 compiles the module as it always does (baseline code first, hot functions optimised later).
 * Compiling with the optimising compiler only (`--no-liftoff`) kept the process 50–100 MB smaller
 * and parsed three times faster once warm, but compiles each function on its first call on the main
 * thread: the first statement waited 1.9 s, and every session with it.
 */
class SqlParser {
    /** Where the module found its WebAssembly file (beside the bundle, or in node_modules). */
    #wasmPath;
    #compiled;
    #maxHeapBytes;
    #maxNormalizations;
    /** Normalizations by the current instance. */
    #normalizations = 0;
    #instance;
    #replacing;
    #recycled = 0;
    constructor(wasmPath, instance, options) {
        this.#wasmPath = wasmPath;
        this.#instance = instance;
        this.#maxHeapBytes = options.maxHeapBytes ?? DEFAULT_MAX_HEAP_BYTES;
        this.#maxNormalizations = options.maxNormalizations ?? DEFAULT_NORMALIZATIONS_PER_INSTANCE;
    }
    static async load(options = {}) {
        let wasmPath = '';
        const instance = await libpg_query_default()({
            locateFile: (file, directory) => (wasmPath = directory + file),
        });
        return new SqlParser(wasmPath, instance, options);
    }
    /** The current instance's heap (reserved whole at start, 128 MB; it grows only for huge statements). */
    get heapBytes() {
        return this.#instance.HEAPU8.length;
    }
    /** How many times the instance was replaced. */
    get recycled() {
        return this.#recycled;
    }
    /** The parse tree, as libpg-query's JSON; throws the parser's message on a syntax error. */
    parse(sql) {
        return this.#call(sql, (m, ptr) => {
            const result = m._wasm_parse_query_raw(ptr);
            if (!result)
                throw new Error('the SQL parser could not allocate memory');
            try {
                const error = m.getValue(result + 8, 'i32');
                if (error)
                    throw new Error(m.UTF8ToString(m.getValue(error, 'i32')) || 'syntax error');
                return JSON.parse(m.UTF8ToString(m.getValue(result, 'i32')));
            }
            finally {
                m._wasm_free_parse_result(result);
            }
        });
    }
    /** The text with its constants replaced by `$n`, by PostgreSQL's own lexer. */
    normalize(sql) {
        this.#normalizations++;
        return this.#call(sql, (m, ptr) => stringResult(m, m._wasm_normalize_query(ptr)));
    }
    parsePlPgSQL(sql) {
        return this.#call(sql, (m, ptr) => {
            const text = stringResult(m, m._wasm_parse_plpgsql(ptr), /^(?!\{)/);
            return JSON.parse(text);
        });
    }
    scan(sql) {
        return this.#call(sql, (m, ptr) => JSON.parse(stringResult(m, m._wasm_scan(ptr))));
    }
    /** Replaces the instance now; resolves once the new one answers. */
    recycle() {
        this.#compiled ??= (0,promises_.readFile)(this.#wasmPath).then((bytes) => wasm.compile(bytes));
        this.#replacing ??= this.#compiled.then(instantiate).then((fresh) => {
            this.#instance = fresh;
            this.#normalizations = 0;
            this.#recycled++;
            this.#replacing = undefined;
        }, () => {
            // The old instance keeps answering; the next call past the bound tries again.
            this.#compiled = undefined;
            this.#replacing = undefined;
        });
        return this.#replacing;
    }
    #call(sql, use) {
        const m = this.#instance;
        const length = m.lengthBytesUTF8(sql) + 1;
        const ptr = m._malloc(length);
        try {
            m.stringToUTF8(sql, ptr, length);
            return use(m, ptr);
        }
        finally {
            m._free(ptr);
            if ((m.HEAPU8.length > this.#maxHeapBytes || this.#normalizations >= this.#maxNormalizations) && m === this.#instance)
                void this.recycle();
        }
    }
}
/** Reads and frees a string result; results matching `failure` (libpg-query's error texts) are thrown. */
function stringResult(m, ptr, failure = /^(syntax error|deparse error|ERROR)/) {
    try {
        const text = m.UTF8ToString(ptr);
        if (failure.test(text))
            throw new Error(text);
        return text;
    }
    finally {
        if (ptr)
            m._wasm_free_string(ptr);
    }
}
function instantiate(compiled) {
    return libpg_query_default()({
        instantiateWasm(imports, receive) {
            void wasm.instantiate(compiled, imports).then(receive);
            return {};
        },
    });
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/relay.ts

/**
 * One direction of the relay: frames read from one socket, the batch built from them written to the
 * other. When the other socket is full, reading from this one pauses until it drains. With `commit`
 * (the client's direction) a batch waits for its operations' events to be written: `commit` calls back
 * once they are, for every connection that read something in the same turn of the event loop at once.
 */
class Direction {
    reader;
    out = new OutputBatch();
    #from;
    #to;
    #onError;
    #commit;
    #committing = false;
    constructor(from, to, sink, maxFrame, onError, commit) {
        this.#from = from;
        this.#to = to;
        this.#onError = onError;
        this.#commit = commit;
        this.reader = new FrameReader(sink, { maxFrame });
        to.on('drain', () => from.resume());
    }
    push(chunk) {
        this.#run(() => this.reader.push(chunk));
    }
    /** Goes on after a decision that paused reading. */
    resume() {
        if (!this.#from.destroyed && !this.#to.destroyed)
            this.#run(() => this.reader.resume());
    }
    #run(read) {
        try {
            read();
        }
        catch (e) {
            return this.#onError(e);
        }
        if (this.out.empty)
            return;
        if (!this.#commit)
            return this.#flush();
        if (this.#committing)
            return;
        this.#committing = true;
        this.#commit(this.#committed);
    }
    #committed = (failure) => {
        this.#committing = false;
        if (failure)
            return this.#onError(failure);
        if (!this.#to.destroyed)
            this.#flush();
    };
    #flush() {
        if (!this.out.flushTo(this.#to))
            this.#from.pause();
    }
}

// EXTERNAL MODULE: ./runner-proxy/src/base/json-select.ts
var json_select = __webpack_require__(9222);
// EXTERNAL MODULE: ./runner-proxy/src/masking/detectors.ts
var detectors = __webpack_require__(7597);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/result-mask.ts




/** Types whose binary form is their text (jsonb with a version byte first). */
const TEXT = 25, VARCHAR = 1043, BPCHAR = 1042, NAME = 19, UNKNOWN = 705, CHAR = 18, JSON_T = 114, JSONB = 3802, XML = 142;
const TEXTUAL = new Set([TEXT, VARCHAR, BPCHAR, NAME, UNKNOWN, CHAR, JSON_T, JSONB, XML]);
/** Built-in types that never hold free text: detectors skip them (numbers would be false card hits). */
const NOT_TEXT = new Set([
    16, 17, 20, 21, 23, 26, 27, 28, 29, 700, 701, 790, 650, 869, 829, 774, 1082, 1083, 1114, 1184, 1186, 1266, 1560, 1562, 1700, 2950,
    3220, 2202, 2203, 2204, 2205, 2206, 3734, 3769, 4089, 4096, 1005, 1007, 1016, 1021, 1022, 1231, 1182, 1183, 1115, 1185, 2951,
]);
const PASS_THROUGH = Object.freeze({ cells: [], active: false });
/** Whether a plan masks anything that comes back in a result: columns, detectors or JSON fields. */
function masksResults(masks) {
    return masks.columns.length > 0 || masks.detectors.size > 0 || masks.json.length > 0;
}
/** The OIDs a RowDescription refers to, for the catalog to resolve before the plan is made. */
function tableOids(fields) {
    return fields.map((f) => f.tableOid).filter((o) => o !== 0);
}
function columnMaskFor(masks, table, column) {
    if (!column)
        return undefined;
    if (!table || table.isView)
        return masks.find((m) => m.matchesColumn(column));
    return masks.find((m) => matchesTableColumn(m, table, column));
}
/** A mask covers a table's column under its current names or those the gateway first saw it by (a rename keeps it). */
function matchesTableColumn(mask, table, column) {
    const first = table.firstSeen;
    const firstColumn = first.columns.get(column) ?? column;
    return (mask.matches(table.name, column) ||
        mask.matches(`${table.schema}.${table.name}`, column) ||
        mask.matches(first.name, firstColumn) ||
        mask.matches(`${first.schema}.${first.name}`, firstColumn));
}
/**
 * Source-column masking: RowDescription names each column's table OID and attribute number, so an
 * alias, a subquery or a CTE cannot rename a masked column out of reach; the masker's strategy applies
 * to such a column. Any other column whose lineage derives from a masked column (an expression over
 * it, a view's column, a function of the target's own) is masked whole. `lineage` is by output column
 * (null: untraced, so every column derived from nothing known is masked; undefined: not computed
 * because no column is masked). The remaining columns get the detectors.
 */
function planResult(fields, masks, catalog, formats, lineage) {
    if (!masksResults(masks))
        return PASS_THROUGH;
    let active = false;
    const derived = lineage === undefined ? undefined : alignLineage(lineage ?? undefined, fields.length);
    const cells = fields.map((f, i) => {
        const binary = (formats ? (formats.length === 1 ? formats[0] : formats[i]) ?? 0 : f.format) === 1;
        const table = f.tableOid ? catalog.cached(f.tableOid) : undefined;
        const mask = columnMaskFor(masks.columns, table, table?.columns.get(f.column));
        if (mask) {
            active = true;
            const cell = { action: 1 /* CellAction.Column */, strategy: mask.strategy, typeOid: f.typeOid, binary, constant: undefined, label: `${table.name}.${table.columns.get(f.column)}` };
            if (mask.strategy === 'redact' || !TEXTUAL.has(f.typeOid))
                cell.constant = replacement(cell, '[masked]');
            return cell;
        }
        if (derived && maskingSource(derived[i], masks.columns) !== undefined) {
            active = true;
            const cell = { action: 1 /* CellAction.Column */, strategy: 'redact', typeOid: f.typeOid, binary, constant: undefined, label: `derived:${f.name}` };
            cell.constant = replacement(cell, '[masked]');
            return cell;
        }
        const scannable = binary ? TEXTUAL.has(f.typeOid) : !NOT_TEXT.has(f.typeOid);
        if (scannable && (masks.detectors.size > 0 || (masks.json.length > 0 && (f.typeOid === JSON_T || f.typeOid === JSONB)))) {
            active = true;
            return { action: 2 /* CellAction.Detect */, strategy: 'redact', typeOid: f.typeOid, binary, constant: undefined, label: f.name };
        }
        return { action: 0 /* CellAction.None */, strategy: 'redact', typeOid: f.typeOid, binary, constant: undefined, label: f.name };
    });
    return active ? { cells, active, gate: (0,detectors/* detectorGate */.gJ)(masks.detectors), replaced: new Array(cells.length).fill(undefined) } : PASS_THROUGH;
}
const isJson = (typeOid) => typeOid === JSON_T || typeOid === JSONB;
/** A whole-cell replacement that stays valid for the type, or NULL where no masked text could be. */
function replacement(plan, masked) {
    if (!TEXTUAL.has(plan.typeOid))
        return null;
    const text = isJson(plan.typeOid) ? JSON.stringify(masked) : masked;
    return plan.typeOid === JSONB && plan.binary ? Buffer.concat([Buffer.of(1), Buffer.from(text)]) : Buffer.from(text);
}
/** Masks strings (and numbers that detectors recognise) inside a JSON document, and the selected fields. */
function maskJsonText(text, masks, masker) {
    let doc;
    try {
        doc = JSON.parse(text);
    }
    catch {
        const r = masker.maskText(text, masks.detectors);
        return r;
    }
    let count = 0;
    for (const { selector, strategy } of masks.json) {
        (0,json_select/* forEachSelected */.q8)(doc, selector, (parent, key) => {
            const holder = parent;
            if (holder[key] === null || holder[key] === undefined)
                return;
            holder[key] = masker.maskValue(typeof holder[key] === 'string' ? holder[key] : JSON.stringify(holder[key]), strategy);
            count++;
        });
    }
    const walk = (v) => {
        if (typeof v === 'string' || typeof v === 'number') {
            const s = String(v);
            const r = masker.maskText(s, masks.detectors);
            if (r.count === 0)
                return v;
            count += r.count;
            return r.text;
        }
        if (Array.isArray(v))
            return v.map(walk);
        if (v && typeof v === 'object') {
            for (const k of Object.keys(v))
                v[k] = walk(v[k]);
        }
        return v;
    };
    if (masks.detectors.size > 0)
        doc = walk(doc);
    return { text: count ? JSON.stringify(doc) : text, count };
}
/**
 * Masks one DataRow, bytes base…frameEnd of `frame`, by its plan into the output batch. Cells are read in place; the row is rebuilt
 * only when a cell changes, straight into the batch. Returns how many values were masked.
 */
/**
 * Masks one DataRow into `out` and returns how many values it replaced; `tally` (when given) counts
 * them by column (column masks) and by detector type.
 */
function maskRowInto(frame, base, frameEnd, plan, masks, masker, out, tally) {
    const count = (frame[base + HEADER_LENGTH] << 8) | frame[base + HEADER_LENGTH + 1];
    // The row's new cells, by index (undefined: kept); reused from row to row, cleared after each.
    const replaced = plan.replaced;
    let changed = false;
    let masked = 0;
    let size = frameEnd - base;
    try {
        for (let i = 0, pos = base + HEADER_LENGTH + 2; i < count; i++) {
            if (pos + 4 > frameEnd)
                throw new MalformedFrameError('a DataRow ends before its cells do');
            const len = int32At(frame, pos);
            const start = pos + 4;
            pos = start + Math.max(len, 0);
            if (pos > frameEnd)
                throw new MalformedFrameError('a DataRow cell runs past the message');
            const p = plan.cells[i];
            if (len < 0 || !p || p.action === 0 /* CellAction.None */)
                continue;
            let value;
            const offset = p.typeOid === JSONB && p.binary ? 1 : 0;
            if (p.action === 1 /* CellAction.Column */) {
                value = p.constant !== undefined ? p.constant : replacement(p, masker.maskValue(frame.toString('utf8', start + offset, pos), p.strategy));
                masked++;
                if (tally)
                    tally[p.label] = (tally[p.label] ?? 0) + 1;
            }
            else if (masks.json.length > 0 || (0,detectors/* mayHold */.BV)(frame, start + offset, pos, plan.gate)) {
                const text = frame.toString('utf8', start + offset, pos);
                const r = isJson(p.typeOid) ? maskJsonText(text, masks, masker) : masker.maskText(text, masks.detectors);
                if (r.count === 0)
                    continue;
                masked += r.count;
                if (tally)
                    countByType(tally, r, p.label);
                value = offset ? Buffer.concat([Buffer.of(1), Buffer.from(r.text)]) : Buffer.from(r.text);
            }
            else {
                continue;
            }
            replaced[i] = value;
            changed = true;
            size += (value?.length ?? 0) - len;
        }
    }
    catch (e) {
        replaced.fill(undefined);
        throw e;
    }
    if (!changed) {
        out.passRange(frame, base, frameEnd);
        return 0;
    }
    const at = out.reserve(size);
    const row = out.arena;
    row[at] = frame[base];
    putInt32(row, at + 1, size - 1);
    row[at + HEADER_LENGTH] = frame[base + HEADER_LENGTH];
    row[at + HEADER_LENGTH + 1] = frame[base + HEADER_LENGTH + 1];
    // Unchanged cells are copied in runs, from the last replaced cell to the next.
    let w = at + HEADER_LENGTH + 2;
    let kept = base + HEADER_LENGTH + 2;
    for (let i = 0, pos = base + HEADER_LENGTH + 2; i < count; i++) {
        const len = int32At(frame, pos);
        const end = pos + 4 + Math.max(len, 0);
        const r = replaced[i];
        if (r !== undefined) {
            replaced[i] = undefined;
            w = copyInto(row, w, frame, kept, pos);
            putInt32(row, w, r === null ? -1 : r.length);
            w += 4;
            if (r !== null)
                w = copyInto(row, w, r, 0, r.length);
            kept = end;
        }
        pos = end;
    }
    copyInto(row, w, frame, kept, frameEnd);
    return masked;
}
/** Copies source[start, end) to target[at…] and returns where it ended; short runs without a native call. */
function copyInto(target, at, source, start, end) {
    if (end - start > 64)
        return at + source.copy(target, at, start, end);
    for (let i = start; i < end; i++)
        target[at++] = source[i];
    return at;
}
/** Detector findings by type; JSON fields selected by path count under the cell's column. */
function countByType(tally, r, label) {
    let typed = 0;
    for (const [type, n] of Object.entries(r.byType ?? {})) {
        tally[type] = (tally[type] ?? 0) + n;
        typed += n;
    }
    if (r.count > typed)
        tally[label] = (tally[label] ?? 0) + r.count - typed;
}
/** Fields of ErrorResponse and NoticeResponse that can carry values. */
const VALUE_FIELDS = ['M', 'D', 'H', 'W', 'q', 'P'];
/**
 * Masks an error or notice. Detectors run on every field that can carry values; a DETAIL that quotes
 * a row or key of a table with masked columns has those values replaced.
 */
function maskNotice(fields, masks, masker) {
    let count = 0;
    for (const key of VALUE_FIELDS) {
        const value = fields.get(key);
        if (value === undefined)
            continue;
        const r = masker.maskText(value, masks.detectors);
        if (r.count) {
            fields.set(key, r.text);
            count += r.count;
        }
    }
    const table = fields.get('t');
    const detail = fields.get('D');
    if (detail && masks.columns.length) {
        const tableMasked = (column) => masks.columns.some((m) => (table ? m.matches(table, column) : m.matchesColumn(column)));
        const key = /^Key \((.*?)\)=\((.*)\)( .*)?$/s.exec(detail);
        // Every word of the key list: an index on an expression names its columns inside it, `lower(ssn)`.
        if (key && key[1].split(/[^\p{L}\p{N}_$]+/u).some((word) => word !== '' && tableMasked(word))) {
            fields.set('D', `Key (${key[1]})=([masked])${key[3] ?? ''}`);
            count++;
        }
        else if (/^Failing row contains \(/.test(detail) && (!table || masks.columns.some((m) => m.matchesTable(table)))) {
            fields.set('D', 'Failing row contains ([masked])');
            count++;
        }
    }
    return count;
}
/** Fields of an error or notice that name things rather than quote values: kept when the rest is withheld. */
const NAMING_FIELDS = ['S', 'V', 'C', 's', 't', 'c', 'd', 'n', 'F', 'L', 'R'];
/**
 * An error or notice of a statement that reads a masked column can quote its value (`invalid input
 * syntax for type integer: "…"`, a function's RAISE): its text is withheld, its SQLSTATE kept.
 */
function withheldNotice(fields) {
    const kept = new Map(NAMING_FIELDS.filter((k) => fields.has(k)).map((k) => [k, fields.get(k)]));
    kept.set('M', `govern: the message is withheld because the statement reads a masked column (SQLSTATE ${fields.get('C') ?? 'unknown'})`);
    return kept;
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/statements.ts
/** Lineage for a name the gateway has no trace of: every column and every read untraceable. */
const NOTHING = { sources: [], opaque: false };
const UNTRACED = lineageOf(undefined, { sources: [], opaque: true });
/** The lineage of a statement PREPAREd or a cursor DECLAREd earlier: its result columns, and what the text declaring it read. */
function lineageOf(columns, reads) {
    return { results: [columns ? { columns } : { unknown: true }], writes: [], predicates: [], defines: [], reads, checks: NOTHING, functionBodies: [] };
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/answers.ts




class TargetAnswers {
    #ctx;
    #pending;
    #state;
    #plans;
    #refusals;
    #copy;
    #discovery;
    /** Target → client. */
    #down;
    constructor(ctx, server, client) {
        this.#ctx = ctx;
        this.#pending = ctx.pending;
        this.#state = ctx.state;
        this.#plans = ctx.plans;
        this.#refusals = ctx.refusals;
        this.#copy = ctx.copy;
        this.#discovery = ctx.discovery;
        this.#down = new Direction(server, client, this.#serverSink(), ctx.maxFrame, (e) => ctx.fail(e));
    }
    /** Bytes from the target. */
    push(chunk) {
        this.#down.push(chunk);
    }
    #serverSink() {
        return {
            frame: (code, frame) => this.#serverFrame(code, frame),
            mayStream: (code) => (code === 68 /* Backend.DataRow */ && !this.#plans.current(this.#pending[0]).active) || (code === 100 /* Backend.CopyData */ && !this.#copy.masksOut),
            streamed: (piece) => this.#down.out.pass(piece),
            dataRow: (chunk, start, end) => this.#dataRow(chunk, start, end),
        };
    }
    #serverFrame(code, frame) {
        const head = this.#pending[0];
        switch (code) {
            case 84 /* Backend.RowDescription */: {
                const discovering = this.#discovery.described(frame, shapeOf(head));
                if (!discovering)
                    return this.#rowDescription(frame, head);
                void discovering.then(() => this.#rowDescription(frame, head) && this.#down.resume(), (e) => this.#ctx.fail(new Error(`cannot resolve result columns through the catalog: ${e.message}`)));
                return false;
            }
            case 49 /* Backend.ParseComplete */:
            case 50 /* Backend.BindComplete */:
            case 51 /* Backend.CloseComplete */:
            case 110 /* Backend.NoData */:
                this.#pending.shift();
                break;
            case 67 /* Backend.CommandComplete */:
            case 73 /* Backend.EmptyQueryResponse */:
            case 115 /* Backend.PortalSuspended */:
                if (code === 67 /* Backend.CommandComplete */ && (head?.kind === 'execute' || head?.kind === 'query')) {
                    recordCommandTag(head, frame);
                    this.#confirmed(head, frame);
                }
                if (code !== 115 /* Backend.PortalSuspended */)
                    this.#discovery.ended();
                if (head?.kind === 'execute') {
                    this.#pending.shift();
                    this.#changedCatalog(head.portal.statement?.sql);
                    this.#completed(head.portal.ruling, head);
                }
                else if (head?.kind === 'query') {
                    head.plan = PASS_THROUGH;
                }
                this.#copy.outEnded();
                break;
            case 69 /* Backend.ErrorResponse */:
                this.#error(frame, head);
                return true;
            case 90 /* Backend.ReadyForQuery */:
                this.#readyForQuery(head, frame);
                break;
            case 78 /* Backend.NoticeResponse */: {
                const replaced = this.#refusals.notice(frame, head);
                if (replaced) {
                    this.#down.out.push(replaced);
                    return true;
                }
                break;
            }
            case 65 /* Backend.NotificationResponse */: {
                const n = readNotification(frame);
                const r = this.#ctx.masker.maskText(n.payload, this.#plans.connectionMasks().detectors);
                if (r.count) {
                    this.#down.out.push(writeNotification({ ...n, payload: r.text }));
                    return true;
                }
                break;
            }
            case 83 /* Backend.ParameterStatus */: {
                const { name, value } = readParameterStatus(frame);
                this.#ctx.parameter(name, value);
                break;
            }
            case 71 /* Backend.CopyInResponse */:
                this.#copy.inStarted();
                break;
            case 72 /* Backend.CopyOutResponse */: {
                const starting = this.#copy.outStarting(frame, head, this.#plans.masksOf(head));
                if (!starting)
                    break;
                void starting.then(() => {
                    this.#down.out.pass(frame);
                    this.#down.resume();
                }, (e) => this.#ctx.fail(e));
                return false;
            }
            case 100 /* Backend.CopyData */: {
                const out = this.#copy.outRow(frame);
                if (out) {
                    this.#count(head, frame.length, out.masked, 0);
                    if (out.frame !== frame) {
                        this.#down.out.push(out.frame);
                        return true;
                    }
                }
                break;
            }
            default:
                break;
        }
        this.#down.out.pass(frame);
        return true;
    }
    #count(head, bytes, masked, rows) {
        if (head?.kind === 'query' || head?.kind === 'execute') {
            head.rows += rows;
            head.bytes += bytes;
            head.masked += masked;
        }
    }
    #dataRow(chunk, start, end) {
        const head = this.#pending[0];
        this.#discovery.row(chunk, start, end);
        const plan = this.#plans.current(head);
        if (!plan.active) {
            this.#count(head, end - start, 0, 1);
            this.#down.out.passRange(chunk, start, end);
            return true;
        }
        const tally = head?.kind === 'query' || head?.kind === 'execute' ? (head.maskedBy ??= {}) : undefined;
        const masked = maskRowInto(chunk, start, end, plan, this.#plans.masksOf(head), this.#ctx.masker, this.#down.out, tally);
        this.#count(head, end - start, masked, 1);
        return true;
    }
    /** Plans masking for a result; when a table is new to the catalog, reading waits for the lookup. */
    #rowDescription(frame, head) {
        const planning = this.#plans.described(frame, head);
        const apply = () => {
            planning?.apply();
            if (head?.kind === 'describe')
                this.#pending.shift();
            this.#down.out.pass(frame);
        };
        if (!planning?.lookup.length) {
            apply();
            return true;
        }
        void this.#ctx.catalog.describe(planning.lookup).then(() => {
            apply();
            this.#down.resume();
        }, (e) => this.#ctx.fail(new Error(`cannot resolve result columns through the catalog: ${e.message}`)));
        return false;
    }
    #error(frame, head) {
        const { fields, replaced } = this.#refusals.error(frame, head);
        if (replaced)
            this.#down.out.push(replaced);
        else
            this.#down.out.pass(frame);
        this.#copy.outEnded();
        const message = fields.get('M');
        if (head?.kind === 'query') {
            head.error ??= message;
            return;
        }
        this.#refusals.skipToSync(head, message, (ruling, stats) => this.#completed(ruling, stats));
    }
    /** A statement ran: what it did to the session's named objects is now the target's state. */
    #confirmed(head, frame) {
        const index = head.kind === 'query' ? (head.completedStatements = (head.completedStatements ?? 0) + 1) - 1 : 0;
        const effect = head.kind === 'query' ? head.effects?.[index] : head.portal.statement?.effects?.[0];
        const tag = frame.toString('utf8', 5, frame.length - 1);
        this.#state.tagged(tag, effect);
        if (!effect || effect.kind === 'none' || effect.kind === 'use')
            return;
        const op = head.kind === 'query' ? head.op : undefined;
        const ruling = head.kind === 'query' ? head.ruling : head.portal.ruling;
        const defined = {
            ruling: ruling ?? { allowed: true, seq: 0, masks: this.#plans.connectionMasks() },
            text: op?.text ?? '',
            lineage: op?.lineage ? lineageOf(op.lineage.defines[index], op.lineage.reads) : UNTRACED,
        };
        this.#state.confirmed(effect, {
            statement: (name) => (effect.kind === 'prepare' ? this.#preparedInSql(name, effect.text, defined) : defined),
            portal: () => ({ statement: defined, resultFormats: [], ...(ruling && { ruling }) }),
        });
    }
    /**
     * A statement PREPAREd in SQL, as the target now holds it: its rows are masked by the lineage traced
     * at its PREPARE, its classes decided at each EXECUTE (by the classifier) or Bind (as `held`) of it.
     */
    #preparedInSql(name, text, defined) {
        const sql = this.#ctx.classifier.classify(text).prepares?.get(name);
        if (!sql)
            return defined;
        return { ...defined, sql, held: { connection: this.#ctx.connection, protocol: 'postgres', text: defined.text, classes: sql.classes, writes: sql.writes, sql } };
    }
    #readyForQuery(head, frame) {
        this.#state.answered(String.fromCharCode(frame[5] ?? 0x49));
        if (head?.kind === 'query') {
            this.#changedCatalog(head.sql);
            this.#completed(head.ruling, head);
        }
        this.#pending.shift();
    }
    /** After DDL, or code that may have run some (DO, CALL), names may mean other things: lineage and table descriptions are looked up afresh. */
    #changedCatalog(sql) {
        if (sql?.classes.has('ddl') || sql?.classes.has('unknown'))
            this.#ctx.catalog.invalidate();
    }
    #completed(ruling, stats) {
        if (!ruling || !ruling.allowed)
            return;
        this.#ctx.completed(ruling, {
            rows: stats.written ?? stats.rows,
            tag: stats.tag,
            bytes: stats.bytes,
            maskedValues: stats.masked,
            maskedBy: stats.maskedBy,
            durationMs: performance.now() - stats.started,
            error: stats.error,
        });
    }
}
/**
 * Keeps the target's command tag ("UPDATE 688"; several for a multi-statement query) and, for writes,
 * the rows they changed: auditors ask what a write did, not how many rows it sent back.
 */
function recordCommandTag(head, frame) {
    const tag = frame.toString('utf8', 5, frame.length - 1);
    head.tag = head.tag === undefined ? tag : `${head.tag}; ${tag}`;
    const changed = /^(?:INSERT \d+|UPDATE|DELETE|MERGE|COPY) (\d+)$/.exec(tag);
    if (changed)
        head.written = (head.written ?? 0) + Number(changed[1]);
}
/** The statement shape a response belongs to, for discovery to record its result columns once. */
function shapeOf(head) {
    if (head?.kind === 'query')
        return head.sql?.shape;
    if (head?.kind === 'execute')
        return head.portal.statement?.sql?.shape;
    if (head?.kind === 'describe')
        return (head.portal?.statement ?? head.statement)?.sql?.shape;
    return undefined;
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/copy-mask.ts



/**
 * Reads and writes one row of COPY text or CSV data (without its line end), with the statement's
 * delimiter, null marker, quote and escape, field by field as PostgreSQL's CopyReadAttributesText and
 * CopyReadAttributesCSV do: in text, a backslash escapes the next character (a delimiter too) and the
 * null marker is compared with the field as written; in CSV, quotes may open and close anywhere in a
 * field, the escape works only inside them, and a field with a quote is null only in a FORCE_NULL
 * column (an unquoted null marker in a FORCE_NOT_NULL column is a value).
 */
class CopyRowCodec {
    #csv;
    #delimiter;
    #null;
    #quote;
    #escape;
    /** CSV COPY FROM: by field index, whether FORCE_NULL or FORCE_NOT_NULL names that column. */
    #forceNull;
    #forceNotNull;
    /** `columns`: the names of the row's fields, which FORCE_NULL and FORCE_NOT_NULL name. */
    constructor(spec, columns = []) {
        this.#csv = spec.format === 'csv';
        this.#delimiter = spec.delimiter ?? (this.#csv ? ',' : '\t');
        this.#null = spec.null ?? (this.#csv ? '' : '\\N');
        this.#quote = spec.quote ?? '"';
        this.#escape = spec.escape ?? this.#quote;
        const forced = (names) => (i) => names === '*' || (names?.includes(columns[i] ?? '') ?? false);
        this.#forceNull = forced(spec.forceNull);
        this.#forceNotNull = forced(spec.forceNotNull);
    }
    parse(line) {
        return this.#csv ? this.#parseCsv(line) : this.#parseText(line);
    }
    #parseText(line) {
        const fields = [];
        let start = 0;
        for (let i = 0;; i++) {
            if (i < line.length && line[i] !== this.#delimiter) {
                if (line[i] === '\\')
                    i++;
                continue;
            }
            const raw = line.slice(start, Math.min(i, line.length));
            fields.push(raw === this.#null ? null : unescapeText(raw));
            if (i >= line.length)
                return fields;
            start = i + 1;
        }
    }
    format(fields) {
        return fields
            .map((f) => {
            if (f === null)
                return this.#null;
            return this.#csv ? this.#quoteCsv(f) : escapeText(f, this.#delimiter);
        })
            .join(this.#delimiter);
    }
    /** Where a row ends in a stream: the index of its line feed, or -1 when the row is not complete yet. */
    rowEnd(text, from) {
        if (!this.#csv)
            return text.indexOf('\n', from);
        let quoted = false;
        for (let i = from; i < text.length; i++) {
            const ch = text[i];
            if (quoted) {
                if (ch === this.#escape && this.#escape !== this.#quote && text[i + 1] === this.#quote)
                    i++;
                else if (ch === this.#quote) {
                    if (this.#escape === this.#quote && text[i + 1] === this.#quote)
                        i++;
                    else
                        quoted = false;
                }
            }
            else if (ch === this.#quote)
                quoted = true;
            else if (ch === '\n')
                return i;
        }
        return -1;
    }
    #parseCsv(line) {
        const q = this.#quote;
        const esc = this.#escape;
        const fields = [];
        let value = '';
        let sawQuote = false;
        let start = 0;
        for (let i = 0;;) {
            if (i >= line.length || line[i] === this.#delimiter) {
                const index = fields.length;
                const isNull = sawQuote ? value === this.#null && this.#forceNull(index) : line.slice(start, i) === this.#null && !this.#forceNotNull(index);
                fields.push(isNull ? null : value);
                if (i >= line.length)
                    return fields;
                value = '';
                sawQuote = false;
                start = ++i;
            }
            else if (line[i] === q) {
                sawQuote = true;
                for (i++; i < line.length; i++) {
                    const next = line[i + 1];
                    if (line[i] === esc && (next === q || next === esc) && i + 1 < line.length)
                        value += line[++i];
                    else if (line[i] === q)
                        break;
                    else
                        value += line[i];
                }
                i++;
            }
            else
                value += line[i++];
        }
    }
    #quoteCsv(value) {
        const needs = value === this.#null || value.includes(this.#delimiter) || value.includes(this.#quote) || /[\r\n]/.test(value);
        if (!needs)
            return value;
        return `${this.#quote}${value.replaceAll(this.#quote, this.#escape + this.#quote)}${this.#quote}`;
    }
}
const ESCAPES = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
function unescapeText(field) {
    if (!field.includes('\\'))
        return field;
    return field.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, e) => e[0] === 'x' ? String.fromCharCode(parseInt(e.slice(1), 16)) : /^[0-7]/.test(e) ? String.fromCharCode(parseInt(e, 8)) : (ESCAPES[e] ?? e));
}
function escapeText(value, delimiter) {
    return value.replace(/[\\\b\f\n\r\t\v]/g, (ch) => `\\${Object.keys(ESCAPES).find((k) => ESCAPES[k] === ch)}`).replaceAll(delimiter, `\\${delimiter}`);
}
/** Whether a COPY's data is UTF-8, as the gateway reads it: no ENCODING option, or UTF8 (UNICODE is its alias). */
const utf8 = (spec) => spec.encoding === undefined || /^(utf-?8|unicode)$/i.test(spec.encoding);
function copyDataFrame(text) {
    return new Writer(text.length + 8).bytes(Buffer.from(text)).finish(100 /* Backend.CopyData */);
}
/** Resolves the columns of a COPY of a table and the mask rule that covers each; undefined for COPY (query). */
async function copyColumns(spec, masks, catalog) {
    if (!spec.relation || masks.length === 0)
        return undefined;
    const table = await catalog.byName(spec.relation);
    if (!table)
        throw new Error(`table ${spec.relation} is not in the catalog`);
    const columns = spec.columns?.length ? spec.columns : table.ordered;
    return columns.map((name) => ({ name, strategy: masks.find((m) => matchesTableColumn(m, table, name))?.strategy }));
}
/**
 * The strategies for one row's fields. A header line keeps a covered column's field only where it is
 * that column's name: should the header have been misread, the first data row is masked all the same.
 */
function rowStrategies(columns, fields, header) {
    return columns?.map((c, i) => (header && fields[i] === c.name ? undefined : c.strategy));
}
/**
 * COPY … TO STDOUT: the target sends one row per CopyData message. Columns covered by a mask rule are
 * replaced; every field gets the detectors. Binary COPY cannot be read without types: it is refused
 * before it starts (see the session), and refused here too should one slip through.
 */
class CopyOutMasker {
    #codec;
    #columns;
    #masks;
    #masker;
    #header;
    constructor(spec, columns, masks, masker) {
        this.#codec = new CopyRowCodec(spec);
        this.#columns = columns;
        this.#masks = masks;
        this.#masker = masker;
        this.#header = spec.header;
    }
    static async create(spec, format, masks, catalog, masker) {
        if (format !== 0 || spec?.format === 'binary')
            throw new Error('binary COPY output cannot be masked');
        const effective = spec ?? { from: false, format: 'text', header: false };
        return new CopyOutMasker(effective, await copyColumns(effective, masks.columns, catalog), masks, masker);
    }
    row(frame) {
        const text = frame.toString('utf8', HEADER_LENGTH);
        const lineEnd = text.endsWith('\r\n') ? '\r\n' : text.endsWith('\n') ? '\n' : '';
        const fields = this.#codec.parse(text.slice(0, text.length - lineEnd.length));
        const header = this.#header;
        this.#header = false;
        const masked = maskFields(fields, rowStrategies(this.#columns, fields, header), this.#masks, this.#masker);
        return masked ? { frame: copyDataFrame(this.#codec.format(fields) + lineEnd), masked } : { frame, masked: 0 };
    }
}
/** Masks a row's fields in place: covered columns whole, the rest with the detectors. */
function maskFields(fields, columns, masks, masker) {
    let count = 0;
    for (let i = 0; i < fields.length; i++) {
        const value = fields[i];
        if (value === null || value === undefined)
            continue;
        const strategy = columns?.[i];
        if (strategy) {
            fields[i] = masker.maskValue(value, strategy);
            count++;
            continue;
        }
        const r = masker.maskText(value, masks.detectors);
        if (r.count) {
            fields[i] = r.text;
            count += r.count;
        }
    }
    return count;
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/write-mask.ts


const RULE = 'write-mask';
/** Write masking replaces named columns only; the detectors are for what flows back to the job. */
const NO_DETECTORS = { detectors: new Map() };
class Unmaskable extends Error {
}
function relationName(rel) {
    const r = rel;
    return r?.relname && (r.schemaname ? `${r.schemaname}.${r.relname}` : r.relname);
}
/** The literal or parameter that supplies a value, through casts; anything else cannot be masked. */
function valueSource(value, column) {
    const v = value;
    if (v.TypeCast)
        return valueSource(v.TypeCast.arg, column);
    if (v.A_Const) {
        const c = v.A_Const;
        return c.isnull ? { none: true } : { literal: c.location };
    }
    if (v.ParamRef)
        return { param: (v.ParamRef.number) - 1 };
    if (v.SetToDefault)
        return { none: true };
    throw new Unmaskable(`the value for column ${column} is an expression the gateway cannot mask; send it as a literal or a parameter`);
}
function maskFor(masks, table, column) {
    const bare = table.includes('.') ? table.slice(table.lastIndexOf('.') + 1) : table;
    return masks.find((m) => m.matches(bare, column) || m.matches(table, column));
}
function collect(column, value, mask, out) {
    const source = valueSource(value, column);
    if (source.literal !== undefined)
        out.replacements.push({ location: source.literal, strategy: mask.strategy });
    if (source.param !== undefined)
        out.params.set(source.param, mask.strategy);
}
async function insertColumns(stmt, table, catalog) {
    const explicit = stmt.cols?.map((c) => String(c.ResTarget.name));
    if (explicit?.length)
        return explicit;
    const info = await catalog.byName(table);
    if (!info)
        throw new Unmaskable(`the columns of ${table} cannot be resolved, so its masked columns cannot be found`);
    return [...info.ordered];
}
async function collectInsert(stmt, masks, catalog, out) {
    const table = relationName(stmt.relation);
    if (!table || !masks.some((m) => m.matchesTable(table) || m.matchesTable(table.slice(table.lastIndexOf('.') + 1))))
        return;
    const columns = await insertColumns(stmt, table, catalog);
    const masked = columns.map((c) => maskFor(masks, table, c));
    if (!masked.some(Boolean))
        return;
    const select = stmt.selectStmt?.SelectStmt;
    const rows = select?.valuesLists;
    if (!rows)
        throw new Unmaskable(`INSERT … SELECT into ${table} writes masked columns from values the gateway cannot see`);
    for (const row of rows) {
        (row.List?.items ?? []).forEach((value, i) => {
            const mask = masked[i];
            if (mask)
                collect(columns[i], value, mask, out);
        });
    }
    collectAssignments(table, stmt.onConflictClause?.targetList, masks, out);
}
function collectAssignments(table, targets, masks, out) {
    for (const t of targets ?? []) {
        const target = t.ResTarget;
        if (!target?.name)
            continue;
        const mask = maskFor(masks, table, target.name);
        if (!mask)
            continue;
        if (target.val?.MultiAssignRef)
            throw new Unmaskable(`a multi-column assignment to ${table}.${target.name} cannot be masked; assign it on its own`);
        // EXCLUDED.col in ON CONFLICT refers to the row being inserted, which is masked already.
        if (target.val?.ColumnRef)
            continue;
        collect(target.name, target.val, mask, out);
    }
}
function collectMerge(stmt, masks, out) {
    const table = relationName(stmt.relation);
    if (!table)
        return;
    for (const w of stmt.mergeWhenClauses ?? []) {
        const clause = w.MergeWhenClause;
        if (clause?.commandType === 'CMD_UPDATE')
            collectAssignments(table, clause.targetList, masks, out);
        if (clause?.commandType === 'CMD_INSERT') {
            const columns = (clause.targetList ?? []).map((t) => String(t.ResTarget.name));
            if (columns.length === 0 && masks.some((m) => m.matchesTable(table)))
                throw new Unmaskable(`MERGE … INSERT into ${table} without a column list cannot be masked`);
            (clause.values ?? []).forEach((value, i) => {
                const mask = maskFor(masks, table, columns[i]);
                if (mask)
                    collect(columns[i], value, mask, out);
            });
        }
    }
}
/** Replaces literals by byte offset, using the real lexer to find where each one ends. */
function rewriteLiterals(sql, replacements, ctx) {
    const masker = ctx.governor.masker;
    const bytes = Buffer.from(sql);
    const tokens = ctx.classifier.parser.scan(sql).tokens;
    const parts = [];
    let last = 0;
    for (const r of [...replacements].sort((a, b) => a.location - b.location)) {
        const token = tokens.find((t) => t.start === r.location);
        if (!token || token.tokenName !== 'SCONST') {
            // Numbers and bit strings would need a string in their place; refuse rather than guess.
            if (token?.tokenName === 'ICONST' || token?.tokenName === 'FCONST')
                throw new Unmaskable('a numeric literal bound for a masked column cannot be masked; store it as text');
            throw new Unmaskable('a literal bound for a masked column could not be located');
        }
        const original = scanValue(token.text);
        const masked = masker.maskValue(original, r.strategy);
        parts.push(bytes.subarray(last, token.start), Buffer.from(`'${masked.replaceAll("'", "''")}'`));
        last = token.end;
    }
    parts.push(bytes.subarray(last));
    return Buffer.concat(parts).toString('utf8');
}
/** The value of a string constant token: '…', E'…', U&'…', $tag$…$tag$. */
function scanValue(text) {
    const dollar = /^(\$[^$]*\$)([\s\S]*)\1$/.exec(text);
    if (dollar)
        return dollar[2];
    const body = text.replace(/^[EeNn]?'|'$/g, '');
    return /^[Ee]'/.test(text) ? body.replace(/\\(.)/g, '$1').replaceAll("''", "'") : body.replaceAll("''", "'");
}
class WriteMasker {
    #codec;
    #columns;
    #masker;
    #partial = '';
    /** Whether the next row is the header line. */
    #header;
    constructor(plan, masker) {
        this.#codec = new CopyRowCodec(plan.spec, plan.columns.map((c) => c.name));
        this.#columns = plan.columns;
        this.#masker = masker;
        this.#header = plan.spec.header;
    }
    /** Works out how to mask one statement's writes; never throws, a problem comes back as a refusal. */
    static async forStatement(classification, sql, masks, ctx) {
        const out = { replacements: [], params: new Map() };
        try {
            const copies = [];
            for (const spec of classification.copies ?? []) {
                if (!spec.from)
                    continue;
                const columns = await copyColumns(spec, masks.writeColumns, ctx.catalog);
                const masked = columns?.some((c) => c.strategy) ?? false;
                if (masked && spec.format === 'binary')
                    throw new Unmaskable('binary COPY FROM into a table with masked columns cannot be masked; use text or csv');
                if (masked && !utf8(spec))
                    throw new Unmaskable(`COPY FROM with ENCODING ${spec.encoding} into a table with masked columns cannot be masked; send UTF8`);
                copies.push(masked ? { spec, columns: columns } : undefined);
            }
            const tree = ctx.classifier.parser.parse(sql);
            for (const { stmt } of tree.stmts ?? []) {
                if (stmt?.InsertStmt)
                    await collectInsert(stmt.InsertStmt, masks.writeColumns, ctx.catalog, out);
                else if (stmt?.UpdateStmt) {
                    const update = stmt.UpdateStmt;
                    const table = relationName(update.relation);
                    if (table)
                        collectAssignments(table, update.targetList, masks.writeColumns, out);
                }
                else if (stmt?.MergeStmt)
                    collectMerge(stmt.MergeStmt, masks.writeColumns, out);
            }
            const rewritten = out.replacements.length ? rewriteLiterals(sql, out.replacements, ctx) : undefined;
            return { ...(rewritten !== undefined && { sql: rewritten }), ...(out.params.size && { params: out.params }), ...(copies.some(Boolean) && { copies }) };
        }
        catch (e) {
            if (e instanceof Unmaskable)
                return { refusal: { rule: RULE, message: `refused: ${e.message}` } };
            throw e;
        }
    }
    /** Client CopyData: whole rows are masked and sent on; a partial row waits for the rest. */
    data(frame, out) {
        this.#partial += frame.toString('utf8', HEADER_LENGTH);
        let start = 0;
        let rows = '';
        for (let end = this.#codec.rowEnd(this.#partial, start); end >= 0; end = this.#codec.rowEnd(this.#partial, start)) {
            rows += `${this.#row(this.#partial.slice(start, end))}\n`;
            start = end + 1;
        }
        this.#partial = this.#partial.slice(start);
        if (rows)
            out.push(copyDataFrame(rows));
    }
    /** CopyDone: a last row without its line end. */
    end(out) {
        if (this.#partial && this.#partial !== '\\.')
            out.push(copyDataFrame(this.#row(this.#partial)));
        else if (this.#partial)
            out.push(copyDataFrame(this.#partial));
        this.#partial = '';
    }
    #row(line) {
        if (line === '\\.')
            return line;
        const header = this.#header;
        this.#header = false;
        const cr = line.endsWith('\r');
        const fields = this.#codec.parse(cr ? line.slice(0, -1) : line);
        return maskFields(fields, rowStrategies(this.#columns, fields, header), NO_DETECTORS, this.#masker) ? this.#codec.format(fields) + (cr ? '\r' : '') : line;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/copy-relay.ts



class CopyRelay {
    #catalog;
    #masker;
    /** A COPY FROM STDIN under way, and what must be masked in its data. */
    #copyIn;
    /** The COPY FROMs the statement sent last will start, in order, with how to mask each. */
    #copyInPlans = [];
    #copyOut;
    constructor(catalog, masker) {
        this.#catalog = catalog;
        this.#masker = masker;
    }
    /** Whether the COPY FROM under way masks its data (then no piece of it streams past unread). */
    get masksIn() {
        return this.#copyIn !== undefined;
    }
    /** Whether the COPY TO under way masks its data. */
    get masksOut() {
        return this.#copyOut !== undefined;
    }
    /** The statement just sent: the COPY FROMs it will start, with how to mask each. */
    planned(copies) {
        this.#copyInPlans = copies ?? [];
    }
    /** A CopyData message from the client. */
    clientData(frame, out) {
        if (this.#copyIn)
            this.#copyIn.data(frame, out);
        else
            out.pass(frame);
    }
    /** The client's CopyDone or CopyFail: the COPY FROM is over. */
    clientEnded(out) {
        this.#copyIn?.end(out);
        this.#copyIn = undefined;
    }
    /** The target's CopyInResponse: the next planned COPY FROM starts. */
    inStarted() {
        const [plan, ...later] = this.#copyInPlans;
        if (plan)
            this.#copyIn = new WriteMasker(plan, this.#masker);
        this.#copyInPlans = later;
    }
    /** The target's CopyOutResponse: undefined when nothing is masked, else ready once its masker is. */
    outStarting(frame, head, masks) {
        const sql = head?.kind === 'query' ? head.sql : head?.kind === 'execute' ? head.portal.statement?.sql : undefined;
        // The n-th COPY TO of a query answers with the n-th CopyOutResponse.
        const index = head?.kind === 'query' ? (head.copiesOut = (head.copiesOut ?? 0) + 1) - 1 : 0;
        const spec = sql?.copies?.filter((c) => !c.from)[index];
        if (masks.columns.length === 0 && masks.detectors.size === 0)
            return undefined;
        const { format } = readCopyResponse(frame);
        return CopyOutMasker.create(spec, format, masks, this.#catalog, this.#masker).then((masker) => {
            this.#copyOut = masker;
        });
    }
    /** A row of COPY TO output, masked; undefined when the COPY under way masks nothing. */
    outRow(frame) {
        return this.#copyOut?.row(frame);
    }
    /** The COPY TO is over (or the statement failed). */
    outEnded() {
        this.#copyOut = undefined;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/discover.ts



/**
 * Feeds one session's results to the run's Discovery: each RowDescription names its columns' source
 * (`schema.table.column`, through the catalog), recorded once per statement shape; in observe mode the
 * text values of the rows that follow are counted under that source. Computed columns have no source
 * and are not counted.
 */
class ResultDiscovery {
    #discovery;
    #catalog;
    /** The source of each column of the result being read, when its values are counted. */
    #sources;
    constructor(discovery, catalog) {
        this.#discovery = discovery;
        this.#catalog = catalog;
    }
    /**
     * A result starts. Returns a promise when its tables must be looked up first: the caller waits for it
     * before it reads on, so no row is counted without its source.
     */
    described(frame, shape) {
        this.#sources = undefined;
        const counting = this.#discovery.countsValues;
        if (!counting && (shape === undefined || !this.#discovery.wantsColumns(shape)))
            return undefined;
        const fields = readRowDescription(frame);
        const missing = fields.filter((f) => f.tableOid !== 0 && !this.#catalog.cached(f.tableOid)).map((f) => f.tableOid);
        const start = () => {
            const sources = fields.map((f) => this.#sourceOf(f));
            if (shape !== undefined)
                this.#discovery.columns(shape, sources);
            if (counting)
                this.#sources = fields.map((f, i) => (scannable(f) ? sources[i] : null));
        };
        if (missing.length === 0)
            return void start();
        return this.#catalog.describe(missing).then(start);
    }
    /** A DataRow of the current result, bytes start…end of `frame`: its text values are counted. */
    row(frame, start, end) {
        const sources = this.#sources;
        if (!sources)
            return;
        const count = (frame[start + HEADER_LENGTH] << 8) | frame[start + HEADER_LENGTH + 1];
        for (let i = 0, pos = start + HEADER_LENGTH + 2; i < count && pos + 4 <= end; i++) {
            const len = int32At(frame, pos);
            const cell = pos + 4;
            pos = cell + Math.max(len, 0);
            const source = sources[i];
            if (len > 0 && source && pos <= end)
                this.#discovery.value(source, frame.toString('utf8', cell, pos));
        }
    }
    /** The result is complete: rows that come without a description of their own are not counted. */
    ended() {
        this.#sources = undefined;
    }
    #sourceOf(field) {
        const table = field.tableOid ? this.#catalog.cached(field.tableOid) : undefined;
        const column = table?.columns.get(field.column);
        return table && column ? `${table.schema}.${table.name}.${column}` : null;
    }
}
/** Values that can hold free text: numbers and dates would only give false card hits. */
function scannable(field) {
    return field.format === 1 ? TEXTUAL.has(field.typeOid) : !NOT_TEXT.has(field.typeOid);
}

// EXTERNAL MODULE: ./runner-proxy/src/masking/credentials.ts
var credentials = __webpack_require__(4880);
// EXTERNAL MODULE: ./runner-proxy/src/masking/masker.ts
var masking_masker = __webpack_require__(7171);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/encoding.ts
/**
 * Client encodings as PostgreSQL names them (src/common/encnames.c): a name is looked up with every
 * character but letters and digits dropped and letters lower-cased, so `UTF-8`, `utf8` and `Unicode`
 * are all UTF8. The server reports the value as it was set when it is `UNICODE`, so ParameterStatus
 * can carry an alias.
 */
const ALIASES = {
    SQL_ASCII: ['sqlascii'],
    EUC_JP: ['eucjp'],
    EUC_CN: ['euccn'],
    EUC_KR: ['euckr'],
    EUC_TW: ['euctw'],
    EUC_JIS_2004: ['eucjis2004'],
    UTF8: ['utf8', 'unicode'],
    MULE_INTERNAL: ['muleinternal'],
    LATIN1: ['latin1', 'iso88591'],
    LATIN2: ['latin2', 'iso88592'],
    LATIN3: ['latin3', 'iso88593'],
    LATIN4: ['latin4', 'iso88594'],
    LATIN5: ['latin5', 'iso88599'],
    LATIN6: ['latin6', 'iso885910'],
    LATIN7: ['latin7', 'iso885913'],
    LATIN8: ['latin8', 'iso885914'],
    LATIN9: ['latin9', 'iso885915'],
    LATIN10: ['latin10', 'iso885916'],
    WIN1256: ['win1256', 'windows1256'],
    WIN1258: ['win1258', 'windows1258', 'abc', 'tcvn', 'tcvn5712', 'vscii'],
    WIN866: ['win866', 'windows866', 'alt'],
    WIN874: ['win874', 'windows874'],
    KOI8R: ['koi8r', 'koi8'],
    WIN1251: ['win1251', 'windows1251', 'win'],
    WIN1252: ['win1252', 'windows1252'],
    ISO_8859_5: ['iso88595'],
    ISO_8859_6: ['iso88596'],
    ISO_8859_7: ['iso88597'],
    ISO_8859_8: ['iso88598'],
    WIN1250: ['win1250', 'windows1250'],
    WIN1253: ['win1253', 'windows1253'],
    WIN1254: ['win1254', 'windows1254'],
    WIN1255: ['win1255', 'windows1255'],
    WIN1257: ['win1257', 'windows1257'],
    KOI8U: ['koi8u'],
    SJIS: ['sjis', 'shiftjis', 'mskanji', 'win932', 'windows932'],
    BIG5: ['big5', 'win950', 'windows950'],
    GBK: ['gbk', 'win936', 'windows936'],
    UHC: ['uhc', 'win949', 'windows949'],
    GB18030: ['gb18030'],
    JOHAB: ['johab'],
    SHIFT_JIS_2004: ['shiftjis2004'],
};
/**
 * Client-only encodings: a second byte of their characters can be an ASCII byte (a quote, a
 * backslash), so the gateway's parser and the server could read a statement's quoting differently.
 * Every server encoding keeps ASCII bytes for ASCII characters.
 */
const CLIENT_ONLY = new Set(['SJIS', 'BIG5', 'GBK', 'UHC', 'GB18030', 'JOHAB', 'SHIFT_JIS_2004']);
const CANONICAL = new Map(Object.entries(ALIASES).flatMap(([name, aliases]) => aliases.map((alias) => [alias, name])));
/** The encoding's own name for any spelling PostgreSQL accepts; undefined for one it does not know. */
function canonicalEncoding(name) {
    return CANONICAL.get(name.replace(/[^A-Za-z0-9]/g, '').toLowerCase());
}
/** Whether statements in this client encoding quote as they read in UTF-8 (unknown names are not). */
function quotesReadAlike(name) {
    const canonical = canonicalEncoding(name);
    return canonical !== undefined && !CLIENT_ONLY.has(canonical);
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/operations.ts





/** Longer statements (bulk INSERTs and the like) are not kept by their text. */
const MAX_REMEMBERED_TEXT = 4096;
class StatementOperations {
    #ctx;
    /** Why the target could read quoting otherwise than the gateway's parser, by the parameter that makes it so. */
    #syntaxUnsafe = new Map();
    /** What lineage found against this connection's masks, by statement shape. */
    #maskFindings = new WeakMap();
    /** Each operation as a prepared statement runs it (asked for approval at each execution), made once per operation. */
    #atExecution = new WeakMap();
    #refusesPredicatesCached;
    constructor(ctx) {
        this.#ctx = ctx;
    }
    /** A parameter the target reports (at startup, or when it changes): some change how it reads quotes. */
    parameter(name, value) {
        if (name === 'standard_conforming_strings') {
            if (value === 'on')
                this.#syntaxUnsafe.delete(name);
            else
                this.#syntaxUnsafe.set(name, 'standard_conforming_strings is off, so backslashes in strings could be read differently');
        }
        else if (name === 'client_encoding') {
            if (quotesReadAlike(value))
                this.#syntaxUnsafe.delete(name);
            else
                this.#syntaxUnsafe.set(name, `client_encoding ${value} can hide quotes inside characters`);
        }
    }
    statementText(sql) {
        // With standard_conforming_strings off or an unsafe encoding the target could read quotes otherwise.
        const unsafe = this.#syntaxUnsafe.size > 0 && sql.includes('\\');
        const known = unsafe ? undefined : this.#ctx.operations.get(sql);
        if (known)
            return known;
        let classification = this.#ctx.classifier.classify(sql);
        if (unsafe)
            classification = { ...classification, classes: new Set(['unparseable']), syntaxError: [...this.#syntaxUnsafe.values()].join('; ') };
        const statement = {
            sql,
            op: {
                connection: this.#ctx.connection,
                protocol: 'postgres',
                text: this.#ctx.masker.maskText((0,credentials/* hideCredentials */.R)(sql), masking_masker/* REDACT_ALL */.kZ).text,
                classes: classification.classes,
                writes: classification.writes,
                sql: classification,
            },
        };
        if (!unsafe && !classification.perSession && sql.length <= MAX_REMEMBERED_TEXT)
            this.#ctx.operations.set(sql, statement);
        return statement;
    }
    /**
     * With columns masked on this connection, a statement's lineage comes before its decision: a write
     * that copies a masked value out of its mask gets the class `masked_copy`, a predicate on a column
     * whose rule refuses them `masked_predicate`. Lineage is cached per statement shape, so only a new
     * shape (or new DDL) waits for the catalog.
     */
    traced(statement) {
        const { op, sql } = statement;
        const plan = this.#ctx.connectionMasks();
        if (plan.columns.length === 0 || op.sql.shape === undefined || op.sql.syntaxError !== undefined)
            return op;
        // Whether a predicate is `column = $1` or `column = 'literal'`, `ORDER BY 1` or `ORDER BY 2`, is lost in
        // the shape: where predicates are refused, lineage is cached by the exact text.
        const shape = this.#refusesPredicates ? exactShape(sql) : op.sql.shape;
        const cached = this.#ctx.lineage.cached(shape);
        if (cached)
            return this.#withLineage(statement, cached);
        return this.#ctx.lineage.compute(sql, shape).then((lineage) => this.#withLineage(statement, lineage), (e) => {
            throw new Error(`cannot trace the columns of a statement through the catalog: ${e.message}`);
        });
    }
    #withLineage(statement, lineage) {
        // The same text again is traced once for as long as its lineage holds.
        if (statement.traced?.lineage === lineage)
            return statement.traced;
        const { op } = statement;
        let findings = this.#maskFindings.get(lineage);
        if (findings?.from !== op.classes)
            this.#maskFindings.set(lineage, (findings = maskFindings(op.classes, lineage, this.#ctx.connectionMasks().columns)));
        return (statement.traced = { ...op, classes: findings.classes, lineage, ...findings.detail });
    }
    /** Whether a rule of this connection refuses predicates on its masked columns. */
    get #refusesPredicates() {
        return (this.#refusesPredicatesCached ??= this.#ctx.connectionMasks().columns.some((m) => m.predicates?.refuse));
    }
    /** Prepared statements are asked for approval at each execution, with the values they run with. */
    atExecution(op) {
        let executed = this.#atExecution.get(op);
        if (!executed)
            this.#atExecution.set(op, (executed = { ...op, approveAtExecution: true }));
        return executed;
    }
    /** A statement's text for the record and the approver, with its parameters as the record keeps them (masked). */
    withParameters(statement, bind) {
        const { masker } = this.#ctx;
        const values = bind.params.map((value, i) => {
            if (value === null)
                return `$${i + 1} = NULL`;
            if ((bind.paramFormats.length === 1 ? bind.paramFormats[0] : bind.paramFormats[i]) === 1)
                return `$${i + 1} = (${value.length} bytes, binary)`;
            const strategy = statement.write?.params?.get(i);
            const text = strategy ? masker.maskValue(value.toString('utf8'), strategy) : masker.maskText((0,credentials/* hideCredentials */.R)(value.toString('utf8')), masking_masker/* REDACT_ALL */.kZ).text;
            return `$${i + 1} = '${text.replaceAll("'", "''")}'`;
        });
        return values.length ? `${statement.text} -- with ${values.join(', ')}` : statement.text;
    }
}
function maskFindings(classes, lineage, masks) {
    const copied = maskedCopy(lineage, masks);
    const oracle = maskedPredicate(lineage, masks);
    if (!copied && !oracle)
        return { from: classes, classes, detail: {} };
    return {
        from: classes,
        classes: new Set([...classes, ...(copied ? ['masked_copy'] : []), ...(oracle ? ['masked_predicate'] : [])]),
        detail: { ...(copied && { maskedCopy: copied }), ...(oracle && { maskedPredicate: oracle }) },
    };
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/refusal.ts
/**
 * What a PostgreSQL client is sent instead of a refused statement's results, or of an error or notice
 * that could quote a masked value. Refusals are answered in the protocol's own terms: the refused
 * message is replaced, on the target, by one that fails harmlessly (EXECUTE of, or a Bind to, a
 * statement that does not exist, named with a nonce), and the target's error by ours. The target
 * thereby aborts the transaction and skips to Sync exactly as it would for a real error, so the session
 * stays usable and in step, inside transaction blocks and pipelines alike.
 */





const SQLSTATE_REFUSED = '42501';
class Refusals {
    #ctx;
    #nonce = `govern_refused_${(0,external_node_crypto_.randomBytes)(8).toString('hex')}`;
    /** After a refusal in an extended-protocol batch, the client's messages up to Sync are dropped, as the target would. */
    #skipUntilSync = false;
    constructor(ctx) {
        this.#ctx = ctx;
    }
    /** Whether a client message is dropped, being after a refusal and before the batch's Sync. */
    skips(code) {
        return this.#skipUntilSync && code !== 83 /* Frontend.Sync */ && code !== 72 /* Frontend.Flush */;
    }
    /** The client's Sync: what follows it is read again. */
    synced() {
        this.#skipUntilSync = false;
    }
    /** Simple protocol (Query, FunctionCall): the target runs a statement that fails, and we answer for it. */
    simple(ruling, syntaxError) {
        const substitution = refusalFields(ruling, syntaxError);
        this.#ctx.pending.push({ kind: 'query', ruling, started: performance.now(), rows: 0, bytes: 0, masked: 0, plan: PASS_THROUGH, substitution });
        this.#ctx.state.sent();
        this.#ctx.toTarget.push(writeQuery(`EXECUTE ${this.#nonce}`));
    }
    /** Extended protocol: a Bind of a statement that does not exist fails; the target then skips to Sync. */
    extended(substitution, kind) {
        this.#ctx.pending.push({ kind, substitution });
        this.#ctx.toTarget.push(writeBind({ portal: '', statement: this.#nonce, paramFormats: [], params: [], resultFormats: [] }));
        this.#skipUntilSync = true;
    }
    /**
     * The target's ErrorResponse as the client gets it: ours for a substitute's, withheld when the
     * statement reads a masked column, masked where it quotes a value. `replaced` is the frame to send
     * instead of the target's, if any.
     */
    error(frame, head) {
        const { plans, masker } = this.#ctx;
        let fields = readNotice(frame);
        const substitution = head && 'substitution' in head ? head.substitution : undefined;
        if (substitution && (fields.get('M') ?? '').includes(this.#nonce))
            fields = substitution;
        else if (plans.readsMasked(head, fields.get('C')))
            fields = withheldNotice(fields);
        else if (!maskNotice(fields, plans.masksOf(head), masker))
            return { fields };
        return { fields, replaced: writeNotice(69 /* Backend.ErrorResponse */, fields) };
    }
    /** A NoticeResponse withheld or masked as an error would be: the frame to send instead, or undefined when it goes as it came. */
    notice(frame, head) {
        const { plans, masker } = this.#ctx;
        const fields = readNotice(frame);
        if (plans.readsMasked(head, fields.get('C')))
            return writeNotice(78 /* Backend.NoticeResponse */, withheldNotice(fields));
        if (maskNotice(fields, plans.masksOf(head), masker))
            return writeNotice(78 /* Backend.NoticeResponse */, fields);
        return undefined;
    }
    /**
     * Extended protocol: after an error the target skips everything up to Sync; what the failed and
     * skipped messages would have changed is undone, latest first, and skipped executions complete failed.
     */
    skipToSync(head, message, completed) {
        const { pending, state } = this.#ctx;
        state.failed();
        const undone = [];
        while (pending.length && pending[0].kind !== 'sync') {
            const dropped = pending.shift();
            if (dropped.kind === 'execute')
                completed(dropped.portal.ruling, { ...dropped, error: message });
            if ('undo' in dropped && dropped.undo)
                undone.push({ undo: dropped.undo, failed: dropped === head });
        }
        for (const { undo, failed } of undone.reverse())
            undo(failed);
    }
}
/** The ErrorResponse a refusal is answered with: the rule, or the parser's complaint for SQL it cannot read. */
function refusalFields(ruling, syntaxError) {
    const requestNote = ruling.requestId ? ` (request ${ruling.requestId})` : '';
    return errorFields('ERROR', syntaxError ? '42601' : SQLSTATE_REFUSED, `govern: ${ruling.message}${ruling.message?.includes(ruling.requestId ?? '\u0000') ? '' : requestNote}`, syntaxError ? `the SQL parser says: ${syntaxError}` : `rule: ${ruling.rule}`);
}
/** A refusal for copying a value out of its mask, or for a predicate on it, says which column. */
function explained(ruling, op) {
    const detail = ruling.rule === 'default-masked_copy' ? op.maskedCopy : ruling.rule === 'default-masked_predicate' ? op.maskedPredicate : undefined;
    return detail ? { ...ruling, message: `${ruling.message}: ${detail}` } : ruling;
}
/**
 * COPY output the gateway cannot mask is refused before it starts: binary output (no types to read it
 * by), and COPY (query) that may carry a masked column (no row description to find it by): one that
 * reads a table with masked columns and names such a column, `*`, or a whole row.
 */
function unmaskableCopy(op, masks) {
    const out = (op.sql.copies ?? []).filter((c) => !c.from);
    if (out.some((c) => c.format === 'binary') && (masks.columns.length || masks.detectors.size))
        return 'refused: binary COPY output cannot be masked; use FORMAT text or csv';
    const encoded = out.find((c) => !utf8(c));
    if (encoded && (masks.columns.length || masks.detectors.size))
        return `refused: COPY output with ENCODING ${encoded.encoding} cannot be masked; leave out ENCODING or use UTF8`;
    const queries = out.filter((c) => c.reads);
    // Lineage traces the first COPY (query) of a message.
    if (queries.length > 1 && masks.columns.length)
        return 'refused: a message with several COPY (query) … TO cannot be masked; send each COPY on its own';
    const copy = queries[0];
    if (!copy?.reads)
        return undefined;
    const bare = (name) => name.slice(name.lastIndexOf('.') + 1);
    const table = copy.reads.tables.find((t) => masks.columns.some((m) => m.matchesTable(t) || m.matchesTable(bare(t))));
    const { aliases, names } = copy.reads;
    const risky = table && names.find((n) => n === '*' || aliases.includes(n) || masks.columns.some((m) => m.matchesColumn(n)));
    if (risky !== undefined)
        return `refused: COPY (query) output from ${table} may carry a masked column (${risky}) and cannot be masked; COPY the table itself or SELECT`;
    // Whatever the names say, a column whose value derives from a masked one (through a view, an expression, a function) cannot be masked either.
    const derived = op.lineage?.copyOut?.findIndex((c) => maskingSource(c, masks.columns) !== undefined) ?? -1;
    if (derived >= 0)
        return `refused: column ${derived + 1} of the COPY (query) output derives from a masked column and cannot be masked; COPY the table itself or SELECT`;
    return undefined;
}

;// CONCATENATED MODULE: ./runner-proxy/src/core/rules.ts



const rules_UNKNOWN = 'unknown';
const anyOf = (matchers) => (op) => matchers.some((m) => m(op));
/** The condition's protocol keys, each with its declaration and whom its matchers see. */
function keysOf(condition, protocols, allows) {
    return Object.entries(condition)
        .filter(([key]) => key !== 'json')
        .map(([key, value]) => {
        const entry = protocols.conditions.get(key);
        return { value, condition: entry.condition, scope: { protocols: entry.protocols, allows } };
    });
}
function jsonMatcher(json) {
    const compiled = compileCondition(json);
    return (op) => op.json !== undefined && evaluateCondition(compiled, op.json);
}
/**
 * What an allow-list covers and what it lists, as the keys it lists say (a command line, a request);
 * the json condition lists a request too.
 */
function allowListOf(condition, protocols, verdict) {
    const lists = keysOf(condition, protocols, true).map(({ value, condition: key, scope }) => key.allowList.compile(value, scope));
    const json = condition.json !== undefined ? jsonMatcher(condition.json) : () => false;
    return {
        verdict,
        covers: (op) => lists.some((l) => l.covers(op)),
        lists: (op) => lists.some((l) => l.covers(op) && (l.lists(op) || json(op))),
    };
}
function conditionMatcher(condition, protocols, allows) {
    const matchers = keysOf(condition, protocols, allows).map(({ value, condition: key, scope }) => key.matcher(value, scope));
    if (condition.json !== undefined)
        matchers.push(jsonMatcher(condition.json));
    return anyOf(matchers);
}
function whenMatcher(when) {
    if (!when)
        return () => true;
    const connections = when.connection && new Set(when.connection);
    const request = isPerRequest(when) ? requestMatcher(when) : undefined;
    return (op) => (!connections || connections.has(op.connection)) && (!request || request(op));
}
function compileRule(spec, protocols) {
    const condition = spec.condition ?? {};
    const lists = Object.values(condition).filter((v) => Array.isArray(v));
    const rule = {
        name: spec.name,
        action: spec.action,
        applies: whenMatcher(spec.when),
        matches: spec.condition ? conditionMatcher(spec.condition, protocols, spec.action === 'allow') : () => false,
        namedClasses: new Set(Object.entries(condition).flatMap(([key, value]) => (protocols.conditions.get(key)?.condition.namesClasses ? value : []))),
        coversUnknown: lists.some((l) => l.includes(rules_UNKNOWN)),
        perRequest: spec.when !== undefined && isPerRequest(spec.when),
        readsJson: spec.condition?.json !== undefined,
    };
    if (spec.others && spec.condition)
        rule.allowList = allowListOf(spec.condition, protocols, spec.others === 'refuse' ? 'block' : 'approve');
    if (spec.mask) {
        const { strategy } = spec.mask;
        rule.mask = {
            columns: spec.mask.columns.map((pattern) => {
                const [table, column] = splitColumn(pattern);
                const t = globMatcher(table, { separator: '.' });
                const c = globMatcher(column, { separator: '.' });
                return {
                    matches: (tn, cn) => t(tn) && c(cn),
                    matchesColumn: c,
                    matchesTable: t,
                    strategy,
                    rule: spec.name,
                    ...(spec.mask.predicates && { predicates: spec.mask.predicates }),
                };
            }),
            types: [...spec.mask.types],
            json: spec.mask.json.map((s) => ({ selector: compileSelector(s), strategy, rule: spec.name })),
            headers: spec.mask.headers,
            on: spec.mask.on,
            strategy,
        };
    }
    return rule;
}
/** "schema.users.ssn" names table "schema.users" and column "ssn". */
function splitColumn(pattern) {
    const dot = pattern.lastIndexOf('.');
    return [pattern.slice(0, dot), pattern.slice(dot + 1)];
}
const NO_REQUEST_MASKS = Object.freeze({ json: [], detectors: new Map(), headers: new Map(), rules: [] });
const EMPTY_MASK_PLAN = Object.freeze({ columns: [], writeColumns: [], detectors: new Map(), json: [], headers: new Map(), write: NO_REQUEST_MASKS, rules: [] });
/**
 * The rule engine: block beats approve beats allow, masks from every matching rule accumulate.
 * Built once per run from the validated policy.
 */
class RuleEngine {
    #rules;
    #maskRules;
    #allowLists;
    #observe;
    /** Classes no operation may have unless a rule allows them explicitly: the protocols' safe defaults. */
    #refusedUnlessAllowed;
    #planCache = new Map();
    #plansPerRequest;
    /** Whether some mask rule rewrites what goes to a target beyond PostgreSQL columns (HTTP requests). */
    masksRequests;
    /**
     * Decisions by classification: adapters cache classifications by statement shape, so the same class
     * set comes back for every statement of that shape. Only for operations whose decision depends on
     * nothing but their classes, connection and write flag (no method, path or body).
     */
    #decisions = new WeakMap();
    constructor(policy) {
        this.#rules = policy.rules.map((r) => compileRule(r, policy.protocols));
        this.#refusedUnlessAllowed = policy.protocols.refusedUnlessAllowed;
        this.#maskRules = this.#rules.filter((r) => r.mask);
        this.#allowLists = this.#rules.filter((r) => r.allowList);
        this.#observe = policy.mode === 'observe';
        this.#plansPerRequest = this.#maskRules.some((r) => r.perRequest);
        this.masksRequests = this.#maskRules.some((r) => r.mask.on === 'write' && r.mask.json.length + r.mask.types.length + r.mask.headers.length > 0);
    }
    /** Whether deciding this operation needs its JSON body: some rule that applies to it has a json condition. */
    needsJson(op) {
        return this.#rules.some((r) => r.readsJson && r.applies(op));
    }
    evaluate(op, principal) {
        const cacheable = op.method === undefined && op.path === undefined && op.json === undefined && op.commands === undefined;
        if (!cacheable)
            return this.#evaluate(op, principal);
        let byConnection = this.#decisions.get(op.classes);
        if (!byConnection)
            this.#decisions.set(op.classes, (byConnection = new Map()));
        let byFlags = byConnection.get(op.connection);
        if (!byFlags)
            byConnection.set(op.connection, (byFlags = []));
        // No key is made per statement: the write flag and the identity's read-only flag pick one of four.
        return (byFlags[(op.writes ? 1 : 0) + (principal.readOnly ? 2 : 0)] ??= this.#evaluate(op, principal));
    }
    #evaluate(op, principal) {
        const masks = this.maskPlan(op);
        const policyDecision = this.#policyDecision(op, principal);
        // Built field by field, not spread: every HTTP request is decided afresh, and spreading is slow.
        const decision = { verdict: this.#observe ? 'allow' : policyDecision.verdict, policyVerdict: policyDecision.verdict, reason: policyDecision.reason, masks };
        if (policyDecision.rule !== undefined)
            decision.rule = policyDecision.rule;
        return decision;
    }
    #policyDecision(op, principal) {
        const applicable = this.#rules.filter((r) => r.action !== 'mask' && r.applies(op) && r.matches(op));
        const first = (action) => applicable.find((r) => r.action === action);
        const block = first('block');
        if (block) {
            const matched = [...op.classes].filter((c) => block.namedClasses.has(c));
            return { verdict: 'block', rule: block.name, reason: `blocked by rule "${block.name}"${matched.length ? ` (class ${matched.join(', ')})` : ''}` };
        }
        const unlisted = this.#allowLists.filter((r) => r.applies(op) && r.allowList.covers(op) && !r.allowList.lists(op));
        const refusedBy = unlisted.find((r) => r.allowList.verdict === 'block');
        if (refusedBy)
            return { verdict: 'block', rule: refusedBy.name, reason: `refused by rule "${refusedBy.name}": not on its allow-list` };
        if (op.writes && principal.readOnly) {
            return { verdict: 'block', rule: 'read-only-identity', reason: `blocked: ${principal.readOnlyReason ?? 'this identity may only read'}` };
        }
        const refused = [...op.classes].find((c) => this.#refusedUnlessAllowed.has(c) && !applicable.some((r) => r.action === 'allow' && r.namedClasses.has(c)));
        if (refused) {
            return { verdict: 'block', rule: `default-${refused}`, reason: `blocked: ${refused.replaceAll('_', ' ')} is refused unless a rule allows it` };
        }
        const approve = first('approve') ?? unlisted[0];
        if (approve)
            return { verdict: 'approve', rule: approve.name, reason: `held for approval by rule "${approve.name}"` };
        if (op.classes.has(rules_UNKNOWN) && !applicable.some((r) => r.coversUnknown)) {
            return { verdict: 'approve', rule: 'default-unknown', reason: 'held for approval: its effect cannot be known before it runs, and no rule covers unknown' };
        }
        return { verdict: 'allow', reason: 'allowed' };
    }
    /** The masks for an operation; cached per connection unless a mask rule looks at method or path. */
    maskPlan(op) {
        if (this.#maskRules.length === 0)
            return EMPTY_MASK_PLAN;
        if (this.#plansPerRequest)
            return this.#buildPlan(op);
        let plan = this.#planCache.get(op.connection);
        if (!plan)
            this.#planCache.set(op.connection, (plan = this.#buildPlan(op)));
        return plan;
    }
    #buildPlan(op) {
        const columns = [];
        const writeColumns = [];
        const detectors = new Map();
        const json = [];
        const headers = new Map();
        const rules = [];
        const write = { json: [], detectors: new Map(), headers: new Map(), rules: [] };
        const addTo = (side, mask) => {
            side.json.push(...mask.json);
            for (const h of mask.headers)
                if (!side.headers.has(h))
                    side.headers.set(h, { strategy: mask.strategy, whole: mask.types.length === 0 });
            for (const t of mask.types)
                if (!side.detectors.has(t))
                    side.detectors.set(t, mask.strategy);
        };
        for (const rule of this.#maskRules) {
            if (!rule.applies(op))
                continue;
            const mask = rule.mask;
            rules.push(rule.name);
            if (mask.on === 'write') {
                writeColumns.push(...mask.columns);
                addTo(write, mask);
                if (mask.json.length + mask.types.length > 0)
                    write.rules.push(rule.name);
                continue;
            }
            columns.push(...mask.columns);
            addTo({ json, detectors, headers }, mask);
        }
        const requestMasks = write.rules.length + write.headers.size > 0 ? write : NO_REQUEST_MASKS;
        return rules.length ? { columns, writeColumns, detectors, json, headers, write: requestMasks, rules } : EMPTY_MASK_PLAN;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/result-plans.ts





class ResultPlans {
    #catalog;
    /** Prepared statements and portals as the target holds them, whose lineage a result may come from. */
    #state;
    /** Every mask rule of this connection, looked up once when first needed. */
    #connectionPlanOf;
    #connectionPlan;
    #lastDescription;
    constructor(catalog, state, connectionPlan) {
        this.#catalog = catalog;
        this.#state = state;
        this.#connectionPlanOf = connectionPlan;
    }
    /** Masks for what belongs to no statement (notices, notifications): every rule of this connection. */
    connectionMasks() {
        return (this.#connectionPlan ??= this.#connectionPlanOf());
    }
    /** The plan the rows now arriving are masked by. */
    current(head) {
        if (head?.kind === 'query')
            return head.plan;
        if (head?.kind !== 'execute')
            return PASS_THROUGH;
        const portal = head.portal;
        if (portal.plan)
            return portal.plan;
        const masks = this.masksOf(head);
        const fields = portal.statement?.fields;
        if (fields)
            return (portal.plan = planResult(fields, masks, this.#catalog, portal.resultFormats, this.#statementColumns(portal.statement)));
        if (masksResults(masks)) {
            // Rows of a statement never described: which columns they hold is unknown, so nothing passes.
            throw new Error('a result arrived for a statement whose columns were never described; the gateway cannot mask it');
        }
        return (portal.plan = PASS_THROUGH);
    }
    masksOf(head) {
        if (head?.kind === 'query')
            return head.ruling.masks;
        if (head?.kind === 'execute')
            return head.portal.statement?.ruling.masks ?? EMPTY_MASK_PLAN;
        if (head?.kind === 'describe')
            return (head.statement ?? head.portal?.statement)?.ruling.masks ?? EMPTY_MASK_PLAN;
        return this.connectionMasks();
    }
    /** Plans masking for a result described by `frame`; undefined when nothing is masked (the description need not even be read). */
    described(frame, head) {
        const masks = this.masksOf(head);
        if (!masksResults(masks))
            return undefined;
        const described = this.#described(frame);
        const columns = head?.kind === 'query' ? this.#queryColumns(head) : head?.kind === 'describe' && head.portal ? this.#statementColumns(head.portal.statement) : undefined;
        const apply = () => {
            if (head?.kind === 'query')
                head.plan = this.#plan(described, masks, columns);
            else if (head?.kind === 'describe') {
                if (head.statement)
                    head.statement.fields = described.fields;
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
    #described(frame) {
        const last = this.#lastDescription;
        if (last?.catalogVersion === this.#catalog.version && last.frame.equals(frame))
            return last;
        return (this.#lastDescription = { frame: Buffer.from(frame), fields: readRowDescription(frame), catalogVersion: this.#catalog.version, plans: new Map() });
    }
    /** The plan made before from this description for these masks and columns, if any. */
    #knownPlan(described, masks, columns) {
        const known = described.plans.get(masks);
        return known && known.columns === columns ? known.plan : undefined;
    }
    /** A result's masking plan, kept with its description for the masks and lineage it was made for. */
    #plan(described, masks, columns) {
        const known = this.#knownPlan(described, masks, columns);
        if (known)
            return known;
        const plan = planResult(described.fields, masks, this.#catalog, undefined, columns);
        described.plans.set(masks, { columns, plan });
        return plan;
    }
    /** The lineage of the next result of a simple query (`results` counts those described); untraced (null) past the last one predicted. */
    #queryColumns(head) {
        if (!head.lineage)
            return undefined;
        const result = head.lineage.results[head.results ?? 0];
        head.results = (head.results ?? 0) + 1;
        return this.#resultColumns(result);
    }
    #statementColumns(statement) {
        return statement?.lineage && this.#resultColumns(statement.lineage.results[0]);
    }
    #resultColumns(result) {
        if (!result || 'unknown' in result)
            return null;
        if ('cursor' in result)
            return this.#resultColumns(this.#state.portal(result.cursor)?.statement?.lineage?.results[0]);
        if ('prepared' in result)
            return this.#resultColumns(this.#state.statement(result.prepared)?.lineage?.results[0]);
        return result.columns;
    }
    /**
     * Whether the statement being answered reads a masked column (itself, or what it EXECUTEs or
     * FETCHes), so its errors and notices could quote a value. Rows it writes are read by constraints,
     * indexes and triggers: only an integrity violation (class 23, whose values are in its DETAIL, masked
     * by maskNotice) keeps its words then.
     */
    readsMasked(head, sqlstate) {
        const lineage = head?.kind === 'query' ? head.lineage : head?.kind === 'execute' ? head.portal.statement?.lineage : undefined;
        if (lineage === undefined)
            return false;
        const masks = this.connectionMasks().columns;
        if (touchesMasked(lineage, masks))
            return true;
        if (!sqlstate?.startsWith('23') && maskingSource(lineage.checks, masks) !== undefined)
            return true;
        return lineage.results.some((r) => {
            const named = 'cursor' in r ? this.#state.portal(r.cursor)?.statement : 'prepared' in r ? this.#state.statement(r.prepared) : undefined;
            return ('cursor' in r || 'prepared' in r) && touchesMasked(named?.lineage ?? UNTRACED, masks);
        });
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/session-state.ts

/** A statement's texts with no word of these change or use no named object: they are not parsed again for it. */
const STATE_WORDS = /\b(prepare|execute|deallocate|declare|fetch|move|close|savepoint|rollback|release|discard)\b/i;
const CURSOR_OPT_HOLD = 0x20;
const NONE = [];
/** The effects of each statement of a text, in order: one per CommandComplete the target sends for it. */
function stateEffects(sql, parser) {
    if (!STATE_WORDS.test(sql))
        return NONE;
    let stmts;
    try {
        stmts = parser.parse(sql).stmts ?? [];
    }
    catch {
        return NONE;
    }
    const bytes = Buffer.from(sql);
    return stmts.map((s) => {
        const start = s.stmt_location ?? 0;
        return effectOf(s.stmt, () => bytes.toString('utf8', start, s.stmt_len ? start + s.stmt_len : bytes.length));
    });
}
function effectOf(stmt, text) {
    const t = nodeType(stmt);
    if (!t)
        return { kind: 'none' };
    const [type, n] = t;
    const name = (key) => (n[key] === undefined ? undefined : String(n[key]));
    switch (type) {
        case 'PrepareStmt':
            return { kind: 'prepare', name: name('name'), text: text() };
        case 'DeallocateStmt':
            return n.isall || n.name === undefined ? { kind: 'deallocate' } : { kind: 'deallocate', name: name('name') };
        case 'DeclareCursorStmt':
            return { kind: 'declare', name: name('portalname'), hold: ((Number(n.options) || 0) & CURSOR_OPT_HOLD) !== 0 };
        case 'ClosePortalStmt':
            return n.portalname === undefined ? { kind: 'close' } : { kind: 'close', name: name('portalname') };
        case 'DiscardStmt':
            return n.target === 'DISCARD_ALL' ? { kind: 'discard' } : { kind: 'none' };
        case 'ExecuteStmt':
            return { kind: 'use', namespace: 'statement', name: name('name') };
        case 'FetchStmt':
            return { kind: 'use', namespace: 'portal', name: name('portalname') };
        case 'TransactionStmt': {
            const kind = n.kind === 'TRANS_STMT_SAVEPOINT' ? 'savepoint' : n.kind === 'TRANS_STMT_ROLLBACK_TO' ? 'rollbackTo' : n.kind === 'TRANS_STMT_RELEASE' ? 'release' : undefined;
            return kind ? { kind, name: name('savepoint_name') } : { kind: 'none' };
        }
        default:
            return { kind: 'none' };
    }
}
/** The objects an effect creates, drops or reads (`*`: all of a namespace). */
function namesOf(effect) {
    return effect.kind === 'use' ? [{ namespace: effect.namespace, name: effect.name }] : changedNames(effect);
}
function changedNames(effect) {
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
/**
 * The session's named objects as the target holds them. A simple query's changes enter when the
 * target confirms each statement (its CommandComplete); a protocol message's change enters at once,
 * for the messages after it in the same batch, and is undone when the target fails or skips it.
 * Transactions end the portals opened in them (WITH HOLD cursors outlive a commit, not a rollback),
 * a rollback to a savepoint closes the portals opened after it; prepared statements outlive both.
 * A message that names an object changed by an earlier batch the target has not yet answered waits
 * for that answer, so that nothing is decided on a change the target may still refuse.
 */
class SessionState {
    #statements = new Map();
    #portals = new Map();
    #savepoints = [];
    /** Batches (simple queries, extended-protocol runs up to Sync) sent and answered with ReadyForQuery. */
    #sent = 0;
    #answered = 0;
    /** The batch that last changed each name, by namespace. */
    #changedIn = new Map();
    #failedThisBatch = false;
    #waiting = [];
    statement(name) {
        return this.#statements.get(name);
    }
    portal(name) {
        return this.#portals.get(name)?.value;
    }
    /** Parse, or a confirmed PREPARE. */
    defineStatement(name, value) {
        const previous = this.#statements.get(name);
        this.#statements.set(name, value);
        this.#changed('statement', name);
        // A failed Parse of the unnamed statement has dropped the one before it; a named one keeps it.
        return (failed) => this.#statements.get(name) === value && this.#restore(this.#statements, name, failed && name === '' ? undefined : previous);
    }
    closeStatement(name) {
        const previous = this.#statements.get(name);
        this.#statements.delete(name);
        this.#changed('statement', name);
        return () => previous !== undefined && !this.#statements.has(name) && this.#statements.set(name, previous);
    }
    /** Bind, or a confirmed DECLARE. */
    openPortal(name, value, hold = false) {
        const previous = this.#portals.get(name);
        const held = { value, level: this.#savepoints.length, hold };
        this.#portals.set(name, held);
        this.#changed('portal', name);
        return (failed) => this.#portals.get(name) === held && this.#restore(this.#portals, name, failed && name === '' ? undefined : previous);
    }
    closePortal(name) {
        const previous = this.#portals.get(name);
        this.#portals.delete(name);
        this.#changed('portal', name);
        return () => previous !== undefined && !this.#portals.has(name) && this.#portals.set(name, previous);
    }
    /** A simple query is sent: the names its statements change are unsettled until the target answers it. */
    sending(effects) {
        for (const effect of effects)
            for (const name of changedNames(effect))
                this.#changed(name.namespace, name.name);
    }
    /** What a simple query's statement did, once the target confirmed it; `define` makes the entries of PREPARE and DECLARE. */
    confirmed(effect, define) {
        switch (effect.kind) {
            case 'prepare':
                this.#statements.set(effect.name, define.statement(effect.name));
                break;
            case 'deallocate':
                if (effect.name !== undefined)
                    this.#statements.delete(effect.name);
                else
                    this.#statements.clear();
                break;
            case 'declare':
                this.#portals.set(effect.name, { value: define.portal(effect.name), level: this.#savepoints.length, hold: effect.hold });
                break;
            case 'close':
                if (effect.name !== undefined)
                    this.#portals.delete(effect.name);
                else
                    this.#portals.clear();
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
                if (at < 0)
                    break;
                this.#savepoints.length = at + 1;
                this.#dropPortals((h) => h.level !== undefined && h.level > at);
                break;
            }
            case 'release': {
                const at = this.#savepoints.lastIndexOf(effect.name);
                if (at < 0)
                    break;
                this.#savepoints.length = at;
                for (const h of this.#portals.values())
                    if (h.level !== undefined && h.level > at)
                        h.level = at;
                break;
            }
            default:
                break;
        }
    }
    /** A transaction ended: its portals close, but WITH HOLD cursors of a committed one. */
    ended(committed) {
        this.#savepoints.length = 0;
        this.#dropPortals((h) => h.level !== undefined && !(committed && h.hold));
        for (const h of this.#portals.values())
            h.level = undefined;
    }
    /** A command tag that ends a transaction, or (ROLLBACK TO) the effect that explains it. */
    tagged(tag, effect) {
        if (effect?.kind === 'rollbackTo' || effect?.kind === 'savepoint' || effect?.kind === 'release')
            return;
        if (tag === 'COMMIT' || tag === 'PREPARE TRANSACTION')
            this.ended(true);
        else if (tag === 'ROLLBACK')
            this.ended(false);
    }
    // ---- batches ----
    /** Every batch sent has been answered: nothing can be unsettled. */
    get quiet() {
        return this.#answered === this.#sent;
    }
    sent() {
        this.#sent++;
    }
    failed() {
        this.#failedThisBatch = true;
    }
    /** ReadyForQuery: the oldest batch is answered; status I means no transaction is open any more. */
    answered(status) {
        this.#answered = Math.min(this.#answered + 1, this.#sent);
        if (status === 'I')
            this.ended(!this.#failedThisBatch);
        this.#failedThisBatch = false;
        if (this.#answered === this.#sent)
            for (const resume of this.#waiting.splice(0))
                resume();
    }
    /** Whether a message naming these objects must wait: an earlier batch changed one and is not answered yet. */
    unsettled(names) {
        if (this.#answered === this.#sent)
            return false;
        const pending = (key) => {
            const batch = this.#changedIn.get(key);
            return batch !== undefined && batch > this.#answered && batch <= this.#sent;
        };
        return names.some(({ namespace, name }) => pending(`${namespace}\u0000${name}`) || pending(`${namespace}\u0000*`));
    }
    /** Resolves once every batch sent so far is answered. */
    settled() {
        if (this.#answered === this.#sent)
            return Promise.resolve();
        return new Promise((resume) => this.#waiting.push(resume));
    }
    #changed(namespace, name) {
        // Changes are made by the batch being built, which is sent after the messages in it.
        this.#changedIn.set(`${namespace}\u0000${name}`, this.#sent + 1);
    }
    #restore(map, name, previous) {
        if (previous === undefined)
            map.delete(name);
        else
            map.set(name, previous);
    }
    #dropPortals(drop) {
        for (const [name, held] of this.#portals)
            if (drop(held))
                this.#portals.delete(name);
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/session.ts















/**
 * One job connection after authentication, as the dispatcher of its messages: client messages become
 * operations for the governor (`operations.ts`), refused ones are answered in the protocol's own terms
 * (`refusal.ts`), and the target's answers are masked on their way back (`result-plans.ts`).
 */
class PostgresSession {
    #ctx;
    #client;
    #server;
    /** Client → target; the target's answers go back through `#answers`. */
    #up;
    #answers;
    #pending = [];
    /** Prepared statements and portals (cursors too) as the target holds them. */
    #state = new SessionState();
    #openSeq;
    #copy;
    #closed = false;
    /** Aborted when the session ends: what it still holds for approval is withdrawn. */
    #left = new AbortController();
    #plans;
    #refusals;
    #operations;
    constructor(ctx, client, upstream, openSeq) {
        this.#ctx = ctx;
        this.#client = client;
        this.#server = upstream.socket;
        this.#openSeq = openSeq;
        ctx.classifier.prepared = (name) => this.#state.statement(name)?.sql;
        const { governor, catalog, classifier, connection } = ctx;
        const { masker } = governor;
        this.#plans = new ResultPlans(catalog, this.#state, () => governor.maskPlanFor(connection, 'postgres'));
        const connectionMasks = () => this.#plans.connectionMasks();
        this.#operations = new StatementOperations({ connection, classifier, lineage: ctx.lineage, operations: ctx.operations, masker, connectionMasks });
        for (const [name, value] of upstream.parameters)
            this.#operations.parameter(name, value);
        this.#copy = new CopyRelay(catalog, masker);
        this.#up = new Direction(client, this.#server, this.#clientSink(), ctx.maxFrame, (e) => this.#protocolViolation(e), (forward) => governor.commitThen(forward));
        this.#refusals = new Refusals({ pending: this.#pending, state: this.#state, toTarget: this.#up.out, plans: this.#plans, masker });
        this.#answers = new TargetAnswers({
            connection,
            catalog,
            classifier,
            masker,
            completed: (ruling, stats) => governor.completed(ruling, stats),
            discovery: new ResultDiscovery(governor.discovery, catalog),
            pending: this.#pending,
            state: this.#state,
            plans: this.#plans,
            refusals: this.#refusals,
            copy: this.#copy,
            parameter: (name, value) => this.#operations.parameter(name, value),
            maxFrame: ctx.maxFrame,
            fail: (e) => this.#fail(e),
        }, this.#server, client);
    }
    /** Starts relaying; `leftover` is what the client sent after authentication in the same packet. */
    start(leftover) {
        this.#client.on('data', (chunk) => this.#up.push(chunk));
        this.#server.on('data', (chunk) => this.#answers.push(chunk));
        this.#client.on('close', () => this.#close('client'));
        this.#server.on('close', () => this.#close('server'));
        this.#client.on('error', () => this.#close('client error'));
        this.#server.on('error', () => this.#close('target error'));
        this.#server.resume();
        this.#client.resume();
        if (leftover?.length)
            this.#up.push(leftover);
    }
    // ---- client → target ----
    #clientSink() {
        return {
            frame: (code, frame) => this.#clientFrame(code, frame),
            // Only COPY data may stream past the size limit, and only when nothing in it needs masking.
            mayStream: (code) => code === 100 /* Frontend.CopyData */ && !this.#copy.masksIn,
            streamed: (piece) => this.#up.out.pass(piece),
        };
    }
    /** Returns false to stop reading while a decision is pending. */
    #clientFrame(code, frame) {
        if (this.#refusals.skips(code))
            return true;
        const sql = code === 81 /* Frontend.Query */ ? readCString(frame) : undefined;
        const effects = sql !== undefined ? stateEffects(sql, this.#ctx.classifier.parser) : undefined;
        if (!this.#state.quiet && this.#state.unsettled(effects ? effects.flatMap(namesOf) : this.#names(code, frame))) {
            // It names what an earlier batch changed: decided once the target has said whether that change stands.
            void this.#state.settled().then(() => {
                try {
                    if (this.#clientFrame(code, frame))
                        this.#up.resume();
                }
                catch (e) {
                    this.#protocolViolation(e);
                }
            });
            return false;
        }
        switch (code) {
            case 81 /* Frontend.Query */:
                return this.#decideThen(this.#operations.traced(this.#operations.statementText(sql)), (ruling, op) => this.#query(frame, ruling, op, effects));
            case 80 /* Frontend.Parse */: {
                const parse = readParse(frame);
                const traced = this.#operations.traced(this.#operations.statementText(parse.query));
                const op = traced instanceof Promise ? traced.then((ready) => this.#operations.atExecution(ready)) : this.#operations.atExecution(traced);
                return this.#decideThen(op, (ruling, decided) => this.#parse(frame, parse, ruling, decided));
            }
            case 66 /* Frontend.Bind */:
                return this.#bind(frame);
            case 68 /* Frontend.Describe */: {
                const target = readTarget(frame);
                this.#pending.push(target.kind === 'S' ? { kind: 'describe', statement: this.#state.statement(target.name) ?? this.#unknownStatement(target.name) } : { kind: 'describe', portal: this.#portal(target.name) });
                this.#up.out.pass(frame);
                return true;
            }
            case 69 /* Frontend.Execute */: {
                const { portal } = readExecute(frame);
                this.#pending.push({ kind: 'execute', portal: this.#portal(portal), started: performance.now(), rows: 0, bytes: 0, masked: 0 });
                this.#up.out.pass(frame);
                return true;
            }
            case 67 /* Frontend.Close */: {
                const target = readTarget(frame);
                const undo = target.kind === 'S' ? this.#state.closeStatement(target.name) : this.#state.closePortal(target.name);
                this.#pending.push({ kind: 'close', undo });
                this.#up.out.pass(frame);
                return true;
            }
            case 83 /* Frontend.Sync */:
                this.#refusals.synced();
                this.#pending.push({ kind: 'sync' });
                this.#state.sent();
                this.#up.out.pass(frame);
                return true;
            case 70 /* Frontend.FunctionCall */:
                return this.#decideThen({ connection: this.#ctx.connection, protocol: 'postgres', text: 'FunctionCall message', classes: new Set(['function_call']), writes: true }, (ruling) => {
                    if (!ruling.allowed)
                        return this.#refusals.simple(ruling);
                    this.#pending.push({ kind: 'function' });
                    this.#state.sent();
                    this.#up.out.pass(frame);
                });
            case 100 /* Frontend.CopyData */:
                this.#copy.clientData(frame, this.#up.out);
                return true;
            case 99 /* Frontend.CopyDone */:
            case 102 /* Frontend.CopyFail */:
                this.#copy.clientEnded(this.#up.out);
                this.#up.out.pass(frame);
                return true;
            case 72 /* Frontend.Flush */:
            case 88 /* Frontend.Terminate */:
                this.#up.out.pass(frame);
                return true;
            default:
                throw new MalformedFrameError(`unexpected message type "${String.fromCharCode(code)}" from the client`);
        }
    }
    #portal(name) {
        return this.#state.portal(name) ?? { statement: this.#unknownStatement(name), resultFormats: [] };
    }
    /** What the target may hold under a name the gateway does not know (a cursor a function opened): masked as untraceable. */
    #unknownStatement(name) {
        return { ruling: { allowed: true, seq: 0, masks: this.#plans.connectionMasks() }, text: name, lineage: UNTRACED };
    }
    /** The prepared statements and portals a client message names, to wait on while an earlier batch may still change them. */
    #names(code, frame) {
        switch (code) {
            case 80 /* Frontend.Parse */: {
                const { statement } = readParse(frame);
                return statement === '' ? [] : [{ namespace: 'statement', name: statement }];
            }
            case 66 /* Frontend.Bind */: {
                const { statement, portal } = readBind(frame);
                return [{ namespace: 'statement', name: statement }, ...(portal === '' ? [] : [{ namespace: 'portal', name: portal }])];
            }
            case 68 /* Frontend.Describe */:
            case 67 /* Frontend.Close */: {
                const { kind, name } = readTarget(frame);
                return [{ namespace: kind === 'S' ? 'statement' : 'portal', name }];
            }
            case 69 /* Frontend.Execute */:
                return [{ namespace: 'portal', name: readExecute(frame).portal }];
            default:
                return [];
        }
    }
    /**
     * Asks the governor, then acts. An allowed operation is decided at once and reading goes on; a
     * decision that waits (a block made durable, an approval, a catalog lookup) stops the reader, and
     * reading resumes, in order, once the action is done.
     */
    #decideThen(op, act) {
        if (op instanceof Promise) {
            op.then((ready) => this.#decideThen(ready, act) && this.#up.resume(), (e) => this.#fail(e));
            return false;
        }
        const decided = this.#ctx.governor.decide(op, this.#openSeq, this.#left.signal);
        const acted = decided instanceof Promise ? decided.then((ruling) => act(ruling, op)) : act(decided, op);
        if (!(acted instanceof Promise))
            return true;
        acted.then(() => this.#up.resume(), (e) => this.#fail(e));
        return false;
    }
    #query(frame, ruling, op, effects) {
        if (!ruling.allowed)
            return this.#refusals.simple(explained(ruling, op), op.sql.syntaxError);
        const unmaskable = unmaskableCopy(op, ruling.masks);
        if (unmaskable)
            return this.#refusals.simple({ ...ruling, allowed: false, rule: 'copy-mask', message: unmaskable });
        const entry = { kind: 'query', ruling, sql: op.sql, started: performance.now(), rows: 0, bytes: 0, masked: 0, plan: PASS_THROUGH, lineage: op.lineage, op, effects };
        const send = (query) => {
            this.#pending.push(entry);
            this.#state.sending(effects);
            this.#state.sent();
            this.#up.out.push(query);
        };
        if (ruling.masks.writeColumns.length && op.sql.writes) {
            return WriteMasker.forStatement(op.sql, readCString(frame), ruling.masks, this.#ctx).then((plan) => {
                if (plan.refusal)
                    return this.#refusals.simple({ ...ruling, allowed: false, rule: plan.refusal.rule, message: plan.refusal.message });
                send(plan.sql !== undefined ? writeQuery(plan.sql) : frame);
                this.#copy.planned(plan.copies);
            });
        }
        send(frame);
    }
    #parse(frame, parse, ruling, op) {
        // A refused Parse never reaches the target: what it holds under the name stays, and so does the gateway's view of it.
        const runnable = ruling.allowed || ruling.deferred;
        const unmaskable = runnable ? unmaskableCopy(op, ruling.masks) : undefined;
        if (!runnable || unmaskable) {
            const refusal = unmaskable ? errorFields('ERROR', SQLSTATE_REFUSED, `govern: ${unmaskable}`, 'rule: copy-mask') : refusalFields(explained(ruling, op), op.sql.syntaxError);
            return this.#refusals.extended(refusal, 'parse');
        }
        const statement = { ruling, sql: op.sql, text: op.text, lineage: op.lineage, effects: stateEffects(parse.query, this.#ctx.classifier.parser) };
        if (ruling.deferred)
            statement.held = op;
        const send = (message) => {
            this.#pending.push({ kind: 'parse', undo: this.#state.defineStatement(parse.statement, statement) });
            this.#up.out.push(message);
        };
        if (ruling.masks.writeColumns.length && op.sql.writes) {
            return WriteMasker.forStatement(op.sql, parse.query, ruling.masks, this.#ctx).then((plan) => {
                if (plan.refusal)
                    return this.#refusals.extended(errorFields('ERROR', SQLSTATE_REFUSED, `govern: ${plan.refusal.message}`, `rule: ${plan.refusal.rule}`), 'parse');
                statement.write = plan;
                this.#copy.planned(plan.copies);
                send(plan.sql !== undefined ? writeParse({ ...parse, query: plan.sql }) : frame);
            });
        }
        send(frame);
    }
    #bind(frame) {
        const bind = readBind(frame);
        const statement = this.#state.statement(bind.statement);
        if (statement?.held) {
            // Approved for this one execution, with the parameters the approver was shown.
            const execution = { ...statement.held, text: this.#operations.withParameters(statement, bind), approveAtExecution: false };
            return this.#decideThen(execution, (ruling) => ruling.allowed ? this.#bound(frame, bind, statement, ruling) : this.#refusals.extended(refusalFields(ruling), 'bind'));
        }
        this.#bound(frame, bind, statement, statement?.ruling);
        return true;
    }
    #bound(frame, bind, statement, ruling) {
        const portal = { statement: statement ?? this.#unknownStatement(bind.statement), resultFormats: bind.resultFormats, ...(ruling && { ruling }) };
        this.#pending.push({ kind: 'bind', undo: this.#state.openPortal(bind.portal, portal) });
        const params = statement?.write?.params;
        if (params?.size) {
            for (const [index, strategy] of params) {
                const value = bind.params[index];
                if (value)
                    bind.params[index] = Buffer.from(this.#ctx.governor.masker.maskValue(value.toString('utf8'), strategy));
            }
            this.#up.out.push(writeBind(bind));
        }
        else {
            this.#up.out.pass(frame);
        }
    }
    // ---- ending ----
    #protocolViolation(e) {
        if (e instanceof errors/* GovernError */.MF && e.code === errors/* ErrorCode */.O4.RecordingFailed)
            return this.#unrecorded(e);
        const message = e instanceof FrameTooLargeError ? e.message : e instanceof MalformedFrameError ? `invalid message: ${e.message}` : e.message;
        const sqlstate = e instanceof FrameTooLargeError ? '54000' : '08P01';
        this.#ctx.governor.note('protocol.violation', { connection: this.#ctx.connection, message });
        (0,guard/* closeWithMessage */.Qk)(this.#client, writeNotice(69 /* Backend.ErrorResponse */, errorFields('FATAL', sqlstate, `govern: ${message}`)));
        this.#close('protocol violation');
    }
    /** The events of the batch could not be written: nothing of it is forwarded, and the session ends. */
    #unrecorded(e) {
        this.#ctx.log.warn(`${this.#ctx.connection}: ${e.message}`);
        (0,guard/* closeWithMessage */.Qk)(this.#client, writeNotice(69 /* Backend.ErrorResponse */, errorFields('FATAL', SQLSTATE_REFUSED, `govern: refused, the session cannot be recorded: ${e.message}`)));
        this.#close('recording failed');
    }
    #fail(e) {
        const message = e.message;
        this.#ctx.log.warn(`${this.#ctx.connection}: ${message}`);
        (0,guard/* closeWithMessage */.Qk)(this.#client, writeNotice(69 /* Backend.ErrorResponse */, errorFields('FATAL', '08006', `govern: ${message}`)));
        this.#close('gateway error');
    }
    #close(reason) {
        if (this.#closed)
            return;
        this.#closed = true;
        this.#left.abort();
        if (this.#pending.length && reason.startsWith('client'))
            void this.#ctx.cancel().catch(() => undefined);
        this.#server.destroy();
        (0,guard/* closeWithMessage */.Qk)(this.#client);
        this.#ctx.governor.connectionClosed(this.#ctx.connection, this.#openSeq, reason);
    }
    /** Ends the session at the gateway's stop. */
    end() {
        this.#close('gateway stopped');
        this.#client.destroy();
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/startup.ts


/** PostgreSQL's MAX_STARTUP_PACKET_LENGTH: the packet's length after its length word. */
const MAX_STARTUP_BODY = 10_000;
/** A startup refused with a FATAL, as PostgreSQL refuses it. */
class StartupRefused extends Error {
    sqlstate;
    constructor(sqlstate, message) {
        super(message);
        this.sqlstate = sqlstate;
    }
}
/**
 * Reads the untyped packets a connection opens with, as PostgreSQL's ProcessStartupPacket does: an
 * SSLRequest is answered `S` (and TLS begins) when `tls` is given, else `N`; a GSSENCRequest `N`; each
 * at most once, in either order. A startup or a cancel is returned.
 */
async function readStartupPacket(socket, tls) {
    const reader = new PacketReader(socket);
    let sslDone = false;
    let gssDone = false;
    for (;;) {
        const packet = await reader.next();
        if (!packet)
            return { kind: 'gone' };
        // PostgreSQL's own cancel key is 4 bytes; any other length it drops without a word.
        if (packet.body.readInt32BE(0) === CANCEL_REQUEST && packet.body.length !== 12)
            return { kind: 'gone' };
        const request = readLayout(packet.body);
        if ((request.code === SSL_REQUEST && !sslDone) || (request.code === GSSENC_REQUEST && !gssDone)) {
            const encrypt = request.code === SSL_REQUEST && tls !== undefined;
            reader.socket.write(encrypt ? 'S' : 'N');
            // Bytes sent before the answer were not encrypted: they could only be injected.
            if (packet.rest.length)
                throw new StartupRefused('08P01', `received unencrypted data after ${request.code === SSL_REQUEST ? 'SSL' : 'GSSAPI encryption'} request`);
            if (request.code === SSL_REQUEST)
                sslDone = true;
            else
                gssDone = true;
            if (encrypt) {
                const upgraded = await startTls(reader.detach(), tls);
                if (!upgraded)
                    return { kind: 'gone' };
                reader.attach(upgraded);
                // Once TLS is up, GSSAPI encryption cannot be layered on it.
                gssDone = true;
            }
            continue;
        }
        reader.detach();
        if (request.cancel)
            return { kind: 'cancel', cancel: request.cancel };
        if (!request.startup)
            throw new StartupRefused('0A000', `unsupported frontend protocol ${request.code >>> 16}.${request.code & 0xffff}: server supports 3.0 to 3.0`);
        return { kind: 'startup', socket: reader.socket, startup: request.startup, rest: packet.rest };
    }
}
function readLayout(body) {
    try {
        return readStartup(body);
    }
    catch (e) {
        throw new StartupRefused('08P01', `invalid startup packet layout: ${e.message}`);
    }
}
/** The server side of TLS on the client's socket; undefined when the handshake fails (PostgreSQL closes then). */
function startTls(socket, options) {
    return new Promise((resolve) => {
        const tls = new external_node_tls_.TLSSocket(socket, { ...options, isServer: true });
        const failed = () => {
            tls.destroy();
            resolve(undefined);
        };
        tls.once('error', failed);
        socket.once('close', failed);
        tls.once('secure', () => {
            tls.off('error', failed);
            socket.off('close', failed);
            tls.on('error', () => tls.destroy());
            tls.pause();
            resolve(tls);
        });
    });
}
/** Length-prefixed packets from a socket, kept paused between reads. */
class PacketReader {
    socket;
    #buffered = Buffer.alloc(0);
    constructor(socket) {
        this.socket = socket;
    }
    /** The next packet's body and what arrived after it; undefined when the client left or sent an impossible length. */
    next() {
        return new Promise((resolve) => {
            const finish = (packet) => {
                this.socket.off('data', onData);
                this.socket.off('close', onClose);
                this.socket.pause();
                resolve(packet);
            };
            const take = () => {
                if (this.#buffered.length < 4)
                    return false;
                const length = this.#buffered.readInt32BE(0);
                if (length - 4 < 4 || length - 4 > MAX_STARTUP_BODY) {
                    finish(undefined);
                    return true;
                }
                if (this.#buffered.length < length)
                    return false;
                const body = this.#buffered.subarray(4, length);
                const rest = this.#buffered.subarray(length);
                this.#buffered = Buffer.alloc(0);
                finish({ body, rest });
                return true;
            };
            const onData = (chunk) => {
                this.#buffered = Buffer.concat([this.#buffered, chunk]);
                take();
            };
            const onClose = () => finish(undefined);
            if (take())
                return;
            this.socket.on('data', onData);
            this.socket.once('close', onClose);
            this.socket.resume();
        });
    }
    detach() {
        this.socket.pause();
        return this.socket;
    }
    attach(socket) {
        this.socket = socket;
    }
}

// EXTERNAL MODULE: ./runner-proxy/src/adapters/drain.ts
var drain = __webpack_require__(6316);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/adapter.ts




















/** Frames larger than this are not held for inspection (results stream past it when unmasked). */
const MAX_FRAME = 64 << 20;
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Statement shapes (and exact texts) whose classification each connection remembers. */
const CLASSIFICATION_CACHE_SIZE = 2000;
/** Startup parameters the gateway sets itself or that choose the session's kind. */
const NOT_FORWARDED = new Set(['user', 'database', 'replication', 'options']);
/** What the job's URL names (an address) and what libpq's defaults name: the CA vouches for these alone. */
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost'];
/**
 * The PostgreSQL adapter: a loopback listener per connection. The job authenticates with a job-scoped
 * password over SCRAM-SHA-256; the gateway authenticates to the target with the real credentials.
 */
class PostgresAdapter {
    protocol = 'postgres';
    /** One parser for every connection: each WebAssembly instance reserves its own heap. */
    #parser;
    /** One CA for the run's PostgreSQL listeners, vouching for loopback only. */
    #ca;
    async listen({ connection, governor, log }) {
        this.#parser ??= SqlParser.load();
        const parser = await this.#parser;
        const settings = connection.settings;
        let target;
        try {
            target = parseTargetUrl(settings.url, settings.ca);
        }
        catch (e) {
            throw new TargetError(`connection "${connection.name}": ${e.message}`);
        }
        await checkTarget(connection.name, target);
        this.#ca ??= new run_ca/* RunCertificateAuthority */.W('postgres', LOOPBACK_NAMES);
        const ca = this.#ca;
        const caDir = (0,external_node_fs_.mkdtempSync)((0,external_node_path_.join)((0,external_node_os_.tmpdir)(), 'govern-pg-ca-'));
        const caFile = (0,external_node_path_.join)(caDir, 'ca.pem');
        (0,external_node_fs_.writeFileSync)(caFile, ca.certPem, { mode: 0o644 });
        const password = (0,external_node_crypto_.randomBytes)(24).toString('base64url');
        const catalog = new Catalog(target);
        const state = {
            name: connection.name,
            target,
            governor,
            verifier: makeVerifier(password),
            catalog,
            lineage: new LineageCache(catalog, parser),
            classifier: { parser, cache: new LruCache(CLASSIFICATION_CACHE_SIZE) },
            operations: new LruCache(CLASSIFICATION_CACHE_SIZE),
            cancelKeys: new Map(),
            sessions: new Set(),
            tls: {
                secureContext: ca.contextFor('127.0.0.1'),
                // libpq names the host in SNI unless it is an address.
                SNICallback: (name, answer) => answer(null, ca.contextFor(name === 'localhost' ? name : '127.0.0.1')),
            },
            log,
            fault: (0,guard/* faultSink */.Qr)(governor, log),
        };
        const server = (0,external_node_net_.createServer)((socket) => (0,guard/* guardConnection */.cc)(socket, `${connection.name} connection`, state.fault, () => accept(socket, state)));
        server.on('error', (e) => log.warn(`${connection.name}: listener error: ${e.message}`));
        const port = await new Promise((resolve, reject) => {
            server.once('error', reject);
            server.listen(0, '127.0.0.1', () => resolve(server.address().port));
        });
        const url = `postgresql://${encodeURIComponent(target.user)}:${password}@127.0.0.1:${port}/${encodeURIComponent(target.database)}`;
        return {
            // libpq's clients (psql, psycopg2) read the CA from PGSSLROOTCERT, so sslmode=verify-full works.
            exports: { [connection.export]: url, PGSSLROOTCERT: caFile },
            secrets: [password, url],
            target: `${target.host}:${target.port}/${target.database}`,
            close: async (deadlineMs) => {
                await closeListener(server, state, deadlineMs);
                (0,external_node_fs_.rmSync)(caDir, { recursive: true, force: true });
            },
        };
    }
}
async function closeListener(server, state, deadlineMs) {
    await (0,drain/* drainListener */.p)(server, state.sessions, deadlineMs);
    state.catalog.close();
}
async function accept(socket, state) {
    socket.setNoDelay(true);
    let client = socket;
    const timer = setTimeout(() => client.destroy(), HANDSHAKE_TIMEOUT_MS);
    try {
        const packet = await readStartupPacket(socket, state.tls);
        // Without a word, but with a FIN: what the client still sends is read and dropped, not reset.
        if (packet.kind === 'gone')
            return (0,guard/* closeWithMessage */.Qk)(socket);
        if (packet.kind === 'cancel') {
            await relayCancel(packet.cancel, state);
            return (0,guard/* closeWithMessage */.Qk)(socket);
        }
        client = packet.socket;
        await openSession(client, packet.startup, packet.rest, state);
    }
    catch (e) {
        const refused = e instanceof StartupRefused ? e : new StartupRefused('08006', e.message);
        (0,guard/* closeWithMessage */.Qk)(client, writeNotice(69 /* Backend.ErrorResponse */, errorFields('FATAL', refused.sqlstate, `govern: ${refused.message}`)));
    }
    finally {
        clearTimeout(timer);
    }
}
/** Authenticates the job, connects to the target with the real credentials, and starts relaying. */
async function openSession(socket, startup, rest, state) {
    // Watched from here: a client that leaves during the handshake must not leave a target backend behind.
    let clientGone = socket.destroyed;
    socket.once('close', () => (clientGone = true));
    const params = startup.parameters;
    const unsupported = Object.keys(params).filter((k) => k.startsWith('_pq_.'));
    if ((startup.protocol & 0xffff) > 0 || unsupported.length)
        socket.write(writeNegotiateProtocolVersion(0, unsupported));
    const user = params.user;
    const database = params.database || user;
    if (user !== state.target.user)
        throw new StartupRefused('28000', `this connection admits only user "${state.target.user}"`);
    if (database !== state.target.database)
        throw new StartupRefused('3D000', `this connection reaches database "${state.target.database}" only`);
    await checkStartupParameters(params, state);
    const queue = new FrameQueue(socket, 'the client connection', rest);
    await authenticate(socket, queue, state);
    const forwarded = Object.fromEntries(Object.entries(params).filter(([k]) => !NOT_FORWARDED.has(k) && !k.startsWith('_pq_.')));
    if (params.options)
        forwarded.options = params.options;
    if (params.replication)
        forwarded.replication = params.replication;
    let upstream;
    try {
        // The startup's own operations (options, replication) are in the record before they reach the target.
        state.governor.commit();
        upstream = await connectUpstream(state.target, forwarded);
    }
    catch (e) {
        if (e instanceof errors/* GovernError */.MF)
            throw new StartupRefused('42501', e.message);
        state.governor.note('connection.failed', { connection: state.name, message: e.message });
        throw new StartupRefused('08006', e.message);
    }
    if (clientGone)
        return void upstream.socket.destroy();
    // The target's own process id, which notifications and pg_backend_pid() carry too; the secret is the
    // gateway's, so a CancelRequest reaches only the backends of this gateway's own sessions.
    const secret = (0,external_node_crypto_.randomInt)(-(2 ** 31), 2 ** 31 - 1);
    const key = `${upstream.pid}:${secret}`;
    state.cancelKeys.set(key, { pid: upstream.pid, secret: upstream.secret });
    const hello = [writeAuthentication(0 /* AuthCode.Ok */)];
    for (const [name, value] of upstream.parameters)
        hello.push(writeParameterStatus(name, value));
    hello.push(writeBackendKeyData(upstream.pid, secret), writeReadyForQuery('I'));
    socket.write(Buffer.concat(hello));
    const openSeq = state.governor.connectionOpened(state.name, 'postgres', {
        peer: `${socket.remoteAddress}:${socket.remotePort}`,
        ...(params.application_name && { application_name: params.application_name }),
    });
    const session = new PostgresSession({
        connection: state.name,
        governor: state.governor,
        catalog: state.catalog,
        lineage: state.lineage,
        classifier: new SqlClassifier(state.classifier),
        operations: state.operations,
        maxFrame: MAX_FRAME,
        log: state.log,
        cancel: () => cancelUpstream(state.target, upstream.pid, upstream.secret),
    }, socket, upstream, openSeq);
    state.sessions.add(session);
    socket.once('close', () => {
        state.sessions.delete(session);
        state.cancelKeys.delete(key);
    });
    session.start(Buffer.concat([queue.detach() ?? Buffer.alloc(0), ...upstream.leftover]));
}
/**
 * Connects and authenticates to the target once when the gateway starts, then hangs up: a wrong
 * password or an unreachable host is a start error naming the connection, not a surprise mid-job.
 */
async function checkTarget(name, target) {
    try {
        const probe = await connectUpstream(target, { application_name: 'govern start-up check' });
        probe.socket.destroy();
    }
    catch (e) {
        const message = e.message.replace(/^the target/, `the target ${target.host}:${target.port}`);
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.GatewayStartFailed, `connection "${name}": ${message}; check the connection's url and credentials`, { cause: e });
    }
}
/** A CancelRequest names our BackendKeyData; the target's backend gets the cancel, on a socket of its own. */
async function relayCancel(cancel, state) {
    const mapped = cancel.secret.length === 4 ? state.cancelKeys.get(`${cancel.pid}:${cancel.secret.readInt32BE(0)}`) : undefined;
    if (!mapped)
        return;
    await cancelUpstream(state.target, mapped.pid, mapped.secret).catch((e) => state.log.warn(`${state.name}: cancel failed: ${e.message}`));
    state.governor.note('cancel', { connection: state.name });
}
/** `options` and `replication` in the startup packet are operations of their own, refused unless allowed. */
async function checkStartupParameters(params, state) {
    const classes = [];
    if (params.options)
        classes.push('startup_options');
    if (params.replication && !/^(false|off|no|0)$/i.test(params.replication))
        classes.push('replication');
    for (const c of classes) {
        const ruling = await state.governor.decide({
            connection: state.name,
            protocol: 'postgres',
            text: c === 'replication' ? `startup replication=${params.replication}` : `startup options=${params.options}`,
            classes: new Set([c]),
            writes: true,
        });
        if (!ruling.allowed)
            throw new StartupRefused('42501', ruling.message ?? `${c} refused`);
    }
}
/** SCRAM-SHA-256 with the job: the job-scoped password never crosses the loopback in clear. */
async function authenticate(socket, queue, state) {
    socket.write(writeAuthentication(10 /* AuthCode.SASL */, [MECHANISM]));
    const scram = new ScramServer(state.verifier);
    try {
        const initial = await expectPassword(queue);
        const r = new Reader(initial);
        const mechanism = r.cstring();
        if (mechanism !== MECHANISM)
            throw new ScramError(`mechanism ${mechanism} is not offered`);
        const length = r.int32();
        const clientFirst = r.bytes(length).toString('utf8');
        socket.write(writeAuthentication(11 /* AuthCode.SASLContinue */, Buffer.from(scram.start(clientFirst))));
        const final = new Reader(await expectPassword(queue)).rest().toString('utf8');
        socket.write(writeAuthentication(12 /* AuthCode.SASLFinal */, Buffer.from(scram.finish(final))));
    }
    catch (e) {
        if (e instanceof ScramError) {
            state.governor.note('auth.failed', { connection: state.name, message: `the job's password for user "${state.target.user}" was wrong` });
            throw new StartupRefused('28P01', `password authentication failed for user "${state.target.user}"`);
        }
        throw e;
    }
}
async function expectPassword(queue) {
    const { code, frame } = await queue.next();
    if (code !== 112 /* Frontend.Password */)
        throw new StartupRefused('08P01', `expected a password message, got "${String.fromCharCode(code)}"`);
    return frame;
}


/***/ })

};
