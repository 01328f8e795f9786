export const id = 754;
export const ids = [754];
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

/***/ 923:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Nj: () => (/* binding */ guarded),
/* harmony export */   Qk: () => (/* binding */ closeWithMessage),
/* harmony export */   Qr: () => (/* binding */ faultSink),
/* harmony export */   cc: () => (/* binding */ guardConnection)
/* harmony export */ });
/** How long a refused client gets to read its last message before the connection is dropped. */
const LINGER_MS = 2_000;
/** The fault sink of a listener: a warning in the gateway's log, and a `gateway.fault` event. */
function faultSink(governor, log) {
    return (where, e) => {
        log.warn(`${where}: an unexpected error ended the connection: ${e?.message ?? String(e)}`);
        governor.fault(where, e);
    };
}
/**
 * The last resort around one client connection: an error that escapes its handling (thrown or
 * rejected) ends that connection only, and is reported to `fault`, which logs and records it. Every
 * adapter accepts its connections through this, so a bug costs one connection, never the gateway.
 * Returns that same last resort, for errors that a protocol library catches and reports as events.
 */
function guardConnection(socket, where, fault, handle) {
    // A reset can arrive at any moment, also between the handlers of one phase and the next.
    socket.on('error', () => socket.destroy());
    const escaped = (e) => {
        socket.destroy();
        fault(where, e);
    };
    guarded(escaped, handle);
    return escaped;
}
/**
 * Runs one step of a connection's handling (a request on a kept-alive connection, an event handler)
 * and gives an error it throws or rejects with to `escaped`, which ends that connection and reports it.
 * Protocol libraries (ssh2) report what their handlers throw as client errors, indistinguishable from
 * malformed bytes, so handlers let nothing reach them.
 */
function guarded(escaped, handle) {
    try {
        const handled = handle();
        if (handled instanceof Promise)
            handled.catch(escaped);
    }
    catch (e) {
        escaped(e);
    }
}
/**
 * Ends a connection after a last message (a refusal, a FATAL) so that the client reads the message
 * rather than a reset: the message and FIN leave, whatever the client still sends is read and
 * dropped, and the socket is closed fully once the client closes its side or LINGER_MS has passed.
 */
function closeWithMessage(socket, message) {
    if (socket.destroyed || socket.writableEnded)
        return;
    socket.removeAllListeners('data');
    socket.on('data', () => undefined);
    const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
    socket.once('close', () => clearTimeout(timer));
    if (message)
        socket.end(message);
    else
        socket.end();
    socket.resume();
}


/***/ }),

/***/ 5754:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  MysqlAdapter: () => (/* binding */ MysqlAdapter)
});

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
// EXTERNAL MODULE: external "node:net"
var external_node_net_ = __webpack_require__(7030);
// EXTERNAL MODULE: ./runner-proxy/src/base/errors.ts
var errors = __webpack_require__(5256);
// EXTERNAL MODULE: ./runner-proxy/src/adapters/guard.ts
var guard = __webpack_require__(923);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/mysql/auth.ts

const NATIVE = 'mysql_native_password';
const CACHING_SHA2 = 'caching_sha2_password';
/** The plugins a job may authenticate with; both prove the job-scoped password without sending it. */
const JOB_PLUGINS = new Set([NATIVE, CACHING_SHA2]);
function sha1(...parts) {
    const h = (0,external_node_crypto_.createHash)('sha1');
    for (const p of parts)
        h.update(p);
    return h.digest();
}
function sha256(...parts) {
    const h = (0,external_node_crypto_.createHash)('sha256');
    for (const p of parts)
        h.update(p);
    return h.digest();
}
function xor(a, b) {
    const out = Buffer.alloc(a.length);
    for (let i = 0; i < a.length; i++)
        out[i] = a[i] ^ b[i % b.length];
    return out;
}
/** What a client answers a plugin's 20-byte nonce with, for `password`. */
function scramble(plugin, password, nonce) {
    if (password === '')
        return Buffer.alloc(0);
    const pw = Buffer.from(password, 'utf8');
    if (plugin === NATIVE) {
        const stage1 = sha1(pw);
        return xor(stage1, sha1(nonce, sha1(stage1)));
    }
    if (plugin === CACHING_SHA2) {
        const stage1 = sha256(pw);
        return xor(stage1, sha256(sha256(stage1), nonce));
    }
    throw new Error(`the authentication plugin ${plugin} is not supported`);
}
/** Whether a client's answer proves it knows `password`. */
function verifyScramble(plugin, password, nonce, answer) {
    if (!JOB_PLUGINS.has(plugin))
        return false;
    const expected = scramble(plugin, password, nonce);
    return answer.length === expected.length && (0,external_node_crypto_.timingSafeEqual)(answer, expected);
}
/** caching_sha2_password's full authentication without TLS: the password, XORed with the nonce, under the server's RSA key. */
function rsaEncryptPassword(password, nonce, publicKeyPem) {
    const plain = xor(Buffer.concat([Buffer.from(password, 'utf8'), Buffer.from([0])]), nonce);
    return (0,external_node_crypto_.publicEncrypt)({ key: publicKeyPem, padding: external_node_crypto_.constants.RSA_PKCS1_OAEP_PADDING }, plain);
}

// EXTERNAL MODULE: external "node:tls"
var external_node_tls_ = __webpack_require__(1692);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/mysql/packets.ts
/**
 * The MySQL packet codec: a 3-byte little-endian length and a sequence id before each payload; a
 * payload of 16 MiB − 1 or more continues in the next packet, so one logical packet is the
 * concatenation of its pieces up to the first shorter one.
 */
const MAX_PIECE = 0xffffff;
class MalformedPacketError extends Error {
}
/** Reads logical packets from a byte stream, refusing any larger than `maxPacket`. */
class PacketReader {
    #buffered = Buffer.alloc(0);
    #pieces = [];
    #size = 0;
    maxPacket;
    constructor(maxPacket) {
        this.maxPacket = maxPacket;
    }
    push(chunk) {
        this.#buffered = this.#buffered.length ? Buffer.concat([this.#buffered, chunk]) : chunk;
    }
    /** The next whole packet, or undefined until more bytes arrive. */
    next() {
        for (;;) {
            if (this.#buffered.length < 4)
                return undefined;
            const length = this.#buffered.readUIntLE(0, 3);
            if (this.#size + length > this.maxPacket)
                throw new MalformedPacketError(`a packet larger than ${this.maxPacket} bytes`);
            if (this.#buffered.length < 4 + length)
                return undefined;
            const seq = this.#buffered[3];
            const piece = this.#buffered.subarray(4, 4 + length);
            this.#buffered = this.#buffered.subarray(4 + length);
            this.#pieces.push(piece);
            this.#size += length;
            if (length === MAX_PIECE)
                continue;
            const payload = this.#pieces.length === 1 ? piece : Buffer.concat(this.#pieces);
            this.#pieces = [];
            this.#size = 0;
            return { seq, payload };
        }
    }
    /** Bytes read but not yet part of a packet (what a TLS upgrade must not lose). */
    get buffered() {
        return this.#buffered;
    }
}
/** Frames one logical payload as packets starting at `seq`; returns the bytes and the next sequence id. */
function framePacket(seq, payload) {
    const parts = [];
    let offset = 0;
    for (;;) {
        const length = Math.min(MAX_PIECE, payload.length - offset);
        const header = Buffer.alloc(4);
        header.writeUIntLE(length, 0, 3);
        header[3] = seq & 0xff;
        parts.push(header, payload.subarray(offset, offset + length));
        seq = (seq + 1) & 0xff;
        offset += length;
        if (length < MAX_PIECE)
            break;
    }
    return { bytes: Buffer.concat(parts), next: seq };
}
/** A cursor over one payload, for the protocol's integer and string encodings. */
class Reader {
    pos;
    buf;
    constructor(buf, pos = 0) {
        this.buf = buf;
        this.pos = pos;
    }
    #need(n) {
        if (this.pos + n > this.buf.length)
            throw new MalformedPacketError('a packet ended early');
    }
    u8() {
        this.#need(1);
        return this.buf[this.pos++];
    }
    u16() {
        this.#need(2);
        const v = this.buf.readUInt16LE(this.pos);
        this.pos += 2;
        return v;
    }
    u24() {
        this.#need(3);
        const v = this.buf.readUIntLE(this.pos, 3);
        this.pos += 3;
        return v;
    }
    u32() {
        this.#need(4);
        const v = this.buf.readUInt32LE(this.pos);
        this.pos += 4;
        return v;
    }
    bytes(n) {
        this.#need(n);
        const v = this.buf.subarray(this.pos, this.pos + n);
        this.pos += n;
        return v;
    }
    /** A length-encoded integer; null for the NULL marker 0xfb of result rows. */
    lenenc() {
        const first = this.u8();
        if (first < 0xfb)
            return first;
        if (first === 0xfb)
            return null;
        if (first === 0xfc)
            return this.u16();
        if (first === 0xfd)
            return this.u24();
        if (first === 0xfe) {
            this.#need(8);
            const v = Number(this.buf.readBigUInt64LE(this.pos));
            this.pos += 8;
            return v;
        }
        throw new MalformedPacketError('an invalid length-encoded integer');
    }
    lenencBytes() {
        const n = this.lenenc();
        return n === null ? null : this.bytes(n);
    }
    lenencString() {
        return (this.lenencBytes() ?? Buffer.alloc(0)).toString('utf8');
    }
    cstring() {
        const end = this.buf.indexOf(0, this.pos);
        if (end < 0)
            throw new MalformedPacketError('a string without its terminator');
        const v = this.buf.toString('utf8', this.pos, end);
        this.pos = end + 1;
        return v;
    }
    rest() {
        const v = this.buf.subarray(this.pos);
        this.pos = this.buf.length;
        return v;
    }
    get done() {
        return this.pos >= this.buf.length;
    }
}
function lenencInt(n) {
    if (n < 0xfb)
        return Buffer.from([n]);
    if (n <= 0xffff)
        return Buffer.from([0xfc, n & 0xff, n >> 8]);
    if (n <= 0xffffff)
        return Buffer.from([0xfd, n & 0xff, (n >> 8) & 0xff, n >> 16]);
    const b = Buffer.alloc(9);
    b[0] = 0xfe;
    b.writeBigUInt64LE(BigInt(n), 1);
    return b;
}
function lenencBytes(value) {
    return Buffer.concat([lenencInt(value.length), value]);
}
const NULL_CELL = Buffer.from([0xfb]);
/** Capability flags the gateway understands; anything else is taken out of what both sides agree on. */
const Capability = {
    LONG_PASSWORD: 1,
    FOUND_ROWS: 2,
    LONG_FLAG: 4,
    CONNECT_WITH_DB: 8,
    NO_SCHEMA: 16,
    LOCAL_FILES: 128,
    IGNORE_SPACE: 256,
    PROTOCOL_41: 512,
    INTERACTIVE: 1024,
    SSL: 2048,
    TRANSACTIONS: 8192,
    SECURE_CONNECTION: 32768,
    MULTI_STATEMENTS: 1 << 16,
    MULTI_RESULTS: 1 << 17,
    PS_MULTI_RESULTS: 1 << 18,
    PLUGIN_AUTH: 1 << 19,
    CONNECT_ATTRS: 1 << 20,
    PLUGIN_AUTH_LENENC_DATA: 1 << 21,
    SESSION_TRACK: 1 << 23,
    DEPRECATE_EOF: 1 << 24,
};
const SERVER_MORE_RESULTS_EXISTS = 0x0008;
/** Set while the session's sql_mode reads a backslash in a string as itself, not as an escape. */
const SERVER_STATUS_NO_BACKSLASH_ESCAPES = 0x0200;
/** An OK packet's status flags (after affected rows and last insert id). */
function okStatus(payload) {
    const r = new Reader(payload, 1);
    const affected = r.lenenc() ?? 0;
    r.lenenc();
    return { affected, status: r.u16() };
}
/** An EOF packet (0xfe, shorter than 9 bytes): its status flags. */
function eofStatus(payload) {
    return payload.length >= 5 ? payload.readUInt16LE(3) : 0;
}
function isEof(payload) {
    return payload[0] === 0xfe && payload.length < 9;
}
/** An ERR packet in the 4.1 format: code, SQLSTATE and message. */
function errPacket(code, sqlstate, message) {
    const head = Buffer.alloc(9);
    head[0] = 0xff;
    head.writeUInt16LE(code, 1);
    head.write(`#${sqlstate}`, 3, 'latin1');
    return Buffer.concat([head, Buffer.from(message, 'utf8')]);
}
function readErr(payload) {
    const code = payload.length >= 3 ? payload.readUInt16LE(1) : 0;
    if (payload[3] === 0x23)
        return { code, sqlstate: payload.toString('latin1', 4, 9), message: payload.toString('utf8', 9) };
    return { code, sqlstate: 'HY000', message: payload.toString('utf8', 3) };
}
function okPacket(status) {
    return Buffer.from([0x00, 0x00, 0x00, status & 0xff, status >> 8, 0x00, 0x00]);
}
function readColumnDefinition(payload) {
    const r = new Reader(payload);
    r.lenencString();
    const schema = r.lenencString();
    const table = r.lenencString();
    const orgTable = r.lenencString();
    const name = r.lenencString();
    const orgName = r.lenencString();
    r.lenenc();
    const charset = r.u16();
    r.u32();
    const type = r.u8();
    return { schema, table, orgTable, name, orgName, charset, type };
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/mysql/channel.ts

/** Packets read ahead of the one asked for, before reading from the socket pauses. */
const READ_AHEAD = 256;
/**
 * One side of a MySQL connection as packets: `read` gives them in order, `send` frames and queues
 * them, `flush` writes what is queued in one write.
 */
class PacketChannel {
    socket;
    #reader;
    #ready = [];
    #waiting;
    #failure;
    #out = [];
    #what;
    constructor(socket, what, maxPacket, leftover) {
        this.socket = socket;
        this.#what = what;
        this.#reader = new PacketReader(maxPacket);
        socket.on('data', this.#onData);
        socket.once('close', () => this.#fail(new Error(`${what} closed`)));
        socket.once('error', (e) => this.#fail(e));
        if (leftover?.length)
            this.#onData(leftover);
    }
    #onData = (chunk) => {
        this.#reader.push(chunk);
        try {
            for (let p = this.#reader.next(); p; p = this.#reader.next())
                this.#ready.push(p);
        }
        catch (e) {
            return this.#fail(new Error(`${this.#what}: ${e.message}`));
        }
        if (this.#ready.length > READ_AHEAD)
            this.socket.pause();
        this.#deliver();
    };
    #fail(e) {
        this.#failure ??= e;
        this.#deliver();
    }
    #deliver() {
        if (!this.#waiting)
            return;
        const next = this.#ready.shift();
        const waiting = this.#waiting;
        if (next) {
            this.#waiting = undefined;
            waiting.resolve(next);
        }
        else if (this.#failure) {
            this.#waiting = undefined;
            waiting.reject(this.#failure);
        }
    }
    /** The next packet; writes what is queued first, since the other side may be waiting for it. */
    read() {
        const next = this.#ready.shift();
        if (next) {
            if (this.#ready.length < READ_AHEAD / 2 && this.socket.isPaused())
                this.socket.resume();
            return Promise.resolve(next);
        }
        this.flush();
        if (this.socket.isPaused())
            this.socket.resume();
        if (this.#failure)
            return Promise.reject(this.#failure);
        return new Promise((resolve, reject) => {
            this.#waiting = { resolve, reject };
        });
    }
    /** Whether a packet is already here: the relay writes in batches while it is. */
    get hasReady() {
        return this.#ready.length > 0;
    }
    /** Queues one payload framed from `seq`; returns the next sequence id. */
    send(seq, payload) {
        const { bytes, next } = framePacket(seq, payload);
        this.#out.push(bytes);
        return next;
    }
    /** Writes what is queued; resolves when the socket can take more. */
    flush() {
        if (this.#out.length === 0 || this.socket.destroyed)
            return undefined;
        const bytes = this.#out.length === 1 ? this.#out[0] : Buffer.concat(this.#out);
        this.#out = [];
        if (this.socket.write(bytes))
            return undefined;
        return new Promise((resolve) => {
            const done = () => {
                this.socket.off('close', done);
                this.socket.off('drain', done);
                resolve();
            };
            this.socket.once('drain', done);
            this.socket.once('close', done);
        });
    }
    /** Admits larger packets: after the handshake, whose packets are small. */
    set maxPacket(bytes) {
        this.#reader.maxPacket = bytes;
    }
    /** Stops reading this socket, and gives back what was read but not taken (for a TLS upgrade). */
    detach() {
        this.socket.off('data', this.#onData);
        if (this.#ready.length)
            throw new Error(`${this.#what} sent data before the answer to a TLS request`);
        return this.#reader.buffered;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/mysql/upstream.ts





const CONNECT_TIMEOUT_MS = 15_000;
/** The largest packet the gateway accepts from either side. */
const MAX_PACKET = 64 << 20;
const UTF8MB4 = 45;
class TargetError extends Error {
}
/** mysql://user:password@host:port/db?ssl-mode=REQUIRED|VERIFY_CA|VERIFY_IDENTITY|DISABLED */
function parseTargetUrl(raw, ca) {
    let url;
    try {
        url = new URL(raw);
    }
    catch {
        throw new TargetError('the url is not a valid mysql:// URL');
    }
    if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:')
        throw new TargetError(`the url must start with mysql:// (got ${url.protocol}//)`);
    const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (!url.username || !database)
        throw new TargetError('the url must name a user and a database');
    const mode = (url.searchParams.get('ssl-mode') ?? url.searchParams.get('sslmode') ?? (url.searchParams.get('ssl') === 'true' ? 'VERIFY_IDENTITY' : 'DISABLED')).toUpperCase();
    if (!['DISABLED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY'].includes(mode))
        throw new TargetError(`ssl-mode ${mode} is not one of DISABLED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY`);
    if (mode === 'REQUIRED')
        throw new TargetError('ssl-mode=REQUIRED does not check the certificate; use VERIFY_CA with the connection\'s ca, or VERIFY_IDENTITY');
    return {
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: Number(url.port || 3306),
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database,
        tls: mode !== 'DISABLED',
        ...(ca && { ca }),
        verifyIdentity: mode === 'VERIFY_IDENTITY',
    };
}
function readServerHello(payload) {
    if (payload[0] === 0xff)
        throw new TargetError(`the target refused the connection: ${readErr(payload).message}`);
    const r = new Reader(payload);
    if (r.u8() !== 10)
        throw new TargetError('the target does not speak MySQL protocol 10');
    const version = r.cstring();
    const connectionId = r.u32();
    const part1 = r.bytes(8);
    r.u8();
    let capabilities = r.u16();
    const charset = r.u8();
    const status = r.u16();
    capabilities |= r.u16() << 16;
    capabilities >>>= 0;
    const dataLength = r.u8();
    r.bytes(10);
    const part2 = r.bytes(Math.max(13, dataLength - 8));
    const nonce = Buffer.concat([part1, part2.subarray(0, 12)]);
    const plugin = capabilities & Capability.PLUGIN_AUTH && !r.done ? r.cstring() : NATIVE;
    return { version, connectionId, capabilities, charset, status, nonce, plugin };
}
/**
 * Connects and authenticates to the target with the real credentials: TLS first when the URL asks,
 * then mysql_native_password or caching_sha2_password (fast, or full over TLS or the server's RSA key).
 * `clientCapabilities` are what the job's client asked for; the target gets those it also offers.
 */
async function connectUpstream(target, clientCapabilities, attributes) {
    const raw = (0,external_node_net_.connect)({ host: target.host, port: target.port });
    raw.setNoDelay(true);
    const timer = setTimeout(() => raw.destroy(new Error('the target did not answer in time')), CONNECT_TIMEOUT_MS);
    try {
        await new Promise((resolve, reject) => {
            raw.once('connect', resolve);
            raw.once('error', reject);
        });
        let channel = new PacketChannel(raw, 'the target', MAX_PACKET);
        const first = await channel.read();
        const hello = readServerHello(first.payload);
        let capabilities = (clientCapabilities & hello.capabilities) | Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH | Capability.CONNECT_WITH_DB | Capability.LONG_PASSWORD | Capability.TRANSACTIONS;
        capabilities &= hello.capabilities | Capability.CONNECT_WITH_DB;
        if (!(hello.capabilities & Capability.PROTOCOL_41))
            throw new TargetError('the target does not speak protocol 4.1');
        if (!attributes || !(hello.capabilities & Capability.CONNECT_ATTRS))
            capabilities &= ~Capability.CONNECT_ATTRS;
        let seq = first.seq + 1;
        let socket = raw;
        if (target.tls) {
            if (!(hello.capabilities & Capability.SSL))
                throw new TargetError('the url asks for TLS and the target does not offer it');
            capabilities |= Capability.SSL;
            seq = channel.send(seq, responseHead(capabilities));
            await channel.flush();
            const leftover = channel.detach();
            if (leftover.length)
                throw new TargetError('the target sent data before the TLS handshake');
            const options = { socket: raw, ...(target.ca && { ca: target.ca }) };
            if (!/^[\d.:]+$/.test(target.host))
                options.servername = target.host;
            // VERIFY_CA checks the chain only.
            if (!target.verifyIdentity)
                options.checkServerIdentity = () => undefined;
            socket = (0,external_node_tls_.connect)(options);
            await new Promise((resolve, reject) => {
                socket.once('secureConnect', resolve);
                socket.once('error', reject);
            });
            channel = new PacketChannel(socket, 'the target', MAX_PACKET);
        }
        capabilities >>>= 0;
        const plugin = hello.plugin === CACHING_SHA2 ? CACHING_SHA2 : NATIVE;
        const response = Buffer.concat([
            responseHead(capabilities),
            Buffer.from(`${target.user}\0`, 'utf8'),
            authData(capabilities, scramble(plugin, target.password, hello.nonce)),
            Buffer.from(`${target.database}\0${plugin}\0`, 'utf8'),
            capabilities & Capability.CONNECT_ATTRS && attributes ? attributes : Buffer.alloc(0),
        ]);
        channel.send(seq, response);
        await authenticate(channel, target, plugin, hello.nonce, target.tls);
        clearTimeout(timer);
        return { socket, channel, hello, capabilities };
    }
    catch (e) {
        clearTimeout(timer);
        raw.destroy();
        throw e instanceof TargetError ? e : new TargetError(`the target: ${e.message}`);
    }
}
function responseHead(capabilities) {
    const head = Buffer.alloc(32);
    head.writeUInt32LE(capabilities >>> 0, 0);
    head.writeUInt32LE(MAX_PACKET, 4);
    head[8] = UTF8MB4;
    return head;
}
function authData(capabilities, data) {
    if (capabilities & Capability.PLUGIN_AUTH_LENENC_DATA && data.length >= 0xfb)
        throw new TargetError('an authentication answer too long');
    return Buffer.concat([Buffer.from([data.length]), data]);
}
/** Follows the target's answers (switch, more data) until it says OK or refuses. */
async function authenticate(channel, target, plugin, nonce, overTls) {
    for (;;) {
        const { seq, payload } = await channel.read();
        const reply = (data) => channel.send(seq + 1, data);
        switch (payload[0]) {
            case 0x00:
                return;
            case 0xff:
                throw new TargetError(`the target refused the login: ${readErr(payload).message}`);
            case 0xfe: {
                const r = new Reader(payload, 1);
                plugin = r.cstring();
                nonce = r.rest().subarray(0, 20);
                if (plugin !== NATIVE && plugin !== CACHING_SHA2)
                    throw new TargetError(`the target asks for the ${plugin} plugin, which the gateway does not speak`);
                reply(scramble(plugin, target.password, nonce));
                break;
            }
            case 0x01: {
                const more = payload.subarray(1);
                if (plugin !== CACHING_SHA2)
                    throw new TargetError('the target sent unexpected authentication data');
                if (more.length === 1 && more[0] === 0x03)
                    break;
                if (more.length === 1 && more[0] === 0x04) {
                    reply(overTls ? Buffer.from(`${target.password}\0`, 'utf8') : Buffer.from([0x02]));
                    break;
                }
                reply(rsaEncryptPassword(target.password, nonce, more.toString('latin1')));
                break;
            }
            default:
                throw new TargetError('the target sent an unexpected authentication packet');
        }
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/mysql/catalog.ts


const CAPABILITIES = Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH | Capability.LONG_PASSWORD | Capability.TRANSACTIONS;
/**
 * Which tables are views, and what each view's definition says, asked of the target's
 * information_schema on a connection of the gateway's own, and remembered until DDL runs. A view's
 * columns name the view as their table: they are masked by name, and by what its definition reads. A
 * table the catalog does not know (a derived table, a CTE) counts as a view without a definition.
 */
class Catalog {
    #target;
    #kinds = new Map();
    #definitions = new Map();
    #channel;
    #queue = Promise.resolve();
    constructor(target) {
        this.#target = target;
    }
    /** A table name as the statement wrote it (`t` or `schema.t`), qualified with the connection's database. */
    qualify(table) {
        return table.startsWith('.') ? `${this.#target.database}${table}` : table;
    }
    /**
     * What a statement reaches with the views it reads opened: each view's definition (and the views
     * that one reads) adds its tables and columns. `tables` are those of the statement and its result.
     */
    async reach(base, tables, reachOf) {
        const all = { tables: new Set(), columns: new Set(base.columns), star: base.star };
        let next = [...new Set([...base.tables, ...tables].map((t) => this.qualify(t)))];
        while (next.length) {
            const kinds = await this.kinds(next);
            const found = [];
            for (const table of next) {
                all.tables.add(table);
                const definition = kinds.get(table) === 'view' ? this.#definitions.get(table) : undefined;
                if (!definition)
                    continue;
                const inner = reachOf(definition);
                inner.columns.forEach((c) => all.columns.add(c));
                all.star ||= inner.star;
                for (const t of inner.tables)
                    if (!all.tables.has(this.qualify(t)))
                        found.push(this.qualify(t));
            }
            next = [...new Set(found)];
        }
        return all;
    }
    /** The kinds of these schema.table names, looked up when not known yet. */
    async kinds(tables) {
        const unknown = tables.filter((t) => !this.#kinds.has(t));
        if (unknown.length) {
            const lookup = this.#queue.then(() => this.#lookUp(unknown));
            this.#queue = lookup.catch(() => undefined);
            await lookup;
        }
        return this.#kinds;
    }
    /** DDL may have made or replaced a view: everything is asked again. */
    forget() {
        this.#kinds.clear();
        this.#definitions.clear();
    }
    async #lookUp(tables) {
        const hex = (s) => `CONVERT(X'${Buffer.from(s, 'utf8').toString('hex')}' USING utf8mb4)`;
        const pairs = tables.map((t) => {
            const dot = t.indexOf('.');
            return `(${hex(t.slice(0, dot))}, ${hex(t.slice(dot + 1))})`;
        });
        const sql = 'SELECT t.TABLE_SCHEMA, t.TABLE_NAME, t.TABLE_TYPE, v.VIEW_DEFINITION FROM information_schema.TABLES t LEFT JOIN information_schema.VIEWS v ' +
            `ON v.TABLE_SCHEMA = t.TABLE_SCHEMA AND v.TABLE_NAME = t.TABLE_NAME WHERE (t.TABLE_SCHEMA, t.TABLE_NAME) IN (${pairs.join(', ')})`;
        const rows = await this.#query(sql);
        for (const t of tables)
            this.#kinds.set(t, 'view');
        for (const [schema, name, type, definition] of rows) {
            if (type === 'BASE TABLE' || type === 'SYSTEM VERSIONED')
                this.#kinds.set(`${schema}.${name}`, 'table');
            else if (definition)
                this.#definitions.set(`${schema}.${name}`, definition);
        }
    }
    async #query(sql) {
        this.#channel ??= connectUpstream(this.#target, CAPABILITIES).then(({ channel }) => channel);
        let channel;
        try {
            channel = await this.#channel;
        }
        catch (e) {
            this.#channel = undefined;
            throw e;
        }
        try {
            channel.send(0, Buffer.concat([Buffer.from([0x03]), Buffer.from(sql, 'utf8')]));
            const first = (await channel.read()).payload;
            if (first[0] === 0xff)
                throw new Error(readErr(first).message);
            const columns = new Reader(first).lenenc() ?? 0;
            for (let i = 0; i <= columns; i++)
                await channel.read();
            const rows = [];
            for (let p = (await channel.read()).payload; !isEof(p); p = (await channel.read()).payload) {
                if (p[0] === 0xff)
                    throw new Error(readErr(p).message);
                const r = new Reader(p);
                rows.push(Array.from({ length: columns }, () => r.lenencString()));
            }
            return rows;
        }
        catch (e) {
            channel.socket.destroy();
            this.#channel = undefined;
            throw e;
        }
    }
    close() {
        this.#channel?.then((c) => c.socket.destroy()).catch(() => undefined);
    }
}

// EXTERNAL MODULE: external "node:module"
var external_node_module_ = __webpack_require__(8995);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/mysql/classify.ts

const WRITE_CLASSES = new Set([
    'write', 'insert', 'update', 'delete', 'delete_without_where', 'update_without_where', 'ddl', 'create', 'alter', 'drop',
    'truncate', 'grant', 'set_role', 'alter_system', 'dangerous_function', 'unknown', 'lock', 'maintenance', 'load_local', 'outfile',
]);
/** Functions that reach the server's files or stall it. */
const DANGEROUS_FUNCTIONS = new Set(['load_file', 'sys_exec', 'sys_eval', 'benchmark', 'sleep', 'get_lock', 'release_all_locks', 'master_pos_wait']);
/** Statements the grammar does not know that only read or set the session: by their leading words. */
const KNOWN_BY_WORDS = [
    [/^(SHOW|DESCRIBE|DESC|EXPLAIN|HELP)\b/i, 'read'],
    [/^SET\s+(NAMES|CHARACTER\s+SET|CHARSET)\b/i, 'session'],
    [/^(SAVEPOINT|RELEASE\s+SAVEPOINT|ROLLBACK\s+(WORK\s+)?TO)\b/i, 'transaction'],
    [/^(FLUSH|ANALYZE|OPTIMIZE|REPAIR|CHECK|CHECKSUM)\b/i, 'maintenance'],
    [/^(DO|HANDLER|XA)\b/i, 'unknown'],
    // What mysqldump writes around each table's rows.
    [/^ALTER\s+TABLE\s+(`(?:[^`]|``)+`|[\w$.]+)\s+(DISABLE|ENABLE)\s+KEYS$/i, 'alter'],
];
/**
 * Character sets with multi-byte characters whose later bytes can be a quote or a backslash (big5, sjis,
 * gbk, cp932, gb18030): the server could read a text's quoting otherwise than the gateway does.
 */
const UNSAFE_CHARSETS = /\b(big5|sjis|gbk|cp932|gb18030)/i;
/** Their collation ids, as a client's handshake names them. */
const UNSAFE_CHARSET_IDS = new Set([1, 13, 28, 84, 87, 88, 95, 96, 248, 249, 250]);
/** A prepared statement's name, bare or quoted; its string literal, then `USING` values or nothing. */
const NAME = '([\\w$]+|`(?:[^`]|``)+`)';
const PREPARE = new RegExp(`^PREPARE\\s+${NAME}\\s+FROM\\s+([\\s\\S]*)$`, 'i');
const EXECUTE_IMMEDIATE = /^EXECUTE\s+IMMEDIATE\s+([\s\S]*)$/i;
const EXECUTE = new RegExp(`^EXECUTE\\s+${NAME}(\\s+USING\\b[\\s\\S]*)?$`, 'i');
const DEALLOCATE = new RegExp(`^(DEALLOCATE|DROP)\\s+PREPARE\\s+${NAME}$`, 'i');
const LITERAL = /^('(?:[^'\\]|\\[\s\S]|'')*'|"(?:[^"\\]|\\[\s\S]|"")*")(\s+USING\b[\s\S]*)?$/;
const NO_PREPARED = new Map();
let parser;
function loadParser() {
    // The MariaDB-only build: the full package holds every dialect's grammar.
    const { Parser } = (0,external_node_module_.createRequire)(import.meta.url)('node-sql-parser/build/mariadb.js');
    return (parser ??= new Parser());
}
class MysqlClassifier {
    #parser = loadParser();
    /** `held` is what the session holds prepared in SQL, by lower-case name. */
    classify(text, held = NO_PREPARED) {
        const classes = new Set();
        const commands = [];
        const reach = { tables: new Set(), columns: new Set(), star: false };
        const prepares = new Map();
        let syntaxError;
        let statements;
        try {
            statements = splitStatements(text);
        }
        catch (e) {
            addWords(reach, text);
            return { classes: new Set(['unparseable']), writes: true, commands: [], reach, prepares, syntaxError: e.message };
        }
        // The server reads the statements after a change of sql_mode by the new mode's quoting (ANSI_QUOTES,
        // NO_BACKSLASH_ESCAPES), which this split did not: such a change is decided only on its own.
        if (statements.length > 1 && /sql_mode/i.test(text)) {
            addWords(reach, text);
            return { classes: new Set(['unparseable']), writes: true, commands: [], reach, prepares, syntaxError: 'a change of sql_mode must be sent as a statement of its own' };
        }
        for (const statement of statements) {
            // A statement this text prepared before counts over one the session held.
            const found = this.#prepared(statement, reach, prepares, (name) => (prepares.has(name) ? prepares.get(name) : held.get(name))) ?? this.#statement(statement, reach);
            found.classes.forEach((c) => classes.add(c));
            commands.push(found.command);
            syntaxError ??= found.syntaxError;
        }
        if (classes.size === 0)
            classes.add('read');
        return { classes, writes: [...classes].some((c) => WRITE_CLASSES.has(c)), commands, reach, prepares, ...(syntaxError && { syntaxError }) };
    }
    /** What a view's stored definition reads (MariaDB keeps it as a SELECT with qualified names). */
    reachOf(definition) {
        return this.classify(definition).reach;
    }
    /** PREPARE, EXECUTE and DEALLOCATE PREPARE in SQL; undefined for any other statement. */
    #prepared(sql, reach, prepares, lookup) {
        const text = sql.trim();
        let m = DEALLOCATE.exec(text);
        if (m) {
            prepares.set(nameOf(m[2]), undefined);
            return { classes: ['session'], command: 'DEALLOCATE' };
        }
        m = PREPARE.exec(text) ?? EXECUTE_IMMEDIATE.exec(text);
        if (m) {
            const immediate = m.length === 2;
            const source = LITERAL.exec(m[immediate ? 1 : 2].trim());
            // Only EXECUTE IMMEDIATE takes USING; a text from a variable or an expression cannot be read here.
            const inner = source && (immediate || !source[2]) ? this.#preparedText(unquote(source[1]), reach) : { classes: ['unknown'], reach };
            if (!immediate)
                prepares.set(nameOf(m[1]), source && !source[2] ? inner : undefined);
            addWords(reach, text);
            return { classes: inner.classes, command: immediate ? 'EXECUTE' : 'PREPARE' };
        }
        m = EXECUTE.exec(text);
        if (m) {
            const prepared = lookup(nameOf(m[1]));
            if (!prepared)
                return { classes: ['unknown'], command: 'EXECUTE' };
            addReach(reach, prepared.reach);
            return { classes: prepared.classes, command: 'EXECUTE' };
        }
        return /^(PREPARE|EXECUTE|DEALLOCATE|DROP\s+PREPARE)\b/i.test(text) ? { classes: ['unknown'], command: text.split(/\s+/)[0].toUpperCase() } : undefined;
    }
    /** The classes and reach of a prepared text, read as a statement of its own (it holds one). */
    #preparedText(text, reach) {
        const inner = this.classify(text);
        addReach(reach, inner.reach);
        // A text the target prepares runs as one statement: PREPARE or EXECUTE inside it is refused by the target.
        return { classes: [...inner.classes], reach: inner.reach };
    }
    #statement(sql, reach) {
        const extra = [];
        const bare = withoutLiterals(sql);
        if (/\bINTO\s+(OUTFILE|DUMPFILE)\b/i.test(bare))
            extra.push('outfile');
        for (const m of bare.matchAll(/([A-Za-z_][\w$]*)\s*\(/g))
            if (DANGEROUS_FUNCTIONS.has(m[1].toLowerCase()))
                extra.push('dangerous_function');
        let ast;
        try {
            const parsed = this.#parser.parse(sql, { database: 'MariaDB' });
            ast = [parsed.ast].flat();
            for (const entry of parsed.tableList) {
                const [, schema, table] = entry.split('::');
                reach.tables.add(`${schema === 'null' ? '' : schema}.${table}`);
            }
            for (const entry of parsed.columnList) {
                const [, table, column] = entry.split('::');
                if (column === '(.*)')
                    reach.star = true;
                else
                    reach.columns.add(column.toLowerCase());
                // A name the grammar could not take apart (`db`.`t`.`c` comes out as an object): every word counts.
                if (table === '[object Object]')
                    addWords(reach, sql);
            }
        }
        catch (e) {
            addWords(reach, sql);
            const known = KNOWN_BY_WORDS.find(([words]) => words.test(sql.trim()));
            if (known?.[1] === 'session' && UNSAFE_CHARSETS.test(sql))
                return { classes: ['unparseable'], command: 'SET', syntaxError: 'a character set whose bytes can read as quotes' };
            if (known)
                return { classes: [known[1], ...extra], command: sql.trim().split(/\s+/)[0].toUpperCase() };
            return { classes: ['unparseable'], command: 'UNPARSEABLE', syntaxError: e.message.split('\n')[0] };
        }
        const classes = [...extra];
        let command = '';
        for (const node of ast) {
            const type = String(node.type ?? '');
            command ||= type.toUpperCase();
            classes.push(...classesOf(node, type, sql));
        }
        return { classes, command };
    }
}
function classesOf(node, type, sql) {
    switch (type) {
        case 'select':
        case 'show':
        case 'desc':
        case 'explain':
            return ['read'];
        case 'insert':
        case 'replace':
            return ['insert'];
        case 'update':
            return node.where ? ['update'] : ['update', 'update_without_where'];
        case 'delete':
            return node.where ? ['delete'] : ['delete', 'delete_without_where'];
        case 'drop':
            return ['ddl', 'drop'];
        case 'truncate':
            return ['ddl', 'truncate'];
        case 'create':
            return ['ddl', 'create'];
        case 'alter':
        case 'rename':
            return ['ddl', 'alter'];
        case 'grant':
        case 'revoke':
            return ['grant'];
        case 'transaction':
            return ['transaction'];
        case 'use':
            return ['session'];
        case 'lock':
        case 'unlock':
            return ['lock'];
        case 'set':
            return setClasses(sql);
        case 'load_data':
            return /^\s*LOAD\s+(DATA|XML)\s+((LOW_PRIORITY|CONCURRENT)\s+)?LOCAL\b/i.test(sql) ? ['insert', 'load_local'] : ['insert', 'dangerous_function'];
        default:
            // CALL and anything else whose effect the statement does not show.
            return ['unknown'];
    }
}
function setClasses(sql) {
    const bare = withoutLiterals(sql);
    if (/\b(NAMES|CHARSET|CHARACTER\s+SET|character_set_\w+)\b/i.test(bare) && UNSAFE_CHARSETS.test(sql))
        return ['unparseable'];
    if (/\b(GLOBAL|PERSIST|PERSIST_ONLY)\b|@@global\./i.test(bare))
        return ['alter_system'];
    if (/^\s*SET\s+(DEFAULT\s+)?ROLE\b/i.test(bare))
        return ['set_role'];
    if (/^\s*SET\s+PASSWORD\b/i.test(bare))
        return ['grant'];
    return ['session'];
}
function addReach(reach, more) {
    more.tables.forEach((t) => reach.tables.add(t));
    more.columns.forEach((c) => reach.columns.add(c));
    reach.star ||= more.star;
}
/** A prepared statement's name as the server compares them: without quotes, in any case. */
function nameOf(name) {
    return (name.startsWith('`') ? name.slice(1, -1).replaceAll('``', '`') : name).toLowerCase();
}
/** The text of a string literal, its escapes read as the server reads them (backslash escapes on). */
function unquote(literal) {
    const quote = literal[0];
    const escapes = { '0': '\0', b: '\b', n: '\n', r: '\r', t: '\t', Z: '\x1a', '%': '\\%', _: '\\_' };
    return literal.slice(1, -1).replace(new RegExp(`\\\\([\\s\\S])|${quote}${quote}`, 'g'), (_, c) => (c === undefined ? quote : (escapes[c] ?? c)));
}
/** A text the grammar does not read reaches, for masking, every name in it. */
function addWords(reach, sql) {
    const names = sql.replace(/'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"/g, "''");
    for (const [word] of names.matchAll(/[A-Za-z_$][\w$]*/g))
        reach.columns.add(word.toLowerCase());
}
/** The statement with its string literals and quoted identifiers emptied: for word tests that must not read data. */
function withoutLiterals(sql) {
    return sql.replace(/'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`(?:[^`]|``)*`/g, "''");
}
/**
 * Splits a text into statements at top-level semicolons, as the server's lexer does: quotes ('…', "…",
 * `…`, with backslash escapes in strings), comments (-- , #, /* *\/) removed, and executable comments
 * opened: their content is kept and their markers dropped. Throws on an unterminated quote or comment.
 */
function splitStatements(text) {
    const statements = [];
    let current = '';
    let executable = false;
    let i = 0;
    const n = text.length;
    while (i < n) {
        const c = text[i];
        if (c === "'" || c === '"' || c === '`') {
            let j = i + 1;
            for (;;) {
                if (j >= n)
                    throw new Error('an unterminated quote');
                if (text[j] === '\\' && c !== '`')
                    j += 2;
                else if (text[j] === c && text[j + 1] === c)
                    j += 2;
                else if (text[j] === c)
                    break;
                else
                    j++;
            }
            current += text.slice(i, j + 1);
            i = j + 1;
        }
        else if ((c === '-' && text[i + 1] === '-' && /[\s]/.test(text[i + 2] ?? ' ')) || c === '#') {
            const end = text.indexOf('\n', i);
            i = end < 0 ? n : end + 1;
            current += ' ';
        }
        else if (c === '/' && text[i + 1] === '*') {
            const opened = /^\/\*M?!(\d{5,6})?/.exec(text.slice(i, i + 10));
            if (opened && !executable) {
                executable = true;
                i += opened[0].length;
                current += ' ';
                continue;
            }
            const end = text.indexOf('*/', i + 2);
            if (end < 0)
                throw new Error('an unterminated comment');
            i = end + 2;
            current += ' ';
        }
        else if (executable && c === '*' && text[i + 1] === '/') {
            executable = false;
            i += 2;
            current += ' ';
        }
        else if (c === ';') {
            if (current.trim())
                statements.push(current.trim());
            current = '';
            i++;
        }
        else {
            current += c;
            i++;
        }
    }
    if (executable)
        throw new Error('an unterminated executable comment');
    if (current.trim())
        statements.push(current.trim());
    return statements;
}

// EXTERNAL MODULE: ./runner-proxy/src/masking/credentials.ts
var credentials = __webpack_require__(4880);
// EXTERNAL MODULE: ./runner-proxy/src/masking/masker.ts
var masking_masker = __webpack_require__(7171);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/mysql/result-mask.ts

/** Column types whose values are text, so a masked text is a valid value. */
const TEXTUAL = new Set([15, 249, 250, 251, 252, 253, 254]);
/** Types whose values may hold free text for the detectors (JSON too: a finding inside a string stays JSON). */
const DETECTABLE = new Set([...TEXTUAL, 245]);
/** Fixed sizes of binary-protocol values; types not listed are length-encoded, dates and times length-prefixed. */
const FIXED = { 1: 1, 2: 2, 13: 2, 3: 4, 9: 4, 4: 4, 8: 8, 5: 8 };
const PREFIXED = new Set([7, 10, 11, 12, 14, 17, 18, 19]);
const PASS_THROUGH = { cells: [], active: false };
/** The tables (schema.table) a result's columns come from, for the catalog to tell tables from views. */
function sourceTables(columns) {
    return [...new Set(columns.filter((c) => c.orgTable).map((c) => `${c.schema}.${c.orgTable}`))];
}
/**
 * Masks by source column: each column definition names the table and column its values come from
 * (org_table, org_name), whatever an alias, a join or a merged subquery calls it. MariaDB names no
 * source for a column computed by an expression, nor for one read through a view, a derived table or a
 * CTE (it names the view or the alias): such a column matches masks by its name, and is masked whole
 * when what the statement reaches (`reach`, its views opened) names a masked column, or selects `*`
 * from a table with one. Columns no mask takes get the detectors.
 */
function planResult(masks, columns, kinds, reach) {
    if (masks.columns.length === 0 && masks.detectors.size === 0)
        return PASS_THROUGH;
    const reached = reachedMask(masks, reach);
    const cells = columns.map((c) => {
        const table = `${c.schema}.${c.orgTable}`;
        const opaque = !c.orgTable || kinds.get(table) !== 'table';
        const mask = opaque
            ? (masks.columns.find((m) => m.matchesColumn(c.orgName || c.name)) ?? reached)
            : masks.columns.find((m) => m.matches(c.orgTable, c.orgName) || m.matches(table, c.orgName));
        return { ...(mask && { mask }), detect: !mask && masks.detectors.size > 0 && DETECTABLE.has(c.type), textual: TEXTUAL.has(c.type), label: `${c.orgTable || c.table}.${c.orgName || c.name}` };
    });
    return { cells, active: cells.some((c) => c.mask || c.detect) };
}
/** The first mask a statement's reach could carry a value of: by a column it names, or a table it selects `*` from. */
function reachedMask(masks, reach) {
    const tables = [...reach.tables].flatMap((t) => [t, t.slice(t.indexOf('.') + 1)]);
    return masks.columns.find((m) => [...reach.columns].some((c) => m.matchesColumn(c)) || (reach.star && tables.some((t) => m.matchesTable(t))));
}
function count(counts, label, n = 1) {
    counts.masked += n;
    counts.by[label] = (counts.by[label] ?? 0) + n;
}
/** A masked cell's new value: text for a text column, NULL where no masked text would be valid. */
function masked(cell, value, masker, detectors, counts) {
    if (cell.mask) {
        count(counts, cell.label);
        return cell.textual ? Buffer.from(masker.maskValue(value.toString('utf8'), cell.mask.strategy)) : null;
    }
    if (!cell.detect)
        return undefined;
    const text = value.toString('utf8');
    const found = masker.maskText(text, detectors);
    if (found.count === 0)
        return undefined;
    for (const [type, n] of Object.entries(found.byType ?? {}))
        count(counts, type, n);
    return Buffer.from(found.text);
}
/** A text-protocol row with its masked cells replaced; the same buffer when nothing changed. */
function maskTextRow(row, plan, masker, detectors, counts) {
    const r = new Reader(row);
    const parts = [];
    let changed = false;
    for (const cell of plan.cells) {
        const start = r.pos;
        const value = r.lenencBytes();
        const replaced = value === null ? undefined : masked(cell, value, masker, detectors, counts);
        if (replaced === undefined)
            parts.push(row.subarray(start, r.pos));
        else {
            changed = true;
            parts.push(replaced === null ? NULL_CELL : lenencBytes(replaced));
        }
    }
    if (!r.done)
        throw new MalformedPacketError('a result row longer than its columns');
    return changed ? Buffer.concat(parts) : row;
}
/** A binary-protocol row (COM_STMT_EXECUTE): NULLs in its bitmap, values by their column types. */
function maskBinaryRow(row, columns, plan, masker, detectors, counts) {
    const bitmapLength = (columns.length + 7 + 2) >> 3;
    const bitmap = Buffer.from(row.subarray(1, 1 + bitmapLength));
    const r = new Reader(row, 1 + bitmapLength);
    const parts = [];
    let changed = false;
    columns.forEach((column, i) => {
        const bit = i + 2;
        if (bitmap[bit >> 3] & (1 << (bit & 7)))
            return;
        const start = r.pos;
        const fixed = FIXED[column.type];
        let value;
        if (fixed !== undefined)
            r.bytes(fixed);
        else if (PREFIXED.has(column.type))
            r.bytes(r.u8());
        else
            value = r.lenencBytes() ?? Buffer.alloc(0);
        const cell = plan.cells[i];
        const replaced = cell.mask ? masked(cell, value ?? Buffer.alloc(0), masker, detectors, counts) : value ? masked(cell, value, masker, detectors, counts) : undefined;
        if (replaced === undefined)
            return parts.push(row.subarray(start, r.pos));
        changed = true;
        if (replaced === null)
            bitmap[bit >> 3] |= 1 << (bit & 7);
        else
            parts.push(lenencBytes(replaced));
    });
    if (!r.done)
        throw new MalformedPacketError('a binary result row longer than its columns');
    return changed ? Buffer.concat([row.subarray(0, 1), bitmap, ...parts]) : row;
}
/**
 * The target's error message as the job gets it: the detectors' findings replaced and, on a statement
 * with masked columns, every quoted value too (`Duplicate entry 'alice@example.com'` names a cell).
 */
function maskError(message, masks, masker, detectors) {
    const quoted = masks.columns.length > 0 ? message.replace(/'(?:[^'\\]|\\.)*'/g, "'[masked]'") : message;
    return masker.maskText(quoted, detectors).text;
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/mysql/session.ts




const Command = {
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
};
/** A refusal as MySQL's own access error: the client reports it and the session goes on. */
const REFUSED_CODE = 1142;
const REFUSED_SQLSTATE = '42000';
/**
 * One job connection after authentication. MySQL is one command, then its whole response: each
 * command is read, decided and committed before it is forwarded, and its response is relayed with
 * masks applied before the next command is read. A refusal is an ERR packet from the gateway, which
 * the client reports as a statement's error; the target never saw the command, so the session goes on.
 */
class MysqlSession {
    #ctx;
    #client;
    #server;
    #prepared = new Map();
    /** Statements prepared in SQL (`PREPARE name FROM '…'`) that the target confirmed, by lower-case name. */
    #preparedSql = new Map();
    #deprecateEof;
    /**
     * The target says (in every OK and EOF) that its sql_mode reads a backslash in a string as itself:
     * the gateway splits and reads text by the default quoting, so text is refused while this holds.
     */
    #backslashLiteral;
    constructor(ctx, client, server) {
        this.#ctx = ctx;
        this.#client = client;
        this.#server = server;
        this.#deprecateEof = (ctx.capabilities & Capability.DEPRECATE_EOF) !== 0;
        this.#backslashLiteral = (ctx.status & SERVER_STATUS_NO_BACKSLASH_ESCAPES) !== 0;
    }
    /** Follows the target's status flags, as each OK and EOF confirms them. */
    #confirmed(status) {
        this.#backslashLiteral = (status & SERVER_STATUS_NO_BACKSLASH_ESCAPES) !== 0;
        return status;
    }
    /** True (the client told, the refusal recorded) when text cannot be read as the target will read it. */
    #unreadable(command) {
        if (!this.#backslashLiteral)
            return false;
        this.#ctx.governor.note('protocol.refused', { connection: this.#ctx.connection, command, reason: 'sql_mode NO_BACKSLASH_ESCAPES' });
        this.#refuse('the session\'s sql_mode has NO_BACKSLASH_ESCAPES, and the gateway reads strings with backslash escapes; open a new connection without it');
        return true;
    }
    /** Serves commands until either side leaves. */
    async run() {
        for (;;) {
            const command = await this.#client.read();
            if (command.payload.length === 0)
                throw new MalformedPacketError('an empty command');
            if (!(await this.#command(command)))
                return;
        }
    }
    end() {
        this.#client.socket.destroy();
        this.#server.socket.destroy();
    }
    /** Returns false once the session is over. */
    async #command({ payload }) {
        const code = payload[0];
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
    #op(text, sql) {
        return {
            connection: this.#ctx.connection,
            protocol: 'mysql',
            text: this.#ctx.governor.masker.maskText((0,credentials/* hideCredentials */.R)(text), masking_masker/* REDACT_ALL */.kZ).text,
            classes: sql.classes,
            writes: sql.writes,
            sql,
        };
    }
    async #query(payload) {
        if (this.#unreadable(Command.QUERY))
            return;
        const text = payload.toString('utf8', 1);
        const sql = this.#ctx.classifier.classify(text, this.#preparedSql);
        const outcome = await this.#governed(payload, this.#op(text, sql));
        if (!outcome)
            return;
        // After an error the gateway cannot tell which statements ran: what the text prepared is forgotten.
        for (const [name, prepared] of sql.prepares) {
            if (prepared && !outcome.error)
                this.#preparedSql.set(name, prepared);
            else
                this.#preparedSql.delete(name);
        }
    }
    /** Decides, records, then forwards a command and relays its result sets; refused, answers ERR and returns undefined. */
    async #governed(payload, op) {
        const ruling = await this.#decide(op);
        if (!ruling)
            return undefined;
        const started = performance.now();
        this.#forward(payload);
        const outcome = await this.#relayResults(ruling, op.sql.reach, false, op.classes.has('load_local'));
        if ([...op.classes].some((c) => c === 'ddl' || c === 'create' || c === 'alter' || c === 'drop'))
            this.#ctx.catalog.forget();
        this.#completed(ruling, outcome, started);
        return outcome;
    }
    /** The ruling of an operation once it is in the record; undefined (and the client told) when refused. */
    async #decide(op) {
        const ruling = await this.#ctx.governor.decide(op);
        if (!ruling.allowed) {
            this.#refuse(ruling.message ?? `refused by rule "${ruling.rule}"`);
            return undefined;
        }
        try {
            await new Promise((resolve, reject) => this.#ctx.governor.commitThen((failure) => (failure ? reject(failure) : resolve())));
        }
        catch (e) {
            this.#refuse(`the session record cannot be written: ${e.message}`);
            return undefined;
        }
        return ruling;
    }
    #refuse(message, seq = 1) {
        this.#client.send(seq, errPacket(REFUSED_CODE, REFUSED_SQLSTATE, `govern: ${message}`));
    }
    #forward(payload) {
        this.#server.send(0, payload);
        void this.#server.flush();
    }
    #completed(ruling, outcome, started) {
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
    async #relaySingle() {
        const { seq, payload } = await this.#server.read();
        this.#client.send(seq, payload);
    }
    async #prepare(payload) {
        if (this.#unreadable(Command.STMT_PREPARE))
            return;
        const text = payload.toString('utf8', 1);
        const sql = this.#ctx.classifier.classify(text);
        const ruling = await this.#decide(this.#op(text, sql));
        if (!ruling)
            return;
        this.#forward(payload);
        let seq = 1;
        const relay = async () => {
            const p = await this.#server.read();
            seq = this.#client.send(seq, p.payload);
            return p.payload;
        };
        const ok = await relay();
        if (ok[0] !== 0x00) {
            if (ok[0] === 0xff)
                this.#completed(ruling, { rows: 0, affected: 0, bytes: 0, counts: { masked: 0, by: {} }, error: readErr(ok).message }, performance.now());
            return;
        }
        const r = new Reader(ok, 1);
        const id = r.u32();
        const columnCount = r.u16();
        const paramCount = r.u16();
        for (let i = 0; i < paramCount; i++)
            await relay();
        if (paramCount && !this.#deprecateEof)
            await relay();
        const columns = [];
        for (let i = 0; i < columnCount; i++)
            columns.push(readColumnDefinition(await relay()));
        if (columnCount && !this.#deprecateEof)
            await relay();
        this.#prepared.set(id, { ruling, reach: sql.reach, columns });
    }
    async #execute(payload) {
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
    async #fetch(payload) {
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
    async #plan(masks, columns, reach) {
        if (masks.columns.length === 0 && masks.detectors.size === 0)
            return PASS_THROUGH;
        if (masks.columns.length === 0)
            return planResult(masks, columns, new Map(), reach);
        const catalog = this.#ctx.catalog;
        const opened = await catalog.reach(reach, sourceTables(columns), (definition) => this.#ctx.classifier.reachOf(definition));
        return planResult(masks, columns, await catalog.kinds(sourceTables(columns)), opened);
    }
    /**
     * Relays the response to a statement: OK, ERR, or result sets (column count, definitions, rows), as
     * many as the target says follow. A request for a local file is answered only for a statement the
     * policy allowed as `load_local`; otherwise the target gets an empty file and the job an error.
     */
    async #relayResults(ruling, reach, binary, mayLoadLocal, prepared) {
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
                if (this.#confirmed(status) & SERVER_MORE_RESULTS_EXISTS)
                    continue;
                return outcome;
            }
            if (head === 0xff) {
                const error = readErr(first.payload);
                const message = maskError(error.message, masks, this.#ctx.governor.masker, masking_masker/* REDACT_ALL */.kZ);
                outcome.error = message;
                this.#client.send(seq, errPacket(error.code, error.sqlstate, message));
                return outcome;
            }
            if (head === 0xfb) {
                seq = await this.#localFile(first.seq, first.payload, mayLoadLocal, seq);
                if (seq < 0)
                    return outcome;
                continue;
            }
            const columnCount = new Reader(first.payload).lenenc() ?? 0;
            seq = this.#client.send(seq, first.payload);
            const columns = [];
            for (let i = 0; i < columnCount; i++) {
                const p = await this.#server.read();
                columns.push(readColumnDefinition(p.payload));
                seq = this.#client.send(seq, p.payload);
            }
            if (!this.#deprecateEof)
                seq = this.#client.send(seq, (await this.#server.read()).payload);
            if (prepared)
                prepared.columns = columns;
            const plan = await this.#plan(masks, columns, reach);
            const more = await this.#relayRows(seq, masks, columns, plan, binary, outcome);
            if (more < 0)
                return outcome;
            seq = more;
        }
    }
    /** Rows up to their terminator; returns the next sequence id when more result sets follow, else -1. */
    async #relayRows(seq, masks, columns, plan, binary, outcome) {
        const masker = this.#ctx.governor.masker;
        for (;;) {
            if (!this.#server.hasReady)
                await this.#client.flush();
            const { payload } = await this.#server.read();
            if (payload[0] === 0xff) {
                const error = readErr(payload);
                outcome.error = maskError(error.message, masks, masker, masking_masker/* REDACT_ALL */.kZ);
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
    async #localFile(serverSeq, request, allowed, seq) {
        if (!allowed) {
            this.#server.send(serverSeq + 1, Buffer.alloc(0));
            await this.#server.flush();
            const answer = (await this.#server.read()).payload;
            // What would follow belongs to statements after the refused one: the connection cannot stay in step.
            if (answer[0] === 0x00 && okStatus(answer).status & SERVER_MORE_RESULTS_EXISTS)
                throw new Error('the target asked for a local file inside a multi-statement text');
            this.#refuse('the target asked for a local file, and this statement was not allowed as load_local', seq);
            return -1;
        }
        this.#client.send(seq, request);
        let upSeq = serverSeq + 1;
        for (;;) {
            const piece = await this.#client.read();
            upSeq = this.#server.send(upSeq, piece.payload);
            seq = piece.seq + 1;
            if (piece.payload.length === 0)
                break;
        }
        await this.#server.flush();
        return seq;
    }
}
function emptyOutcome() {
    return { rows: 0, affected: 0, bytes: 0, counts: { masked: 0, by: {} } };
}

// EXTERNAL MODULE: ./runner-proxy/src/adapters/drain.ts
var drain = __webpack_require__(6316);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/mysql/adapter.ts












const HANDSHAKE_TIMEOUT_MS = 30_000;
/** What the gateway relays and understands; compression, TLS on the loopback and query attributes are not offered. */
const SUPPORTED = Capability.LONG_PASSWORD | Capability.FOUND_ROWS | Capability.LONG_FLAG | Capability.CONNECT_WITH_DB | Capability.LOCAL_FILES |
    Capability.IGNORE_SPACE | Capability.PROTOCOL_41 | Capability.INTERACTIVE | Capability.TRANSACTIONS | Capability.SECURE_CONNECTION |
    Capability.MULTI_STATEMENTS | Capability.MULTI_RESULTS | Capability.PS_MULTI_RESULTS | Capability.PLUGIN_AUTH |
    Capability.CONNECT_ATTRS | Capability.PLUGIN_AUTH_LENENC_DATA | Capability.DEPRECATE_EOF;
const SERVER_STATUS_AUTOCOMMIT = 0x0002;
class HandshakeRefused extends Error {
    code;
    sqlstate;
    constructor(code, sqlstate, message) {
        super(message);
        this.code = code;
        this.sqlstate = sqlstate;
    }
}
/**
 * The MySQL/MariaDB adapter: a loopback listener per connection. The job authenticates with a
 * job-scoped password (caching_sha2_password or mysql_native_password, both challenge-response); the
 * gateway logs in to the target with the real credentials, over TLS when the URL asks.
 */
class MysqlAdapter {
    protocol = 'mysql';
    async listen({ connection, governor, log }) {
        const settings = connection.settings;
        let target;
        try {
            target = parseTargetUrl(settings.url, settings.ca);
        }
        catch (e) {
            throw new TargetError(`connection "${connection.name}": ${e.message}`);
        }
        const hello = await checkTarget(connection.name, target);
        const password = (0,external_node_crypto_.randomBytes)(24).toString('base64url');
        const state = {
            name: connection.name,
            target,
            hello,
            password,
            plugin: settings.auth ?? CACHING_SHA2,
            governor,
            classifier: new MysqlClassifier(),
            catalog: new Catalog(target),
            sessions: new Set(),
            fault: (0,guard/* faultSink */.Qr)(governor, log),
        };
        const server = (0,external_node_net_.createServer)((socket) => (0,guard/* guardConnection */.cc)(socket, `${connection.name} connection`, state.fault, () => accept(socket, state)));
        server.on('error', (e) => log.warn(`${connection.name}: listener error: ${e.message}`));
        const port = await new Promise((resolve, reject) => {
            server.once('error', reject);
            server.listen(0, '127.0.0.1', () => resolve(server.address().port));
        });
        const url = `mysql://${encodeURIComponent(target.user)}:${password}@127.0.0.1:${port}/${encodeURIComponent(target.database)}`;
        return {
            exports: { [connection.export]: url },
            secrets: [password, url],
            target: `${target.host}:${target.port}/${target.database}`,
            close: (deadlineMs) => closeListener(server, state, deadlineMs),
        };
    }
}
async function closeListener(server, state, deadlineMs) {
    await (0,drain/* drainListener */.p)(server, state.sessions, deadlineMs);
    state.catalog.close();
}
/** Logs in once when the gateway starts: wrong credentials are a start error naming the connection. */
async function checkTarget(name, target) {
    try {
        const probe = await connectUpstream(target, SUPPORTED);
        probe.socket.destroy();
        return probe.hello;
    }
    catch (e) {
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.GatewayStartFailed, `connection "${name}": ${e.message} (${target.host}:${target.port}); check the connection's url and credentials`, { cause: e });
    }
}
/** The 20 bytes a client scrambles its password with: never NUL, since the handshake ends them with one. */
function makeNonce() {
    const nonce = (0,external_node_crypto_.randomBytes)(20);
    for (let i = 0; i < nonce.length; i++)
        nonce[i] = (nonce[i] % 94) + 33;
    return nonce;
}
function serverHello(state, nonce, capabilities) {
    const fixed = Buffer.alloc(1 + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10);
    let o = 0;
    fixed[o++] = 10;
    const version = Buffer.from(`${state.hello.version}\0`, 'utf8');
    const rest = fixed.subarray(1);
    rest.writeUInt32LE((0,external_node_crypto_.randomInt)(1, 2 ** 31), 0);
    nonce.copy(rest, 4, 0, 8);
    rest[12] = 0;
    rest.writeUInt16LE(capabilities & 0xffff, 13);
    rest[15] = 45;
    rest.writeUInt16LE(SERVER_STATUS_AUTOCOMMIT, 16);
    rest.writeUInt16LE(capabilities >>> 16, 18);
    rest[20] = 21;
    return Buffer.concat([fixed.subarray(0, o), version, rest, nonce.subarray(8), Buffer.from([0]), Buffer.from(`${state.plugin}\0`)]);
}
function readHandshakeResponse(payload) {
    const r = new Reader(payload);
    const capabilities = r.u32();
    if (!(capabilities & Capability.PROTOCOL_41))
        throw new HandshakeRefused(1251, '08004', 'this client does not speak protocol 4.1');
    if (payload.length === 32 && capabilities & Capability.SSL)
        throw new HandshakeRefused(1045, '08004', 'the gateway does not offer TLS on the loopback');
    r.u32();
    const charset = r.u8();
    r.bytes(23);
    const user = r.cstring();
    const auth = capabilities & Capability.PLUGIN_AUTH_LENENC_DATA ? (r.lenencBytes() ?? Buffer.alloc(0)) : r.bytes(r.u8());
    const database = capabilities & Capability.CONNECT_WITH_DB && !r.done ? r.cstring() : '';
    const plugin = capabilities & Capability.PLUGIN_AUTH && !r.done ? r.cstring() : NATIVE;
    const attributes = capabilities & Capability.CONNECT_ATTRS && !r.done ? r.rest() : undefined;
    return { capabilities: capabilities >>> 0, charset, user, auth, database, plugin, ...(attributes && { attributes }) };
}
async function accept(socket, state) {
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
    let clientGone = false;
    socket.once('close', () => (clientGone = true));
    const client = new PacketChannel(socket, 'the client', 1 << 16);
    let seq = 1;
    try {
        const nonce = makeNonce();
        const offered = (SUPPORTED & state.hello.capabilities) | Capability.PLUGIN_AUTH | Capability.SECURE_CONNECTION | Capability.PROTOCOL_41;
        client.send(0, serverHello(state, nonce, offered));
        const first = await client.read();
        const response = readHandshakeResponse(first.payload);
        seq = first.seq + 1;
        if (UNSAFE_CHARSET_IDS.has(response.charset))
            throw new HandshakeRefused(1115, '42000', 'this connection admits character sets whose bytes read the same as ASCII (utf8mb4, latin1…) only');
        if (response.user !== state.target.user)
            throw new HandshakeRefused(1045, '28000', `this connection admits only user "${state.target.user}"`);
        if (response.database && response.database !== state.target.database)
            throw new HandshakeRefused(1044, '42000', `this connection reaches database "${state.target.database}" only`);
        let { plugin, auth } = response;
        if (!JOB_PLUGINS.has(plugin)) {
            plugin = state.plugin;
            seq = client.send(seq, Buffer.concat([Buffer.from([0xfe]), Buffer.from(`${plugin}\0`), nonce, Buffer.from([0])]));
            const answer = await client.read();
            auth = answer.payload;
            seq = answer.seq + 1;
        }
        if (!verifyScramble(plugin, state.password, nonce, auth)) {
            state.governor.note('auth.failed', { connection: state.name, message: `the job's password for user "${state.target.user}" was wrong` });
            throw new HandshakeRefused(1045, '28000', `access denied for user "${state.target.user}"`);
        }
        // caching_sha2_password's "fast authentication succeeded" comes before the OK.
        if (plugin === CACHING_SHA2)
            seq = client.send(seq, Buffer.from([0x01, 0x03]));
        const capabilities = response.capabilities & offered;
        let upstream;
        try {
            state.governor.commit();
            upstream = await connectUpstream(state.target, capabilities, response.attributes);
        }
        catch (e) {
            state.governor.note('connection.failed', { connection: state.name, message: e.message });
            throw new HandshakeRefused(2013, '08S01', e.message);
        }
        if (clientGone) {
            upstream.socket.destroy();
            return;
        }
        client.send(seq, okPacket(upstream.hello.status));
        await client.flush();
        clearTimeout(timer);
        const openSeq = state.governor.connectionOpened(state.name, 'mysql', { peer: `${socket.remoteAddress}:${socket.remotePort}` });
        client.maxPacket = MAX_PACKET;
        const session = new MysqlSession({ connection: state.name, governor: state.governor, classifier: state.classifier, catalog: state.catalog, capabilities: upstream.capabilities & capabilities, status: upstream.hello.status }, client, upstream.channel);
        state.sessions.add(session);
        let reason = 'client';
        try {
            await session.run();
        }
        catch (e) {
            reason = e.message;
        }
        finally {
            state.sessions.delete(session);
            state.governor.connectionClosed(state.name, openSeq, reason);
            await client.flush();
            session.end();
        }
    }
    catch (e) {
        clearTimeout(timer);
        const refused = e instanceof HandshakeRefused ? e : new HandshakeRefused(1043, '08S01', `bad handshake: ${e.message}`);
        (0,guard/* closeWithMessage */.Qk)(socket, framePacket(seq, errPacket(refused.code, refused.sqlstate, `govern: ${refused.message}`)).bytes);
    }
}


/***/ }),

/***/ 4880:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   R: () => (/* binding */ hideCredentials)
/* harmony export */ });
/**
 * Credentials written into text the gateway records (a command line, a statement): a password in a
 * URL (postgres://u:p@h/db) or in a key=value connection string (password=p), and shell assignments to
 * variables named like secrets (PGPASSWORD=p). Names and users stay; the secret is replaced.
 */
// Every repetition that can start anywhere is bounded, so a multi-megabyte statement stays linear.
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@'"]{1,256}):[^\s@/'"]{1,256}@/gi;
const KEY_VALUE_PASSWORD = /\b(password|passwd|pwd)\s{0,8}=\s{0,8}('[^']{0,256}'|"[^"]{0,256}"|[^\s'";]{1,256})/gi;
const SECRET_ASSIGNMENT = /\b([A-Z][A-Z0-9_]{0,63}(?:PASSWORD|SECRET|TOKEN|_KEY))=('[^']{0,256}'|"[^"]{0,256}"|[^\s'"]{1,256})/g;
/** What every pattern above needs somewhere in the text: one quick scan spares the three for most statements. */
const MAYBE_CREDENTIAL = /:\/\/|pass|pwd|secret|token|_key/i;
function hideCredentials(text) {
    if (!MAYBE_CREDENTIAL.test(text))
        return text;
    return text
        .replace(URL_PASSWORD, '$1:[masked]@')
        .replace(KEY_VALUE_PASSWORD, '$1=[masked]')
        .replace(SECRET_ASSIGNMENT, '$1=[masked]');
}


/***/ }),

/***/ 7597:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   BV: () => (/* binding */ mayHold),
/* harmony export */   Cb: () => (/* binding */ openValueStart),
/* harmony export */   gJ: () => (/* binding */ detectorGate),
/* harmony export */   tW: () => (/* binding */ DETECTOR_TYPES)
/* harmony export */ });
/* unused harmony exports luhnValid, ibanValid, MAX_HELD_VALUE, detect */
function statsOf(text) {
    let digits = 0;
    let at = false;
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c >= 48 && c <= 57)
            digits++;
        else if (c === 64)
            at = true;
        // Past this every quick test passes: counting further changes nothing.
        if (at && digits >= 12)
            break;
    }
    return { digits, at, length: text.length };
}
function holds(needs, stats) {
    return (!needs.at || stats.at) && stats.digits >= (needs.digits ?? 0) && stats.length >= (needs.length ?? 0);
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
        needs: {},
        mayContain: (t) => t.includes('PRIVATE KEY'),
        // An unterminated block (a cut-off chunk) is masked to the end: better too much than a key fragment.
        scan: byPattern(/-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END \1PRIVATE KEY(?: BLOCK)?-----|$)/g),
        valid: always,
        tail: /-{1,5}[A-Z0-9 ]*$/,
    },
    {
        type: 'bearer_token',
        needs: {},
        mayContain: (t) => /Bearer|eyJ|gh[pousr]_|github_pat_|glpat-/.test(t),
        scan: byPattern(
        // A token starts where no token character precedes it, so a long run is tried once, not at every '-'.
        /\bBearer\s+([A-Za-z0-9\-._~+/]{8,}=*)|(?<![A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,})|(?<![A-Za-z0-9_-])((?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}|glpat-[A-Za-z0-9_-]{20,}))/g, -1),
        valid: always,
        tail: /(?:\bBearer\s+[A-Za-z0-9\-._~+/]*=*|[A-Za-z0-9_.-]+)$/,
    },
    {
        type: 'aws_key',
        needs: {},
        mayContain: (t) => /A[KSGIRNP][IPSDONV]A|aws_secret|secret_access_key/i.test(t),
        scan: byPattern(/\b((?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16})\b|(?:aws_secret_access_key|secret_access_key|SecretAccessKey)["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi, -1),
        valid: always,
        tail: /(?:(?:aws_secret_access_key|secret_access_key|SecretAccessKey)["']?\s*(?:[:=]\s*["']?[A-Za-z0-9/+]*)?|[A-Za-z0-9_/+]+)$/i,
    },
    {
        type: 'email',
        needs: { at: true },
        scan: scanEmails,
        valid: always,
        tail: /[A-Za-z0-9][A-Za-z0-9._%+-]*(?:@[A-Za-z0-9.-]*)?$/,
    },
    {
        type: 'iban',
        needs: { digits: 8, length: 15 },
        scan: byPattern(/(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])/g),
        valid: ibanValid,
        tail: /(?:[A-Z]{1,2}|[A-Z]{2}\d{1,2}[A-Z0-9 ]*)$/,
    },
    {
        type: 'credit_card',
        needs: { digits: 12 },
        // Not inside a longer token (a UUID's digits, a hex id): letters around the digits rule it out.
        scan: byPattern(/(?<![A-Za-z0-9.-])\d(?:[ -]?\d){12,18}(?![A-Za-z0-9-]|\.\d)/g),
        valid: cardValid,
        tail: /\d(?:[ -]?\d)*[ -]?$/,
    },
    {
        type: 'us_ssn',
        needs: { digits: 9 },
        scan: byPattern(/(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])/g),
        valid: ssnValid,
        tail: /\d[\d-]*$/,
    },
    {
        type: 'phone',
        needs: { digits: 10 },
        // International numbers with a leading +, and North American numbers written with separators.
        scan: byPattern(/(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\d-])|(?<![\w-])\(?[2-9]\d{2}\)?[ .-][2-9]\d{2}[ .-]\d{4}(?![\d-])/g),
        valid: phoneValid,
        tail: /(?:[+(]|[+(]?\d[\d .()-]*)$/,
    },
];
const DETECTOR_TYPES = DETECTORS.map((d) => d.type);
function detectorGate(types) {
    const gate = { always: false, at: false, digits: Infinity };
    for (const { type, needs } of DETECTORS) {
        if (!types.has(type))
            continue;
        if (needs.at)
            gate.at = true;
        else if (needs.digits !== undefined)
            gate.digits = Math.min(gate.digits, needs.digits);
        else
            gate.always = true;
    }
    return gate;
}
/**
 * Whether raw UTF-8 bytes could hold a finding, judged from their counts alone: most cells of a result
 * hold none, and then need not be decoded at all. Runs for every cell, so it stops as soon as it can.
 */
function mayHold(bytes, start, end, gate) {
    if (gate.always)
        return true;
    let digits = 0;
    for (let i = start; i < end; i++) {
        const c = bytes[i];
        if (c >= 48 && c <= 57) {
            if (++digits >= gate.digits)
                return true;
        }
        else if (c === 64 && gate.at)
            return true;
    }
    return false;
}
/** Values longer than this are not held back whole: a stream holds at most this much for one value. */
const MAX_HELD_VALUE = 1024;
/**
 * Where the end of a text that could still begin a sensitive value of the given types starts (the
 * text's length when none could): a stream masks and sends what comes before and holds the rest, so a
 * value written in pieces is masked however long the pause between them.
 */
function openValueStart(text, types) {
    const from = Math.max(0, text.length - MAX_HELD_VALUE);
    const window = text.slice(from);
    let start = window.length;
    for (const detector of DETECTORS) {
        if (!types.has(detector.type))
            continue;
        const m = detector.tail.exec(window);
        if (m && m[0].length > 0)
            start = Math.min(start, m.index);
    }
    return from + start;
}
/**
 * Finds every sensitive value of the given types. Earlier detectors win where findings overlap, so a
 * private key's base64 is one finding, not many.
 */
function detect(text, types) {
    let findings;
    const stats = statsOf(text);
    for (const detector of DETECTORS) {
        if (!types.has(detector.type) || !holds(detector.needs, stats) || (detector.mayContain && !detector.mayContain(text)))
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


/***/ }),

/***/ 7171:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   XF: () => (/* binding */ REDACTED),
/* harmony export */   kZ: () => (/* binding */ REDACT_ALL)
/* harmony export */ });
/* unused harmony export Masker */
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var _detectors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(7597);


/** What a redacted value becomes (a detector's finding names its type as well). */
const REDACTED = '[masked]';
/**
 * Applies a strategy to sensitive values. The hash strategy is keyed by a salt made fresh for each run,
 * so equal values stay joinable within one session's output but cannot be looked up across runs.
 */
class Masker {
    #salt;
    constructor(salt = randomBytes(32)) {
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
        const byType = {};
        for (const f of findings) {
            out += text.slice(last, f.start) + this.maskValue(text.slice(f.start, f.end), plan.get(f.type), f.type);
            last = f.end;
            byType[f.type] = (byType[f.type] ?? 0) + 1;
        }
        return { text: out + text.slice(last), count: findings.length, byType };
    }
    /** The masked form of one whole value: a column's cell, a JSON field, or a detector's finding. */
    maskValue(value, strategy, type) {
        switch (strategy) {
            case 'hash':
                return `hash:${createHmac('sha256', this.#salt).update(value).digest('hex').slice(0, 16)}`;
            case 'partial':
                return partial(value, type);
            case 'redact':
                return type ? `[masked:${type}]` : REDACTED;
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
const REDACT_ALL = new Map(_detectors_js__WEBPACK_IMPORTED_MODULE_1__/* .DETECTOR_TYPES */ .tW.map((t) => [t, 'redact']));


/***/ })

};
