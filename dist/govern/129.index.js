export const id = 129;
export const ids = [129];
export const modules = {

/***/ 7129:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  main: () => (/* binding */ main)
});

// EXTERNAL MODULE: external "node:util"
var external_node_util_ = __webpack_require__(7975);
;// CONCATENATED MODULE: ./runner-proxy/src/core/errors.ts
/**
 * Every error govern reports has a stable code and a one-sentence message that names the thing to fix.
 * The codes are listed in the README; keep the two in step.
 */
const ErrorCode = {
    Usage: 'GOVERN_USAGE',
    PolicyInvalid: 'GOVERN_POLICY_INVALID',
    PolicyNotFound: 'GOVERN_POLICY_NOT_FOUND',
    TokenMissing: 'GOVERN_TOKEN_MISSING',
    TokenRejected: 'GOVERN_TOKEN_REJECTED',
    IssuerUnreachable: 'GOVERN_ISSUER_UNREACHABLE',
    AdapterUnavailable: 'GOVERN_ADAPTER_UNAVAILABLE',
    GatewayNotRunning: 'GOVERN_GATEWAY_NOT_RUNNING',
    GatewayStartFailed: 'GOVERN_GATEWAY_START_FAILED',
    ControlFailed: 'GOVERN_CONTROL_FAILED',
    RecordingFailed: 'GOVERN_RECORDING_FAILED',
    ApprovalNotFound: 'GOVERN_APPROVAL_NOT_FOUND',
};
class GovernError extends Error {
    code;
    constructor(code, message, options) {
        super(message, options);
        this.name = 'GovernError';
        this.code = code;
    }
}
class PolicyError extends GovernError {
    problems;
    constructor(problems) {
        const sorted = [...problems].sort((a, b) => a.line - b.line || a.col - b.col);
        super(ErrorCode.PolicyInvalid, sorted.map(formatProblem).join('\n'));
        this.problems = sorted;
    }
}
function formatProblem(p) {
    return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}
/** The token check that failed, for the manifest-free early exit and for tests. */
class TokenRejectedError extends GovernError {
    check;
    constructor(check, message, options) {
        super(ErrorCode.TokenRejected, `OIDC token rejected: ${message}`, options);
        this.check = check;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/gateway/logger.ts
function streamLogger(stream, { timestamps, now = Date.now }) {
    const prefix = () => (timestamps ? `${new Date(now()).toISOString()} govern` : 'govern');
    return {
        info: (m) => stream.write(`${prefix()}: ${m}\n`),
        warn: (m) => stream.write(`${prefix()}: warning: ${m}\n`),
    };
}

// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(8161);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
// EXTERNAL MODULE: external "node:net"
var external_node_net_ = __webpack_require__(7030);
// EXTERNAL MODULE: ./node_modules/libpg-query/wasm/index.cjs
var wasm = __webpack_require__(2627);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/codec/frames.ts
/**
 * Framing of the PostgreSQL protocol after startup: a type byte and an int32 length that counts itself.
 * The reader is push-style (as in pg-protocol): it hands out views of whole frames as they complete.
 * Views point into the socket's chunks, which are never reused, so a view may go straight to the
 * other socket's write(). A leftover partial frame is joined with the next chunk into a fresh buffer.
 */
const HEADER_LENGTH = 5;
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
class FrameReader {
    #sink;
    #maxFrame;
    #buffer = Buffer.alloc(0);
    #offset = 0;
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
        return this.#buffer.length - this.#offset;
    }
    push(chunk) {
        if (this.#offset >= this.#buffer.length) {
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
            const length = buf.readInt32BE(offset + 1);
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
            if (buf.length - offset < total)
                break;
            const frame = buf.subarray(offset, offset + total);
            offset += total;
            if (!this.#sink.frame(code, frame))
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
        const start = view.byteOffset;
        if (this.#run && this.#run.buffer === view.buffer && this.#runEnd === start) {
            this.#runEnd = start + view.length;
            return;
        }
        this.#closeRun();
        this.#run = view;
        this.#runStart = start;
        this.#runEnd = start + view.length;
    }
    /** Room for n new bytes, to be filled by the caller before the batch is taken. */
    reserve(n) {
        if (!this.#arena || this.#arenaUsed + n > this.#arena.length) {
            this.#arena = Buffer.allocUnsafe(Math.max(ARENA_SIZE, n));
            this.#arenaUsed = 0;
        }
        const slice = this.#arena.subarray(this.#arenaUsed, this.#arenaUsed + n);
        this.#arenaUsed += n;
        this.pass(slice);
        return slice;
    }
    /** New bytes made by the gateway. */
    push(bytes) {
        if (bytes.length > ARENA_SIZE / 4) {
            this.#closeRun();
            this.#parts.push(bytes);
            return;
        }
        this.reserve(bytes.length).set(bytes);
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
        this.#onClose = () => this.fail(new Error(`${describe} closed during the handshake`));
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
/** One client-side exchange with the target. */
class ScramClient {
    #password;
    #clientNonce = (0,external_node_crypto_.randomBytes)(18).toString('base64');
    #clientFirstBare = '';
    #expectedServerSignature;
    constructor(password) {
        this.#password = password;
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
            this.#tables.set(oid, { oid, ...t });
    }
    /** A table by the name a statement uses (resolved with the target's default search_path). */
    async byName(qualifiedName) {
        const literal = `'${qualifiedName.replaceAll("'", "''")}'`;
        const [row] = await this.#query(`SELECT pg_catalog.to_regclass(${literal})::oid`);
        const oid = Number(row?.[0] ?? 0);
        if (!oid)
            return undefined;
        this.#tables.delete(oid); // a name lookup happens before writes: take the table as it is now
        await this.describe([oid]);
        return this.#tables.get(oid);
    }
    close() {
        void this.#connection?.then((c) => c.close()).catch(() => undefined);
        this.#connection = undefined;
    }
    #query(sql) {
        const run = this.#queue.then(async () => {
            this.#connection ??= CatalogConnection.open(this.#target);
            let connection;
            try {
                connection = await this.#connection;
            }
            catch (e) {
                this.#connection = undefined;
                throw e;
            }
            try {
                return await connection.query(sql);
            }
            catch (e) {
                if (connection.closed)
                    this.#connection = undefined;
                throw e;
            }
        });
        this.#queue = run.catch(() => undefined);
        return run;
    }
}
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
            const { code, frame } = await this.#frames.next();
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

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/classify.ts

const WRITE_CLASSES = new Set([
    'write', 'insert', 'update', 'delete', 'merge', 'delete_without_where', 'update_without_where', 'ddl', 'create', 'alter',
    'drop', 'truncate', 'grant', 'set_role', 'alter_system', 'copy_from', 'copy_program', 'dangerous_function', 'unknown',
    'maintenance', 'lock',
]);
/** Functions with effects beyond reading: they stop backends, touch server files, or run SQL elsewhere. */
const DANGEROUS_FUNCTIONS = new Set([
    'pg_terminate_backend', 'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_promote', 'pg_switch_wal',
    'pg_create_restore_point', 'pg_backup_start', 'pg_backup_stop', 'pg_start_backup', 'pg_stop_backup',
    'pg_drop_replication_slot', 'pg_create_physical_replication_slot', 'pg_create_logical_replication_slot',
    'pg_replication_origin_create', 'pg_replication_origin_drop', 'pg_log_backend_memory_contexts',
    'lo_import', 'lo_export', 'lo_unlink', 'lo_put', 'lo_from_bytea', 'lo_create', 'lo_creat', 'lo_truncate',
    'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_ls_logdir', 'pg_ls_waldir', 'pg_ls_tmpdir', 'pg_ls_archive_statusdir',
    'pg_stat_file', 'pg_file_write', 'pg_file_unlink', 'pg_file_rename', 'pg_file_sync', 'pg_logdir_ls',
    'dblink', 'dblink_exec', 'dblink_open', 'dblink_connect', 'dblink_connect_u', 'dblink_send_query', 'dblink_fetch',
    'pg_advisory_lock', 'pg_advisory_xact_lock',
]);
/** Functions that run SQL given as text: what they do cannot be known from the statement. */
const SQL_RUNNING_FUNCTIONS = new Set(['query_to_xml', 'query_to_xml_and_xmlschema', 'query_to_xmlschema', 'cursor_to_xml', 'ts_stat', 'ts_rewrite']);
/** Settings whose change makes the session act as someone else. */
const ROLE_SETTINGS = new Set(['role', 'session_authorization']);
class Collector {
    prepared;
    classes = new Set();
    cacheable = true;
    copy;
    prepares = new Map();
    deallocates = [];
    constructor(prepared) {
        this.prepared = prepared;
    }
    add(...classes) {
        for (const c of classes)
            this.classes.add(c);
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
/** Whether an expression mentions no column: such a WHERE is true or false for every row alike. */
function mentionsColumn(n) {
    if (!n || typeof n !== 'object')
        return false;
    if (Array.isArray(n))
        return n.some(mentionsColumn);
    if ('ColumnRef' in n)
        return true;
    return Object.values(n).some(mentionsColumn);
}
/** `a = a` and the like: one column compared with itself. */
function selfComparison(where) {
    const expr = where.A_Expr ?? undefined;
    if (!expr || !['=', '>=', '<=', 'IS NOT DISTINCT FROM'].includes(expr.name?.[0]?.String?.sval ?? ''))
        return false;
    return expr.lexpr !== undefined && JSON.stringify(expr.lexpr).replace(/"location":\d+/g, '') === JSON.stringify(expr.rexpr).replace(/"location":\d+/g, '');
}
function alwaysTrue(where) {
    if (where === undefined || where === null)
        return true;
    if (!mentionsColumn(where))
        return true;
    const w = where;
    if (selfComparison(w))
        return true;
    const bool = w.BoolExpr;
    return bool?.boolop === 'OR_EXPR' && (bool.args ?? []).some((a) => alwaysTrue(a));
}
const stringOf = (n) => n?.String?.sval;
function copySpec(node) {
    const relation = node.relation;
    const options = new Map();
    for (const o of node.options ?? []) {
        const def = o.DefElem;
        if (def?.defname)
            options.set(def.defname, def.arg ?? true);
    }
    const format = (stringOf(options.get('format')) ?? 'text').toLowerCase();
    const header = options.get('header');
    return {
        ...(relation?.relname && { relation: relation.schemaname ? `${relation.schemaname}.${relation.relname}` : relation.relname }),
        ...(Array.isArray(node.attlist) && { columns: node.attlist.map((a) => stringOf(a) ?? '') }),
        ...(node.query !== undefined && { reads: namesIn(node.query) }),
        from: Boolean(node.is_from),
        format,
        ...(stringOf(options.get('delimiter')) !== undefined && { delimiter: stringOf(options.get('delimiter')) }),
        ...(stringOf(options.get('null')) !== undefined && { null: stringOf(options.get('null')) }),
        ...(stringOf(options.get('quote')) !== undefined && { quote: stringOf(options.get('quote')) }),
        ...(stringOf(options.get('escape')) !== undefined && { escape: stringOf(options.get('escape')) }),
        header: header !== undefined && !/false|"off"|"0"|ival":0/.test(JSON.stringify(header).toLowerCase()),
    };
}
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
function explainAnalyzes(options) {
    return (options ?? []).some((o) => {
        const def = o.DefElem;
        if (def?.defname !== 'analyze')
            return false;
        const arg = JSON.stringify(def.arg ?? '').toLowerCase();
        return !/false|"off"|"0"|ival":0/.test(arg);
    });
}
/** Node types whose classes do not depend on their content, and whether their children count too. */
const FIXED = {
    MergeStmt: [['merge', 'write'], 'descend'],
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
    // Defining a function runs nothing; its body is not executed here.
    CreateFunctionStmt: [['create', 'ddl', 'write'], 'skip'],
    LoadStmt: [['dangerous_function', 'write'], 'skip'],
    TransactionStmt: [['transaction'], 'skip'],
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
        case 'InsertStmt': {
            c.add('insert', 'write');
            const conflict = node.onConflictClause;
            if (conflict?.action === 'ONCONFLICT_UPDATE')
                c.add('update');
            return 'descend';
        }
        case 'UpdateStmt':
            c.add('update', 'write');
            if (alwaysTrue(node.whereClause))
                c.add('update_without_where');
            return 'descend';
        case 'DeleteStmt':
            c.add('delete', 'write');
            if (alwaysTrue(node.whereClause))
                c.add('delete_without_where');
            return 'descend';
        case 'ExplainStmt':
            c.add('read');
            return explainAnalyzes(node.options) ? 'descend' : 'skip';
        case 'CopyStmt':
            c.add(node.is_from ? 'copy_from' : 'copy_to', node.is_from ? 'write' : 'read');
            if (node.is_from)
                c.add('insert');
            if (node.is_program || node.filename)
                c.add('copy_program');
            c.copy ??= copySpec(node);
            return 'descend';
        case 'VariableSetStmt':
            if (ROLE_SETTINGS.has(String(node.name)) && node.kind !== 'VAR_RESET' && node.kind !== 'VAR_RESET_ALL')
                c.add('set_role');
            else
                c.add('session');
            return 'skip';
        case 'DoStmt':
            c.add('unknown', 'write');
            classifyDoBody(node, c);
            return 'skip';
        case 'PrepareStmt': {
            const inner = new Collector(c.prepared);
            walk(node.query, inner);
            c.prepares.set(String(node.name), finish(inner, ['PREPARE']));
            c.add('session');
            c.cacheable = false;
            return 'skip';
        }
        case 'ExecuteStmt': {
            c.cacheable = false;
            const prepared = c.prepares.get(String(node.name)) ?? c.prepared.get(String(node.name));
            if (prepared)
                c.add(...prepared.classes);
            else
                c.add('unknown', 'write');
            return 'descend';
        }
        case 'DeallocateStmt':
            c.deallocates.push(node.isall || !node.name ? '*' : String(node.name));
            c.add('session');
            c.cacheable = false;
            return 'skip';
        case 'FuncCall': {
            const name = funcName(node);
            if (DANGEROUS_FUNCTIONS.has(name))
                c.add('dangerous_function', 'write');
            if (SQL_RUNNING_FUNCTIONS.has(name))
                c.add('unknown', 'write');
            if (name === 'set_config') {
                // Whether set_config changes the role depends on its first argument's value.
                c.cacheable = false;
                const first = node.args?.[0]?.A_Const?.sval?.sval;
                if (first === undefined || ROLE_SETTINGS.has(first.toLowerCase()))
                    c.add('set_role', 'write');
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
/** Static SQL inside a DO block counts; EXECUTE of a computed string is already `unknown`. */
function classifyDoBody(node, c) {
    const body = (node.args ?? [])
        .map((a) => a.DefElem)
        .find((d) => d?.defname === 'as')?.arg?.String?.sval;
    const language = (node.args ?? [])
        .map((a) => a.DefElem)
        .find((d) => d?.defname === 'language')?.arg?.String?.sval;
    if (body === undefined || (language && language.toLowerCase() !== 'plpgsql'))
        return;
    let tree;
    try {
        tree = (0,wasm.parsePlPgSQLSync)(`CREATE FUNCTION governed_do() RETURNS void LANGUAGE plpgsql AS $governed_do$${body}$governed_do$`);
    }
    catch {
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
            walk((0,wasm.parseSync)(expression ? `SELECT ${query}` : query), c);
        }
        catch {
            c.add('unknown');
        }
    }
}
function finish(c, commands) {
    const writes = [...c.classes].some((k) => WRITE_CLASSES.has(k));
    return {
        classes: c.classes,
        writes,
        commands,
        ...(c.prepares.size && { prepares: c.prepares }),
        ...(c.deallocates.length && { deallocates: c.deallocates }),
        ...(c.copy && { copy: c.copy }),
    };
}
function commandOf(stmt) {
    const typed = nodeType(stmt);
    if (!typed)
        return 'UNKNOWN';
    return typed[0].replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}
/** One classifier per connection: it knows that connection's PREPAREd statements. */
class SqlClassifier {
    #cache;
    #cacheSize;
    #prepared = new Map();
    constructor(sharedCache, options = {}) {
        this.#cache = sharedCache;
        this.#cacheSize = options.cacheSize ?? 5000;
    }
    classify(sql) {
        let key;
        try {
            key = (0,wasm.normalizeSync)(sql);
        }
        catch (e) {
            return syntaxError(e);
        }
        const cached = this.#cache.get(key);
        if (cached)
            return cached;
        let tree;
        try {
            tree = (0,wasm.parseSync)(sql);
        }
        catch (e) {
            return syntaxError(e);
        }
        const c = new Collector(this.#prepared);
        const stmts = tree.stmts ?? [];
        for (const s of stmts)
            walk(s.stmt, c);
        const result = finish(c, stmts.map((s) => commandOf(s.stmt)));
        for (const [name, prepared] of result.prepares ?? [])
            this.#prepared.set(name, prepared);
        for (const name of result.deallocates ?? []) {
            if (name === '*')
                this.#prepared.clear();
            else
                this.#prepared.delete(name);
        }
        if (c.cacheable) {
            if (this.#cache.size >= this.#cacheSize)
                this.#cache.delete(this.#cache.keys().next().value);
            this.#cache.set(key, result);
        }
        return result;
    }
}
function syntaxError(e) {
    return { classes: new Set(['unparseable']), writes: true, commands: ['UNPARSEABLE'], syntaxError: e.message };
}

;// CONCATENATED MODULE: ./runner-proxy/src/core/glob.ts
/**
 * Globs for claims, paths and column names: `*` matches within one segment, `**` across segments,
 * `?` one character, `{a,b}` alternatives. Anything else is literal, so a claim such as
 * `refs/heads/release-1.2` needs no escaping.
 */
class GlobSyntaxError extends Error {
}
function hasGlobSyntax(pattern) {
    return /[*?{}]/.test(pattern);
}
function compileGlob(pattern, { separator }) {
    const notSep = separator === '/' ? '[^/]' : '[^.]';
    let out = '';
    let inBraces = false;
    for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        if (c === '*') {
            let run = 1;
            while (pattern[i + run] === '*')
                run++;
            if (run > 2)
                throw new GlobSyntaxError(`"${pattern}" has ${run} stars in a row; use * or **`);
            out += run === 2 ? '.*' : `${notSep}*`;
            i += run - 1;
        }
        else if (c === '?') {
            out += notSep;
        }
        else if (c === '{') {
            if (inBraces)
                throw new GlobSyntaxError(`"${pattern}" nests braces, which globs do not support`);
            inBraces = true;
            out += '(?:';
        }
        else if (c === '}') {
            if (!inBraces)
                throw new GlobSyntaxError(`"${pattern}" closes a brace it never opened`);
            inBraces = false;
            out += ')';
        }
        else if (c === ',' && inBraces) {
            out += '|';
        }
        else {
            out += c.replace(/[\\^$.|+()[\]]/g, '\\$&');
        }
    }
    if (inBraces)
        throw new GlobSyntaxError(`"${pattern}" opens a brace it never closes`);
    return new RegExp(`^${out}$`, 's');
}
/** A matcher for one pattern: exact comparison when the pattern has no glob syntax. */
function globMatcher(pattern, options) {
    if (!hasGlobSyntax(pattern))
        return (value) => value === pattern;
    const re = compileGlob(pattern, options);
    return (value) => re.test(value);
}

;// CONCATENATED MODULE: ./runner-proxy/src/core/json-select.ts
/**
 * The two small JSON languages of the policy: selectors for `mask.json` ($.a.b, $..ssn, $.items[*].card)
 * and conditions for `approve.json` / `block.json` (payment_amount > 1000 and currency == "EUR").
 * Both are compiled once when the policy loads; a syntax error is a policy error.
 */
class JsonSyntaxError extends Error {
}
function compileSelector(source) {
    if (!source.startsWith('$'))
        throw new JsonSyntaxError(`selector "${source}" must start with $`);
    const steps = [];
    const re = /\.\.([A-Za-z_][\w-]*|\*)|\.([A-Za-z_][\w-]*)|\.\*|\[\*\]|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/y;
    re.lastIndex = 1;
    while (re.lastIndex < source.length) {
        const at = re.lastIndex;
        const m = re.exec(source);
        if (!m)
            throw new JsonSyntaxError(`selector "${source}" cannot be read at character ${at + 1}`);
        if (m[1] !== undefined)
            steps.push({ kind: 'descend', key: m[1] });
        else if (m[2] !== undefined)
            steps.push({ kind: 'child', key: m[2] });
        else if (m[3] !== undefined)
            steps.push({ kind: 'child', key: Number(m[3]) });
        else if (m[4] !== undefined || m[5] !== undefined)
            steps.push({ kind: 'child', key: (m[4] ?? m[5]) });
        else
            steps.push({ kind: 'any' });
    }
    if (steps.length === 0)
        throw new JsonSyntaxError(`selector "${source}" selects the whole document; name a field`);
    return { source, steps };
}
const isContainer = (v) => typeof v === 'object' && v !== null;
function childKeys(v) {
    return Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
}
/**
 * Calls `visit(parent, key)` for every place the selector reaches, so the caller can replace the value
 * in place. Cyclic input cannot occur: the values come from JSON.parse.
 */
function forEachSelected(root, selector, visit) {
    const walk = (value, stepIndex, parent, key) => {
        if (stepIndex === selector.steps.length) {
            if (parent !== undefined)
                visit(parent, key);
            return;
        }
        if (!isContainer(value))
            return;
        const step = selector.steps[stepIndex];
        if (step.kind === 'child') {
            if (Object.prototype.hasOwnProperty.call(value, step.key)) {
                walk(value[step.key], stepIndex + 1, value, step.key);
            }
        }
        else if (step.kind === 'any') {
            for (const k of childKeys(value))
                walk(value[k], stepIndex + 1, value, k);
        }
        else {
            for (const k of childKeys(value)) {
                const child = value[k];
                if (step.key === '*' || k === step.key)
                    walk(child, stepIndex + 1, value, k);
                walk(child, stepIndex, value, k);
            }
        }
    };
    walk(root, 0, undefined, '');
}
const TOKEN = /\s*(?:(\d+(?:\.\d+)?)|"((?:[^"\\]|\\.)*)"|'([^']*)'|(==|!=|>=|<=|>|<|\(|\))|([A-Za-z_$][\w$]*(?:(?:\.[A-Za-z_][\w]*)|\[\d+\])*))/y;
function tokenize(source) {
    const tokens = [];
    TOKEN.lastIndex = 0;
    while (TOKEN.lastIndex < source.length) {
        if (/^\s*$/.test(source.slice(TOKEN.lastIndex)))
            break;
        const at = TOKEN.lastIndex;
        const m = TOKEN.exec(source);
        if (!m)
            throw new JsonSyntaxError(`condition "${source}" cannot be read at character ${at + 1}`);
        if (m[1] !== undefined)
            tokens.push({ type: 'num', value: Number(m[1]) });
        else if (m[2] !== undefined)
            tokens.push({ type: 'str', value: JSON.parse(`"${m[2]}"`) });
        else if (m[3] !== undefined)
            tokens.push({ type: 'str', value: m[3] });
        else if (m[4] !== undefined)
            tokens.push({ type: 'op', value: m[4] });
        else
            tokens.push({ type: 'word', value: m[5] });
    }
    return tokens;
}
function parsePath(word) {
    const body = word.startsWith('$') ? word.slice(1).replace(/^\./, '') : word;
    const keys = [];
    for (const m of body.matchAll(/([A-Za-z_]\w*)|\[(\d+)\]/g))
        keys.push(m[1] ?? Number(m[2]));
    return keys;
}
function compileCondition(source) {
    const tokens = tokenize(source);
    let i = 0;
    const fail = (what) => {
        throw new JsonSyntaxError(`condition "${source}": ${what}`);
    };
    const peekWord = (w) => tokens[i]?.type === 'word' && tokens[i].value === w;
    const operand = () => {
        const t = tokens[i++];
        if (!t)
            return fail('ends where a value was expected');
        if (t.type === 'num' || t.type === 'str')
            return { kind: 'literal', value: t.value };
        if (t.type === 'word') {
            if (t.value === 'true' || t.value === 'false')
                return { kind: 'literal', value: t.value === 'true' };
            if (t.value === 'null')
                return { kind: 'literal', value: null };
            if (t.value === 'and' || t.value === 'or' || t.value === 'not')
                return fail(`"${t.value}" stands where a value was expected`);
            return { kind: 'path', keys: parsePath(t.value) };
        }
        return fail(`"${t.value}" stands where a value was expected`);
    };
    const primary = () => {
        if (peekWord('not')) {
            i++;
            return { kind: 'not', operand: primary() };
        }
        if (tokens[i]?.type === 'op' && tokens[i].value === '(') {
            i++;
            const inner = or();
            if (!(tokens[i]?.type === 'op' && tokens[i].value === ')'))
                fail('a parenthesis is not closed');
            i++;
            return inner;
        }
        const left = operand();
        const t = tokens[i];
        if (t?.type === 'op' && t.value !== '(' && t.value !== ')') {
            i++;
            return { kind: 'cmp', op: t.value, left, right: operand() };
        }
        return { kind: 'truthy', operand: left };
    };
    // `and` binds tighter than `or`: each level chains operands of the level below.
    const chain = (word, operandOf) => {
        let left = operandOf();
        while (peekWord(word)) {
            i++;
            left = { kind: word, left, right: operandOf() };
        }
        return left;
    };
    const and = () => chain('and', primary);
    const or = () => chain('or', and);
    if (tokens.length === 0)
        fail('is empty');
    const expr = or();
    if (i < tokens.length)
        fail(`unexpected "${String(tokens[i].value)}"`);
    return { source, expr };
}
function resolve(operand, body) {
    if (operand.kind === 'literal')
        return operand.value;
    let v = body;
    for (const k of operand.keys) {
        if (!isContainer(v))
            return undefined;
        v = v[k];
    }
    return v;
}
function compare(op, a, b) {
    if (op === '==')
        return a === b;
    if (op === '!=')
        return a !== b;
    const bothNumbers = typeof a === 'number' && typeof b === 'number';
    const bothStrings = typeof a === 'string' && typeof b === 'string';
    if (!bothNumbers && !bothStrings)
        return false;
    const x = a;
    const y = b;
    return op === '>' ? x > y : op === '>=' ? x >= y : op === '<' ? x < y : x <= y;
}
function evaluateCondition(condition, body) {
    const run = (e) => {
        switch (e.kind) {
            case 'or':
                return run(e.left) || run(e.right);
            case 'and':
                return run(e.left) && run(e.right);
            case 'not':
                return !run(e.operand);
            case 'cmp':
                return compare(e.op, resolve(e.left, body), resolve(e.right, body));
            case 'truthy':
                return Boolean(resolve(e.operand, body));
        }
    };
    return run(condition.expr);
}

;// CONCATENATED MODULE: ./runner-proxy/src/core/rules.ts


/**
 * Classes no operation may have unless a rule allows them explicitly. `unparseable` has no place in
 * the schema, so nothing allows it: text the parser rejects is always refused.
 */
const REFUSED_UNLESS_ALLOWED = new Set(['function_call', 'startup_options', 'replication', 'unparseable']);
const UNKNOWN = 'unknown';
const anyOf = (matchers) => (op) => matchers.some((m) => m(op));
function shellMatcher(pattern) {
    if (pattern === UNKNOWN)
        return (op) => op.protocol === 'ssh' && op.classes.has(UNKNOWN);
    const [program, ...required] = pattern.split(/\s+/);
    const flagsNeeded = required.filter((t) => /^-[^-]/.test(t)).flatMap((t) => [...t.slice(1)]);
    const wordsNeeded = required.filter((t) => !/^-[^-]/.test(t));
    return (op) => op.commands?.some((argv) => {
        if (argv.length === 0 || argv[0].split('/').pop() !== program)
            return false;
        const args = argv.slice(1);
        const flags = new Set(args.filter((a) => /^-[^-]/.test(a)).flatMap((a) => [...a.slice(1)]));
        return flagsNeeded.every((f) => flags.has(f)) && wordsNeeded.every((w) => args.includes(w));
    }) ?? false;
}
function httpMatcher(pattern) {
    if (pattern === UNKNOWN)
        return (op) => op.protocol === 'http' && op.classes.has(UNKNOWN);
    const parts = pattern.split(/\s+/);
    const method = parts.find((p) => !p.startsWith('/'))?.toUpperCase();
    const path = parts.find((p) => p.startsWith('/'));
    const pathMatches = path ? globMatcher(path, { separator: '/' }) : () => true;
    return (op) => op.protocol === 'http' && (!method || op.method === method) && pathMatches(op.path ?? '');
}
function conditionMatcher(condition) {
    const matchers = [];
    if (condition.sql) {
        const classes = new Set(condition.sql);
        matchers.push((op) => op.protocol === 'postgres' && [...op.classes].some((c) => classes.has(c)));
    }
    condition.shell?.forEach((p) => matchers.push(shellMatcher(p)));
    condition.http?.forEach((p) => matchers.push(httpMatcher(p)));
    if (condition.json !== undefined) {
        const compiled = compileCondition(condition.json);
        matchers.push((op) => op.json !== undefined && evaluateCondition(compiled, op.json));
    }
    return anyOf(matchers);
}
function whenMatcher(when) {
    if (!when)
        return () => true;
    const connections = when.connection && new Set(when.connection);
    const methods = when.method && new Set(when.method);
    const paths = when.path?.map((p) => globMatcher(p, { separator: '/' }));
    return (op) => (!connections || connections.has(op.connection)) &&
        (!methods || (op.method !== undefined && methods.has(op.method))) &&
        (!paths || (op.path !== undefined && paths.some((m) => m(op.path))));
}
function compileRule(spec) {
    const rule = {
        name: spec.name,
        action: spec.action,
        applies: whenMatcher(spec.when),
        matches: spec.condition ? conditionMatcher(spec.condition) : () => false,
        coversUnknown: [spec.condition?.sql, spec.condition?.shell, spec.condition?.http].some((l) => l?.includes(UNKNOWN)),
        perRequest: Boolean(spec.when?.method || spec.when?.path),
    };
    if (spec.mask) {
        const { strategy } = spec.mask;
        rule.mask = {
            columns: spec.mask.columns.map((pattern) => {
                const [table, column] = splitColumn(pattern);
                const t = globMatcher(table, { separator: '.' });
                const c = globMatcher(column, { separator: '.' });
                return { matches: (tn, cn) => t(tn) && c(cn), matchesColumn: c, matchesTable: t, strategy, rule: spec.name };
            }),
            types: [...spec.mask.types],
            json: spec.mask.json.map((s) => ({ selector: compileSelector(s), strategy, rule: spec.name })),
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
const EMPTY_MASK_PLAN = Object.freeze({ columns: [], writeColumns: [], detectors: new Map(), json: [], rules: [] });
/**
 * The rule engine: block beats approve beats allow, masks from every matching rule accumulate.
 * Built once per run from the validated policy.
 */
class RuleEngine {
    #rules;
    #maskRules;
    #observe;
    #planCache = new Map();
    #plansPerRequest;
    /**
     * Decisions by classification: adapters cache classifications by statement shape, so the same class
     * set comes back for every statement of that shape. Only for operations whose decision depends on
     * nothing but their classes, connection and write flag (no method, path or body).
     */
    #decisions = new WeakMap();
    constructor(policy) {
        this.#rules = policy.rules.map(compileRule);
        this.#maskRules = this.#rules.filter((r) => r.mask);
        this.#observe = policy.mode === 'observe';
        this.#plansPerRequest = this.#maskRules.some((r) => r.perRequest);
    }
    evaluate(op, principal) {
        const cacheable = op.method === undefined && op.path === undefined && op.json === undefined && op.commands === undefined;
        if (!cacheable)
            return this.#evaluate(op, principal);
        let byConnection = this.#decisions.get(op.classes);
        if (!byConnection)
            this.#decisions.set(op.classes, (byConnection = new Map()));
        const key = `${op.connection}\u0000${op.writes}\u0000${principal.readOnly}`;
        let decision = byConnection.get(key);
        if (!decision)
            byConnection.set(key, (decision = this.#evaluate(op, principal)));
        return decision;
    }
    #evaluate(op, principal) {
        const masks = this.maskPlan(op);
        const policyDecision = this.#policyDecision(op, principal);
        return {
            ...policyDecision,
            policyVerdict: policyDecision.verdict,
            verdict: this.#observe ? 'allow' : policyDecision.verdict,
            masks,
        };
    }
    #policyDecision(op, principal) {
        const applicable = this.#rules.filter((r) => r.action !== 'mask' && r.applies(op) && r.matches(op));
        const first = (action) => applicable.find((r) => r.action === action);
        const block = first('block');
        if (block)
            return { verdict: 'block', rule: block.name, reason: `blocked by rule "${block.name}"` };
        if (op.writes && principal.readOnly) {
            return { verdict: 'block', rule: 'read-only-identity', reason: `blocked: ${principal.readOnlyReason ?? 'this identity may only read'}` };
        }
        const refused = [...op.classes].find((c) => REFUSED_UNLESS_ALLOWED.has(c));
        if (refused && !applicable.some((r) => r.action === 'allow')) {
            return { verdict: 'block', rule: `default-${refused}`, reason: `blocked: ${refused.replaceAll('_', ' ')} is refused unless a rule allows it` };
        }
        const approve = first('approve');
        if (approve)
            return { verdict: 'approve', rule: approve.name, reason: `held for approval by rule "${approve.name}"` };
        if (op.classes.has(UNKNOWN) && !applicable.some((r) => r.coversUnknown)) {
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
        const rules = [];
        for (const rule of this.#maskRules) {
            if (!rule.applies(op))
                continue;
            const mask = rule.mask;
            rules.push(rule.name);
            if (mask.on === 'write') {
                writeColumns.push(...mask.columns);
                continue;
            }
            columns.push(...mask.columns);
            json.push(...mask.json);
            for (const t of mask.types)
                if (!detectors.has(t))
                    detectors.set(t, mask.strategy);
        }
        return rules.length ? { columns, writeColumns, detectors, json, rules } : EMPTY_MASK_PLAN;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/masking/credentials.ts
/**
 * Credentials written into text the gateway records (a command line, a statement): a password in a
 * URL (postgres://u:p@h/db) or in a key=value connection string (password=p), and shell assignments to
 * variables named like secrets (PGPASSWORD=p). Names and users stay; the secret is replaced.
 */
// Every repetition that can start anywhere is bounded, so a multi-megabyte statement stays linear.
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@'"]{1,256}):[^\s@/'"]{1,256}@/gi;
const KEY_VALUE_PASSWORD = /\b(password|passwd|pwd)\s{0,8}=\s{0,8}('[^']{0,256}'|"[^"]{0,256}"|[^\s'";]{1,256})/gi;
const SECRET_ASSIGNMENT = /\b([A-Z][A-Z0-9_]{0,63}(?:PASSWORD|SECRET|TOKEN|_KEY))=('[^']{0,256}'|"[^"]{0,256}"|[^\s'"]{1,256})/g;
function hideCredentials(text) {
    return text
        .replace(URL_PASSWORD, '$1:[masked]@')
        .replace(KEY_VALUE_PASSWORD, '$1=[masked]')
        .replace(SECRET_ASSIGNMENT, '$1=[masked]');
}

;// CONCATENATED MODULE: ./runner-proxy/src/masking/detectors.ts
function statsOf(text, start = 0, end = text.length) {
    let digits = 0;
    let at = false;
    const bytes = typeof text === 'string' ? undefined : text;
    for (let i = start; i < end; i++) {
        const c = bytes ? bytes[i] : text.charCodeAt(i);
        if (c >= 48 && c <= 57)
            digits++;
        else if (c === 64)
            at = true;
        // Past this every quick test passes: counting further changes nothing.
        if (at && digits >= 12)
            break;
    }
    return { digits, at, length: end - start };
}
/**
 * A scan by regular expression. `group` is the capture group holding the sensitive part: 0 for the
 * whole match, -1 for whichever alternative's group matched.
 */
function byPattern(pattern, group = 0) {
    return (text, found) => {
        pattern.lastIndex = 0;
        for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
            const index = group >= 0 ? group : m.findIndex((g, i) => i > 0 && g !== undefined);
            const value = m[index];
            const start = index === 0 ? m.index : m.index + m[0].indexOf(value);
            found(start, start + value.length);
        }
    };
}
const isAlnum = (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isLetter = (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
// . _ % + -
const isLocalChar = (c) => isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
const isDomainChar = (c) => isAlnum(c) || c === 46 || c === 45;
/**
 * Emails are found from each '@' outwards, which stays linear where a pattern anchored on the local
 * part would retry at every letter of the text.
 */
function scanEmails(text, found) {
    let last = 0;
    for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
        let start = at;
        while (start > last && at - start < 64 && isLocalChar(text.charCodeAt(start - 1)))
            start--;
        while (start < at && !isAlnum(text.charCodeAt(start)))
            start++;
        let end = at + 1;
        let lastDot = -1;
        while (end < text.length && end - at < 255 && isDomainChar(text.charCodeAt(end))) {
            if (text.charCodeAt(end) === 46)
                lastDot = end;
            end++;
        }
        while (end > at + 1 && !isLetter(text.charCodeAt(end - 1)))
            end--;
        if (start === at || lastDot < 0 || lastDot >= end)
            continue;
        const tld = end - lastDot - 1;
        if (tld < 2 || tld > 24 || !isAlnum(text.charCodeAt(at + 1)) || text.slice(at + 1, end).includes('..'))
            continue;
        let letters = true;
        for (let i = lastDot + 1; i < end && letters; i++)
            letters = isLetter(text.charCodeAt(i));
        if (!letters)
            continue;
        found(start, end);
        last = end;
    }
}
function luhnValid(digits) {
    let sum = 0;
    for (let i = digits.length - 1, double = false; i >= 0; i--, double = !double) {
        let d = digits.charCodeAt(i) - 48;
        if (double && (d *= 2) > 9)
            d -= 9;
        sum += d;
    }
    return sum % 10 === 0;
}
/** Issuer prefixes of the card networks, so a Luhn-valid timestamp or id is not taken for a card. */
function knownCardIssuer(digits) {
    const n = digits.length;
    const p2 = Number(digits.slice(0, 2));
    const p3 = Number(digits.slice(0, 3));
    const p4 = Number(digits.slice(0, 4));
    const p6 = Number(digits.slice(0, 6));
    if (digits[0] === '4')
        return n === 13 || n === 16 || n === 19; // Visa
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))
        return n === 16; // Mastercard
    if (p2 === 34 || p2 === 37)
        return n === 15; // American Express
    if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925))
        return n >= 16; // Discover
    if (p4 >= 3528 && p4 <= 3589)
        return n >= 16; // JCB
    if ((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39)
        return n >= 14; // Diners Club
    if (p2 === 62)
        return n >= 16; // UnionPay
    if (p2 === 50 || (p2 >= 56 && p2 <= 69))
        return n >= 12; // Maestro
    return false;
}
function cardValid(match) {
    const digits = match.replace(/[ -]/g, '');
    if (digits.length < 13 || digits.length > 19)
        return false;
    // Separators must be consistent: "4111 1111 1111 1111" or "4111-1111-…", not a date-time run.
    if (/ /.test(match) && /-/.test(match))
        return false;
    return knownCardIssuer(digits) && luhnValid(digits);
}
/** SSA rules: no area 000, 666 or 900–999, no group 00, no serial 0000, and the famous advertising numbers. */
function ssnValid(match) {
    const [area, group, serial] = match.split('-');
    if (area === '000' || area === '666' || area[0] === '9')
        return false;
    if (group === '00' || serial === '0000')
        return false;
    return match !== '078-05-1120' && match !== '219-09-9999' && match !== '123-45-6789';
}
const IBAN_LENGTHS = {
    AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28,
    CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18,
    GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32,
    LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24,
    PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25, SV: 28,
    TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
};
function ibanValid(match) {
    const iban = match.replace(/ /g, '');
    if (IBAN_LENGTHS[iban.slice(0, 2)] !== iban.length)
        return false;
    const rearranged = iban.slice(4) + iban.slice(0, 4);
    let remainder = 0;
    for (const ch of rearranged) {
        const code = ch.charCodeAt(0);
        const value = code >= 65 ? String(code - 55) : ch;
        for (const d of value)
            remainder = (remainder * 10 + (d.charCodeAt(0) - 48)) % 97;
    }
    return remainder === 1;
}
function phoneValid(match) {
    const digits = match.replace(/\D/g, '').length;
    return digits >= 10 && digits <= 15;
}
const always = () => true;
const DETECTORS = [
    {
        type: 'private_key',
        quick: always,
        mayContain: (t) => t.includes('PRIVATE KEY'),
        // An unterminated block (a cut-off chunk) is masked to the end: better too much than a key fragment.
        scan: byPattern(/-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END \1PRIVATE KEY(?: BLOCK)?-----|$)/g),
        valid: always,
    },
    {
        type: 'bearer_token',
        quick: always,
        mayContain: (t) => /Bearer|eyJ|gh[pousr]_|github_pat_|glpat-/.test(t),
        scan: byPattern(
        // A token starts where no token character precedes it, so a long run is tried once, not at every '-'.
        /\bBearer\s+([A-Za-z0-9\-._~+/]{8,}=*)|(?<![A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,})|(?<![A-Za-z0-9_-])((?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}|glpat-[A-Za-z0-9_-]{20,}))/g, -1),
        valid: always,
    },
    {
        type: 'aws_key',
        quick: always,
        mayContain: (t) => /A[KSGIRNP][IPSDONV]A|aws_secret|secret_access_key/i.test(t),
        scan: byPattern(/\b((?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16})\b|(?:aws_secret_access_key|secret_access_key|SecretAccessKey)["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi, -1),
        valid: always,
    },
    {
        type: 'email',
        quick: (s) => s.at,
        scan: scanEmails,
        valid: always,
    },
    {
        type: 'iban',
        quick: (s) => s.digits >= 8 && s.length >= 15,
        scan: byPattern(/(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])/g),
        valid: ibanValid,
    },
    {
        type: 'credit_card',
        quick: (s) => s.digits >= 12,
        // Not inside a longer token (a UUID's digits, a hex id): letters around the digits rule it out.
        scan: byPattern(/(?<![A-Za-z0-9.-])\d(?:[ -]?\d){12,18}(?![A-Za-z0-9-]|\.\d)/g),
        valid: cardValid,
    },
    {
        type: 'us_ssn',
        quick: (s) => s.digits >= 9,
        scan: byPattern(/(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])/g),
        valid: ssnValid,
    },
    {
        type: 'phone',
        quick: (s) => s.digits >= 10,
        // International numbers with a leading +, and North American numbers written with separators.
        scan: byPattern(/(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\d-])|(?<![\w-])\(?[2-9]\d{2}\)?[ .-][2-9]\d{2}[ .-]\d{4}(?![\d-])/g),
        valid: phoneValid,
    },
];
const DETECTOR_TYPES = DETECTORS.map((d) => d.type);
/**
 * Whether raw UTF-8 bytes could hold a finding of the given types, judged from their counts alone:
 * most cells of a result hold none, and then need not be decoded at all.
 */
function couldContain(bytes, start, end, types) {
    const stats = statsOf(bytes, start, end);
    return DETECTORS.some((d) => types.has(d.type) && d.quick(stats));
}
/**
 * Finds every sensitive value of the given types. Earlier detectors win where findings overlap, so a
 * private key's base64 is one finding, not many.
 */
function detect(text, types) {
    let findings;
    const stats = statsOf(text);
    for (const detector of DETECTORS) {
        if (!types.has(detector.type) || !detector.quick(stats) || (detector.mayContain && !detector.mayContain(text)))
            continue;
        detector.scan(text, (start, end) => {
            if (!detector.valid(text.slice(start, end)))
                return;
            findings ??= [];
            if (!findings.some((f) => f.start < end && start < f.end))
                findings.push({ type: detector.type, start, end });
        });
    }
    return findings ? findings.sort((a, b) => a.start - b.start) : [];
}

;// CONCATENATED MODULE: ./runner-proxy/src/masking/masker.ts


/**
 * Applies a strategy to sensitive values. The hash strategy is keyed by a salt made fresh for each run,
 * so equal values stay joinable within one session's output but cannot be looked up across runs.
 */
class Masker {
    #salt;
    constructor(salt = (0,external_node_crypto_.randomBytes)(32)) {
        this.#salt = salt;
    }
    /** Replaces every finding of the planned types in free text, each with its type's strategy. */
    maskText(text, plan) {
        if (plan.size === 0)
            return { text, count: 0 };
        const findings = detect(text, plan);
        if (findings.length === 0)
            return { text, count: 0 };
        let out = '';
        let last = 0;
        for (const f of findings) {
            out += text.slice(last, f.start) + this.maskValue(text.slice(f.start, f.end), plan.get(f.type), f.type);
            last = f.end;
        }
        return { text: out + text.slice(last), count: findings.length };
    }
    /** The masked form of one whole value: a column's cell, a JSON field, or a detector's finding. */
    maskValue(value, strategy, type) {
        switch (strategy) {
            case 'hash':
                return `hash:${(0,external_node_crypto_.createHmac)('sha256', this.#salt).update(value).digest('hex').slice(0, 16)}`;
            case 'partial':
                return partial(value, type);
            case 'redact':
                return type ? `[masked:${type}]` : '[masked]';
        }
    }
}
/** Keeps what people use to recognise a value (the last digits, the domain) and hides the rest. */
function partial(value, type) {
    switch (type) {
        case 'email': {
            const at = value.lastIndexOf('@');
            return `${value[0]}***${value.slice(at)}`;
        }
        case 'credit_card':
        case 'us_ssn':
        case 'phone':
        case 'iban':
        case undefined:
            return keepLast(value, 4);
        default:
            // Secrets have no harmless part.
            return `[masked:${type}]`;
    }
}
function keepLast(value, keep) {
    let kept = 0;
    const chars = [...value];
    for (let i = chars.length - 1; i >= 0; i--) {
        if (!/[A-Za-z0-9]/.test(chars[i]))
            continue;
        if (kept < keep)
            kept++;
        else
            chars[i] = '*';
    }
    // A value too short to keep anything of is hidden whole.
    return chars.length <= keep ? '*'.repeat(chars.length) : chars.join('');
}
/** Every detector with the redact strategy: for text that no rule covers but must never leak (command lines). */
const REDACT_ALL = new Map(DETECTOR_TYPES.map((t) => [t, 'redact']));

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/copy-mask.ts


/**
 * Reads and writes one row of COPY text or CSV data (without its line end), with the statement's
 * delimiter, null marker, quote and escape.
 */
class CopyRowCodec {
    #csv;
    #delimiter;
    #null;
    #quote;
    #escape;
    constructor(spec) {
        this.#csv = spec.format === 'csv';
        this.#delimiter = spec.delimiter ?? (this.#csv ? ',' : '\t');
        this.#null = spec.null ?? (this.#csv ? '' : '\\N');
        this.#quote = spec.quote ?? '"';
        this.#escape = spec.escape ?? this.#quote;
    }
    parse(line) {
        return this.#csv ? this.#parseCsv(line) : line.split(this.#delimiter).map((f) => (f === this.#null ? null : unescapeText(f)));
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
        let i = 0;
        for (;;) {
            let value = '';
            let quoted = false;
            if (line[i] === q) {
                quoted = true;
                for (i++; i < line.length; i++) {
                    const ch = line[i];
                    const next = line[i + 1];
                    if (ch === esc && (next === q || (esc !== q && next === esc))) {
                        value += next;
                        i++;
                    }
                    else if (ch === q) {
                        i++;
                        break;
                    }
                    else {
                        value += ch;
                    }
                }
            }
            const delimiterAt = line.indexOf(this.#delimiter, i);
            const end = delimiterAt < 0 ? line.length : delimiterAt;
            value += line.slice(i, end);
            fields.push(!quoted && value === this.#null ? null : value);
            if (delimiterAt < 0)
                return fields;
            i = delimiterAt + this.#delimiter.length;
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
function copyDataFrame(text) {
    return new Writer(text.length + 8).bytes(Buffer.from(text)).finish(100 /* Backend.CopyData */);
}
/** Resolves, for each column of a COPY, the strategy of the mask rule that covers it. */
async function copyColumnStrategies(spec, masks, catalog) {
    if (!spec.relation || masks.length === 0)
        return undefined;
    const table = await catalog.byName(spec.relation);
    if (!table)
        throw new Error(`table ${spec.relation} is not in the catalog`);
    const columns = spec.columns?.length ? spec.columns : table.ordered;
    const qualified = `${table.schema}.${table.name}`;
    return columns.map((c) => masks.find((m) => m.matches(table.name, c) || m.matches(qualified, c))?.strategy);
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
    #skipHeader;
    constructor(spec, columns, masks, masker) {
        this.#codec = new CopyRowCodec(spec);
        this.#columns = columns;
        this.#masks = masks;
        this.#masker = masker;
        this.#skipHeader = spec.header;
    }
    static async create(spec, format, masks, catalog, masker) {
        if (format !== 0 || spec?.format === 'binary')
            throw new Error('binary COPY output cannot be masked');
        const effective = spec ?? { from: false, format: 'text', header: false };
        return new CopyOutMasker(effective, await copyColumnStrategies(effective, masks.columns, catalog), masks, masker);
    }
    row(frame) {
        if (this.#skipHeader) {
            this.#skipHeader = false;
            return { frame, masked: 0 };
        }
        const text = frame.toString('utf8', HEADER_LENGTH);
        const lineEnd = text.endsWith('\r\n') ? '\r\n' : text.endsWith('\n') ? '\n' : '';
        const fields = this.#codec.parse(text.slice(0, text.length - lineEnd.length));
        const masked = maskFields(fields, this.#columns, this.#masks, this.#masker);
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

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/result-mask.ts



/** Types whose binary form is their text (jsonb with a version byte first). */
const TEXT = 25, VARCHAR = 1043, BPCHAR = 1042, NAME = 19, result_mask_UNKNOWN = 705, CHAR = 18, JSON_T = 114, JSONB = 3802, XML = 142;
const TEXTUAL = new Set([TEXT, VARCHAR, BPCHAR, NAME, result_mask_UNKNOWN, CHAR, JSON_T, JSONB, XML]);
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
    const qualified = `${table.schema}.${table.name}`;
    return masks.find((m) => m.matches(table.name, column) || m.matches(qualified, column));
}
/**
 * Source-column masking: RowDescription names each column's table OID and attribute number, so an
 * alias, a subquery or a CTE cannot rename a masked column out of reach. Columns of no table
 * (expressions, functions) and of views get the detectors.
 */
function planResult(fields, masks, catalog, formats) {
    if (!masksResults(masks))
        return PASS_THROUGH;
    let active = false;
    const cells = fields.map((f, i) => {
        const binary = (formats ? (formats.length === 1 ? formats[0] : formats[i]) ?? 0 : f.format) === 1;
        const table = f.tableOid ? catalog.cached(f.tableOid) : undefined;
        const mask = columnMaskFor(masks.columns, table, table?.columns.get(f.column));
        if (mask) {
            active = true;
            const cell = { action: 1 /* CellAction.Column */, strategy: mask.strategy, typeOid: f.typeOid, binary };
            if (mask.strategy === 'redact' || !TEXTUAL.has(f.typeOid))
                cell.constant = replacement(cell, '[masked]');
            return cell;
        }
        const scannable = binary ? TEXTUAL.has(f.typeOid) : !NOT_TEXT.has(f.typeOid);
        if (scannable && (masks.detectors.size > 0 || (masks.json.length > 0 && (f.typeOid === JSON_T || f.typeOid === JSONB)))) {
            active = true;
            return { action: 2 /* CellAction.Detect */, strategy: 'redact', typeOid: f.typeOid, binary };
        }
        return { action: 0 /* CellAction.None */, strategy: 'redact', typeOid: f.typeOid, binary };
    });
    return active ? { cells, active } : PASS_THROUGH;
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
        forEachSelected(doc, selector, (parent, key) => {
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
 * Masks one DataRow by its plan into the output batch. Cells are read in place; the row is rebuilt
 * only when a cell changes, straight into the batch. Returns how many values were masked.
 */
function maskRowInto(frame, plan, masks, masker, out) {
    const count = frame.readInt16BE(HEADER_LENGTH);
    let replaced;
    let masked = 0;
    let size = frame.length;
    for (let i = 0, pos = HEADER_LENGTH + 2; i < count; i++) {
        if (pos + 4 > frame.length)
            throw new MalformedFrameError('a DataRow ends before its cells do');
        const len = frame.readInt32BE(pos);
        const start = pos + 4;
        pos = start + Math.max(len, 0);
        if (pos > frame.length)
            throw new MalformedFrameError('a DataRow cell runs past the message');
        const p = plan.cells[i];
        if (len < 0 || !p || p.action === 0 /* CellAction.None */)
            continue;
        let value;
        const offset = p.typeOid === JSONB && p.binary ? 1 : 0;
        if (p.action === 1 /* CellAction.Column */) {
            value = p.constant !== undefined ? p.constant : replacement(p, masker.maskValue(frame.toString('utf8', start + offset, pos), p.strategy));
            masked++;
        }
        else if (masks.json.length > 0 || couldContain(frame, start + offset, pos, masks.detectors)) {
            const text = frame.toString('utf8', start + offset, pos);
            const r = isJson(p.typeOid) ? maskJsonText(text, masks, masker) : masker.maskText(text, masks.detectors);
            if (r.count === 0)
                continue;
            masked += r.count;
            value = offset ? Buffer.concat([Buffer.of(1), Buffer.from(r.text)]) : Buffer.from(r.text);
        }
        else {
            continue;
        }
        (replaced ??= [])[i] = value;
        size += (value?.length ?? 0) - len;
    }
    if (!replaced) {
        out.pass(frame);
        return 0;
    }
    const row = out.reserve(size);
    row[0] = frame[0];
    row.writeInt32BE(size - 1, 1);
    row.writeInt16BE(count, HEADER_LENGTH);
    let w = HEADER_LENGTH + 2;
    for (let i = 0, pos = HEADER_LENGTH + 2; i < count; i++) {
        const len = frame.readInt32BE(pos);
        const end = pos + 4 + Math.max(len, 0);
        if (replaced[i] === undefined) {
            w += frame.copy(row, w, pos, end);
        }
        else {
            const r = replaced[i];
            if (r === null)
                w = row.writeInt32BE(-1, w);
            else {
                w = row.writeInt32BE(r.length, w);
                w += r.copy(row, w);
            }
        }
        pos = end;
    }
    return masked;
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
        const key = /^Key \(([^)]*)\)=\((.*)\)( .*)?$/s.exec(detail);
        if (key && key[1].split(',').some((c) => tableMasked(c.trim().replace(/^"|"$/g, '')))) {
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
function rewriteLiterals(sql, replacements, masker) {
    const bytes = Buffer.from(sql);
    const tokens = (0,wasm.scanSync)(sql).tokens;
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
    #skipHeader;
    constructor(plan, masker) {
        this.#codec = new CopyRowCodec(plan.copy.spec);
        this.#columns = plan.copy.columns;
        this.#masker = masker;
        this.#skipHeader = plan.copy.spec.header;
    }
    /** Works out how to mask one statement's writes; never throws, a problem comes back as a refusal. */
    static async forStatement(classification, sql, masks, ctx) {
        const out = { replacements: [], params: new Map() };
        try {
            if (classification.copy?.from) {
                if (classification.copy.format === 'binary')
                    throw new Unmaskable('binary COPY FROM into a table with masked columns cannot be masked; use text or csv');
                const columns = await copyColumnStrategies(classification.copy, masks.writeColumns, ctx.catalog);
                if (columns?.some(Boolean))
                    return { copy: { spec: classification.copy, columns } };
            }
            const tree = (0,wasm.parseSync)(sql);
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
            const rewritten = out.replacements.length ? rewriteLiterals(sql, out.replacements, ctx.governor.masker) : undefined;
            return { ...(rewritten !== undefined && { sql: rewritten }), ...(out.params.size && { params: out.params }) };
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
        if (this.#skipHeader) {
            this.#skipHeader = false;
            return line;
        }
        if (line === '\\.')
            return line;
        const cr = line.endsWith('\r');
        const fields = this.#codec.parse(cr ? line.slice(0, -1) : line);
        return maskFields(fields, this.#columns, NO_DETECTORS, this.#masker) ? this.#codec.format(fields) + (cr ? '\r' : '') : line;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/session.ts









/** Client encodings whose multi-byte characters never contain ASCII bytes, so quoting reads the same. */
const SAFE_ENCODINGS = /^(UTF8|SQL_ASCII|LATIN\d+|WIN\d+|ISO_8859_\d+|KOI8[RU]|EUC_\w+|MULE_INTERNAL)$/i;
const SQLSTATE_REFUSED = '42501';
/**
 * One direction of the relay: frames read from one socket, the batch built from them written to the
 * other. When the other socket is full, reading from this one pauses until it drains.
 */
class Direction {
    reader;
    out = new OutputBatch();
    #from;
    #to;
    #onError;
    constructor(from, to, sink, maxFrame, onError) {
        this.#from = from;
        this.#to = to;
        this.#onError = onError;
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
        if (!this.out.flushTo(this.#to))
            this.#from.pause();
    }
}
/**
 * One job connection after authentication: client messages become operations for the governor; the
 * target's answers are masked on their way back. Refusals are answered in the protocol's own terms: the
 * refused message is replaced, on the target, by one that fails harmlessly (EXECUTE of a statement that
 * does not exist, named with a nonce), and the target's error by ours. The target thereby aborts the
 * transaction and skips to Sync exactly as it would for a real error, so the session stays usable and
 * in step, inside transaction blocks and pipelines alike.
 */
class PostgresSession {
    #ctx;
    #client;
    #server;
    #nonce = `govern_refused_${(0,external_node_crypto_.randomBytes)(8).toString('hex')}`;
    /** Client → target, and target → client. */
    #up;
    #down;
    #pending = [];
    #statements = new Map();
    #portals = new Map();
    #openSeq;
    /** After a refusal in an extended-protocol batch, the client's messages up to Sync are dropped, as the target would. */
    #skipUntilSync = false;
    /** A COPY FROM STDIN under way, and what must be masked in its data. */
    #copyIn;
    /** Set by a COPY FROM with write masks: applied when the target answers with CopyInResponse. */
    #copyInPlan;
    #copyOut;
    #syntaxUnsafe;
    #closed = false;
    constructor(ctx, client, upstream, openSeq) {
        this.#ctx = ctx;
        this.#client = client;
        this.#server = upstream.socket;
        this.#openSeq = openSeq;
        for (const [name, value] of upstream.parameters)
            this.#trackParameter(name, value);
        this.#up = new Direction(client, this.#server, this.#clientSink(), ctx.maxFrame, (e) => this.#protocolViolation(e));
        this.#down = new Direction(this.#server, client, this.#serverSink(), ctx.maxFrame, (e) => this.#fail(e));
    }
    /** Starts relaying; `leftover` is what the client sent after authentication in the same packet. */
    start(leftover) {
        this.#client.on('data', (chunk) => this.#up.push(chunk));
        this.#server.on('data', (chunk) => this.#down.push(chunk));
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
            mayStream: (code) => code === 100 /* Frontend.CopyData */ && !this.#copyIn,
            streamed: (piece) => this.#up.out.pass(piece),
        };
    }
    /** Returns false to stop reading while a decision is pending. */
    #clientFrame(code, frame) {
        if (this.#skipUntilSync && code !== 83 /* Frontend.Sync */ && code !== 72 /* Frontend.Flush */)
            return true;
        switch (code) {
            case 81 /* Frontend.Query */:
                return this.#decideThen(this.#sqlOperation(readCString(frame)), (ruling, op) => this.#query(frame, ruling, op));
            case 80 /* Frontend.Parse */: {
                const parse = readParse(frame);
                return this.#decideThen(this.#sqlOperation(parse.query), (ruling, op) => this.#parse(frame, parse, ruling, op));
            }
            case 66 /* Frontend.Bind */:
                return this.#bind(frame);
            case 68 /* Frontend.Describe */: {
                const target = readTarget(frame);
                this.#pending.push(target.kind === 'S' ? { kind: 'describe', statement: this.#statements.get(target.name) ?? placeholder(target.name) } : { kind: 'describe', portal: this.#portal(target.name) });
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
                if (target.kind === 'S')
                    this.#statements.delete(target.name);
                else
                    this.#portals.delete(target.name);
                this.#pending.push({ kind: 'close' });
                this.#up.out.pass(frame);
                return true;
            }
            case 83 /* Frontend.Sync */:
                this.#skipUntilSync = false;
                this.#pending.push({ kind: 'sync' });
                this.#up.out.pass(frame);
                return true;
            case 70 /* Frontend.FunctionCall */:
                return this.#decideThen({ connection: this.#ctx.connection, protocol: 'postgres', text: 'FunctionCall message', classes: new Set(['function_call']), writes: true }, (ruling) => {
                    if (!ruling.allowed)
                        return this.#refuseSimple(ruling);
                    this.#pending.push({ kind: 'function' });
                    this.#up.out.pass(frame);
                });
            case 100 /* Frontend.CopyData */:
                if (this.#copyIn)
                    this.#copyIn.data(frame, this.#up.out);
                else
                    this.#up.out.pass(frame);
                return true;
            case 99 /* Frontend.CopyDone */:
            case 102 /* Frontend.CopyFail */:
                this.#copyIn?.end(this.#up.out);
                this.#copyIn = undefined;
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
        return this.#portals.get(name) ?? { statement: undefined, resultFormats: [] };
    }
    #sqlOperation(sql) {
        let classification = this.#ctx.classifier.classify(sql);
        if (this.#syntaxUnsafe && sql.includes('\\')) {
            // With standard_conforming_strings off or an unsafe encoding the target could read quotes otherwise.
            classification = { ...classification, classes: new Set(['unparseable']), syntaxError: this.#syntaxUnsafe };
        }
        return {
            connection: this.#ctx.connection,
            protocol: 'postgres',
            text: this.#ctx.governor.masker.maskText(hideCredentials(sql), REDACT_ALL).text,
            classes: classification.classes,
            writes: classification.writes,
            sql: classification,
        };
    }
    /**
     * Asks the governor, then acts. An allowed operation is decided at once and reading goes on; a
     * decision that waits (a block made durable, an approval, a catalog lookup) stops the reader, and
     * reading resumes, in order, once the action is done.
     */
    #decideThen(op, act) {
        const decided = this.#ctx.governor.decide(op);
        const acted = decided instanceof Promise ? decided.then((ruling) => act(ruling, op)) : act(decided, op);
        if (!(acted instanceof Promise))
            return true;
        acted.then(() => this.#up.resume(), (e) => this.#fail(e));
        return false;
    }
    #query(frame, ruling, op) {
        if (!ruling.allowed)
            return this.#refuseSimple(ruling, op.sql.syntaxError);
        const unmaskable = unmaskableCopy(op.sql, ruling.masks);
        if (unmaskable)
            return this.#refuseSimple({ ...ruling, allowed: false, rule: 'copy-mask', message: unmaskable });
        const entry = { kind: 'query', ruling, sql: op.sql, started: performance.now(), rows: 0, bytes: 0, masked: 0, plan: PASS_THROUGH };
        if (ruling.masks.writeColumns.length && op.sql.writes) {
            return WriteMasker.forStatement(op.sql, readCString(frame), ruling.masks, this.#ctx).then((plan) => {
                if (plan.refusal)
                    return this.#refuseSimple({ ...ruling, allowed: false, rule: plan.refusal.rule, message: plan.refusal.message });
                this.#pending.push(entry);
                this.#up.out.push(plan.sql !== undefined ? writeQuery(plan.sql) : frame);
                if (plan.copy)
                    this.#copyInPlan = plan;
            });
        }
        this.#pending.push(entry);
        this.#up.out.pass(frame);
    }
    #parse(frame, parse, ruling, op) {
        const statement = { ruling, sql: op.sql, text: op.text };
        this.#statements.set(parse.statement, statement);
        const unmaskable = ruling.allowed ? unmaskableCopy(op.sql, ruling.masks) : undefined;
        if (!ruling.allowed || unmaskable) {
            statement.refusal = unmaskable ? errorFields('ERROR', SQLSTATE_REFUSED, `govern: ${unmaskable}`, 'rule: copy-mask') : this.#refusalFields(ruling, op.sql.syntaxError);
            return this.#refuseExtended(statement.refusal, 'parse');
        }
        if (ruling.masks.writeColumns.length && op.sql.writes) {
            return WriteMasker.forStatement(op.sql, parse.query, ruling.masks, this.#ctx).then((plan) => {
                if (plan.refusal) {
                    statement.refusal = errorFields('ERROR', SQLSTATE_REFUSED, `govern: ${plan.refusal.message}`, `rule: ${plan.refusal.rule}`);
                    return this.#refuseExtended(statement.refusal, 'parse');
                }
                statement.write = plan;
                if (plan.copy)
                    this.#copyInPlan = plan;
                this.#pending.push({ kind: 'parse' });
                this.#up.out.push(plan.sql !== undefined ? writeParse({ ...parse, query: plan.sql }) : frame);
            });
        }
        this.#pending.push({ kind: 'parse' });
        this.#up.out.pass(frame);
    }
    #bind(frame) {
        const bind = readBind(frame);
        const statement = this.#statements.get(bind.statement);
        if (statement?.refusal) {
            this.#refuseExtended(statement.refusal, 'bind');
            return true;
        }
        this.#portals.set(bind.portal, { statement, resultFormats: bind.resultFormats });
        this.#pending.push({ kind: 'bind' });
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
        return true;
    }
    #refusalFields(ruling, syntaxError) {
        const requestNote = ruling.requestId ? ` (request ${ruling.requestId})` : '';
        return errorFields('ERROR', syntaxError ? '42601' : SQLSTATE_REFUSED, `govern: ${ruling.message}${ruling.message?.includes(ruling.requestId ?? '\u0000') ? '' : requestNote}`, syntaxError ? `the SQL parser says: ${syntaxError}` : `rule: ${ruling.rule}`);
    }
    /** Simple protocol (Query, FunctionCall): the target runs a statement that fails, and we answer for it. */
    #refuseSimple(ruling, syntaxError) {
        const substitution = this.#refusalFields(ruling, syntaxError);
        this.#pending.push({ kind: 'query', ruling, started: performance.now(), rows: 0, bytes: 0, masked: 0, plan: PASS_THROUGH, substitution });
        this.#up.out.push(writeQuery(`EXECUTE ${this.#nonce}`));
    }
    /** Extended protocol: a Bind of a statement that does not exist fails; the target then skips to Sync. */
    #refuseExtended(substitution, kind) {
        this.#pending.push({ kind, substitution });
        this.#up.out.push(writeBind({ portal: '', statement: this.#nonce, paramFormats: [], params: [], resultFormats: [] }));
        this.#skipUntilSync = true;
    }
    // ---- target → client ----
    #serverSink() {
        return {
            frame: (code, frame) => this.#serverFrame(code, frame),
            mayStream: (code) => (code === 68 /* Backend.DataRow */ && !this.#currentPlan().active) || (code === 100 /* Backend.CopyData */ && !this.#copyOut),
            streamed: (piece) => this.#down.out.pass(piece),
        };
    }
    #currentPlan() {
        const head = this.#pending[0];
        if (head?.kind === 'query')
            return head.plan;
        if (head?.kind !== 'execute')
            return PASS_THROUGH;
        const portal = head.portal;
        if (portal.plan)
            return portal.plan;
        const masks = this.#masksOf(head);
        const fields = portal.statement?.fields;
        if (fields)
            return (portal.plan = planResult(fields, masks, this.#ctx.catalog, portal.resultFormats));
        if (masksResults(masks)) {
            // Rows of a statement never described: which columns they hold is unknown, so nothing passes.
            throw new Error('a result arrived for a statement whose columns were never described; the gateway cannot mask it');
        }
        return (portal.plan = PASS_THROUGH);
    }
    #masksOf(head) {
        if (head?.kind === 'query')
            return head.ruling.masks;
        if (head?.kind === 'execute')
            return head.portal.statement?.ruling.masks ?? EMPTY_MASK_PLAN;
        if (head?.kind === 'describe')
            return (head.statement ?? head.portal?.statement)?.ruling.masks ?? EMPTY_MASK_PLAN;
        return this.#connectionMasks();
    }
    /** Masks for what belongs to no statement (notices, notifications): every rule of this connection. */
    #connectionMasks() {
        return this.#ctx.governor.maskPlanFor(this.#ctx.connection, 'postgres');
    }
    #serverFrame(code, frame) {
        const head = this.#pending[0];
        switch (code) {
            case 68 /* Backend.DataRow */:
                return this.#dataRow(frame, head);
            case 84 /* Backend.RowDescription */:
                return this.#rowDescription(frame, head);
            case 49 /* Backend.ParseComplete */:
            case 50 /* Backend.BindComplete */:
            case 51 /* Backend.CloseComplete */:
            case 110 /* Backend.NoData */:
                this.#pending.shift();
                break;
            case 67 /* Backend.CommandComplete */:
            case 73 /* Backend.EmptyQueryResponse */:
            case 115 /* Backend.PortalSuspended */:
                if (head?.kind === 'execute') {
                    this.#pending.shift();
                    this.#completed(head.portal.statement?.ruling, head);
                }
                else if (head?.kind === 'query') {
                    head.plan = PASS_THROUGH;
                }
                this.#copyOut = undefined;
                break;
            case 69 /* Backend.ErrorResponse */:
                this.#error(frame, head);
                return true;
            case 90 /* Backend.ReadyForQuery */:
                this.#readyForQuery(head);
                break;
            case 78 /* Backend.NoticeResponse */: {
                const fields = readNotice(frame);
                if (maskNotice(fields, this.#masksOf(head), this.#ctx.governor.masker)) {
                    this.#down.out.push(writeNotice(78 /* Backend.NoticeResponse */, fields));
                    return true;
                }
                break;
            }
            case 65 /* Backend.NotificationResponse */: {
                const n = readNotification(frame);
                const r = this.#ctx.governor.masker.maskText(n.payload, this.#connectionMasks().detectors);
                if (r.count) {
                    this.#down.out.push(writeNotification({ ...n, payload: r.text }));
                    return true;
                }
                break;
            }
            case 83 /* Backend.ParameterStatus */: {
                const { name, value } = readParameterStatus(frame);
                this.#trackParameter(name, value);
                break;
            }
            case 71 /* Backend.CopyInResponse */:
                if (this.#copyInPlan?.copy)
                    this.#copyIn = new WriteMasker(this.#copyInPlan, this.#ctx.governor.masker);
                this.#copyInPlan = undefined;
                break;
            case 72 /* Backend.CopyOutResponse */:
                return this.#copyOutResponse(frame, head);
            case 100 /* Backend.CopyData */:
                if (this.#copyOut) {
                    const out = this.#copyOut.row(frame);
                    this.#count(head, frame.length, out.masked, 0);
                    if (out.frame !== frame) {
                        this.#down.out.push(out.frame);
                        return true;
                    }
                }
                break;
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
    #dataRow(frame, head) {
        const plan = this.#currentPlan();
        if (!plan.active) {
            this.#count(head, frame.length, 0, 1);
            this.#down.out.pass(frame);
            return true;
        }
        const masked = maskRowInto(frame, plan, this.#masksOf(head), this.#ctx.governor.masker, this.#down.out);
        this.#count(head, frame.length, masked, 1);
        return true;
    }
    /** Plans masking for a result; when a table is new to the catalog, reading waits for the lookup. */
    #rowDescription(frame, head) {
        const masks = this.#masksOf(head);
        if (!masksResults(masks)) {
            // Nothing to mask: the description need not even be read.
            if (head?.kind === 'describe')
                this.#pending.shift();
            this.#down.out.pass(frame);
            return true;
        }
        const fields = readRowDescription(frame);
        const apply = () => {
            if (head?.kind === 'query')
                head.plan = planResult(fields, masks, this.#ctx.catalog);
            else if (head?.kind === 'describe') {
                this.#pending.shift();
                if (head.statement)
                    head.statement.fields = fields;
                if (head.portal) {
                    head.portal.fields = fields;
                    head.portal.plan = planResult(fields, masks, this.#ctx.catalog);
                }
            }
            this.#down.out.pass(frame);
        };
        const oids = tableOids(fields).filter((o) => !this.#ctx.catalog.cached(o));
        if (oids.length === 0 || (masks.columns.length === 0)) {
            apply();
            return true;
        }
        void this.#ctx.catalog.describe(oids).then(() => {
            apply();
            this.#down.resume();
        }, (e) => this.#fail(new Error(`cannot resolve result columns through the catalog: ${e.message}`)));
        return false;
    }
    #copyOutResponse(frame, head) {
        const masks = this.#masksOf(head);
        const sql = head?.kind === 'query' ? head.sql : head?.kind === 'execute' ? head.portal.statement?.sql : undefined;
        if (masks.columns.length === 0 && masks.detectors.size === 0) {
            this.#down.out.pass(frame);
            return true;
        }
        const { format } = readCopyResponse(frame);
        void CopyOutMasker.create(sql?.copy, format, masks, this.#ctx.catalog, this.#ctx.governor.masker).then((masker) => {
            this.#copyOut = masker;
            this.#down.out.pass(frame);
            this.#down.resume();
        }, (e) => this.#fail(e));
        return false;
    }
    #error(frame, head) {
        let fields = readNotice(frame);
        const substitution = head && 'substitution' in head ? head.substitution : undefined;
        if (substitution && (fields.get('M') ?? '').includes(this.#nonce)) {
            fields = substitution;
            this.#down.out.push(writeNotice(69 /* Backend.ErrorResponse */, fields));
        }
        else if (maskNotice(fields, this.#masksOf(head), this.#ctx.governor.masker)) {
            this.#down.out.push(writeNotice(69 /* Backend.ErrorResponse */, fields));
        }
        else {
            this.#down.out.pass(frame);
        }
        this.#copyOut = undefined;
        const message = fields.get('M');
        if (head?.kind === 'query') {
            head.error ??= message;
            return;
        }
        // Extended protocol: the target skips everything up to Sync.
        while (this.#pending.length && this.#pending[0].kind !== 'sync') {
            const dropped = this.#pending.shift();
            if (dropped.kind === 'execute')
                this.#completed(dropped.portal.statement?.ruling, { ...dropped, error: message });
        }
    }
    #readyForQuery(head) {
        if (head?.kind === 'query')
            this.#completed(head.ruling, head);
        this.#pending.shift();
    }
    #completed(ruling, stats) {
        if (!ruling || !ruling.allowed)
            return;
        this.#ctx.governor.completed(ruling, {
            rows: stats.rows,
            bytes: stats.bytes,
            maskedValues: stats.masked,
            durationMs: performance.now() - stats.started,
            ...(stats.error !== undefined && { error: stats.error }),
        });
    }
    #trackParameter(name, value) {
        if (name === 'standard_conforming_strings' || name === 'client_encoding') {
            const scs = name === 'standard_conforming_strings' ? value : undefined;
            const encoding = name === 'client_encoding' ? value : undefined;
            if (scs !== undefined && scs !== 'on')
                this.#syntaxUnsafe = 'standard_conforming_strings is off, so backslashes in strings could be read differently';
            else if (encoding !== undefined && !SAFE_ENCODINGS.test(encoding))
                this.#syntaxUnsafe = `client_encoding ${encoding} can hide quotes inside characters`;
            else if (scs === 'on' || (encoding !== undefined && SAFE_ENCODINGS.test(encoding)))
                this.#syntaxUnsafe = undefined;
        }
    }
    // ---- ending ----
    #protocolViolation(e) {
        const message = e instanceof FrameTooLargeError ? e.message : e instanceof MalformedFrameError ? `invalid message: ${e.message}` : e.message;
        const sqlstate = e instanceof FrameTooLargeError ? '54000' : '08P01';
        this.#ctx.governor.note('protocol.violation', { connection: this.#ctx.connection, message });
        if (!this.#client.destroyed)
            this.#client.end(writeNotice(69 /* Backend.ErrorResponse */, errorFields('FATAL', sqlstate, `govern: ${message}`)));
        this.#close('protocol violation');
    }
    #fail(e) {
        const message = e.message;
        this.#ctx.log.warn(`${this.#ctx.connection}: ${message}`);
        if (!this.#client.destroyed)
            this.#client.end(writeNotice(69 /* Backend.ErrorResponse */, errorFields('FATAL', '08006', `govern: ${message}`)));
        this.#close('gateway error');
    }
    #close(reason) {
        if (this.#closed)
            return;
        this.#closed = true;
        if (this.#pending.length && reason.startsWith('client'))
            void this.#ctx.cancel().catch(() => undefined);
        this.#server.destroy();
        if (!this.#client.destroyed)
            this.#client.end();
        this.#ctx.governor.connectionClosed(this.#ctx.connection, this.#openSeq, reason);
    }
    /** Ends the session at the gateway's stop. */
    end() {
        this.#close('gateway stopped');
        this.#client.destroy();
    }
}
function placeholder(text) {
    return { ruling: { allowed: true, seq: 0, masks: EMPTY_MASK_PLAN }, text };
}
/**
 * COPY output the gateway cannot mask is refused before it starts: binary output (no types to read it
 * by), and COPY (query) that may carry a masked column (no row description to find it by): one that
 * reads a table with masked columns and names such a column, `*`, or a whole row.
 */
function unmaskableCopy(sql, masks) {
    const copy = sql.copy;
    if (!copy || copy.from)
        return undefined;
    if (copy.format === 'binary' && (masks.columns.length || masks.detectors.size))
        return 'refused: binary COPY output cannot be masked; use FORMAT text or csv';
    if (!copy.reads)
        return undefined;
    const bare = (name) => name.slice(name.lastIndexOf('.') + 1);
    const table = copy.reads.tables.find((t) => masks.columns.some((m) => m.matchesTable(t) || m.matchesTable(bare(t))));
    if (!table)
        return undefined;
    const { aliases, names } = copy.reads;
    const risky = names.find((n) => n === '*' || aliases.includes(n) || masks.columns.some((m) => m.matchesColumn(n)));
    if (risky === undefined)
        return undefined;
    return `refused: COPY (query) output from ${table} may carry a masked column (${risky}) and cannot be masked; COPY the table itself or SELECT`;
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/adapter.ts










const MAX_STARTUP = 10_000;
/** Frames larger than this are not held for inspection (results stream past it when unmasked). */
const MAX_FRAME = 64 << 20;
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Startup parameters the gateway sets itself or that choose the session's kind. */
const NOT_FORWARDED = new Set(['user', 'database', 'replication', 'options']);
class StartupRefused extends Error {
    sqlstate;
    constructor(sqlstate, message) {
        super(message);
        this.sqlstate = sqlstate;
    }
}
/**
 * The PostgreSQL adapter: a loopback listener per connection. The job authenticates with a job-scoped
 * password over SCRAM-SHA-256; the gateway authenticates to the target with the real credentials.
 */
class PostgresAdapter {
    protocol = 'postgres';
    async listen({ connection, governor, log }) {
        await (0,wasm.loadModule)();
        const settings = connection.settings;
        let target;
        try {
            target = parseTargetUrl(settings.url, settings.ca);
        }
        catch (e) {
            throw new TargetError(`connection "${connection.name}": ${e.message}`);
        }
        const password = (0,external_node_crypto_.randomBytes)(24).toString('base64url');
        const state = {
            name: connection.name,
            target,
            governor,
            verifier: makeVerifier(password),
            catalog: new Catalog(target),
            classifierCache: new Map(),
            cancelKeys: new Map(),
            sessions: new Set(),
            log,
        };
        const server = (0,external_node_net_.createServer)((socket) => void accept(socket, state));
        server.on('error', (e) => log.warn(`${connection.name}: listener error: ${e.message}`));
        const port = await new Promise((resolve, reject) => {
            server.once('error', reject);
            server.listen(0, '127.0.0.1', () => resolve(server.address().port));
        });
        const url = `postgresql://${encodeURIComponent(target.user)}:${password}@127.0.0.1:${port}/${encodeURIComponent(target.database)}`;
        return {
            exports: { [connection.export]: url },
            secrets: [password, url],
            target: `${target.host}:${target.port}/${target.database}`,
            close: (deadlineMs) => closeListener(server, state, deadlineMs),
        };
    }
}
async function closeListener(server, state, deadlineMs) {
    const closed = new Promise((resolve) => server.close(() => resolve()));
    const deadline = Date.now() + deadlineMs;
    while (state.sessions.size > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
    for (const session of state.sessions)
        session.end();
    state.catalog.close();
    await closed;
}
/** Reads untyped startup packets: SSL and GSS requests are declined; a startup or a cancel is returned. */
function readStartupPacket(socket) {
    return new Promise((resolve, reject) => {
        let buffered = Buffer.alloc(0);
        const cleanup = () => {
            socket.off('data', onData);
            socket.off('error', onError);
            socket.off('close', onClose);
            socket.pause();
        };
        const onError = (e) => {
            cleanup();
            reject(e);
        };
        const onClose = () => {
            cleanup();
            reject(new Error('the client left during startup'));
        };
        const onData = (chunk) => {
            buffered = Buffer.concat([buffered, chunk]);
            while (buffered.length >= 4) {
                const length = buffered.readInt32BE(0);
                if (length < 8 || length > MAX_STARTUP) {
                    cleanup();
                    return reject(new StartupRefused('08P01', `invalid startup packet length ${length}`));
                }
                if (buffered.length < length)
                    return;
                const packet = readStartup(buffered.subarray(4, length));
                const rest = buffered.subarray(length);
                if (packet.code === SSL_REQUEST || packet.code === GSSENC_REQUEST) {
                    // Bytes sent before the answer could only be an injection attempt.
                    if (rest.length) {
                        cleanup();
                        return reject(new StartupRefused('08P01', 'data arrived before the answer to an encryption request'));
                    }
                    socket.write('N');
                    buffered = rest;
                    continue;
                }
                cleanup();
                if (packet.cancel)
                    return resolve({ cancel: packet.cancel });
                if (!packet.startup)
                    return reject(new StartupRefused('08P01', `unsupported frontend protocol ${packet.code >> 16}.${packet.code & 0xffff}`));
                return resolve({ startup: packet.startup, rest });
            }
        };
        socket.on('data', onData);
        socket.on('error', onError);
        socket.on('close', onClose);
    });
}
async function accept(socket, state) {
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
    try {
        const packet = await readStartupPacket(socket);
        if ('cancel' in packet) {
            clearTimeout(timer);
            await relayCancel(packet.cancel, state);
            socket.end();
            return;
        }
        const { startup, rest } = packet;
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
            upstream = await connectUpstream(state.target, forwarded);
        }
        catch (e) {
            throw new StartupRefused('08006', e.message);
        }
        const pid = (0,external_node_crypto_.randomInt)(1, 2 ** 31 - 1);
        const secret = (0,external_node_crypto_.randomInt)(-(2 ** 31), 2 ** 31 - 1);
        const key = `${pid}:${secret}`;
        state.cancelKeys.set(key, { pid: upstream.pid, secret: upstream.secret });
        const hello = [writeAuthentication(0 /* AuthCode.Ok */)];
        for (const [name, value] of upstream.parameters)
            hello.push(writeParameterStatus(name, value));
        hello.push(writeBackendKeyData(pid, secret), writeReadyForQuery('I'));
        socket.write(Buffer.concat(hello));
        const openSeq = state.governor.connectionOpened(state.name, 'postgres', {
            peer: `${socket.remoteAddress}:${socket.remotePort}`,
            ...(params.application_name && { application_name: params.application_name }),
        });
        const session = new PostgresSession({
            connection: state.name,
            governor: state.governor,
            catalog: state.catalog,
            classifier: new SqlClassifier(state.classifierCache),
            maxFrame: MAX_FRAME,
            log: state.log,
            cancel: () => cancelUpstream(state.target, upstream.pid, upstream.secret),
        }, socket, upstream, openSeq);
        state.sessions.add(session);
        socket.once('close', () => {
            state.sessions.delete(session);
            state.cancelKeys.delete(key);
        });
        clearTimeout(timer);
        session.start(Buffer.concat([queue.detach() ?? Buffer.alloc(0), ...upstream.leftover]));
    }
    catch (e) {
        clearTimeout(timer);
        const refused = e instanceof StartupRefused ? e : new StartupRefused('08006', e.message);
        if (!socket.destroyed)
            socket.end(writeNotice(69 /* Backend.ErrorResponse */, errorFields('FATAL', refused.sqlstate, `govern: ${refused.message}`)));
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
        if (e instanceof ScramError)
            throw new StartupRefused('28P01', `password authentication failed for user "${state.target.user}"`);
        throw e;
    }
}
async function expectPassword(queue) {
    const { code, frame } = await queue.next();
    if (code !== 112 /* Frontend.Password */)
        throw new StartupRefused('08P01', `expected a password message, got "${String.fromCharCode(code)}"`);
    return frame;
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/index.ts

/** The protocol adapters this build serves. */
function builtInAdapters() {
    return new Map([['postgres', new PostgresAdapter()]]);
}

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
;// CONCATENATED MODULE: ./runner-proxy/src/approvals/commands.ts
/** `/govern approve ID` or `/govern deny ID reason`, on a line of its own anywhere in a comment. */
const COMMAND = /^[ \t]*\/govern[ \t]+(approve|deny)[ \t]+(apr_[0-9a-f]+)(?:[ \t]+(.*))?$/m;
function parseCommand(body) {
    const m = COMMAND.exec(body);
    if (!m)
        return undefined;
    const reason = m[3]?.trim();
    return { approve: m[1] === 'approve', id: m[2], ...(reason && { reason }) };
}
/** The comment that asks for an approval: what, where, by which rule, and how to answer. */
function requestMessage(request, context) {
    const fence = request.operation.includes('```') ? '~~~' : '```';
    const minutes = Math.round(context.timeoutMs / 60_000);
    return [
        `**govern** holds an operation for approval: request \`${request.id}\``,
        '',
        `Connection \`${request.connection}\`, rule \`${request.rule}\`${context.requester ? `, run by @${context.requester}` : ''}:`,
        '',
        `${fence}sql`,
        request.operation,
        fence,
        '',
        `Reply \`/govern approve ${request.id}\` or \`/govern deny ${request.id} <reason>\`.`,
        `Approvers: ${context.approvers.join(', ')}. Without an answer it is denied in ${minutes >= 1 ? `${minutes} min` : `${Math.round(context.timeoutMs / 1000)} s`}.`,
    ].join('\n');
}
function outcomeLine(result) {
    if (result.outcome === 'approved')
        return `**Approved** by @${result.by}.`;
    if (result.outcome === 'timeout')
        return '**Timed out**: nobody answered, so it was denied.';
    return `**Denied** by ${result.by === 'govern' ? 'govern' : `@${result.by}`}${result.reason ? `: ${result.reason}` : ''}.`;
}

;// CONCATENATED MODULE: ./runner-proxy/src/approvals/poller.ts
/** Runs `task` every `intervalMs` until stopped, one run at a time; a failed run is reported, not fatal. */
class Poller {
    task;
    intervalMs;
    onError;
    #timer;
    #stopped = false;
    constructor(task, intervalMs, onError) {
        this.task = task;
        this.intervalMs = intervalMs;
        this.onError = onError;
    }
    start() {
        if (this.#stopped)
            return;
        this.#timer = setTimeout(() => {
            void this.task()
                .catch(this.onError)
                .finally(() => this.start());
        }, this.intervalMs);
        this.#timer.unref();
    }
    stop() {
        this.#stopped = true;
        clearTimeout(this.#timer);
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/approvals/thread.ts


/**
 * What GitHub and GitLab approvals share: one comment per request, a poll of the conversation that
 * passes each valid `/govern approve|deny` to the engine once, and the outcome added to the request's
 * comment. A forge says how to post, edit, list and react, and who counts.
 */
class ThreadApprovals {
    #settings;
    #announced = new Map();
    #seen = new Set();
    #poller;
    #decide;
    /** When the first request was made: older comments cannot answer any. */
    since;
    constructor(settings) {
        this.#settings = settings;
    }
    async announce(request) {
        const { actor, approvers, timeoutMs } = this.#settings;
        const body = requestMessage(request, { ...(actor && { requester: actor }), approvers, timeoutMs });
        const commentId = await this.post(body);
        this.#announced.set(request.id, { commentId, body });
        this.#seen.add(commentId);
        this.since ??= request.requested_at;
    }
    start(decide) {
        this.#decide = decide;
        this.#poller = new Poller(() => this.#poll(), this.#settings.pollMs ?? 5000, (e) => this.#settings.warn(`reading approvals from ${this.#settings.forge} failed: ${e.message}`));
        this.#poller.start();
    }
    stop() {
        this.#poller?.stop();
    }
    async settled(result) {
        const announced = this.#announced.get(result.id);
        if (!announced)
            return;
        await this.edit(announced.commentId, `${announced.body}\n\n${outcomeLine(result)}`);
        this.#announced.delete(result.id);
    }
    /** Whether the author is the run's own actor, who may not approve their own run unless allowed. */
    isActor(author) {
        return this.#settings.actor !== undefined && author.toLowerCase() === this.#settings.actor.toLowerCase();
    }
    async #poll() {
        if (this.#announced.size === 0)
            return;
        for (const comment of (await this.comments()) ?? []) {
            if (this.#seen.has(comment.id))
                continue;
            this.#seen.add(comment.id);
            const command = parseCommand(comment.body);
            if (!command || !this.#announced.has(command.id) || !(await this.counts(comment)))
                continue;
            this.#decide?.(command.id, command.approve, comment.author, command.reason);
            await this.react(comment, command.approve).catch(() => undefined);
        }
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/approvals/github.ts

const WRITE = new Set(['admin', 'maintain', 'write']);
class GitHubApprovals extends ThreadApprovals {
    #o;
    #thread;
    #etag;
    /** When the rate limit is spent, polling waits for its reset. */
    #notBefore = 0;
    constructor(options) {
        super({ ...options, forge: 'GitHub' });
        this.#o = options;
    }
    async #api(method, path, body, headers = {}) {
        const response = await fetch(`${this.#o.apiUrl.replace(/\/$/, '')}${path}`, {
            method,
            headers: {
                Accept: 'application/vnd.github+json',
                Authorization: `Bearer ${this.#o.token}`,
                'X-GitHub-Api-Version': '2022-11-28',
                'User-Agent': 'govern',
                ...(body !== undefined && { 'Content-Type': 'application/json' }),
                ...headers,
            },
            ...(body !== undefined && { body: JSON.stringify(body) }),
            signal: AbortSignal.timeout(15_000),
        });
        if (response.headers.get('x-ratelimit-remaining') === '0')
            this.#notBefore = Number(response.headers.get('x-ratelimit-reset') ?? 0) * 1000;
        if (!response.ok && response.status !== 304 && response.status !== 404) {
            throw new Error(`GitHub answered ${method} ${path} with HTTP ${response.status}`);
        }
        return response;
    }
    #repo(path) {
        return `/repos/${this.#o.repository}${path}`;
    }
    /** The pull request of the event, else the open pull request of the commit, else the commit itself. */
    #findThread() {
        this.#thread ??= (async () => {
            const event = this.#o.event;
            const number = event?.pull_request?.number ?? (event?.issue?.pull_request ? event.issue.number : undefined);
            if (number)
                return { kind: 'issue', number };
            const response = await this.#api('GET', this.#repo(`/commits/${this.#o.sha}/pulls`));
            const pulls = response.ok ? (await response.json()) : [];
            const open = pulls.find((p) => p.state === 'open');
            return open ? { kind: 'issue', number: open.number } : { kind: 'commit' };
        })();
        return this.#thread;
    }
    async #commentPath(suffix) {
        const thread = await this.#findThread();
        return thread.kind === 'issue' ? this.#repo(`/issues${suffix}`) : this.#repo(suffix);
    }
    async #threadComments() {
        const thread = await this.#findThread();
        return thread.kind === 'issue' ? this.#repo(`/issues/${thread.number}/comments`) : this.#repo(`/commits/${this.#o.sha}/comments`);
    }
    async post(body) {
        return (await (await this.#api('POST', await this.#threadComments(), { body })).json()).id;
    }
    async edit(commentId, body) {
        await this.#api('PATCH', await this.#commentPath(`/comments/${commentId}`), { body });
    }
    async comments() {
        if (Date.now() < this.#notBefore)
            return undefined;
        const since = this.since ? `&since=${encodeURIComponent(this.since)}` : '';
        const response = await this.#api('GET', `${await this.#threadComments()}?per_page=100${since}`, undefined, this.#etag ? { 'If-None-Match': this.#etag } : {});
        if (response.status === 304)
            return undefined;
        this.#etag = response.headers.get('etag') ?? undefined;
        return (await response.json()).map((c) => ({ id: c.id, body: c.body, author: c.user.login, raw: c }));
    }
    async counts(comment) {
        const { raw, author } = comment;
        if (raw.user.type === 'Bot' || raw.created_at !== raw.updated_at)
            return false;
        if (!this.#o.allowSelfApproval && this.isActor(author)) {
            await this.#reactWith(comment, 'confused');
            return false;
        }
        if (!(await this.#isApprover(author)))
            return false;
        const permission = await this.#api('GET', this.#repo(`/collaborators/${encodeURIComponent(author)}/permission`));
        return permission.ok && WRITE.has((await permission.json()).permission ?? '');
    }
    async #isApprover(login) {
        for (const approver of this.#o.approvers) {
            if (!approver.startsWith('@') && approver.toLowerCase() === login.toLowerCase())
                return true;
            const team = /^@([^/]+)\/(.+)$/.exec(approver);
            if (team) {
                const membership = await this.#api('GET', `/orgs/${team[1]}/teams/${team[2]}/memberships/${encodeURIComponent(login)}`);
                if (membership.ok && (await membership.json()).state === 'active')
                    return true;
            }
        }
        return false;
    }
    react(comment, approve) {
        return this.#reactWith(comment, approve ? '+1' : '-1');
    }
    async #reactWith(comment, content) {
        await this.#api('POST', await this.#commentPath(`/comments/${comment.id}/reactions`), { content }).catch(() => undefined);
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/approvals/gitlab.ts

const DEVELOPER = 30;
class GitLabApprovals extends ThreadApprovals {
    #o;
    constructor(options) {
        super({ ...options, forge: 'GitLab' });
        this.#o = options;
    }
    async #api(method, path, body) {
        const response = await fetch(`${this.#o.apiUrl.replace(/\/$/, '')}/projects/${encodeURIComponent(this.#o.projectId)}${path}`, {
            method,
            headers: { 'PRIVATE-TOKEN': this.#o.token, ...(body && { 'Content-Type': 'application/json' }) },
            ...(body && { body: JSON.stringify(body) }),
            signal: AbortSignal.timeout(15_000),
        });
        if (!response.ok && response.status !== 404)
            throw new Error(`GitLab answered ${method} ${path} with HTTP ${response.status}`);
        return response;
    }
    #notes(suffix = '') {
        return `/merge_requests/${this.#o.mergeRequestIid}/notes${suffix}`;
    }
    async post(body) {
        return (await (await this.#api('POST', this.#notes(), { body })).json()).id;
    }
    async edit(noteId, body) {
        await this.#api('PUT', this.#notes(`/${noteId}`), { body });
    }
    async comments() {
        const notes = (await (await this.#api('GET', this.#notes('?sort=asc&order_by=created_at&per_page=100'))).json());
        return notes.map((n) => ({ id: n.id, body: n.body, author: n.author.username, raw: n }));
    }
    async counts({ raw, author }) {
        if (raw.system || raw.author.bot || raw.created_at !== raw.updated_at)
            return false;
        if (!this.#o.allowSelfApproval && this.isActor(author))
            return false;
        if (!this.#o.approvers.some((a) => a.toLowerCase() === author.toLowerCase()))
            return false;
        const member = await this.#api('GET', `/members/all/${raw.author.id}`);
        return member.ok && ((await member.json()).access_level ?? 0) >= DEVELOPER;
    }
    async react(comment, approve) {
        await this.#api('POST', this.#notes(`/${comment.id}/award_emoji`), { name: approve ? 'thumbsup' : 'thumbsdown' });
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/approvals/providers.ts



/**
 * The provider the policy's `approvals.via` asks for, configured from the CI's own variables. When
 * they are missing the gateway says so and approvals go through `govern approve` only.
 */
function approvalProvider(spec, principal, env, warn) {
    const pollMs = env.GOVERN_APPROVAL_POLL_MS ? Number(env.GOVERN_APPROVAL_POLL_MS) : undefined;
    const common = { approvers: spec.approvers, allowSelfApproval: spec.allowSelfApproval, timeoutMs: spec.timeoutMs, warn, ...(pollMs && { pollMs }) };
    const claim = (name) => (typeof principal.claims[name] === 'string' ? principal.claims[name] : undefined);
    if (spec.via === 'github') {
        const token = env.GOVERN_GITHUB_TOKEN ?? env.GITHUB_TOKEN;
        if (!token || !env.GITHUB_REPOSITORY || !env.GITHUB_SHA) {
            warn('approvals via github need GOVERN_GITHUB_TOKEN (the action passes its github-token input), GITHUB_REPOSITORY and GITHUB_SHA; answer with govern approve instead');
            return undefined;
        }
        const eventPath = env.GITHUB_EVENT_PATH;
        const actor = claim('actor') ?? env.GITHUB_ACTOR;
        return new GitHubApprovals({
            ...common,
            token,
            repository: env.GITHUB_REPOSITORY,
            apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
            sha: env.GITHUB_SHA,
            ...(eventPath && (0,external_node_fs_.existsSync)(eventPath) && { event: JSON.parse((0,external_node_fs_.readFileSync)(eventPath, 'utf8')) }),
            ...(actor && { actor }),
        });
    }
    if (spec.via === 'gitlab') {
        const iid = env.CI_MERGE_REQUEST_IID ?? /!(\d+)/.exec(env.CI_OPEN_MERGE_REQUESTS ?? '')?.[1];
        if (!env.GOVERN_GITLAB_TOKEN || !env.CI_API_V4_URL || !env.CI_PROJECT_ID || !iid) {
            warn('approvals via gitlab need GOVERN_GITLAB_TOKEN (a project access token with api scope) and a merge request; answer with govern approve instead');
            return undefined;
        }
        const actor = claim('user_login') ?? env.GITLAB_USER_LOGIN;
        return new GitLabApprovals({ ...common, token: env.GOVERN_GITLAB_TOKEN, apiUrl: env.CI_API_V4_URL, projectId: env.CI_PROJECT_ID, mergeRequestIid: iid, ...(actor && { actor }) });
    }
    return undefined;
}

;// CONCATENATED MODULE: ./runner-proxy/src/gateway/control.ts






const RUNTIME_FILE = 'gateway.json';
/** Unix socket paths are limited to about 104 bytes; longer ones go to the temp dir under a hash. */
const MAX_SOCKET_PATH = 100;
function controlSocketPath(outDir) {
    const inside = (0,external_node_path_.join)((0,external_node_path_.resolve)(outDir), 'control.sock');
    if (inside.length <= MAX_SOCKET_PATH)
        return inside;
    return (0,external_node_path_.join)((0,external_node_os_.tmpdir)(), `govern-${(0,external_node_crypto_.createHash)('sha256').update(inside).digest('hex').slice(0, 16)}.sock`);
}
function writeRuntimeInfo(outDir, info) {
    (0,external_node_fs_.writeFileSync)((0,external_node_path_.join)(outDir, RUNTIME_FILE), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
}
function readRuntimeInfo(outDir) {
    const path = (0,external_node_path_.join)(outDir, RUNTIME_FILE);
    if (!(0,external_node_fs_.existsSync)(path)) {
        throw new GovernError(ErrorCode.GatewayNotRunning, `no gateway was started with --out ${outDir} (${path} does not exist)`);
    }
    return JSON.parse((0,external_node_fs_.readFileSync)(path, 'utf8'));
}
function removeRuntimeInfo(outDir) {
    (0,external_node_fs_.rmSync)((0,external_node_path_.join)(outDir, RUNTIME_FILE), { force: true });
}
async function serveControl(path, handle) {
    (0,external_node_fs_.rmSync)(path, { force: true });
    const server = (0,external_node_net_.createServer)((socket) => {
        let buffered = '';
        socket.setEncoding('utf8');
        socket.on('error', () => socket.destroy());
        socket.on('data', (chunk) => {
            buffered += chunk;
            if (buffered.length > 64 * 1024)
                return socket.destroy();
            const newline = buffered.indexOf('\n');
            if (newline < 0)
                return;
            const line = buffered.slice(0, newline);
            buffered = '';
            void answer(line).then((response) => socket.end(`${JSON.stringify(response)}\n`));
        });
    });
    const answer = async (line) => {
        try {
            return { ok: true, result: await handle(JSON.parse(line)) };
        }
        catch (e) {
            const code = e instanceof GovernError ? e.code : ErrorCode.ControlFailed;
            return { ok: false, code, error: e.message };
        }
    };
    await new Promise((resolveListen, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolveListen());
    });
    (0,external_node_fs_.chmodSync)(path, 0o600);
    return server;
}
function callControl(path, request, timeoutMs) {
    return new Promise((resolveCall, reject) => {
        const socket = (0,external_node_net_.createConnection)(path);
        let buffered = '';
        const timer = setTimeout(() => {
            socket.destroy();
            reject(new GovernError(ErrorCode.ControlFailed, `the gateway did not answer "${request.cmd}" within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        socket.setEncoding('utf8');
        socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
        socket.on('data', (chunk) => (buffered += chunk));
        socket.on('error', (cause) => {
            clearTimeout(timer);
            reject(new GovernError(ErrorCode.GatewayNotRunning, `the gateway is not answering on ${path} (${cause.code ?? cause.message}); it may have exited`, { cause }));
        });
        socket.on('end', () => {
            clearTimeout(timer);
            let response;
            try {
                response = JSON.parse(buffered);
            }
            catch (cause) {
                return reject(new GovernError(ErrorCode.ControlFailed, 'the gateway sent an unreadable answer', { cause }));
            }
            if (response.ok)
                resolveCall(response.result);
            else
                reject(new GovernError(response.code, response.error));
        });
    });
}
/** Sends one control request to the gateway recorded in the out dir. */
function controlGateway(outDir, request, timeoutMs = 10_000) {
    return callControl(readRuntimeInfo(outDir).control, request, timeoutMs);
}

;// CONCATENATED MODULE: ./runner-proxy/src/core/approvals.ts


/**
 * Holds operations until someone decides. The adapter awaits `request`, so only that one operation waits:
 * the connection and the job go on. Requests and decisions are durable in the record before the
 * operation is refused or forwarded.
 */
class Approvals {
    #spec;
    #recorder;
    #now;
    #waiting = new Map();
    #provider;
    #warn;
    constructor({ spec, recorder, provider, warn = () => undefined, now = Date.now }) {
        this.#spec = spec;
        this.#recorder = recorder;
        this.#now = now;
        this.#provider = provider;
        this.#warn = warn;
        provider?.start((id, approved, by, reason) => {
            if (this.#waiting.has(id))
                this.decide(id, approved, by, reason);
        });
    }
    get via() {
        return this.#spec.via;
    }
    pending() {
        return [...this.#waiting.values()].map(({ id, connection, operation, rule, requested_at }) => ({ id, connection, operation, rule, requested_at }));
    }
    async request(op, rule, opSeq) {
        const id = `apr_${(0,external_node_crypto_.randomBytes)(5).toString('hex')}`;
        if (this.#waiting.size >= this.#spec.maxPending) {
            const result = { id, outcome: 'denied', by: 'govern', reason: `${this.#spec.maxPending} operations already wait for approval` };
            this.#recorder.append('approval.decided', { request_id: id, op: opSeq, outcome: result.outcome, by: result.by, reason: result.reason });
            await this.#recorder.durable();
            return result;
        }
        // The approval is bound to this one operation: its id is fresh, and the record names what it covers.
        const fingerprint = op.fingerprint ?? (0,external_node_crypto_.createHash)('sha256').update(`${op.connection}\u0000${op.text}`).digest('hex');
        this.#recorder.append('approval.requested', { request_id: id, op: opSeq, connection: op.connection, rule, fingerprint, via: this.#spec.via, timeout_ms: this.#spec.timeoutMs });
        await this.#recorder.durable();
        const result = await new Promise((resolve) => {
            const timer = setTimeout(() => waiting.settle({ id, outcome: 'timeout', by: 'govern', reason: `no decision within ${this.#spec.timeoutMs / 1000} s` }), this.#spec.timeoutMs);
            timer.unref();
            const waiting = {
                id,
                connection: op.connection,
                operation: op.text,
                rule,
                requested_at: new Date(this.#now()).toISOString(),
                settle: (r) => {
                    clearTimeout(timer);
                    this.#waiting.delete(id);
                    resolve(r);
                },
            };
            this.#waiting.set(id, waiting);
            this.#provider?.announce(this.pending().find((p) => p.id === id)).catch((e) => this.#warn(`cannot ask for approval ${id}: ${e.message}; govern approve ${id} still works`));
        });
        this.#recorder.append('approval.decided', { request_id: id, op: opSeq, outcome: result.outcome, by: result.by, reason: result.reason });
        await this.#recorder.durable();
        this.#provider?.settled(result).catch((e) => this.#warn(`cannot show the outcome of ${id}: ${e.message}`));
        return result;
    }
    /** Settles a waiting request; the caller has already checked that `by` may decide. */
    decide(id, approved, by, reason) {
        const waiting = this.#waiting.get(id);
        if (!waiting)
            throw new GovernError(ErrorCode.ApprovalNotFound, `no operation waits under approval id ${id}`);
        waiting.settle({ id, outcome: approved ? 'approved' : 'denied', by, ...(reason && { reason }) });
    }
    /** Denies everything still waiting, when the gateway stops. */
    denyAll(reason) {
        for (const waiting of [...this.#waiting.values()])
            waiting.settle({ id: waiting.id, outcome: 'denied', by: 'govern', reason });
        this.#provider?.stop();
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/core/governor.ts


/**
 * The protocol-agnostic pipeline: adapters hand it classified operations; it decides (rules, then the
 * approval hold), records before anything is forwarded or refused, and gives back the masks to apply.
 * It fails closed: when the record cannot be written, every operation is refused.
 */
class Governor {
    counts = { operations: 0, allowed: 0, masked_values: 0, blocked: 0, approved: 0, denied: 0 };
    masker;
    recorder;
    approvals;
    principal;
    #rules;
    #recordResults;
    constructor({ policy, principal, recorder, masker, approvals }) {
        this.#rules = new RuleEngine(policy);
        this.#recordResults = policy.recording.results !== 'none';
        this.principal = principal;
        this.recorder = recorder;
        this.masker = masker;
        this.approvals = approvals;
    }
    connectionOpened(connection, protocol, detail = {}) {
        return this.recorder.append('connection.open', { connection, protocol, ...detail });
    }
    connectionClosed(connection, openSeq, reason) {
        this.#tryAppend('connection.close', { connection, open: openSeq, reason });
    }
    /**
     * Decides one operation. An allowed operation gets its ruling at once, so the hot path never waits;
     * a block (durable before the refusal) or a hold (until someone decides) comes as a promise.
     */
    decide(op) {
        this.counts.operations++;
        let decision;
        let seq;
        try {
            decision = this.#rules.evaluate(op, this.principal);
            seq = this.recorder.append('operation', {
                connection: op.connection,
                protocol: op.protocol,
                text: op.text,
                classes: [...op.classes],
                verdict: decision.policyVerdict,
                ...(decision.verdict !== decision.policyVerdict && { enforced: decision.verdict }),
                ...(decision.rule && { rule: decision.rule }),
                ...(decision.masks.rules.length && { masks: decision.masks.rules }),
            });
        }
        catch (e) {
            this.counts.blocked++;
            return this.#refuse(0, 'recording-failed', recordingMessage(e));
        }
        // A recorder that failed after this event was queued refuses now rather than at the next operation.
        if (this.recorder.failure) {
            this.counts.blocked++;
            return this.#refuse(seq, 'recording-failed', recordingMessage(this.recorder.failure));
        }
        if (decision.verdict === 'block')
            return this.#block(seq, decision);
        if (decision.verdict === 'approve')
            return this.#hold(op, seq, decision);
        this.counts.allowed++;
        return { allowed: true, seq, masks: decision.masks };
    }
    /** Records how an allowed operation ended; masked counts feed the summary. */
    completed(ruling, stats) {
        this.counts.masked_values += stats.maskedValues ?? 0;
        if (!this.#recordResults)
            return;
        this.#tryAppend('result', {
            op: ruling.seq,
            duration_ms: Math.round(stats.durationMs * 1000) / 1000,
            ...(stats.rows !== undefined && { rows: stats.rows }),
            ...(stats.bytes !== undefined && { bytes: stats.bytes }),
            ...(stats.maskedValues && { masked: stats.maskedValues }),
            ...(stats.error !== undefined && { error: stats.error }),
        });
    }
    /** The read masks of a connection, for what belongs to no operation (notices, notifications). */
    maskPlanFor(connection, protocol) {
        return this.#rules.maskPlan({ connection, protocol, text: '', classes: new Set(), writes: false });
    }
    /** Something worth keeping that is not an operation, such as a refused malformed message. */
    note(type, fields) {
        this.#tryAppend(type, fields);
    }
    async #block(seq, decision) {
        this.counts.blocked++;
        try {
            await this.recorder.durable();
        }
        catch (e) {
            return this.#refuse(seq, decision.rule, `${decision.reason}; ${recordingMessage(e)}`);
        }
        return { allowed: false, seq, masks: EMPTY_MASK_PLAN, rule: decision.rule, message: decision.reason };
    }
    async #hold(op, seq, decision) {
        let result;
        try {
            result = await this.approvals.request(op, decision.rule, seq);
        }
        catch (e) {
            this.counts.denied++;
            return this.#refuse(seq, decision.rule, recordingMessage(e));
        }
        if (result.outcome === 'approved') {
            this.counts.approved++;
            return { allowed: true, seq, masks: decision.masks, requestId: result.id };
        }
        this.counts.denied++;
        const why = result.outcome === 'timeout' ? 'approval timed out' : `denied by ${result.by}${result.reason ? `: ${result.reason}` : ''}`;
        return {
            allowed: false,
            seq,
            masks: EMPTY_MASK_PLAN,
            rule: decision.rule,
            message: `${why} (rule "${decision.rule}", request ${result.id})`,
            requestId: result.id,
            ...(result.outcome === 'timeout' && { timedOut: true }),
        };
    }
    #refuse(seq, rule, message) {
        return { allowed: false, seq, masks: EMPTY_MASK_PLAN, rule, message };
    }
    #tryAppend(type, fields) {
        try {
            this.recorder.append(type, fields);
        }
        catch {
            // The recorder keeps its failure; every later decision is refused with it.
        }
    }
}
function recordingMessage(e) {
    return e instanceof GovernError ? e.message : `the session cannot be recorded: ${e.message}`;
}

;// CONCATENATED MODULE: ./runner-proxy/src/identity/principal.ts
const NO_IDENTITY = Object.freeze({ kind: 'none', claims: Object.freeze({}), readOnly: false });
/** The claims worth keeping in the manifest: enough to say which run it was, nothing personal beyond the actor. */
const RECORDED_CLAIMS = [
    'iss', 'sub', 'aud',
    // GitHub
    'repository', 'repository_id', 'repository_owner', 'repository_owner_id', 'ref', 'ref_type', 'sha', 'workflow',
    'workflow_ref', 'job_workflow_ref', 'run_id', 'run_number', 'run_attempt', 'actor', 'actor_id', 'event_name',
    'environment', 'runner_environment', 'base_ref', 'head_ref',
    // GitLab
    'project_id', 'project_path', 'namespace_path', 'pipeline_id', 'pipeline_source', 'job_id', 'user_login',
    'ref_protected', 'ref_path',
];
/** The principal as the record and the manifest keep it. */
function principalRecord(p) {
    return { kind: p.kind, issuer: p.issuer, subject: p.subject, claims: p.claims, read_only: p.readOnly };
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/canonical.ts

/** Node's one-shot digest (20.12 and later), about half the cost of createHash for a short event. */
const oneShotHash = external_node_crypto_.hash;
/** JSON with keys sorted at every level and no whitespace: the form that is hashed and signed. */
function canonical(value) {
    if (value === null || typeof value !== 'object')
        return JSON.stringify(value) ?? 'null';
    if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++)
            out += `${i ? ',' : ''}${value[i] === undefined ? 'null' : canonical(value[i])}`;
        return `${out}]`;
    }
    const record = value;
    let out = '{';
    for (const key of Object.keys(record).sort()) {
        const v = record[key];
        if (v === undefined)
            continue;
        out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${canonical(v)}`;
    }
    return `${out}}`;
}
const GENESIS = '0'.repeat(64);
/** hash = sha256(prev ‖ canonical(event without its hash)), given that canonical text. */
function chainHash(prev, canonicalEvent) {
    return oneShotHash('sha256', prev + canonicalEvent, 'hex');
}
function sha256Hex(data) {
    return oneShotHash('sha256', data, 'hex');
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/recorder.ts




const EVENTS_FILE = 'events.jsonl';
const MANIFEST_FILE = 'manifest.json';
/** Queued bytes past which the queue is written at once rather than at the next interval. */
const FLUSH_BYTES = 256 * 1024;
/**
 * Appends hash-chained events to events.jsonl. Appending is synchronous and cheap: the chain is
 * computed at once and the line queued; queued lines reach the file in one write every few
 * milliseconds. `durable()` writes and fsyncs, and is awaited before a block or an approval takes
 * effect. After any write error the recorder refuses every further event, so the gateway fails closed.
 */
class Recorder {
    dir;
    #fd;
    #now;
    #flushIntervalMs;
    #seq = 0;
    #head = GENESIS;
    #queue = [];
    #queuedBytes = 0;
    #timer;
    /** The last timestamp made, by millisecond: many events share one under load. */
    #lastMs = -1;
    #lastTs = '';
    #failure;
    #closed = false;
    constructor(dir, fd, options) {
        this.dir = dir;
        this.#fd = fd;
        this.#now = options.now ?? Date.now;
        this.#flushIntervalMs = options.flushIntervalMs ?? 10;
    }
    /** Creates the bundle directory; refuses one that already holds a session, so no evidence is overwritten. */
    static async create(dir, options = {}) {
        try {
            (0,external_node_fs_.mkdirSync)(dir, { recursive: true, mode: 0o700 });
        }
        catch (cause) {
            throw new GovernError(ErrorCode.RecordingFailed, `cannot create the session directory ${dir}: ${cause.message}`, { cause });
        }
        if ((0,external_node_fs_.existsSync)((0,external_node_path_.join)(dir, EVENTS_FILE)) || (0,external_node_fs_.existsSync)((0,external_node_path_.join)(dir, MANIFEST_FILE))) {
            throw new GovernError(ErrorCode.RecordingFailed, `${dir} already holds a recorded session; move it away or choose another --out`);
        }
        let fd;
        try {
            fd = (0,external_node_fs_.openSync)((0,external_node_path_.join)(dir, EVENTS_FILE), external_node_fs_.constants.O_WRONLY | external_node_fs_.constants.O_CREAT | external_node_fs_.constants.O_EXCL | external_node_fs_.constants.O_APPEND, 0o600);
        }
        catch (cause) {
            throw new GovernError(ErrorCode.RecordingFailed, `cannot create ${(0,external_node_path_.join)(dir, EVENTS_FILE)}: ${cause.message}`, { cause });
        }
        return new Recorder(dir, fd, options);
    }
    get failure() {
        return this.#failure;
    }
    get head() {
        return { count: this.#seq, hash: this.#head };
    }
    /**
     * Adds an event to the chain and returns its sequence number; throws when recording has failed,
     * which must refuse the operation.
     */
    append(type, fields = {}) {
        if (this.#failure)
            throw this.#failure;
        if (this.#closed)
            throw new GovernError(ErrorCode.RecordingFailed, 'the session recording is already closed');
        const body = { seq: this.#seq + 1, ts: this.#timestamp(), type, ...fields, prev: this.#head };
        // The line is the canonical form with the hash added last: verify takes the hash off and recomputes.
        const canon = canonical(body);
        const hash = chainHash(this.#head, canon);
        this.#seq = body.seq;
        this.#head = hash;
        const line = `${canon.slice(0, -1)},"hash":"${hash}"}\n`;
        this.#queue.push(line);
        this.#queuedBytes += line.length;
        if (this.#queuedBytes >= FLUSH_BYTES)
            this.#flush();
        else
            this.#timer ??= setTimeout(() => this.#flush(), this.#flushIntervalMs).unref();
        return body.seq;
    }
    #timestamp() {
        const ms = this.#now();
        if (ms !== this.#lastMs)
            [this.#lastMs, this.#lastTs] = [ms, new Date(ms).toISOString()];
        return this.#lastTs;
    }
    /** Resolves once every event appended so far is on disk; rejects when it cannot be. */
    async durable() {
        this.#flush();
        if (this.#failure)
            throw this.#failure;
        await new Promise((resolve, reject) => (0,external_node_fs_.fsync)(this.#fd, (cause) => {
            if (!cause)
                return resolve();
            reject(this.#fail(cause));
        }));
    }
    async close() {
        if (this.#closed)
            return;
        try {
            await this.durable();
        }
        finally {
            this.#closed = true;
            try {
                (0,external_node_fs_.closeSync)(this.#fd);
            }
            catch {
                // Already failed; the failure is what is reported.
            }
        }
    }
    /** Writes the queue in one go; the first failure poisons the recorder for good. */
    #flush() {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        if (this.#queue.length === 0 || this.#failure)
            return;
        const chunk = Buffer.from(this.#queue.join(''));
        this.#queue = [];
        this.#queuedBytes = 0;
        try {
            for (let written = 0; written < chunk.length;)
                written += (0,external_node_fs_.writeSync)(this.#fd, chunk, written);
        }
        catch (cause) {
            this.#fail(cause);
        }
    }
    #fail(cause) {
        this.#failure ??= new GovernError(ErrorCode.RecordingFailed, `cannot write the session recording in ${this.dir}: ${cause.message}; new operations are refused`, { cause });
        return this.#failure;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/bundle.ts





const BUNDLE_FORMAT = 'govern-session/1';
/** A per-run Ed25519 key: the private half lives only in the gateway's memory and dies with it. */
class SessionSigner {
    #privateKey;
    /** "ed25519:<base64url of the raw 32-byte key>", as printed in the job log and summary. */
    publicKey;
    constructor() {
        const { privateKey, publicKey } = (0,external_node_crypto_.generateKeyPairSync)('ed25519');
        this.#privateKey = privateKey;
        this.publicKey = `ed25519:${publicKey.export({ format: 'jwk' }).x}`;
    }
    sign(body) {
        return (0,external_node_crypto_.sign)(null, Buffer.from(canonical(body)), this.#privateKey).toString('base64url');
    }
}
function publicKeyObject(publicKey) {
    const x = publicKey.replace(/^ed25519:/, '');
    return (0,external_node_crypto_.createPublicKey)({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
}
function signatureValid(manifest) {
    const { signature, ...body } = manifest;
    try {
        return (0,external_node_crypto_.verify)(null, Buffer.from(canonical(body)), publicKeyObject(manifest.public_key), Buffer.from(signature, 'base64url'));
    }
    catch {
        return false;
    }
}
/** Every file of the bundle but the manifest, by its path inside the bundle. */
function bundleFiles(dir) {
    const out = [];
    const walk = (d) => {
        for (const name of (0,external_node_fs_.readdirSync)(d).sort()) {
            const path = (0,external_node_path_.join)(d, name);
            if ((0,external_node_fs_.statSync)(path).isDirectory())
                walk(path);
            else
                out.push((0,external_node_path_.relative)(dir, path));
        }
    };
    walk(dir);
    return out.filter((f) => f !== MANIFEST_FILE && f !== EVENTS_FILE && !isRuntimeFile(f));
}
/** Files the running gateway keeps beside the bundle, which are not part of it. */
function isRuntimeFile(name) {
    return name === 'gateway.json' || name === 'gateway.log' || name.endsWith('.sock');
}
function writeManifest(dir, body, signer) {
    const files = { [EVENTS_FILE]: sha256Hex((0,external_node_fs_.readFileSync)((0,external_node_path_.join)(dir, EVENTS_FILE))) };
    for (const f of bundleFiles(dir))
        files[f] = sha256Hex((0,external_node_fs_.readFileSync)((0,external_node_path_.join)(dir, f)));
    const full = { format: BUNDLE_FORMAT, ...body, files, public_key: signer.publicKey };
    const manifest = { ...full, signature: signer.sign(full) };
    (0,external_node_fs_.writeFileSync)((0,external_node_path_.join)(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
    return manifest;
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/report.ts
/**
 * The session as HTML: the job summary on GitHub, and report.html in the bundle. Every value is
 * escaped: statements, claims and names come from the job and the target, not from us.
 */
/** Every value that reaches the job summary passes through here: SQL text and claims are not HTML. */
function escapeHtml(value) {
    return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
const report_short = (text, max = 160) => {
    const s = String(text ?? '').replace(/\s+/g, ' ').trim();
    return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};
/** Operations with what became of them: the result, or the approval's outcome. */
function outcomes(events) {
    const byOp = new Map();
    for (const e of events) {
        if (e.type === 'operation') {
            byOp.set(e.seq, { seq: e.seq, connection: String(e.connection), text: String(e.text), verdict: String(e.enforced ?? e.verdict), ...(e.rule !== undefined && { rule: String(e.rule) }) });
        }
        else if (e.type === 'result') {
            const o = byOp.get(e.op);
            if (o)
                Object.assign(o, { rows: e.rows, masked: e.masked });
        }
        else if (e.type === 'approval.requested') {
            const o = byOp.get(e.op);
            if (o)
                o.requestId = String(e.request_id);
        }
        else if (e.type === 'approval.decided') {
            const o = byOp.get(e.op);
            if (o)
                Object.assign(o, { verdict: e.outcome === 'approved' ? 'approved' : e.outcome === 'timeout' ? 'timed out' : 'denied', decidedBy: String(e.by) });
        }
    }
    return [...byOp.values()];
}
/** Identity, connections, counts, the operations with their verdicts, and the signing key. */
function sessionHtml(manifest, events, { problem, manifestDigest, maxRows = Infinity } = {}) {
    const ops = outcomes(events);
    const claims = manifest?.identity?.claims ?? {};
    const counts = manifest?.counts;
    const parts = ['<h2>govern session</h2>'];
    if (problem)
        parts.push(`<p><strong>The session bundle is incomplete:</strong> ${escapeHtml(problem)}</p>`);
    const who = ['repository', 'ref', 'event_name', 'actor', 'run_id'].filter((k) => claims[k] !== undefined).map((k) => `${k} <code>${escapeHtml(claims[k])}</code>`);
    parts.push(`<p>Identity: ${who.length ? who.join(', ') : 'none'}</p>`);
    if (manifest?.connections.length) {
        parts.push(`<p>Connections: ${manifest.connections.map((c) => `<code>${escapeHtml(c.name)}</code> (${escapeHtml(c.protocol)} ${escapeHtml(c.target)} as <code>$${escapeHtml(c.export)}</code>)`).join(', ')}</p>`);
    }
    if (counts) {
        parts.push(`<p>${counts.operations} operations: ${counts.allowed} allowed, ${counts.blocked} blocked, ${counts.approved} approved, ${counts.denied} denied; ${counts.masked_values} values masked.</p>`);
    }
    if (ops.length === 0 && (counts?.operations ?? 0) > 0)
        parts.push('<p>The operations are in events.jsonl: <code>govern replay</code> shows them.</p>');
    if (ops.length) {
        const rows = ops.slice(0, maxRows).map((o) => `<tr><td>${o.seq}</td><td>${escapeHtml(o.connection)}</td><td><code>${escapeHtml(report_short(o.text))}</code></td><td>${escapeHtml(o.verdict)}</td>` +
            `<td>${escapeHtml(o.rule ?? '')}${o.requestId ? ` (${escapeHtml(o.requestId)}${o.decidedBy ? `, by ${escapeHtml(o.decidedBy)}` : ''})` : ''}</td><td>${o.rows ?? ''}</td><td>${o.masked ?? ''}</td></tr>`);
        parts.push('<table><tr><th>#</th><th>connection</th><th>operation</th><th>verdict</th><th>rule</th><th>rows</th><th>masked</th></tr>', ...rows, '</table>');
        if (ops.length > maxRows)
            parts.push(`<p>${ops.length - maxRows} more operations are in the bundle.</p>`);
    }
    if (manifest)
        parts.push(`<p>Signed by <code>${escapeHtml(manifest.public_key)}</code>; chain head <code>${escapeHtml(manifest.events.head)}</code>${manifestDigest ? `; manifest sha256 <code>${escapeHtml(manifestDigest)}</code>` : ''}. Check it with <code>govern verify</code>.</p>`);
    return `${parts.join('\n')}\n`;
}
/** report.html: a self-contained page with the whole session, written into the bundle and signed with it. */
function reportPage(manifest, events) {
    const style = 'body{font:14px/1.45 system-ui,sans-serif;margin:2em;max-width:72em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}code{font-size:90%}';
    return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>govern session</title><style>${style}</style></head><body>\n${sessionHtml(manifest, events)}</body></html>\n`;
}

;// CONCATENATED MODULE: ./runner-proxy/src/gateway/gateway.ts











/** The bundle's self-contained viewer. */
const REPORT_FILE = 'report.html';
const REPORT_MAX_EVENTS_BYTES = 32 * 1024 * 1024;
/**
 * One run of the gateway: the recording, the governor, and a loopback listener per connection.
 * `start` returns once every listener is ready; `stop` drains, then finalizes and signs the bundle.
 */
class Gateway {
    sessionId = (0,external_node_crypto_.randomUUID)();
    governor;
    signer = new SessionSigner();
    #options;
    #connections = [];
    #startedAt;
    #stopping;
    #markStopped;
    /** Settles once the bundle is finalized, whoever asked for the stop. */
    stopped = new Promise((resolve) => (this.#markStopped = resolve));
    constructor(options, recorder) {
        this.#options = options;
        this.#startedAt = new Date((options.now ?? Date.now)()).toISOString();
        this.governor = new Governor({
            policy: options.policy,
            principal: options.principal,
            recorder,
            masker: new Masker(),
            approvals: new Approvals({
                spec: options.policy.approvals,
                recorder,
                warn: (m) => options.log.warn(m),
                ...(options.approvalProvider && { provider: options.approvalProvider }),
                ...(options.now && { now: options.now }),
            }),
        });
    }
    static async start(options) {
        const recorder = await Recorder.create(options.outDir, options.now ? { now: options.now } : {});
        const gateway = new Gateway(options, recorder);
        const { policy, principal } = options;
        recorder.append('session.start', {
            session_id: gateway.sessionId,
            identity: principalRecord(principal),
            policy: { file: policy.file, sha256: policy.sha256, mode: policy.mode },
            public_key: gateway.signer.publicKey,
            pid: process.pid,
        });
        await recorder.durable();
        try {
            for (const connection of policy.connections) {
                const adapter = options.adapters.get(connection.protocol);
                if (!adapter) {
                    throw new GovernError(ErrorCode.AdapterUnavailable, `connection "${connection.name}" uses ${connection.protocol}, which this build of govern cannot serve yet`);
                }
                const listener = await adapter.listen({ connection, governor: gateway.governor, log: options.log });
                gateway.#connections.push({ name: connection.name, protocol: connection.protocol, export: connection.export, target: listener.target, listener });
                recorder.append('listener.ready', { connection: connection.name, protocol: connection.protocol, target: listener.target, exports: Object.keys(listener.exports) });
            }
        }
        catch (e) {
            // The bundle still tells what happened: it ends, signed, with the reason the gateway did not start.
            await gateway.stop(`failed to start: ${e.message}`).catch(() => undefined);
            throw e;
        }
        return gateway;
    }
    get outDir() {
        return this.#options.outDir;
    }
    /** The variables the job gets: one loopback address per connection. */
    exports() {
        return Object.assign({}, ...this.#connections.map((c) => c.listener.exports));
    }
    /** The job-scoped secrets inside the exports, for `::add-mask::` and the like. */
    secrets() {
        return this.#connections.flatMap((c) => c.listener.secrets);
    }
    status() {
        return {
            session_id: this.sessionId,
            pid: process.pid,
            out_dir: this.#options.outDir,
            public_key: this.signer.publicKey,
            identity: this.#options.principal,
            mode: this.#options.policy.mode,
            connections: this.#connections.map(({ name, protocol, export: exp, target }) => ({ name, protocol, export: exp, target })),
            counts: { ...this.governor.counts },
            pending: this.governor.approvals.pending(),
        };
    }
    /** Drains, denies what still waits for approval, and writes the signed manifest. Idempotent. */
    stop(reason) {
        this.#stopping ??= this.#finalize(reason).then((manifest) => {
            this.#markStopped(manifest);
            return manifest;
        });
        return this.#stopping;
    }
    async #finalize(reason) {
        const { policy, principal, outDir } = this.#options;
        this.governor.approvals.denyAll('the gateway stopped');
        const drainMs = this.#options.drainMs ?? 10_000;
        await Promise.all(this.#connections.map((c) => c.listener.close(drainMs)));
        const recorder = this.governor.recorder;
        const counts = { ...this.governor.counts };
        if (!recorder.failure)
            recorder.append('session.end', { reason, counts });
        await recorder.close().catch(() => undefined);
        if (recorder.failure)
            this.#options.log.warn(recorder.failure.message);
        const body = {
            session_id: this.sessionId,
            started_at: this.#startedAt,
            ended_at: new Date((this.#options.now ?? Date.now)()).toISOString(),
            end_reason: reason,
            identity: principalRecord(principal),
            policy: { file: policy.file, sha256: policy.sha256, mode: policy.mode },
            connections: this.#connections.map(({ name, protocol, export: exp, target }) => ({ name, protocol, export: exp, target })),
            counts,
            events: { count: recorder.head.count, head: recorder.head.hash },
        };
        // The report is written before the manifest, so the signature covers it too. A very long session's
        // report keeps the facts only: its operations are for `govern replay`, not for one page.
        const eventsPath = (0,external_node_path_.join)(outDir, EVENTS_FILE);
        const events = (0,external_node_fs_.statSync)(eventsPath).size <= REPORT_MAX_EVENTS_BYTES ? (0,external_node_fs_.readFileSync)(eventsPath, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line)) : [];
        (0,external_node_fs_.writeFileSync)((0,external_node_path_.join)(outDir, REPORT_FILE), reportPage({ ...body, public_key: this.signer.publicKey }, events));
        return writeManifest(outDir, body, this.signer);
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/gateway/summary.ts
/** The end-of-run summary for the job log: counts, where the bundle is, and the key that signed it. */
function formatSummary(manifest, outDir) {
    const c = manifest.counts;
    const identity = manifest.identity;
    const claims = identity.claims ?? {};
    const who = identity.kind === 'none'
        ? 'none (the policy has no identity section)'
        : [claims.repository ?? claims.project_path, claims.ref, claims.event_name ?? claims.pipeline_source, claims.run_id ?? claims.pipeline_id]
            .filter((v) => v !== undefined)
            .join(' · ') || String(identity.issuer);
    const lines = [
        'govern session',
        `  identity     ${who}${identity.read_only ? ' (read-only)' : ''}`,
        `  policy       ${manifest.policy.file} (${manifest.policy.mode}, sha256 ${manifest.policy.sha256.slice(0, 12)})`,
        ...manifest.connections.map((conn) => `  connection   ${conn.name}: ${conn.protocol} ${conn.target} as $${conn.export}`),
        `  operations   ${c.operations}: ${c.allowed} allowed, ${c.blocked} blocked, ${c.approved} approved, ${c.denied} denied`,
        `  masked       ${c.masked_values} values`,
        `  bundle       ${outDir} (${manifest.events.count} events, head ${manifest.events.head.slice(0, 12)})`,
        `  signed by    ${manifest.public_key}`,
    ];
    return `${lines.join('\n')}\n`;
}

;// CONCATENATED MODULE: ./runner-proxy/src/identity/token-source.ts

/** GitLab's id_tokens variable; also the variable the action hands the gateway. */
const GOVERN_ID_TOKEN = 'GOVERN_ID_TOKEN';
/**
 * Finds the job's OIDC token: a named variable, GOVERN_ID_TOKEN (GitLab's id_tokens, or set by the action),
 * or GitHub's token request service when the job has `permissions: id-token: write`.
 */
async function obtainToken({ env, tokenEnv, audience }) {
    if (tokenEnv) {
        const token = env[tokenEnv];
        if (!token)
            throw new GovernError(ErrorCode.TokenMissing, `--token-env names ${tokenEnv}, but that variable is empty or not set`);
        return { token, source: `$${tokenEnv}`, variable: tokenEnv };
    }
    const fromEnv = env[GOVERN_ID_TOKEN];
    if (fromEnv)
        return { token: fromEnv, source: `$${GOVERN_ID_TOKEN}`, variable: GOVERN_ID_TOKEN };
    const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
    const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    if (requestUrl && requestToken) {
        return { token: await requestGitHubToken(requestUrl, requestToken, audience), source: 'GitHub Actions OIDC' };
    }
    return undefined;
}
/** The same request @actions/core's getIDToken makes. */
async function requestGitHubToken(requestUrl, requestToken, audience) {
    const url = `${requestUrl}&audience=${encodeURIComponent(audience)}`;
    let response;
    try {
        response = await fetch(url, { headers: { Authorization: `Bearer ${requestToken}`, Accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
    }
    catch (cause) {
        throw new GovernError(ErrorCode.TokenMissing, `cannot reach GitHub's OIDC token service: ${cause.message}`, { cause });
    }
    if (!response.ok) {
        throw new GovernError(ErrorCode.TokenMissing, `GitHub's OIDC token service answered HTTP ${response.status}; does the job have permissions: id-token: write?`);
    }
    const body = (await response.json().catch(() => ({})));
    if (typeof body.value !== 'string')
        throw new GovernError(ErrorCode.TokenMissing, "GitHub's OIDC token service returned no token");
    return body.value;
}
const NO_TOKEN_HELP = 'no OIDC token found: on GitHub grant `permissions: id-token: write`, on GitLab add `id_tokens: GOVERN_ID_TOKEN`, elsewhere pass --token-env NAME';

// EXTERNAL MODULE: ./node_modules/jose/dist/webapi/util/decode_jwt.js
var decode_jwt = __webpack_require__(7961);
// EXTERNAL MODULE: ./node_modules/jose/dist/webapi/jwt/verify.js + 2 modules
var verify = __webpack_require__(4490);
// EXTERNAL MODULE: ./node_modules/jose/dist/webapi/util/errors.js
var errors = __webpack_require__(5674);
// EXTERNAL MODULE: ./node_modules/jose/dist/webapi/jwks/remote.js + 1 modules
var remote = __webpack_require__(7315);
// EXTERNAL MODULE: ./node_modules/jose/dist/webapi/util/decode_protected_header.js
var decode_protected_header = __webpack_require__(1196);
;// CONCATENATED MODULE: ./runner-proxy/src/identity/verify.ts




const ALGORITHMS = ['RS256', 'ES256'];
const CLOCK_TOLERANCE_S = 60;
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
/** Events whose code comes from someone who may not be trusted to write: read-only unless named. */
const UNTRUSTED_EVENTS = {
    pull_request: 'event_name',
    pull_request_target: 'event_name',
    merge_request_event: 'pipeline_source',
};
/** Verifies OIDC tokens against the policy's trust entries. JWKS are fetched once per issuer and cached. */
class TokenVerifier {
    #policy;
    #now;
    #timeoutMs;
    #gitlabUrl;
    #keySets = new Map();
    constructor(policy, options = {}) {
        this.#policy = policy;
        this.#now = options.now ?? (() => new Date());
        this.#timeoutMs = options.timeoutMs ?? 10_000;
        this.#gitlabUrl = (options.gitlabUrl ?? 'https://gitlab.com').replace(/\/+$/, '');
    }
    issuerUrl(entry) {
        if (entry.issuer === 'github')
            return GITHUB_ISSUER;
        if (entry.issuer === 'gitlab')
            return this.#gitlabUrl;
        return entry.issuer.replace(/\/+$/, '');
    }
    async verify(token) {
        const header = readHeader(token);
        let unverified;
        try {
            unverified = (0,decode_jwt/* decodeJwt */.i)(token);
        }
        catch (cause) {
            throw new TokenRejectedError('format', 'its claims are not a JSON object', { cause });
        }
        const iss = typeof unverified.iss === 'string' ? unverified.iss.replace(/\/+$/, '') : undefined;
        if (!iss)
            throw new TokenRejectedError('iss', 'token has no "iss" claim');
        const candidates = this.#policy.trust
            .map((entry, index) => ({ entry, index }))
            .filter(({ entry }) => this.issuerUrl(entry) === iss);
        if (candidates.length === 0) {
            const trusted = [...new Set(this.#policy.trust.map((e) => this.issuerUrl(e)))].join(', ');
            throw new TokenRejectedError('iss', `issuer "${iss}" is not trusted; the policy trusts ${trusted}`);
        }
        const payload = await this.#verifySignatureAndTimes(token, iss, header.kid);
        const { index, entry } = matchTrust(candidates, payload);
        return principalOf(payload, iss, index, entry);
    }
    async #verifySignatureAndTimes(token, iss, kid) {
        const keys = await this.#keySet(iss);
        const now = this.#now();
        let payload;
        try {
            ({ payload } = await (0,verify/* jwtVerify */.V)(token, keys, {
                algorithms: ALGORITHMS,
                issuer: [iss, `${iss}/`],
                audience: this.#policy.audience,
                clockTolerance: CLOCK_TOLERANCE_S,
                requiredClaims: ['iss', 'aud', 'exp', 'iat'],
                currentDate: now,
            }));
        }
        catch (e) {
            throw this.#explain(e, kid, now);
        }
        const nowS = Math.floor(now.getTime() / 1000);
        if (typeof payload.iat !== 'number')
            throw new TokenRejectedError('iat', '"iat" claim is not a number');
        if (payload.iat > nowS + CLOCK_TOLERANCE_S) {
            throw new TokenRejectedError('iat', `token issued ${payload.iat - nowS} s in the future (tolerance ${CLOCK_TOLERANCE_S} s)`);
        }
        return payload;
    }
    #explain(e, kid, now) {
        const nowS = Math.floor(now.getTime() / 1000);
        if (e instanceof errors/* JWTExpired */.n) {
            return new TokenRejectedError('exp', `token expired ${nowS - Number(e.payload.exp)} s ago`, { cause: e });
        }
        if (e instanceof errors/* JWTClaimValidationFailed */.ie) {
            const { claim, reason, payload } = e;
            if (reason === 'missing')
                return new TokenRejectedError(claim, `token has no "${claim}" claim`, { cause: e });
            if (claim === 'aud') {
                const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
                return new TokenRejectedError('aud', `audience "${this.#policy.audience}" not in token aud ${JSON.stringify(aud)}`, { cause: e });
            }
            if (claim === 'nbf') {
                return new TokenRejectedError('nbf', `token not valid for another ${Number(payload.nbf) - nowS} s ("nbf" in the future)`, { cause: e });
            }
            return new TokenRejectedError(claim, `"${claim}" claim is not valid`, { cause: e });
        }
        if (e instanceof errors/* JWKSNoMatchingKey */.BT) {
            return new TokenRejectedError('kid', `no key in the issuer's JWKS matches kid ${JSON.stringify(kid ?? null)}`, { cause: e });
        }
        if (e instanceof errors/* JWSSignatureVerificationFailed */.h2) {
            return new TokenRejectedError('signature', "signature does not verify against the issuer's keys", { cause: e });
        }
        if (e instanceof errors/* JWKSTimeout */.xb || e instanceof errors/* JWKSInvalid */.Dm || (e instanceof TypeError && /fetch/i.test(e.message))) {
            return new GovernError(ErrorCode.IssuerUnreachable, `cannot fetch the issuer's keys: ${e.message}`, { cause: e });
        }
        if (e instanceof errors/* JOSEError */.i4)
            return new TokenRejectedError('format', `token is malformed: ${e.message}`, { cause: e });
        return new GovernError(ErrorCode.IssuerUnreachable, `cannot verify the token: ${e.message}`, { cause: e });
    }
    #keySet(iss) {
        let keys = this.#keySets.get(iss);
        if (!keys) {
            keys = this.#discoverJwks(iss).then((url) => (0,remote/* createRemoteJWKSet */.RD)(url, { timeoutDuration: this.#timeoutMs }));
            keys.catch(() => this.#keySets.delete(iss));
            this.#keySets.set(iss, keys);
        }
        return keys;
    }
    /** GitHub's JWKS address is fixed; every other issuer is asked through OIDC discovery. */
    async #discoverJwks(iss) {
        if (iss === GITHUB_ISSUER)
            return new URL(`${GITHUB_ISSUER}/.well-known/jwks`);
        const url = `${iss}/.well-known/openid-configuration`;
        let config;
        try {
            const response = await fetch(url, { signal: AbortSignal.timeout(this.#timeoutMs) });
            if (!response.ok)
                throw new Error(`HTTP ${response.status}`);
            config = (await response.json());
        }
        catch (cause) {
            throw new GovernError(ErrorCode.IssuerUnreachable, `cannot read the issuer's discovery document ${url}: ${cause.message}`, { cause });
        }
        if (config.issuer?.replace(/\/+$/, '') !== iss || typeof config.jwks_uri !== 'string') {
            throw new GovernError(ErrorCode.IssuerUnreachable, `the discovery document at ${url} names another issuer or no jwks_uri`);
        }
        return new URL(config.jwks_uri);
    }
}
function readHeader(token) {
    let header;
    try {
        header = (0,decode_protected_header/* decodeProtectedHeader */._)(token);
    }
    catch (cause) {
        throw new TokenRejectedError('format', 'it is not a JWT (three base64url parts with a JSON header)', { cause });
    }
    const alg = String(header.alg);
    if (alg.toLowerCase() === 'none')
        throw new TokenRejectedError('alg', 'token is unsigned (alg "none")');
    if (!ALGORITHMS.includes(alg))
        throw new TokenRejectedError('alg', `algorithm "${alg}" is not allowed; only RS256 and ES256 are`);
    for (const key of ['jwk', 'jku', 'x5u', 'x5c']) {
        if (header[key] !== undefined) {
            throw new TokenRejectedError(key, `token header carries "${key}"; keys come only from the issuer's JWKS`);
        }
    }
    return { ...(header.kid !== undefined && { kid: header.kid }) };
}
function claimMatches(actual, wanted) {
    if (actual === undefined || actual === null || typeof actual === 'object')
        return false;
    const value = String(actual);
    return (Array.isArray(wanted) ? wanted : [wanted]).some((w) => typeof w === 'string' ? globMatcher(w, { separator: '/' })(value) : String(w) === value);
}
function matchTrust(candidates, payload) {
    let closest;
    for (const candidate of candidates) {
        const mismatches = Object.entries(candidate.entry.claims)
            .filter(([claim, wanted]) => !claimMatches(payload[claim], wanted))
            .map(([claim, wanted]) => ({ claim, actual: payload[claim], wanted }));
        if (mismatches.length === 0)
            return candidate;
        if (!closest || mismatches.length < closest.length)
            closest = mismatches;
    }
    const m = closest[0];
    const actual = m.actual === undefined ? 'absent' : `was ${String(m.actual)}`;
    const wanted = Array.isArray(m.wanted) ? `one of ${m.wanted.join(', ')}` : String(m.wanted);
    throw new TokenRejectedError('claims', `no trust entry matched: ${m.claim} ${actual}, wanted ${wanted}`);
}
function principalOf(payload, iss, index, entry) {
    const claims = {};
    for (const key of RECORDED_CLAIMS)
        if (payload[key] !== undefined)
            claims[key] = payload[key];
    let readOnlyReason;
    for (const [event, claim] of Object.entries(UNTRUSTED_EVENTS)) {
        const named = entry.claims[claim];
        const namesEvent = named !== undefined && (Array.isArray(named) ? named : [named]).includes(event);
        if (payload[claim] === event && !namesEvent) {
            readOnlyReason = `a ${event} run may only read; name ${claim}: ${event} in a trust entry to let it write`;
        }
    }
    return {
        kind: 'oidc',
        issuer: iss,
        ...(typeof payload.sub === 'string' && { subject: payload.sub }),
        claims,
        trustEntry: index,
        readOnly: readOnlyReason !== undefined,
        ...(readOnlyReason && { readOnlyReason }),
    };
}

// EXTERNAL MODULE: ./node_modules/ajv/dist/ajv.js
var ajv = __webpack_require__(2463);
// EXTERNAL MODULE: ./node_modules/yaml/dist/index.js
var dist = __webpack_require__(8815);
;// CONCATENATED MODULE: ./runner-proxy/src/policy/policy.schema.json
const policy_schema_namespaceObject = /*#__PURE__*/JSON.parse('{"$schema":"http://json-schema.org/draft-07/schema#","$id":"https://github.com/hoop/govern/policy.schema.json","title":"govern policy","description":"The policy file of govern (.github/govern.yml or .govern.yml). See SPEC §3.","type":"object","additionalProperties":false,"required":["version"],"properties":{"version":{"const":1,"description":"The policy format version; only 1 exists."},"identity":{"type":"object","additionalProperties":false,"required":["audience","trust"],"description":"Who may run this pipeline. Absent: the run is recorded as identity \\"none\\", with a warning.","properties":{"audience":{"type":"string","minLength":1,"description":"The token\'s aud must contain it."},"trust":{"type":"array","minItems":1,"description":"The token must match at least one entry; every claim listed in an entry must match.","items":{"type":"object","additionalProperties":false,"required":["issuer"],"properties":{"issuer":{"type":"string","description":"github, gitlab, or an https issuer URL (OIDC discovery). Plain http only for a loopback issuer."},"claims":{"type":"object","description":"Claim name to an exact value, a glob (* never crosses \'/\', ** does) or a list meaning any of.","additionalProperties":{"oneOf":[{"type":["string","number","boolean"]},{"type":"array","minItems":1,"items":{"type":["string","number","boolean"]}}]}}}}}}},"connections":{"type":"object","description":"The targets the job reaches through the gateway, by name.","propertyNames":{"pattern":"^[A-Za-z][A-Za-z0-9_-]*$"},"additionalProperties":{"$ref":"#/definitions/connection"}},"rules":{"type":"array","description":"Every operation is checked against every rule. Precedence: block beats approve beats allow; masks accumulate.","items":{"$ref":"#/definitions/rule"}},"approvals":{"type":"object","additionalProperties":false,"properties":{"via":{"enum":["github","gitlab","cli"],"description":"Where approvers answer."},"approvers":{"type":"array","items":{"type":"string","minLength":1},"description":"User names, or @org/team."},"timeout":{"type":"string","pattern":"^[0-9]+(ms|s|m|h)$","description":"How long an operation waits before it is denied, e.g. 15m."},"allow_self_approval":{"type":"boolean","description":"Whether the run\'s own actor may approve."},"max_pending":{"type":"integer","minimum":1,"description":"How many operations may wait at once."}}},"recording":{"type":"object","additionalProperties":false,"properties":{"results":{"enum":["none","summary","masked"],"description":"none, summary (counts, sizes) or masked (masked values too)."}}},"mode":{"enum":["enforce","observe"],"description":"observe: decide and record, but let everything through."}},"definitions":{"exportName":{"type":"string","pattern":"^[A-Z_][A-Z0-9_]*$"},"connection":{"type":"object","additionalProperties":false,"required":["export"],"properties":{"export":{"$ref":"#/definitions/exportName","description":"The variable the job gets for this connection."},"postgres":{"type":"object","additionalProperties":false,"required":["url"],"properties":{"url":{"type":"string","description":"postgres://user:password@host:port/db?sslmode=…, usually ${VAR}."},"ca":{"type":"string","description":"PEM of the CA that signs the target\'s certificate."}}},"ssh":{"type":"object","additionalProperties":false,"required":["host","user"],"properties":{"host":{"type":"string"},"port":{"type":"integer","minimum":1,"maximum":65535},"user":{"type":"string"},"private_key":{"type":"string"},"password":{"type":"string"},"known_hosts":{"type":"string","description":"The target\'s host key line(s); the gateway pins it."}}},"http":{"type":"object","additionalProperties":false,"required":["url"],"properties":{"url":{"type":"string"},"headers":{"type":"object","additionalProperties":{"type":"string"}}}}}},"stringOrList":{"oneOf":[{"type":"string"},{"type":"array","minItems":1,"items":{"type":"string"}}]},"sqlClasses":{"type":"array","minItems":1,"items":{"enum":["read","write","insert","update","delete","merge","delete_without_where","update_without_where","ddl","create","alter","drop","truncate","grant","set_role","alter_system","copy_from","copy_to","copy_program","dangerous_function","function_call","startup_options","replication","maintenance","lock","notify","transaction","session","unknown"]},"description":"PostgreSQL statement classes; a statement has every class of its worst effect."},"shellPatterns":{"type":"array","minItems":1,"items":{"type":"string","minLength":1},"description":"Commands, as a program name and the arguments it must carry (\\"rm -rf\\"), or unknown."},"httpPatterns":{"type":"array","minItems":1,"items":{"type":"string","minLength":1},"description":"\\"METHOD /path/glob\\", \\"METHOD\\", \\"/path/glob\\", or unknown."},"condition":{"type":"object","additionalProperties":false,"minProperties":1,"properties":{"sql":{"$ref":"#/definitions/sqlClasses"},"shell":{"$ref":"#/definitions/shellPatterns"},"http":{"$ref":"#/definitions/httpPatterns"},"json":{"type":"string","minLength":1,"description":"A condition on the JSON body, e.g. payment_amount > 1000."}}},"rule":{"type":"object","additionalProperties":false,"required":["name"],"properties":{"name":{"type":"string","pattern":"^[A-Za-z0-9][A-Za-z0-9_.-]*$"},"when":{"type":"object","additionalProperties":false,"minProperties":1,"description":"Narrows the rule to some operations.","properties":{"connection":{"$ref":"#/definitions/stringOrList"},"method":{"$ref":"#/definitions/stringOrList"},"path":{"$ref":"#/definitions/stringOrList"}}},"mask":{"type":"object","additionalProperties":false,"minProperties":1,"properties":{"columns":{"type":"array","items":{"type":"string","minLength":1},"description":"table.column globs."},"types":{"type":"array","items":{"enum":["credit_card","us_ssn","email","iban","phone","aws_key","bearer_token","private_key"]}},"json":{"type":"array","items":{"type":"string","pattern":"^\\\\$"},"description":"JSONPath-like selectors: $.a.b, $..ssn, $.items[*].card."},"on":{"enum":["read","write"],"description":"read (default) masks what comes back; write masks what goes to the target."},"strategy":{"enum":["redact","partial","hash"]}}},"block":{"$ref":"#/definitions/condition"},"approve":{"$ref":"#/definitions/condition"},"allow":{"$ref":"#/definitions/condition"}}}}}');
;// CONCATENATED MODULE: ./runner-proxy/src/policy/load.ts









const PROTOCOLS = ['postgres', 'ssh', 'http'];
const ACTIONS = ['mask', 'block', 'approve', 'allow'];
const VARIABLE = /\$\{([^}]*)\}/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DEFAULT_TIMEOUT = '15m';
const DEFAULT_MAX_PENDING = 20;
/** One validator for the life of the process; Ajv compiles the schema to code. */
let validator;
function validate(data) {
    validator ??= new ajv.Ajv({ allErrors: true, verbose: true, strict: false }).compile(policy_schema_namespaceObject);
    return validator(data) ? [] : [...(validator.errors ?? [])];
}
const DEFAULT_POLICIES = ['.github/govern.yml', '.govern.yml'];
/** The policy file to use: the one given, else .github/govern.yml, else .govern.yml. */
function findPolicy(explicit) {
    if (explicit)
        return explicit;
    const found = DEFAULT_POLICIES.find((p) => (0,external_node_fs_.existsSync)(p));
    if (!found)
        throw new GovernError(ErrorCode.PolicyNotFound, `no policy file: pass --policy FILE or create ${DEFAULT_POLICIES.join(' or ')}`);
    return found;
}
/** Reads, validates and resolves a policy file; throws PolicyError listing every problem found. */
function loadPolicy(file, options) {
    let bytes;
    try {
        bytes = (0,external_node_fs_.readFileSync)(file);
    }
    catch (cause) {
        throw new GovernError(ErrorCode.PolicyNotFound, `cannot read the policy file ${file}: ${cause.message}`, { cause });
    }
    return parsePolicy(file, bytes, options);
}
function parsePolicy(file, bytes, options) {
    const lineCounter = new dist/* LineCounter */.HN();
    const doc = (0,dist/* parseDocument */.Tp)(bytes.toString('utf8'), { lineCounter, prettyErrors: true, uniqueKeys: true });
    const problems = [];
    const at = (offset, message) => {
        const { line, col } = lineCounter.linePos(offset);
        problems.push({ file, line, col, message });
    };
    for (const e of doc.errors)
        at(e.pos[0], e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''));
    if (problems.length)
        throw new PolicyError(problems);
    const located = new Located(doc, at);
    const data = doc.toJS();
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
        at(0, 'the policy must be a mapping with at least "version: 1"');
        throw new PolicyError(problems);
    }
    for (const error of collapse(validate(data)))
        located.report(error);
    if (problems.length)
        throw new PolicyError(problems);
    const raw = data;
    const variables = new Set();
    const policy = {
        file,
        sha256: (0,external_node_crypto_.createHash)('sha256').update(bytes).digest('hex'),
        identity: raw.identity && {
            audience: raw.identity.audience,
            trust: raw.identity.trust.map((t, i) => checkTrust(t, ['identity', 'trust', i], located)),
        },
        connections: Object.entries(raw.connections ?? {}).map(([name, c]) => checkConnection(name, c, located, options, variables)),
        rules: (raw.rules ?? []).map((r, i) => checkRule(r, ['rules', i], located)),
        approvals: approvalsOf(raw.approvals, located),
        recording: { results: raw.recording?.results ?? 'summary' },
        mode: raw.mode ?? 'enforce',
        variables: [...variables],
    };
    crossCheck(policy, raw, located);
    findStrayVariables(doc, located);
    if (problems.length)
        throw new PolicyError(problems);
    return policy;
}
// ---- locating problems in the YAML ----
class Located {
    doc;
    at;
    constructor(doc, at) {
        this.doc = doc;
        this.at = at;
    }
    node(path) {
        return (path.length ? this.doc.getIn(path, true) : this.doc.contents);
    }
    /** Reports at the node's position, or its nearest ancestor that exists. */
    problem(path, message) {
        for (let p = path;; p = p.slice(0, -1)) {
            const node = this.node(p);
            if (node?.range)
                return this.at(node.range[0], message);
            if (p.length === 0)
                return this.at(0, message);
        }
    }
    /** Reports at a mapping's key, so "unknown key" points at the key itself. */
    keyProblem(path, key, message) {
        const map = this.node(path);
        if ((0,dist/* isMap */.jh)(map)) {
            for (const pair of map.items) {
                if ((0,dist/* isPair */.tO)(pair) && (0,dist/* isScalar */.jn)(pair.key) && pair.key.value === key && pair.key.range) {
                    return this.at(pair.key.range[0], message);
                }
            }
        }
        this.problem(path, message);
    }
    report(error) {
        const path = pointerToPath(error.instancePath);
        const where = describePath(path);
        const p = error.params;
        switch (error.keyword) {
            case 'additionalProperties': {
                const key = String(p.additionalProperty);
                const known = Object.keys(error.parentSchema?.properties ?? {});
                const hint = closest(key, known);
                return this.keyProblem(path, key, `unknown key "${key}"${where ? ` in ${where}` : ''}${hint ? `; did you mean "${hint}"?` : `; expected one of ${known.join(', ')}`}`);
            }
            case 'required':
                return this.problem(path, `${where || 'the policy'} is missing "${String(p.missingProperty)}"`);
            case 'enum': {
                const allowed = p.allowedValues.map(String);
                const hint = closest(String(error.data), allowed);
                return this.problem(path, `${where} is "${String(error.data)}", which is not one of ${allowed.join(', ')}${hint ? `; did you mean "${hint}"?` : ''}`);
            }
            case 'const':
                return this.problem(path, `${where} must be ${JSON.stringify(p.allowedValue)}`);
            case 'type':
                return this.problem(path, `${where || 'the policy'} must be ${article(String(p.type))}`);
            case 'oneOf':
                return this.problem(path, `${where} must be ${describeAlternatives(error.schema)}`);
            case 'pattern':
                return this.problem(path, `${where} "${String(error.data)}" ${describePattern(String(p.pattern))}`);
            case 'propertyNames':
                return this.problem(path, `${where} has a name that is not a plain identifier (letters, digits, _ and -)`);
            default:
                return this.problem(path, `${where} ${error.message ?? 'is not valid'}`);
        }
    }
}
/** oneOf reports every branch's failures too; keep only the oneOf itself, which names the alternatives. */
function collapse(errors) {
    const oneOfs = errors.filter((e) => e.keyword === 'oneOf');
    const inside = (e) => oneOfs.some((o) => e !== o && e.schemaPath.startsWith(o.schemaPath.replace(/\/oneOf$/, '/oneOf/')) && e.instancePath.startsWith(o.instancePath));
    // propertyNames also reports the name's own pattern failure, without a useful path; keep the outer one.
    const aboutName = (e) => e.keyword !== 'propertyNames' && e.params.propertyName !== undefined;
    return errors.filter((e) => !inside(e) && !aboutName(e));
}
function pointerToPath(pointer) {
    if (!pointer)
        return [];
    return pointer
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}
function describePath(path) {
    let out = '';
    for (const k of path)
        out += typeof k === 'number' ? `[${k}]` : out ? `.${k}` : k;
    return out;
}
function article(type) {
    const names = { object: 'a mapping', array: 'a list', string: 'a string', integer: 'a whole number', number: 'a number', boolean: 'true or false' };
    return type.split(',').map((t) => names[t] ?? t).join(' or ');
}
function describeAlternatives(branches) {
    return branches.map((b) => article(Array.isArray(b.type) ? b.type.join(',') : String(b.type ?? 'value'))).join(', or ');
}
function describePattern(pattern) {
    if (pattern === '^[A-Z_][A-Z0-9_]*$')
        return 'must be an environment variable name (A-Z, 0-9 and _)';
    if (pattern.startsWith('^[0-9]+(ms|s|m|h)'))
        return 'must be a duration such as 90s, 15m or 2h';
    if (pattern === '^\\$')
        return 'must be a JSON selector starting with $';
    if (pattern.startsWith('^[A-Za-z0-9]'))
        return 'must use only letters, digits, _, . and -';
    return `must match ${pattern}`;
}
/** The known word a misspelling most likely meant, if one is close. */
function closest(word, candidates) {
    let best;
    let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
    for (const c of candidates) {
        const d = editDistance(word.toLowerCase(), c.toLowerCase());
        if (d < bestDistance)
            [best, bestDistance] = [c, d];
    }
    return best;
}
function editDistance(a, b) {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const row = [i];
        for (let j = 1; j <= b.length; j++) {
            row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        prev = row;
    }
    return prev[b.length];
}
const list = (v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);
function checkGlob(pattern, separator, path, located) {
    try {
        compileGlob(pattern, { separator });
    }
    catch (e) {
        if (!(e instanceof GlobSyntaxError))
            throw e;
        located.problem(path, `${describePath(path)}: bad glob ${e.message}`);
    }
}
function checkTrust(raw, path, located) {
    const issuer = raw.issuer;
    if (issuer !== 'github' && issuer !== 'gitlab') {
        let url;
        try {
            url = new URL(issuer);
        }
        catch {
            located.problem([...path, 'issuer'], `${describePath([...path, 'issuer'])} must be github, gitlab or an https URL, not "${issuer}"`);
        }
        if (url && url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
            located.problem([...path, 'issuer'], `${describePath([...path, 'issuer'])} must use https (plain http only for a loopback issuer)`);
        }
    }
    for (const [claim, value] of Object.entries(raw.claims ?? {})) {
        (Array.isArray(value) ? value : [value]).forEach((v, i) => {
            if (typeof v === 'string')
                checkGlob(v, '/', Array.isArray(value) ? [...path, 'claims', claim, i] : [...path, 'claims', claim], located);
        });
    }
    return { issuer, claims: raw.claims ?? {} };
}
function isLoopbackHost(hostname) {
    return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}
function checkConnection(name, raw, located, options, variables) {
    const path = ['connections', name];
    const protocols = PROTOCOLS.filter((p) => raw[p] !== undefined);
    if (protocols.length !== 1) {
        located.problem(path, protocols.length === 0
            ? `connection "${name}" needs one of postgres, ssh or http`
            : `connection "${name}" has ${protocols.join(' and ')}; a connection reaches exactly one target`);
    }
    const protocol = protocols[0] ?? 'http';
    const settings = resolveVariables(raw[protocol], [...path, protocol], located, options, variables);
    return { name, protocol, export: raw.export, settings };
}
/** Replaces `${VAR}` in every string of a connection's settings, collecting the names it reads. */
function resolveVariables(value, path, located, options, variables) {
    const walk = (v, p) => {
        if (typeof v === 'string') {
            return v.replace(VARIABLE, (whole, varName) => {
                if (!VARIABLE_NAME.test(varName)) {
                    located.problem(p, `${describePath(p)}: "${whole}" is not a variable reference; names use letters, digits and _`);
                    return whole;
                }
                variables.add(varName);
                if (!options.resolveVariables)
                    return whole;
                const resolved = options.env[varName];
                if (resolved === undefined || resolved === '') {
                    located.problem(p, `${describePath(p)}: variable ${varName} is not set in the gateway's environment (pass --no-env to check the file's structure only)`);
                    return whole;
                }
                return resolved;
            });
        }
        if (Array.isArray(v))
            return v.map((x, i) => walk(x, [...p, i]));
        if (v && typeof v === 'object')
            return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...p, k])]));
        return v;
    };
    return (walk(value ?? {}, path) ?? {});
}
function checkRule(raw, path, located) {
    const actions = ACTIONS.filter((a) => raw[a] !== undefined);
    if (actions.length !== 1) {
        located.problem(path, actions.length === 0
            ? `rule "${raw.name}" needs one of mask, block, approve or allow`
            : `rule "${raw.name}" has ${actions.join(' and ')}; give each action a rule of its own`);
    }
    const action = actions[0] ?? 'block';
    const when = raw.when && {
        connection: list(raw.when.connection),
        method: list(raw.when.method)?.map((m) => m.toUpperCase()),
        path: list(raw.when.path),
    };
    when?.path?.forEach((p, i) => checkGlob(p, '/', [...path, 'when', 'path', ...(Array.isArray(raw.when.path) ? [i] : [])], located));
    const rule = { name: raw.name, action, ...(when && { when }) };
    if (action === 'mask' && raw.mask) {
        const mask = {
            columns: raw.mask.columns ?? [],
            types: raw.mask.types ?? [],
            json: raw.mask.json ?? [],
            on: raw.mask.on ?? 'read',
            strategy: raw.mask.strategy ?? 'redact',
        };
        mask.columns.forEach((c, i) => {
            if (!c.includes('.'))
                located.problem([...path, 'mask', 'columns', i], `${describePath([...path, 'mask', 'columns', i])} "${c}" must name table.column (use *.${c} for any table)`);
            else
                checkGlob(c, '.', [...path, 'mask', 'columns', i], located);
        });
        mask.json.forEach((s, i) => syntax(() => compileSelector(s), [...path, 'mask', 'json', i], located));
        if (mask.on === 'write' && mask.columns.length === 0) {
            located.problem([...path, 'mask'], `rule "${raw.name}" masks on write, which needs columns: the values bound for them are replaced`);
        }
        if (mask.columns.length + mask.types.length + mask.json.length === 0) {
            located.problem([...path, 'mask'], `rule "${raw.name}" masks nothing; list columns, types or json`);
        }
        rule.mask = mask;
    }
    else if (action !== 'mask') {
        const condition = raw[action];
        if (condition.json !== undefined)
            syntax(() => compileCondition(condition.json), [...path, action, 'json'], located);
        condition.http?.forEach((pattern, i) => {
            const glob = pattern.split(/\s+/).find((part) => part.startsWith('/'));
            if (glob)
                checkGlob(glob, '/', [...path, action, 'http', i], located);
        });
        rule.condition = condition;
    }
    return rule;
}
function syntax(compile, path, located) {
    try {
        compile();
    }
    catch (e) {
        if (!(e instanceof JsonSyntaxError))
            throw e;
        located.problem(path, `${describePath(path)}: ${e.message}`);
    }
}
function parseDuration(text) {
    const m = /^(\d+)(ms|s|m|h)$/.exec(text);
    return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2]];
}
function approvalsOf(raw, located) {
    const via = raw?.via ?? 'cli';
    const approvers = raw?.approvers ?? [];
    if (via !== 'cli' && approvers.length === 0) {
        located.problem(['approvals'], `approvals via ${via} need approvers: nobody could answer a request`);
    }
    return {
        via,
        approvers,
        timeoutMs: parseDuration(raw?.timeout ?? DEFAULT_TIMEOUT),
        allowSelfApproval: raw?.allow_self_approval ?? false,
        maxPending: raw?.max_pending ?? DEFAULT_MAX_PENDING,
    };
}
function crossCheck(policy, raw, located) {
    const names = new Set(policy.connections.map((c) => c.name));
    const exports = new Map();
    for (const c of policy.connections) {
        const other = exports.get(c.export);
        if (other)
            located.problem(['connections', c.name, 'export'], `connections "${other}" and "${c.name}" both export ${c.export}`);
        exports.set(c.export, c.name);
    }
    const ruleNames = new Set();
    policy.rules.forEach((rule, i) => {
        if (ruleNames.has(rule.name))
            located.problem(['rules', i, 'name'], `rule name "${rule.name}" is used twice; names identify rules in the record`);
        ruleNames.add(rule.name);
        rule.when?.connection?.forEach((name, j) => {
            if (!names.has(name)) {
                const hint = closest(name, [...names]);
                const at = Array.isArray(raw.rules[i].when.connection) ? ['rules', i, 'when', 'connection', j] : ['rules', i, 'when', 'connection'];
                located.problem(at, `rule "${rule.name}" names connection "${name}", which the policy does not define${hint ? `; did you mean "${hint}"?` : ''}`);
            }
        });
    });
}
/** `${VAR}` is resolved only in connection settings; anywhere else it would silently stay literal. */
function findStrayVariables(doc, located) {
    const visit = (node, path) => {
        if (path[0] === 'connections' && path.length >= 3 && path[2] !== 'export')
            return;
        if ((0,dist/* isScalar */.jn)(node)) {
            if (typeof node.value === 'string' && node.value.includes('${') && node.range) {
                located.at(node.range[0], `${describePath(path)}: only connection settings take \${VAR}`);
            }
        }
        else if ((0,dist/* isMap */.jh)(node)) {
            for (const pair of node.items)
                if ((0,dist/* isScalar */.jn)(pair.key))
                    visit(pair.value, [...path, String(pair.key.value)]);
        }
        else if ((0,dist/* isSeq */.oP)(node)) {
            node.items.forEach((item, i) => visit(item, [...path, i]));
        }
    };
    visit(doc.contents, []);
}

;// CONCATENATED MODULE: ./runner-proxy/src/cli/launch.ts












const DEFAULT_OUT = 'govern-session';
async function identify(policy, env, tokenEnv, log) {
    if (!policy.identity) {
        log.warn('the policy has no identity section: this run is recorded as identity "none"');
        return { principal: NO_IDENTITY };
    }
    const obtained = await obtainToken({ env, audience: policy.identity.audience, ...(tokenEnv && { tokenEnv }) });
    if (!obtained)
        throw new GovernError(ErrorCode.TokenMissing, NO_TOKEN_HELP);
    const principal = await new TokenVerifier(policy.identity, { ...(env.CI_SERVER_URL && { gitlabUrl: env.CI_SERVER_URL }) }).verify(obtained.token);
    log.info(`identity verified from ${obtained.source}: ${principal.subject ?? principal.issuer}${principal.readOnly ? ' (read-only)' : ''}`);
    return { principal, ...(obtained.variable && { tokenVariable: obtained.variable }) };
}
/**
 * Loads the policy, verifies the identity (a rejected token stops here, before any listener opens),
 * starts the gateway and its control socket, and leaves gateway.json for later commands.
 */
async function launch({ policyPath, outDir, tokenEnv, mode, env, log }) {
    const loaded = loadPolicy(findPolicy(policyPath), { env, resolveVariables: true });
    if (mode !== undefined && mode !== 'enforce' && mode !== 'observe')
        throw new GovernError(ErrorCode.Usage, `mode must be enforce or observe, not "${mode}"`);
    const policy = mode ? { ...loaded, mode } : loaded;
    const { principal, tokenVariable } = await identify(policy, env, tokenEnv, log);
    const out = (0,external_node_path_.resolve)(outDir);
    const provider = approvalProvider(policy.approvals, principal, env, (m) => log.warn(m));
    const gateway = await Gateway.start({ policy, principal, outDir: out, adapters: builtInAdapters(), log, ...(provider && { approvalProvider: provider }) });
    const approver = `cli:${(0,external_node_os_.userInfo)().username}`;
    const socket = controlSocketPath(out);
    const control = await serveControl(socket, (request) => handleControl(gateway, request, approver));
    writeRuntimeInfo(out, {
        pid: process.pid,
        control: socket,
        session_id: gateway.sessionId,
        public_key: gateway.signer.publicKey,
        started_at: new Date().toISOString(),
        env: gateway.exports(),
        secrets: gateway.secrets(),
    });
    log.info(`gateway ready; session ${gateway.sessionId}; signing key ${gateway.signer.publicKey}`);
    return { gateway, policy, control, withheld: [...policy.variables, ...(tokenVariable ? [tokenVariable] : [])] };
}
async function handleControl(gateway, request, approver) {
    switch (request.cmd) {
        case 'status':
            return gateway.status();
        case 'stop': {
            const manifest = await gateway.stop('govern stop');
            return formatSummary(manifest, gateway.outDir);
        }
        case 'approve':
        case 'deny':
            gateway.governor.approvals.decide(request.id, request.cmd === 'approve', approver, request.reason);
            return { id: request.id, decided: request.cmd };
        default:
            throw new GovernError(ErrorCode.ControlFailed, `unknown control command ${JSON.stringify(request.cmd)}`);
    }
}
/** Stops a launched gateway in this process: finalize, close the control socket, forget the runtime file. */
async function shutdown({ gateway, control }, reason) {
    const manifest = await gateway.stop(reason);
    await new Promise((done) => control.close(done));
    removeRuntimeInfo(gateway.outDir);
    return formatSummary(manifest, gateway.outDir);
}

;// CONCATENATED MODULE: ./runner-proxy/src/gateway/job-env.ts


const ENV_FORMATS = ['shell', 'dotenv', 'github'];
/**
 * The environment the job's commands get: the caller's own, without any variable the policy reads
 * (the real credentials) or the OIDC token, plus the gateway's loopback exports.
 */
function jobEnvironment(parent, withheld, exports) {
    const env = {};
    for (const [k, v] of Object.entries(parent))
        if (v !== undefined)
            env[k] = v;
    for (const name of withheld)
        delete env[name];
    return Object.assign(env, exports);
}
/**
 * Prints exports for `eval`, for a dotenv file (GitLab artifacts:reports:dotenv), or for $GITHUB_ENV.
 * For a shell, the variables the gateway read are unset too: a job shell that held the real
 * credentials to start the gateway (GitLab CI/CD variables) no longer has them afterwards.
 */
function formatEnv(vars, format, withheld = []) {
    const entries = Object.entries(vars);
    switch (format) {
        case 'shell':
            return (entries.map(([k, v]) => `export ${k}='${v.replaceAll("'", `'\\''`)}'\n`).join('') +
                withheld.filter((name) => !(name in vars)).map((name) => `unset ${name}\n`).join(''));
        case 'dotenv':
            return entries
                .map(([k, v]) => {
                if (/[\r\n]/.test(v))
                    throw new GovernError(ErrorCode.Usage, `${k} spans several lines, which a dotenv file cannot hold; use --env-format shell`);
                return `${k}=${v}\n`;
            })
                .join('');
        case 'github':
            // The runner's multi-line syntax, with a delimiter no value can contain (as @actions/core does).
            return entries
                .map(([k, v]) => {
                const delimiter = `ghadelimiter_${(0,external_node_crypto_.randomUUID)()}`;
                return `${k}<<${delimiter}\n${v}\n${delimiter}\n`;
            })
                .join('');
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/cli/context.ts

function usage(message) {
    return new GovernError(ErrorCode.Usage, message);
}

// EXTERNAL MODULE: external "node:child_process"
var external_node_child_process_ = __webpack_require__(1421);
;// CONCATENATED MODULE: ./runner-proxy/src/cli/detach.ts




const START_TIMEOUT_MS = 60_000;
const LOG_FILE = 'gateway.log';
/**
 * Launches `govern serve` detached, its output going to DIR/gateway.log (never the caller's stdio,
 * which would keep a CI step open), and resolves once the gateway reports ready.
 */
async function startDetached({ entry, outDir: out, policy, tokenEnv, mode, env }) {
    const outDir = (0,external_node_path_.resolve)(out);
    (0,external_node_fs_.mkdirSync)(outDir, { recursive: true, mode: 0o700 });
    const logPath = (0,external_node_path_.join)(outDir, LOG_FILE);
    const logFd = (0,external_node_fs_.openSync)(logPath, 'a', 0o600);
    const args = [entry, 'serve', '--out', outDir, '--ready-fd', '3'];
    if (policy)
        args.push('--policy', (0,external_node_path_.resolve)(policy));
    if (tokenEnv)
        args.push('--token-env', tokenEnv);
    if (mode)
        args.push('--mode', mode);
    const child = (0,external_node_child_process_.spawn)(process.execPath, args, { detached: true, stdio: ['ignore', logFd, logFd, 'pipe'], env: { ...env } });
    (0,external_node_fs_.closeSync)(logFd);
    const message = await new Promise((done) => {
        const pipe = child.stdio[3];
        let buffered = '';
        const timer = setTimeout(() => done({ error: `the gateway did not report ready within ${START_TIMEOUT_MS / 1000} s; see ${logPath}` }), START_TIMEOUT_MS);
        const finish = (m) => {
            clearTimeout(timer);
            child.removeAllListeners('exit');
            pipe.destroy();
            done(m);
        };
        pipe.setEncoding('utf8');
        pipe.on('data', (chunk) => {
            buffered += chunk;
            if (buffered.includes('\n'))
                finish(JSON.parse(buffered.slice(0, buffered.indexOf('\n'))));
        });
        pipe.on('error', () => undefined);
        child.once('exit', (status) => finish({ error: `the gateway exited with status ${status} while starting; see ${logPath}` }));
    });
    child.unref();
    if (!message.ready)
        throw new GovernError(message.code ?? ErrorCode.GatewayStartFailed, message.error ?? 'the gateway failed to start');
    return { env: message.env ?? {}, secrets: message.secrets ?? [], withheld: message.withheld ?? [], publicKey: message.publicKey ?? '', pid: child.pid };
}

;// CONCATENATED MODULE: ./runner-proxy/src/cli/daemon.ts







/** `govern start`: the gateway detached, and the env to export printed in the chosen format. */
async function startCommand({ values, env, io }) {
    const format = values['env-format'];
    if (!ENV_FORMATS.includes(format))
        throw usage(`--env-format must be one of ${ENV_FORMATS.join(', ')}, not "${format}"`);
    const started = await startDetached({
        entry: io.entry,
        outDir: values.out,
        env,
        ...(values.policy !== undefined && { policy: values.policy }),
        ...(values['token-env'] !== undefined && { tokenEnv: values['token-env'] }),
        ...(values.mode !== undefined && { mode: values.mode }),
    });
    io.stdout.write(formatEnv(started.env, format, started.withheld));
    return 0;
}
/** `govern serve`: the detached gateway. Stops on `govern stop`, SIGTERM or SIGINT. */
async function serveCommand({ values, env, log }) {
    const readyFd = values['ready-fd'] === undefined ? undefined : Number(values['ready-fd']);
    const report = (m) => {
        if (readyFd === undefined)
            return;
        (0,external_node_fs_.writeSync)(readyFd, `${JSON.stringify(m)}\n`);
        (0,external_node_fs_.closeSync)(readyFd);
    };
    let launched;
    try {
        launched = await launch({ policyPath: values.policy, outDir: values.out, tokenEnv: values['token-env'], mode: values.mode, env, log });
    }
    catch (e) {
        report({ error: e.message, ...(e instanceof GovernError && { code: e.code }) });
        throw e;
    }
    const stopOnSignal = (signal) => void launched.gateway.stop(`received ${signal}`);
    process.once('SIGTERM', stopOnSignal);
    process.once('SIGINT', stopOnSignal);
    report({ ready: true, env: launched.gateway.exports(), secrets: launched.gateway.secrets(), withheld: launched.withheld, publicKey: launched.gateway.signer.publicKey });
    await launched.gateway.stopped;
    // Closing the control server waits for the stop request's answer to leave.
    log.info((await shutdown(launched, 'stopped')).trimEnd());
    return 0;
}
async function stopCommand({ values, io }) {
    const outDir = values.out;
    const { pid } = readRuntimeInfo(outDir);
    const summary = (await controlGateway(outDir, { cmd: 'stop' }, 120_000));
    io.stdout.write(summary);
    await waitForExit(pid, 10_000);
    return 0;
}
async function waitForExit(pid, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        try {
            process.kill(pid, 0);
        }
        catch {
            return;
        }
        await new Promise((r) => setTimeout(r, 50));
    }
}
async function statusCommand({ values, io }) {
    const status = (await controlGateway(values.out, { cmd: 'status' }));
    if (values.json) {
        io.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        return 0;
    }
    const c = status.counts;
    const lines = [
        `gateway pid ${status.pid}, session ${status.session_id}, mode ${status.mode}`,
        `identity: ${status.identity.kind === 'none' ? 'none' : (status.identity.subject ?? status.identity.issuer)}${status.identity.readOnly ? ' (read-only)' : ''}`,
        ...status.connections.map((conn) => `connection ${conn.name}: ${conn.protocol} ${conn.target} as $${conn.export}`),
        `operations: ${c.operations} (${c.allowed} allowed, ${c.blocked} blocked, ${c.approved} approved, ${c.denied} denied), ${c.masked_values} values masked`,
        status.pending.length ? 'waiting for approval:' : 'nothing waits for approval',
        ...status.pending.map((p) => `  ${p.id}  ${p.connection}  rule ${p.rule}  since ${p.requested_at}  ${p.operation}`),
    ];
    io.stdout.write(`${lines.join('\n')}\n`);
    return 0;
}
async function approveCommand({ values, positionals, io }, decision) {
    const [id, extra] = positionals;
    if (!id || extra)
        throw usage(`govern ${decision} takes exactly one approval id, as listed by govern status`);
    await controlGateway(values.out, { cmd: decision, id, ...(values.reason !== undefined && { reason: values.reason }) });
    io.stdout.write(`${id}: ${decision === 'approve' ? 'approved' : 'denied'}\n`);
    return 0;
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/replay.ts
/** The session as a readable timeline: one line an event, times relative to the start. */
function formatTimeline(events, options = {}) {
    if (events.length === 0)
        return '(no events)\n';
    const start = Date.parse(events[0].ts);
    const operations = new Map();
    const lines = [];
    for (const e of events) {
        if (e.type === 'operation')
            operations.set(e.seq, e);
        const connection = e.connection ?? (e.type === 'result' ? operations.get(e.op)?.connection : undefined);
        if (options.connection && connection !== options.connection)
            continue;
        const text = describe(e, operations);
        if (text)
            lines.push(`${clock(Date.parse(e.ts) - start)}  #${String(e.seq).padEnd(4)} ${(connection ?? '-').padEnd(12)} ${text}`);
    }
    return `${lines.join('\n')}\n`;
}
function clock(ms) {
    const m = Math.floor(ms / 60_000);
    const s = ((ms % 60_000) / 1000).toFixed(3).padStart(6, '0');
    return `${String(m).padStart(2, '0')}:${s}`;
}
function oneLine(text, max = 160) {
    const s = String(text).replace(/\s+/g, ' ').trim();
    return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
function describe(e, operations) {
    switch (e.type) {
        case 'session.start': {
            const identity = e.identity;
            const who = identity.kind === 'none' ? 'no identity' : oneLine(identity.claims?.repository ?? identity.claims?.project_path ?? identity.claims?.sub ?? 'oidc');
            const policy = e.policy;
            return `session start: ${who}, policy ${policy.file} (${policy.mode})`;
        }
        case 'listener.ready':
            return `listening for ${String(e.protocol)} → ${String(e.target)}`;
        case 'connection.open':
            return `connection opened${e.peer ? ` from ${String(e.peer)}` : ''}`;
        case 'connection.close':
            return `connection closed (${String(e.reason)})`;
        case 'operation': {
            const verdict = e.enforced ? `${String(e.verdict).toUpperCase()} (observe: let through)` : String(e.verdict).toUpperCase();
            return `${oneLine(e.text)}  → ${verdict}${e.rule ? ` by ${String(e.rule)}` : ''}`;
        }
        case 'result': {
            const op = operations.get(e.op);
            const parts = [
                e.rows !== undefined && `${String(e.rows)} rows`,
                e.bytes !== undefined && `${String(e.bytes)} bytes`,
                e.masked !== undefined && `${String(e.masked)} masked`,
                `${String(e.duration_ms)} ms`,
                e.error !== undefined && `error: ${oneLine(e.error)}`,
            ].filter(Boolean);
            return `  ↳ #${String(e.op)}${op ? '' : ' (unknown operation)'} ${parts.join(', ')}`;
        }
        case 'approval.requested':
            return `approval requested: ${String(e.request_id)} for #${String(e.op)} (rule ${String(e.rule)}, via ${String(e.via)})`;
        case 'approval.decided':
            return `approval ${String(e.request_id)}: ${String(e.outcome)} by ${String(e.by)}${e.reason ? ` (${oneLine(e.reason)})` : ''}`;
        case 'process.start':
            return `command started: ${oneLine(e.command)}`;
        case 'process.exit':
            return `command exited: ${e.signal ? `signal ${String(e.signal)}` : `status ${String(e.status)}`} after ${String(e.duration_ms)} ms`;
        case 'session.end':
            return `session end: ${String(e.reason)}`;
        default:
            return `${e.type}${e.message ? `: ${oneLine(e.message)}` : ''}`;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/verify.ts





/** Checks the signature, the hash chain and completeness of a session bundle. */
function verifyBundle(dir, options = {}) {
    const fail = (problem, events, extra = {}) => ({ ok: false, problem, events, ...extra });
    const eventsPath = (0,external_node_path_.join)(dir, EVENTS_FILE);
    if (!(0,external_node_fs_.existsSync)(eventsPath))
        return fail(`${dir} has no ${EVENTS_FILE}; it is not a session bundle`, []);
    const raw = (0,external_node_fs_.readFileSync)(eventsPath);
    const chain = checkChain(raw.toString('utf8'));
    const manifestPath = (0,external_node_path_.join)(dir, MANIFEST_FILE);
    if (!(0,external_node_fs_.existsSync)(manifestPath)) {
        return fail(chain.problem ?? `${MANIFEST_FILE} is missing: the gateway never finalized this session (${chain.events.length} events recorded)`, chain.events, chain.brokenSeq !== undefined ? { brokenSeq: chain.brokenSeq } : {});
    }
    let manifest;
    try {
        manifest = JSON.parse((0,external_node_fs_.readFileSync)(manifestPath, 'utf8'));
    }
    catch {
        return fail(`${MANIFEST_FILE} is not valid JSON`, chain.events);
    }
    if (!signatureValid(manifest))
        return fail(`${MANIFEST_FILE}'s signature does not verify: the manifest was altered`, chain.events, { manifest });
    if (options.expectedKey && options.expectedKey !== manifest.public_key) {
        return fail(`the bundle is signed by ${manifest.public_key}, not by the expected key ${options.expectedKey}`, chain.events, { manifest });
    }
    if (chain.problem)
        return fail(chain.problem, chain.events, { manifest, ...(chain.brokenSeq !== undefined && { brokenSeq: chain.brokenSeq }) });
    const { count, head } = manifest.events;
    if (chain.events.length !== count) {
        const brokenSeq = Math.min(chain.events.length, count) + 1;
        return fail(chain.events.length > count
            ? `${EVENTS_FILE} has ${chain.events.length} events but the signed manifest counts ${count}: event ${brokenSeq} was added afterwards`
            : `${EVENTS_FILE} ends after event ${chain.events.length} but the signed manifest counts ${count}: events from ${brokenSeq} on are missing`, chain.events, { manifest, brokenSeq });
    }
    if ((chain.events.at(-1)?.hash ?? GENESIS) !== head)
        return fail(`the chain head does not match the signed manifest`, chain.events, { manifest, brokenSeq: count });
    for (const [file, digest] of Object.entries(manifest.files)) {
        const path = (0,external_node_path_.join)(dir, file);
        if (!(0,external_node_fs_.existsSync)(path))
            return fail(`${file} is listed in the manifest but missing from the bundle`, chain.events, { manifest });
        if (sha256Hex((0,external_node_fs_.readFileSync)(path)) !== digest)
            return fail(`${file} does not match its digest in the manifest`, chain.events, { manifest });
    }
    const unlisted = bundleFiles(dir).find((f) => !(f in manifest.files));
    if (unlisted)
        return fail(`${unlisted} is in the bundle but not in the signed manifest`, chain.events, { manifest });
    return { ok: true, manifest, events: chain.events };
}
function checkChain(text) {
    const events = [];
    if (text.length > 0 && !text.endsWith('\n')) {
        // A line without its newline was cut off mid-write; name it, the rest is checked as usual.
        const count = text.split('\n').length;
        const partial = checkLines(text.split('\n').slice(0, -1), events);
        return partial.problem ? partial : { events, problem: `${EVENTS_FILE} is truncated: event ${count} is cut off`, brokenSeq: count };
    }
    return checkLines(text.split('\n').slice(0, -1), events);
}
function checkLines(lines, events) {
    let prev = GENESIS;
    for (let i = 0; i < lines.length; i++) {
        const expected = i + 1;
        let event;
        try {
            event = JSON.parse(lines[i]);
        }
        catch {
            return { events, problem: `${EVENTS_FILE} line ${expected} is not JSON`, brokenSeq: expected };
        }
        if (event.seq !== expected) {
            return { events, problem: `event at line ${expected} has seq ${String(event.seq)}: events were removed or reordered`, brokenSeq: expected };
        }
        if (event.prev !== prev) {
            return { events, problem: `event ${expected} does not follow event ${expected - 1}: an event before it was removed or changed`, brokenSeq: expected };
        }
        const { hash, ...body } = event;
        if (chainHash(prev, canonical(body)) !== hash)
            return { events, problem: `event ${expected} (${String(event.type)}) was altered: its hash does not match its content`, brokenSeq: expected };
        events.push(event);
        prev = hash;
    }
    return { events };
}

;// CONCATENATED MODULE: ./runner-proxy/src/cli/inspect.ts





function oneDirectory(positionals, command) {
    if (positionals.length !== 1)
        throw usage(`govern ${command} takes one session directory, such as ./govern-session`);
    return positionals[0];
}
async function verifyCommand({ values, positionals, io }) {
    const dir = oneDirectory(positionals, 'verify');
    const result = verifyBundle(dir, values.key ? { expectedKey: values.key } : {});
    if (values.json) {
        const { events, manifest, ...rest } = result;
        io.stdout.write(`${JSON.stringify({ ...rest, events: events.length, public_key: manifest?.public_key }, null, 2)}\n`);
    }
    else if (result.ok) {
        const m = result.manifest;
        io.stdout.write(`${dir}: ok — ${m.events.count} events, chain head ${m.events.head.slice(0, 16)}, signed by ${m.public_key}\n`);
    }
    else {
        const broken = result.brokenSeq !== undefined ? ` (first broken event: #${result.brokenSeq})` : '';
        io.stderr.write(`${dir}: FAILED — ${result.problem}${broken}\n`);
    }
    return result.ok ? 0 : 1;
}
async function replayCommand({ values, positionals, io }) {
    const dir = oneDirectory(positionals, 'replay');
    const result = verifyBundle(dir);
    if (!result.ok)
        io.stderr.write(`warning: ${dir} does not verify: ${result.problem}\n`);
    io.stdout.write(formatTimeline(result.events, values.connection ? { connection: values.connection } : {}));
    return 0;
}
async function policyCheckCommand({ values, positionals, env, io }) {
    const [sub, file, extra] = positionals;
    if (sub !== 'check' || !file || extra)
        throw usage('use govern policy check FILE');
    try {
        const policy = loadPolicy(file, { env, resolveVariables: !values['no-env'] });
        const count = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;
        io.stdout.write(`${file}: ok — ${count(policy.connections.length, 'connection')}, ${count(policy.rules.length, 'rule')}, mode ${policy.mode}${policy.identity ? '' : ', no identity section (runs are recorded as identity "none")'}\n`);
        return 0;
    }
    catch (e) {
        if (!(e instanceof PolicyError))
            throw e;
        io.stderr.write(`${e.problems.map(formatProblem).join('\n')}\n${e.problems.length} problem${e.problems.length === 1 ? '' : 's'} in ${file}\n`);
        return 1;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/cli/fail-on.ts

const FAIL_ON = ['blocked', 'denied', 'never'];
function parseFailOn(value) {
    if (!FAIL_ON.includes(value))
        throw usage(`--fail-on must be one of ${FAIL_ON.join(', ')}, not "${String(value)}"`);
    return value;
}
/** Why the run should fail although the command succeeded, if it should. */
function failOnReason(failOn, counts) {
    if (failOn === 'never')
        return undefined;
    if (failOn === 'blocked' && counts.blocked + counts.denied > 0)
        return `${counts.blocked} blocked and ${counts.denied} denied operations (--fail-on blocked)`;
    if (failOn === 'denied' && counts.denied > 0)
        return `${counts.denied} denied operations (--fail-on denied)`;
    return undefined;
}

;// CONCATENATED MODULE: ./runner-proxy/src/cli/run.ts








const quote = (arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);
async function runCommand({ values, positionals, env, io, log }) {
    if (positionals.length === 0)
        throw usage('nothing to run: put the command after --, as in govern run -- npm test');
    const failOn = parseFailOn(values['fail-on']);
    const launched = await launch({ policyPath: values.policy, outDir: values.out, tokenEnv: values['token-env'], mode: values.mode, env, log });
    const { governor } = launched.gateway;
    const [program, ...args] = positionals;
    governor.note('process.start', { command: governor.masker.maskText(hideCredentials(positionals.map(quote).join(' ')), REDACT_ALL).text });
    const started = performance.now();
    const exit = await new Promise((resolve) => {
        const child = (0,external_node_child_process_.spawn)(program, args, { stdio: 'inherit', env: jobEnvironment(env, launched.withheld, launched.gateway.exports()) });
        // Ctrl-C reaches the command through the terminal; govern stays to finalize. Other signals are passed on.
        const ignore = () => undefined;
        const forward = (signal) => child.kill(signal);
        process.on('SIGINT', ignore);
        process.on('SIGTERM', forward);
        process.on('SIGHUP', forward);
        const done = (result) => {
            process.off('SIGINT', ignore);
            process.off('SIGTERM', forward);
            process.off('SIGHUP', forward);
            resolve(result);
        };
        child.once('error', (error) => done({ status: null, signal: null, error }));
        child.once('exit', (status, signal) => done({ status, signal }));
    });
    const durationMs = Math.round(performance.now() - started);
    governor.note('process.exit', { status: exit.status, signal: exit.signal, duration_ms: durationMs, ...(exit.error && { error: exit.error.code }) });
    const how = exit.error ? `could not start (${exit.error.code})` : exit.signal ? `ended by ${exit.signal}` : `exited with status ${exit.status}`;
    const summary = await shutdown(launched, `command ${how}`);
    io.stderr.write(summary);
    if (exit.error) {
        io.stderr.write(`govern run: cannot run "${program}": ${exit.error.code === 'ENOENT' ? 'command not found' : exit.error.message}\n`);
        return exit.error.code === 'ENOENT' ? 127 : 126;
    }
    if (exit.signal)
        return 128 + (external_node_os_.constants.signals[exit.signal] ?? 0);
    if (exit.status !== 0)
        return exit.status ?? 1;
    const reason = failOnReason(failOn, launched.gateway.governor.counts);
    if (reason) {
        io.stderr.write(`govern run: failing the run: ${reason}\n`);
        return 1;
    }
    return 0;
}

;// CONCATENATED MODULE: ./runner-proxy/src/cli/main.ts







const policy = { type: 'string', short: 'p' };
const out = { type: 'string', short: 'o', default: DEFAULT_OUT };
const tokenEnv = { type: 'string' };
const mode = { type: 'string' };
const COMMANDS = {
    run: {
        summary: 'start the gateway, run a command with the rewritten env, stop, finalize',
        usage: 'govern run [--policy F] [--out DIR] [--token-env NAME] [--mode enforce|observe] [--fail-on blocked|denied|never] -- CMD [ARG…]',
        options: { policy, out, 'token-env': tokenEnv, mode, 'fail-on': { type: 'string', default: 'blocked' } },
        run: runCommand,
    },
    start: {
        summary: 'start the gateway detached and print the env to export',
        usage: 'govern start [--policy F] [--out DIR] [--token-env NAME] [--mode enforce|observe] [--env-format shell|dotenv|github]',
        options: { policy, out, 'token-env': tokenEnv, mode, 'env-format': { type: 'string', default: 'shell' } },
        run: startCommand,
    },
    serve: {
        summary: '',
        usage: 'govern serve (internal: the detached gateway that start launches)',
        options: { policy, out, 'token-env': tokenEnv, mode, 'ready-fd': { type: 'string' } },
        run: serveCommand,
    },
    stop: {
        summary: 'drain, finalize and sign the bundle, print the summary',
        usage: 'govern stop [--out DIR]',
        options: { out },
        run: stopCommand,
    },
    status: {
        summary: 'connections, counts and pending approvals of the running gateway',
        usage: 'govern status [--out DIR] [--json]',
        options: { out, json: { type: 'boolean' } },
        run: statusCommand,
    },
    approve: {
        summary: 'release an operation held for approval',
        usage: 'govern approve ID [--reason TEXT] [--out DIR]',
        options: { out, reason: { type: 'string' } },
        run: (ctx) => approveCommand(ctx, 'approve'),
    },
    deny: {
        summary: 'refuse an operation held for approval',
        usage: 'govern deny ID [--reason TEXT] [--out DIR]',
        options: { out, reason: { type: 'string' } },
        run: (ctx) => approveCommand(ctx, 'deny'),
    },
    verify: {
        summary: 'check a bundle: signature, hash chain, completeness',
        usage: 'govern verify DIR [--key ed25519:…] [--json]',
        options: { key: { type: 'string' }, json: { type: 'boolean' } },
        run: verifyCommand,
    },
    replay: {
        summary: 'the session as a readable timeline',
        usage: 'govern replay DIR [--connection NAME]',
        options: { connection: { type: 'string' } },
        run: replayCommand,
    },
    policy: {
        summary: 'validate a policy file (govern policy check F)',
        usage: 'govern policy check F [--no-env]',
        options: { 'no-env': { type: 'boolean' } },
        run: policyCheckCommand,
    },
};
function help() {
    const rows = Object.entries(COMMANDS)
        .filter(([, c]) => c.summary)
        .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
    return `govern: in-transit data governance for CI jobs\n\nUsage: govern COMMAND [options]\n\n${rows.join('\n')}\n\nRun "govern COMMAND --help" for a command's options. Add --debug for stack traces.\n`;
}
/** Runs one CLI invocation and returns its exit status: 0 ok, 1 failure, 2 usage. */
async function main(argv, env, io) {
    const debug = argv.includes('--debug');
    const args = argv.filter((a) => a !== '--debug');
    const [name, ...rest] = args;
    if (!name || name === '--help' || name === '-h' || name === 'help') {
        io.stdout.write(help());
        return name ? 0 : 2;
    }
    const command = COMMANDS[name];
    if (!command) {
        io.stderr.write(`govern: unknown command "${name}"; run "govern --help" for the list\n`);
        return 2;
    }
    const helpAt = rest.indexOf('--help');
    const separatorAt = rest.indexOf('--');
    if (helpAt >= 0 && (separatorAt < 0 || helpAt < separatorAt)) {
        io.stdout.write(`Usage: ${command.usage}\n`);
        return 0;
    }
    let parsed;
    try {
        parsed = (0,external_node_util_.parseArgs)({ args: rest, options: command.options, allowPositionals: true, strict: true });
    }
    catch (e) {
        io.stderr.write(`govern ${name}: ${e.message.split('\n')[0]}\nUsage: ${command.usage}\n`);
        return 2;
    }
    const log = streamLogger(io.stderr, { timestamps: name === 'serve' });
    try {
        return await command.run({ values: parsed.values, positionals: parsed.positionals, env, io, log });
    }
    catch (e) {
        if (debug)
            io.stderr.write(`${e.stack ?? String(e)}\n`);
        if (e instanceof GovernError) {
            io.stderr.write(`govern ${name}: ${e.message}${debug ? ` [${e.code}]` : ''}\n`);
            return e.code === ErrorCode.Usage ? 2 : 1;
        }
        io.stderr.write(`govern ${name}: unexpected failure: ${e.message} (run with --debug for details)\n`);
        return 1;
    }
}


/***/ })

};
