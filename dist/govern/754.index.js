export const id = 754;
export const ids = [754];
export const modules = {

/***/ 20923:
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

/***/ 26754:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  HttpAdapter: () => (/* binding */ HttpAdapter)
});

// EXTERNAL MODULE: external "node:net"
var external_node_net_ = __webpack_require__(77030);
// EXTERNAL MODULE: ./runner-proxy/src/adapters/guard.ts
var guard = __webpack_require__(20923);
// EXTERNAL MODULE: external "node:zlib"
var external_node_zlib_ = __webpack_require__(38522);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/message.ts

/**
 * Headers that describe one hop, never the message: the gateway frames each side itself. `expect` is
 * answered by the gateway (100 Continue), `proxy-*` belongs to the job's proxy hop.
 */
const HOP_BY_HOP = new Set([
    'connection',
    'keep-alive',
    'proxy-connection',
    'proxy-authenticate',
    'proxy-authorization',
    'te',
    'trailer',
    'transfer-encoding',
    'upgrade',
    'content-length',
    'expect',
    'host',
]);
/** Largest request line plus headers the gateway reads; more is answered 400. */
const MAX_HEADER_BYTES = 16 * 1024;
/** Largest body (as sent, and once decoded) read whole when a rule must look inside it. */
const MAX_INSPECTED_BODY = 1 << 20;
const NOTHING = new Set();
/**
 * The raw header pairs that go on to the next hop: hop-by-hop headers dropped (and any the Connection
 * header names), plus the names in `drop`. Framing headers are written by the caller.
 */
function endToEndHeaders(raw, drop = NOTHING) {
    let named;
    for (let i = 0; i < raw.length; i += 2) {
        if (raw[i].length === 10 && raw[i].toLowerCase() === 'connection')
            for (const token of raw[i + 1].split(','))
                (named ??= new Set()).add(token.trim().toLowerCase());
    }
    const out = [];
    for (let i = 0; i < raw.length; i += 2) {
        const lower = raw[i].toLowerCase();
        if (HOP_BY_HOP.has(lower) || named?.has(lower) || drop.has(lower))
            continue;
        out.push(raw[i], raw[i + 1]);
    }
    return out;
}
/** One header's value from raw pairs (the first one). */
function rawHeader(raw, name) {
    for (let i = 0; i < raw.length; i += 2)
        if (raw[i].toLowerCase() === name)
            return raw[i + 1];
    return undefined;
}
/** Removes every pair of one header (`name` in lower case) from raw pairs, in place. */
function dropHeader(raw, name) {
    for (let i = raw.length - 2; i >= 0; i -= 2)
        if (raw[i].toLowerCase() === name)
            raw.splice(i, 2);
}
function isJsonType(contentType) {
    if (!contentType)
        return false;
    const type = contentType.split(';')[0].trim().toLowerCase();
    return type === 'application/json' || type.endsWith('+json') || type === 'application/x-ndjson';
}
const promised = (f) => (buf, options) => new Promise((resolve, reject) => f(buf, options, (e, out) => (e ? reject(e) : resolve(out))));
const DECODERS = {
    gzip: promised(external_node_zlib_.gunzip),
    'x-gzip': promised(external_node_zlib_.gunzip),
    br: promised(external_node_zlib_.brotliDecompress),
    // "deflate" is zlib-wrapped by the standard, raw in some clients: try both.
    deflate: (buf, options) => promised(external_node_zlib_.inflate)(buf, options).catch(() => promised(external_node_zlib_.inflateRaw)(buf, options)),
};
/** The content codings the gateway can undo for inspection and masking. */
function decodable(coding) {
    const c = coding?.trim().toLowerCase();
    return !c || c === 'identity' || c in DECODERS;
}
class UninspectableBody extends Error {
}
/** Undoes a content coding, within the inspection cap. */
async function decodeBody(body, coding) {
    const c = coding?.trim().toLowerCase();
    if (!c || c === 'identity')
        return body;
    const decoder = DECODERS[c];
    if (!decoder)
        throw new UninspectableBody(`content coding "${coding}" cannot be decoded`);
    try {
        return await decoder(body, { maxOutputLength: MAX_INSPECTED_BODY });
    }
    catch (e) {
        const tooLarge = e.code === 'ERR_BUFFER_TOO_LARGE' || /Cannot create a Buffer larger|maxOutputLength/i.test(e.message);
        throw new UninspectableBody(tooLarge ? `the body decodes to more than ${MAX_INSPECTED_BODY >> 20} MiB` : `the ${c} body is corrupt`);
    }
}
/** A whole request body's JSON value (undefined when empty). Throws UninspectableBody when coded unknowably or not JSON. */
async function inspectJsonBody(raw, contentType, coding) {
    if (raw.length === 0)
        return undefined;
    if (!isJsonType(contentType))
        throw new UninspectableBody(`the body is ${contentType ?? 'untyped'}, not JSON`);
    const decoded = await decodeBody(raw, coding);
    try {
        return JSON.parse(decoded.toString('utf8'));
    }
    catch {
        throw new UninspectableBody('the body is not valid JSON');
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/codec.ts
/**
 * The gateway's own HTTP/1.1 codec, push-style (as pg-protocol's parser): bytes go in as they arrive,
 * and heads, body pieces (views of the bytes read, not copies) and message ends come out. Requests are
 * read strictly: whatever a target might frame differently from the gateway is refused before the
 * request exists (item 3 of the HTTP issue): a repeated or listed Content-Length, Content-Length with
 * Transfer-Encoding, a transfer coding other than exactly chunked, chunked in HTTP/1.0, bare CR or LF,
 * a control character, a folded line, a space before a colon, an oversized head, a malformed chunk.
 */

/** The end of a message's body. */
const MESSAGE_END = Symbol('message end');
class MalformedMessage extends Error {
}
const CRLF = 0x0a0d;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/** The characters of a token (a header name), by character code below 128. */
const TOKEN_CHARACTER = new Uint8Array(128);
for (const c of "!#$%&'*+.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-")
    TOKEN_CHARACTER[c.charCodeAt(0)] = 1;
/** A control character other than HTAB, which includes a CR or LF alone. */
const BAD_CHARACTER = /[\x00-\x08\x0a-\x1f\x7f]/;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([\x21-\x7e]+) HTTP\/1\.([01])$/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: ([^]*))?$/;
const CHUNK_SIZE = /^[0-9A-Fa-f]{1,12}$/;
const DIGITS = /^\d{1,15}$/;
/** A chunk-size line longer than this (its extensions included) is refused. */
const MAX_CHUNK_LINE = 4096;
/** A value without its leading and trailing spaces and tabs (and nothing else: String.trim takes more). */
function trimField(line, from) {
    let start = from;
    let end = line.length;
    while (start < end && (line.charCodeAt(start) === 0x20 || line.charCodeAt(start) === 0x09))
        start++;
    while (end > start && (line.charCodeAt(end - 1) === 0x20 || line.charCodeAt(end - 1) === 0x09))
        end--;
    return line.slice(start, end);
}
function isToken(name) {
    if (name.length === 0)
        return false;
    for (let i = 0; i < name.length; i++) {
        const c = name.charCodeAt(i);
        if (c >= 128 || TOKEN_CHARACTER[c] === 0)
            return false;
    }
    return true;
}
/**
 * A head's lines, without their CRLFs, in one pass that also refuses a bare CR or LF and any control
 * character other than HTAB.
 */
function headLines(text) {
    const lines = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if ((c >= 0x20 && c !== 0x7f) || c === 0x09)
            continue;
        if (c !== 0x0d || text.charCodeAt(i + 1) !== 0x0a)
            throw new MalformedMessage('a bare CR or LF, or a control character, in the head');
        lines.push(text.slice(start, i));
        start = ++i + 1;
    }
    lines.push(text.slice(start));
    return lines;
}
/** Whether the bytes hold a LF without its CR, or a CR followed by something other than LF. */
function bareLineBreak(buffer, from, to) {
    for (let i = buffer.indexOf(0x0a, from); i >= 0 && i < to; i = buffer.indexOf(0x0a, i + 1))
        if (i === from || buffer[i - 1] !== 0x0d)
            return true;
    for (let i = buffer.indexOf(0x0d, from); i >= 0 && i < to - 1; i = buffer.indexOf(0x0d, i + 1))
        if (buffer[i + 1] !== 0x0a)
            return true;
    return false;
}
/**
 * Reads the messages of one direction of one connection. `push` parses everything it can at once (so a
 * malformed body in the bytes already received is known before the head is acted on), and `next`
 * hands out what was read, in order. After a malformed message, `error` says why and nothing more is read.
 */
class MessageReader {
    #requests;
    #state = 0 /* State.Head */;
    #buffer = Buffer.alloc(0);
    #offset = 0;
    /** Body bytes still to come in the current Content-Length body or chunk. */
    #remaining = 0;
    #events = [];
    #next = 0;
    /** Why the input was refused; set once, and then nothing more is read. */
    error;
    /** Responses: the next one has no body whatever its headers say (it answers a HEAD). */
    bodyless = false;
    constructor(kind) {
        this.#requests = kind === 'request';
    }
    push(chunk) {
        if (this.#state === 8 /* State.Failed */)
            return;
        this.#buffer = this.#offset < this.#buffer.length ? Buffer.concat([this.#buffer.subarray(this.#offset), chunk]) : chunk;
        this.#offset = 0;
        try {
            this.#parse();
        }
        catch (e) {
            if (!(e instanceof MalformedMessage))
                throw e;
            this.error = e.message;
            this.#state = 8 /* State.Failed */;
        }
    }
    /** The peer closed its side: a body that runs until the close ends here; anything else open is cut. */
    end() {
        if (this.#state === 6 /* State.UntilClose */) {
            this.#state = 0 /* State.Head */;
            this.#events.push(MESSAGE_END);
        }
        else if (this.#state !== 0 /* State.Head */ || this.#offset < this.#buffer.length) {
            if (this.#state !== 8 /* State.Failed */ && this.#state !== 7 /* State.Detached */)
                this.error ??= 'the connection closed inside a message';
            this.#state = 8 /* State.Failed */;
        }
    }
    /** The next thing read, or undefined when everything read so far has been handed out. */
    next() {
        if (this.#next === this.#events.length)
            return undefined;
        const event = this.#events[this.#next++];
        if (this.#next === this.#events.length) {
            this.#events.length = 0;
            this.#next = 0;
        }
        return event;
    }
    /** Whether what is already read holds the end of the current message (so its body is all here). */
    holdsEnd() {
        for (let i = this.#next; i < this.#events.length; i++)
            if (this.#events[i] === MESSAGE_END)
                return true;
        return false;
    }
    /** Whether the input turned out malformed before the current message ended. */
    failsInMessage() {
        return this.#state === 8 /* State.Failed */ && !this.holdsEnd();
    }
    /** Stops reading (an upgrade): the bytes received past the head, which are no longer HTTP. */
    detach() {
        const rest = this.#buffer.subarray(this.#offset);
        this.#buffer = Buffer.alloc(0);
        this.#offset = 0;
        this.#state = 7 /* State.Detached */;
        return rest;
    }
    #parse() {
        const b = this.#buffer;
        while (this.#offset < b.length) {
            switch (this.#state) {
                case 0 /* State.Head */: {
                    // Empty lines before a message are allowed (RFC 9112 §2.2).
                    while (this.#offset + 1 < b.length && b.readUInt16LE(this.#offset) === CRLF)
                        this.#offset += 2;
                    const end = b.indexOf(HEAD_END, this.#offset);
                    if (end < 0) {
                        if (b.length - this.#offset > MAX_HEADER_BYTES)
                            throw new MalformedMessage(`the head is larger than ${MAX_HEADER_BYTES >> 10} KiB`);
                        if (bareLineBreak(b, this.#offset, b.length))
                            throw new MalformedMessage('a bare CR or LF in the head');
                        return;
                    }
                    if (end - this.#offset > MAX_HEADER_BYTES)
                        throw new MalformedMessage(`the head is larger than ${MAX_HEADER_BYTES >> 10} KiB`);
                    const head = this.#head(b.toString('latin1', this.#offset, end));
                    this.#offset = end + 4;
                    // An interim answer (100 Continue, 103 Early Hints) is not passed on: the gateway answers Expect itself.
                    if (!this.#requests && head.statusCode < 200 && !head.upgrade)
                        continue;
                    this.#events.push(head);
                    if (head.upgrade && this.#requests) {
                        this.#state = 7 /* State.Detached */;
                        return;
                    }
                    if (this.#requests || !this.bodyless)
                        this.#startBody(head);
                    else
                        this.#events.push(MESSAGE_END);
                    break;
                }
                case 1 /* State.Length */:
                case 3 /* State.ChunkData */: {
                    const n = Math.min(this.#remaining, b.length - this.#offset);
                    this.#events.push(b.subarray(this.#offset, this.#offset + n));
                    this.#offset += n;
                    this.#remaining -= n;
                    if (this.#remaining > 0)
                        return;
                    if (this.#state === 1 /* State.Length */)
                        this.#endMessage();
                    else
                        this.#state = 4 /* State.ChunkDataEnd */;
                    break;
                }
                case 4 /* State.ChunkDataEnd */:
                    if (b.length - this.#offset < 2)
                        return;
                    if (b.readUInt16LE(this.#offset) !== CRLF)
                        throw new MalformedMessage('a chunk does not end with CRLF');
                    this.#offset += 2;
                    this.#state = 2 /* State.ChunkSize */;
                    break;
                case 2 /* State.ChunkSize */: {
                    const line = this.#line(b);
                    if (line === undefined)
                        return;
                    const semicolon = line.indexOf(';');
                    const size = semicolon < 0 ? line : line.slice(0, semicolon);
                    if (!CHUNK_SIZE.test(size))
                        throw new MalformedMessage('a chunk size is malformed');
                    this.#remaining = parseInt(size, 16);
                    this.#state = this.#remaining === 0 ? 5 /* State.Trailers */ : 3 /* State.ChunkData */;
                    break;
                }
                case 5 /* State.Trailers */: {
                    const line = this.#line(b);
                    if (line === undefined)
                        return;
                    // Trailer fields are read and dropped: no rule or mask sees them, so none goes on.
                    if (line === '')
                        this.#endMessage();
                    break;
                }
                case 6 /* State.UntilClose */:
                    this.#events.push(b.subarray(this.#offset));
                    this.#offset = b.length;
                    return;
                default:
                    return;
            }
        }
    }
    /** One CRLF-terminated line of chunk framing, without its CRLF; undefined until it is all here. */
    #line(b) {
        const end = b.indexOf('\r\n', this.#offset, 'latin1');
        const to = end < 0 ? b.length : end;
        if (to - this.#offset > MAX_CHUNK_LINE)
            throw new MalformedMessage('a chunk line is too long');
        if (bareLineBreak(b, this.#offset, to))
            throw new MalformedMessage('a bare CR or LF in the chunk framing');
        if (end < 0)
            return undefined;
        const line = b.toString('latin1', this.#offset, end);
        if (BAD_CHARACTER.test(line))
            throw new MalformedMessage('a control character in the chunk framing');
        this.#offset = end + 2;
        return line;
    }
    #startBody(head) {
        if (head.chunked) {
            this.#state = 2 /* State.ChunkSize */;
        }
        else if (head.contentLength > 0) {
            this.#state = 1 /* State.Length */;
            this.#remaining = head.contentLength;
        }
        else if (head.contentLength < 0) {
            this.#state = 6 /* State.UntilClose */;
        }
        else
            this.#endMessage();
    }
    #endMessage() {
        this.#state = 0 /* State.Head */;
        this.bodyless = false;
        this.#events.push(MESSAGE_END);
    }
    #head(text) {
        const lines = headLines(text);
        const first = lines[0];
        const head = {
            method: '',
            url: '',
            statusCode: 0,
            statusMessage: '',
            httpVersion: '1.1',
            rawHeaders: [],
            // All fields present from the start: one object shape, not a dictionary grown header by header.
            headers: {
                'content-length': undefined,
                'transfer-encoding': undefined,
                'content-type': undefined,
                'content-encoding': undefined,
                connection: undefined,
                upgrade: undefined,
                expect: undefined,
                host: undefined,
            },
            contentLength: 0,
            chunked: false,
            keepAlive: true,
            upgrade: false,
            expectContinue: false,
            links: false,
        };
        if (this.#requests) {
            const m = REQUEST_LINE.exec(first);
            if (!m)
                throw new MalformedMessage('the request line is malformed');
            head.method = m[1];
            head.url = m[2];
            head.httpVersion = m[3] === '0' ? '1.0' : '1.1';
        }
        else {
            const m = STATUS_LINE.exec(first);
            if (!m)
                throw new MalformedMessage('the status line is malformed');
            head.httpVersion = m[1] === '0' ? '1.0' : '1.1';
            head.statusCode = Number(m[2]);
            head.statusMessage = m[3] ?? '';
        }
        let lengths = 0;
        let codings = 0;
        let hosts = 0;
        let connection = '';
        const raw = head.rawHeaders;
        for (let i = 1; i < lines.length; i++) {
            const line = lines[i];
            const colon = line.indexOf(':');
            if (colon <= 0)
                throw new MalformedMessage(line.charCodeAt(0) === 0x20 || line.charCodeAt(0) === 0x09 ? 'a folded header line' : 'a header line without a colon');
            const name = line.slice(0, colon);
            if (!isToken(name))
                throw new MalformedMessage(`the header name "${name.slice(0, 40)}" is malformed (a space before the colon?)`);
            const value = trimField(line, colon + 1);
            raw.push(name, value);
            const known = head.headers;
            switch (name.toLowerCase()) {
                case 'content-length':
                    lengths++;
                    known['content-length'] ??= value;
                    break;
                case 'transfer-encoding':
                    codings++;
                    known['transfer-encoding'] ??= value;
                    break;
                case 'host':
                    hosts++;
                    known.host ??= value;
                    break;
                case 'connection':
                    connection = connection ? `${connection},${value}` : value;
                    known.connection ??= value;
                    break;
                case 'content-type':
                    known['content-type'] ??= value;
                    break;
                case 'content-encoding':
                    known['content-encoding'] ??= value;
                    break;
                case 'upgrade':
                    known.upgrade ??= value;
                    break;
                case 'expect':
                    known.expect ??= value;
                    break;
                case 'location':
                case 'content-location':
                case 'set-cookie':
                    head.links = true;
                    break;
            }
        }
        const length = head.headers['content-length'];
        const coding = head.headers['transfer-encoding'];
        if (this.#requests) {
            if (lengths > 1)
                throw new MalformedMessage('Content-Length is repeated');
            if (codings > 1)
                throw new MalformedMessage('Transfer-Encoding is repeated');
            if (length !== undefined && coding !== undefined)
                throw new MalformedMessage('Content-Length and Transfer-Encoding together');
            if (coding !== undefined && coding.toLowerCase() !== 'chunked')
                throw new MalformedMessage(`transfer coding "${coding}" is not accepted; only chunked is`);
            if (coding !== undefined && head.httpVersion === '1.0')
                throw new MalformedMessage('HTTP/1.0 has no chunked transfer coding');
            if (hosts > 1 || (hosts === 0 && head.httpVersion === '1.1'))
                throw new MalformedMessage('a request needs exactly one Host header');
            head.expectContinue = head.headers.expect?.toLowerCase() === '100-continue';
            // After CONNECT or an upgrade the bytes are no longer HTTP: the reader stops at the head.
            head.upgrade = head.method === 'CONNECT' || (head.headers.upgrade !== undefined && /(?:^|,)\s*upgrade\s*(?:,|$)/i.test(connection));
        }
        else {
            // A target's framing is read as RFC 9112 §6.3 says; only a conflict is refused.
            if (length !== undefined && lengths > 1 && head.rawHeaders.some((v, i) => i % 2 === 1 && raw[i - 1].toLowerCase() === 'content-length' && v !== length)) {
                throw new MalformedMessage('the response has conflicting Content-Length headers');
            }
            head.upgrade = head.statusCode === 101;
        }
        if (coding !== undefined) {
            head.chunked = /(?:^|,)\s*chunked\s*$/i.test(coding);
            head.contentLength = -1;
            // A response coded otherwise runs until the close.
            if (!head.chunked)
                head.keepAlive = false;
        }
        else if (length !== undefined) {
            if (!DIGITS.test(length))
                throw new MalformedMessage('Content-Length is not a number');
            head.contentLength = Number(length);
        }
        else if (!this.#requests && head.statusCode !== 204 && head.statusCode !== 304 && head.statusCode >= 200) {
            head.contentLength = -1;
            head.keepAlive = false;
        }
        if (!this.#requests && (head.statusCode === 204 || head.statusCode === 304 || head.statusCode < 200)) {
            head.contentLength = 0;
            head.chunked = false;
        }
        const tokens = connection.toLowerCase();
        if (head.httpVersion === '1.0')
            head.keepAlive &&= /(?:^|,)\s*keep-alive\s*(?:,|$)/.test(tokens);
        else if (/(?:^|,)\s*close\s*(?:,|$)/.test(tokens))
            head.keepAlive = false;
        return head;
    }
}
/** Chunked framing for one piece of a body. */
function chunkHead(length) {
    return `${length.toString(16)}\r\n`;
}
const LAST_CHUNK = '0\r\n\r\n';
/** Header pairs as head lines (each with its CRLF). */
function headerLines(pairs) {
    let text = '';
    for (let i = 0; i < pairs.length; i += 2)
        text += `${pairs[i]}: ${pairs[i + 1]}\r\n`;
    return text;
}

// EXTERNAL MODULE: external "node:http"
var external_node_http_ = __webpack_require__(37067);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/discover.ts

/** The most of one response body kept for discovery; a larger body is not counted. */
const MAX_DISCOVERED_BODY = 1024 * 1024;
/**
 * Observe mode: a JSON response body, as it goes to the job, given whole to the run's Discovery when it
 * ends, so that the values of each JSON path are counted (never kept). Bodies the gateway does not
 * decode (a content coding with nothing to mask) and bodies over 1 MiB are not counted.
 */
class BodyDiscovery {
    #governor;
    #connection;
    #pieces = [];
    #length = 0;
    constructor(governor, connection) {
        this.#governor = governor;
        this.#connection = connection;
    }
    static for(governor, connection, contentType, decoded) {
        return governor.discovery.countsValues && decoded && isJsonType(contentType) ? new BodyDiscovery(governor, connection) : undefined;
    }
    add(piece) {
        this.#length += piece.length;
        if (this.#length <= MAX_DISCOVERED_BODY)
            this.#pieces.push(piece);
    }
    done() {
        if (this.#length <= MAX_DISCOVERED_BODY)
            this.#governor.discovery.json(this.#connection, Buffer.concat(this.#pieces).toString('utf8'));
        this.#pieces = [];
    }
}

// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(57075);
// EXTERNAL MODULE: ./runner-proxy/src/masking/masker.ts
var masker = __webpack_require__(27171);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/json-mask.ts


/** One string, number or masked value is held at most this long; a longer one cannot be masked. */
const MAX_JSON_TOKEN = 8 << 20;
class JsonMaskError extends Error {
}
/** No step of a selector reached: nothing below can be named by it. */
const NOWHERE = [];
/** A redacted value as a JSON string; shared by every response and never written to. */
const REDACTED_JSON = Buffer.from(JSON.stringify(masker/* REDACTED */.XF));
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Whether the bytes hold a backslash (an escape: the key's text is not its bytes). */
function hasEscape(chunk, from, to) {
    for (let i = from; i < to; i++)
        if (chunk[i] === BACKSLASH)
            return true;
    return false;
}
function isAscii(text) {
    for (let i = 0; i < text.length; i++)
        if (text.charCodeAt(i) >= 0x80)
            return false;
    return true;
}
const isSpace = (b) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const isScalarByte = (b) => (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2b || b === 0x2e || (b >= 0x61 && b <= 0x7a) || b === 0x45;
/** Whether a step takes any key (so the key's text is not needed). */
function anyKey(step) {
    return step.kind === 'any' || (step.kind === 'descend' && step.key === '*');
}
/**
 * Masks a JSON stream at the token level: only the values a selector names (or in which a detector
 * finds something) are rewritten; every other byte, including number spellings, key order, duplicate
 * keys and escapes, goes out exactly as it came. Values that span chunks are held until complete.
 * Whitespace-separated top-level values (NDJSON) are read one after another. Input that is not JSON
 * throws: the caller ends the response rather than pass what it cannot read.
 */
class JsonStreamMasker {
    #masks;
    #detectors;
    #masker;
    #stack = [];
    #rootStates;
    #mode = 0 /* Mode.Value */;
    #purpose = 0 /* Purpose.Pass */;
    /** The mask that named the value being held. */
    #strategy = 'redact';
    #escaped = false;
    #stringIsKey = false;
    #depth = 0;
    #containerInString = false;
    #held = [];
    #heldLength = 0;
    /**
     * The key just read, when it lay within one chunk and had no escape: its bytes in that chunk, compared
     * with the selectors' keys as bytes, and turned into a string only if the chunk ends before its value.
     */
    #keyChunk;
    #keyFrom = 0;
    #keyTo = 0;
    /** The mask that names the value about to be read, set by #childStates. */
    #childMask;
    /** Values rewritten so far. */
    count = 0;
    constructor(masks, detectors, masker) {
        this.#masks = masks;
        this.#detectors = detectors;
        this.#masker = masker;
        this.#rootStates = masks.map(() => [0]);
    }
    /** Returns what can be written now: the chunk's own bytes, split only around rewritten values. */
    push(chunk) {
        const out = [];
        /** Where the bytes not yet in `out` start. */
        let from = 0;
        // A token held over from the previous chunk goes on being held.
        let holdFrom = this.#purpose === 0 /* Purpose.Pass */ ? -1 : 0;
        const startHold = (at, purpose) => {
            holdFrom = at;
            this.#purpose = purpose;
        };
        const endToken = (end) => {
            if (holdFrom >= 0 && this.#purpose === 1 /* Purpose.Key */ && this.#held.length === 0 && !hasEscape(chunk, holdFrom + 1, end - 1) && !this.#detectsIn(chunk, holdFrom + 1, end - 1)) {
                // A key within the chunk goes out as it is, and is not copied.
                this.#keyChunk = chunk;
                this.#keyFrom = holdFrom + 1;
                this.#keyTo = end - 1;
                holdFrom = -1;
            }
            else if (holdFrom >= 0) {
                const withinChunk = this.#held.length === 0;
                let piece;
                let released;
                // A value redacted whole within the chunk needs none of its bytes.
                if (withinChunk && this.#purpose === 3 /* Purpose.Mask */ && this.#strategy === 'redact')
                    released = this.#redaction();
                else {
                    piece = chunk.subarray(holdFrom, end);
                    this.#hold(piece);
                    released = this.#release();
                }
                // A token that goes out unchanged (most keys and strings) stays part of the chunk's run of bytes.
                if (!withinChunk || released !== piece) {
                    if (holdFrom > from)
                        out.push(chunk.subarray(from, holdFrom));
                    out.push(released);
                    from = end;
                }
                holdFrom = -1;
            }
            this.#purpose = 0 /* Purpose.Pass */;
        };
        let i = 0;
        const n = chunk.length;
        while (i < n) {
            const b = chunk[i];
            switch (this.#mode) {
                case 6 /* Mode.String */:
                    if (!this.#escaped && b !== QUOTE && b !== BACKSLASH && b >= 0x20) {
                        // The run of plain bytes up to the next quote, backslash or control character.
                        i++;
                        while (i < n) {
                            const c = chunk[i];
                            if (c === QUOTE || c === BACKSLASH || c < 0x20)
                                break;
                            i++;
                        }
                        continue;
                    }
                    if (this.#escaped)
                        this.#escaped = false;
                    else if (b === BACKSLASH)
                        this.#escaped = true;
                    else if (b === QUOTE) {
                        endToken(i + 1);
                        if (this.#stringIsKey) {
                            this.#stringIsKey = false;
                            this.#mode = 4 /* Mode.Colon */;
                        }
                        else
                            this.#valueDone();
                    }
                    else if (b < 0x20)
                        throw new JsonMaskError('a control character inside a JSON string');
                    i++;
                    continue;
                case 7 /* Mode.Scalar */:
                    if (isScalarByte(b)) {
                        i++;
                        continue;
                    }
                    endToken(i);
                    this.#valueDone();
                    continue;
                case 8 /* Mode.Container */:
                    i++;
                    if (this.#containerInString) {
                        if (this.#escaped)
                            this.#escaped = false;
                        else if (b === BACKSLASH)
                            this.#escaped = true;
                        else if (b === QUOTE)
                            this.#containerInString = false;
                    }
                    else if (b === QUOTE)
                        this.#containerInString = true;
                    else if (b === 0x7b || b === 0x5b)
                        this.#depth++;
                    else if ((b === 0x7d || b === 0x5d) && --this.#depth === 0) {
                        endToken(i);
                        this.#valueDone();
                    }
                    continue;
            }
            if (isSpace(b)) {
                i++;
                continue;
            }
            switch (this.#mode) {
                case 2 /* Mode.ObjectStart */:
                case 3 /* Mode.Key */:
                    if (b === 0x7d && this.#mode === 2 /* Mode.ObjectStart */) {
                        this.#close(false);
                        break;
                    }
                    if (b !== QUOTE)
                        throw new JsonMaskError('an object key was expected');
                    startHold(i, 1 /* Purpose.Key */);
                    this.#stringIsKey = true;
                    this.#mode = 6 /* Mode.String */;
                    break;
                case 4 /* Mode.Colon */:
                    if (b !== 0x3a)
                        throw new JsonMaskError('a colon was expected');
                    this.#mode = 0 /* Mode.Value */;
                    break;
                case 5 /* Mode.After */: {
                    const top = this.#stack[this.#stack.length - 1];
                    if (!top) {
                        // The next top-level value.
                        this.#mode = 0 /* Mode.Value */;
                        continue;
                    }
                    if (b === 0x2c)
                        this.#mode = top.array ? 0 /* Mode.Value */ : 3 /* Mode.Key */;
                    else if (b === (top.array ? 0x5d : 0x7d))
                        this.#close(top.array);
                    else
                        throw new JsonMaskError('a comma or a closing bracket was expected');
                    break;
                }
                case 1 /* Mode.ArrayStart */:
                case 0 /* Mode.Value */: {
                    if (b === 0x5d && this.#mode === 1 /* Mode.ArrayStart */) {
                        this.#close(true);
                        break;
                    }
                    const states = this.#childStates();
                    const mask = this.#childMask;
                    const container = b === 0x7b || b === 0x5b;
                    if (mask) {
                        this.#strategy = mask.strategy;
                        startHold(i, 3 /* Purpose.Mask */);
                    }
                    if (b === QUOTE) {
                        if (!mask && this.#detectors.size > 0)
                            startHold(i, 2 /* Purpose.Detect */);
                        this.#mode = 6 /* Mode.String */;
                    }
                    else if (container && (mask || (this.#detectors.size === 0 && states.every((s) => s.length === 0)))) {
                        // Masked whole, or nothing inside can be named: read it as one token.
                        this.#mode = 8 /* Mode.Container */;
                        this.#depth = 1;
                        this.#containerInString = false;
                    }
                    else if (container) {
                        this.#stack.push({ array: b === 0x5b, states, key: 0 });
                        this.#mode = b === 0x5b ? 1 /* Mode.ArrayStart */ : 2 /* Mode.ObjectStart */;
                    }
                    else if (isScalarByte(b)) {
                        this.#mode = 7 /* Mode.Scalar */;
                    }
                    else
                        throw new JsonMaskError(`unexpected character "${String.fromCharCode(b)}" where a JSON value was expected`);
                    break;
                }
            }
            i++;
        }
        if (this.#keyChunk)
            this.#settleKey();
        if (holdFrom >= 0) {
            if (holdFrom > from)
                out.push(chunk.subarray(from, holdFrom));
            this.#hold(chunk.subarray(holdFrom));
        }
        else if (from < n)
            out.push(chunk.subarray(from));
        return out;
    }
    /** The end of the body: a number at the very end is complete; anything else left open is an error. */
    end() {
        const out = this.#mode === 7 /* Mode.Scalar */ && this.#purpose !== 0 /* Purpose.Pass */ ? [this.#release()] : [];
        if (this.#mode === 7 /* Mode.Scalar */) {
            this.#purpose = 0 /* Purpose.Pass */;
            this.#valueDone();
        }
        if (this.#stack.length > 0 || (this.#mode !== 0 /* Mode.Value */ && this.#mode !== 5 /* Mode.After */))
            throw new JsonMaskError('the JSON body ends inside a value');
        return out;
    }
    #hold(piece) {
        this.#heldLength += piece.length;
        if (this.#heldLength > MAX_JSON_TOKEN)
            throw new JsonMaskError(`a JSON value longer than ${MAX_JSON_TOKEN >> 20} MiB cannot be inspected`);
        this.#held.push(piece);
    }
    /** The held token as it goes out: unchanged, or masked. */
    #release() {
        const raw = this.#held.length === 1 ? this.#held[0] : Buffer.concat(this.#held);
        this.#held = [];
        this.#heldLength = 0;
        switch (this.#purpose) {
            case 1 /* Purpose.Key */: {
                // Most keys have no escapes: their text is the bytes between the quotes.
                const key = raw.includes(BACKSLASH) ? JSON.parse(raw.toString('utf8')) : raw.toString('utf8', 1, raw.length - 1);
                // Selectors name the key as sent; a sensitive value used as a key is masked like any string.
                this.#stack[this.#stack.length - 1].key = key;
                if (this.#detectors.size === 0)
                    return raw;
                const masked = this.#masker.maskText(key, this.#detectors);
                if (masked.count === 0)
                    return raw;
                this.count += masked.count;
                return Buffer.from(JSON.stringify(masked.text));
            }
            case 2 /* Purpose.Detect */: {
                const masked = this.#masker.maskText(JSON.parse(raw.toString('utf8')), this.#detectors);
                if (masked.count === 0)
                    return raw;
                this.count += masked.count;
                return Buffer.from(JSON.stringify(masked.text));
            }
            case 3 /* Purpose.Mask */: {
                if (this.#strategy === 'redact')
                    return this.#redaction();
                this.count++;
                const text = raw.toString('utf8');
                const value = text.startsWith('"') ? JSON.parse(text) : text;
                return Buffer.from(JSON.stringify(this.#masker.maskValue(value, this.#strategy)));
            }
            default:
                return raw;
        }
    }
    /** A value redacted whole (the same bytes whatever the value). */
    #redaction() {
        this.count++;
        return REDACTED_JSON;
    }
    /** Whether a detector finds something in a key's bytes (then it is held and masked, not passed in place). */
    #detectsIn(chunk, from, to) {
        return this.#detectors.size > 0 && this.#masker.maskText(chunk.toString('utf8', from, to), this.#detectors).count > 0;
    }
    /** The key read last becomes its object's key as a string (its chunk is about to be left). */
    #settleKey() {
        this.#stack[this.#stack.length - 1].key = this.#keyChunk.toString('utf8', this.#keyFrom, this.#keyTo);
        this.#keyChunk = undefined;
    }
    /** Whether a selector step takes the parent's current key (or index). */
    #takes(step, parent) {
        return anyKey(step) || (step.kind !== 'any' && this.#keyIs(parent, step.key));
    }
    /** Whether the parent's current key (or index) is `expected`. */
    #keyIs(parent, expected) {
        const chunk = this.#keyChunk;
        if (parent.array || !chunk)
            return parent.key === expected;
        if (typeof expected !== 'string')
            return false;
        const from = this.#keyFrom;
        const length = this.#keyTo - from;
        // UTF-8 takes at least one byte per UTF-16 unit: equal lengths compare unit by byte while both are ASCII.
        if (expected.length === length) {
            for (let i = 0; i < length; i++) {
                const byte = chunk[from + i];
                if (byte >= 0x80)
                    return chunk.toString('utf8', from, this.#keyTo) === expected;
                if (byte !== expected.charCodeAt(i))
                    return false;
            }
            return true;
        }
        return expected.length < length && !isAscii(expected) && chunk.toString('utf8', from, this.#keyTo) === expected;
    }
    /**
     * The selector states of the value about to be read; #childMask is set to the mask that names it, if
     * any. The parent's states are shared, not copied, when the key takes no selector further (the usual case).
     */
    #childStates() {
        this.#childMask = undefined;
        const parent = this.#stack[this.#stack.length - 1];
        if (!parent)
            return this.#rootStates;
        let changed;
        for (let s = 0; s < parent.states.length; s++) {
            const reached = parent.states[s];
            if (reached.length === 0)
                continue;
            const steps = this.#masks[s].selector.steps;
            const step = reached.length === 1 ? steps[reached[0]] : undefined;
            let next;
            const takes = step !== undefined && this.#takes(step, parent);
            // The usual case, allocation-free: one step reached, and the key does not take it further.
            if (step && !takes)
                next = step.kind === 'descend' ? reached : NOWHERE;
            else if (step?.kind === 'descend' && reached[0] + 1 === steps.length) {
                // The key a descendant selector ends with ($..ssn): this value is named, and the search goes on below it as before.
                this.#childMask ??= this.#masks[s];
                next = reached;
            }
            else {
                const taken = [];
                for (const at of reached) {
                    const step = steps[at];
                    if (step.kind === 'descend' && !taken.includes(at))
                        taken.push(at);
                    if (this.#takes(step, parent) && !taken.includes(at + 1))
                        taken.push(at + 1);
                }
                if (!this.#childMask && taken.includes(steps.length))
                    this.#childMask = this.#masks[s];
                next = taken.filter((at) => at < steps.length);
            }
            if (next !== reached)
                (changed ??= parent.states.slice())[s] = next;
        }
        this.#keyChunk = undefined;
        return changed ?? parent.states;
    }
    #close(array) {
        const top = this.#stack.pop();
        if (!top || top.array !== array)
            throw new JsonMaskError('a closing bracket does not match');
        this.#valueDone();
    }
    /** A value is complete: its parent moves on. */
    #valueDone() {
        const parent = this.#stack[this.#stack.length - 1];
        if (parent?.array)
            parent.key++;
        this.#mode = 5 /* Mode.After */;
    }
}
/** The masker as a stream stage; errors end the stream (and with it the response). */
function jsonMaskStream(masker) {
    return new external_node_stream_.Transform({
        transform(chunk, _encoding, done) {
            try {
                // One push per chunk: each push is a stream event of its own.
                const pieces = masker.push(chunk);
                const out = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
                if (out.length > 0)
                    this.push(out);
                done();
            }
            catch (e) {
                done(e);
            }
        },
        flush(done) {
            try {
                for (const piece of masker.end())
                    if (piece.length)
                        this.push(piece);
                done();
            }
            catch (e) {
                done(e);
            }
        },
    });
}

// EXTERNAL MODULE: ./runner-proxy/src/masking/credentials.ts
var credentials = __webpack_require__(64880);
// EXTERNAL MODULE: external "node:string_decoder"
var external_node_string_decoder_ = __webpack_require__(46193);
// EXTERNAL MODULE: ./runner-proxy/src/core/http-match.ts
var http_match = __webpack_require__(19633);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/text-mask.ts



/** A line (or an unterminated private key block) longer than this cannot be masked. */
const MAX_TEXT_HOLD = 1 << 20;
class TextMaskError extends Error {
}
const FORM = 'application/x-www-form-urlencoded';
/** Bodies the detectors read as text: text/*, forms, XML, JavaScript. */
function isTextType(contentType) {
    const type = contentType?.split(';')[0].trim().toLowerCase();
    return !!type && (type.startsWith('text/') || type === FORM || type.endsWith('/xml') || type.endsWith('+xml') || type === 'application/javascript');
}
/**
 * Masks each `name=value` of a form or query string, decoded: whole with the strategy `named` gives for
 * its name, otherwise by the detectors. Pairs without findings stay byte for byte as they were.
 */
function maskFormText(text, masker, detectors, named = () => undefined) {
    let count = 0;
    const decode = http_match/* decodeFormComponent */.uI;
    const pairs = text.split('&').map((pair) => {
        const eq = pair.indexOf('=');
        if (eq < 0)
            return pair;
        const value = decode(pair.slice(eq + 1));
        const strategy = named(decode(pair.slice(0, eq)));
        const masked = strategy ? { text: masker.maskValue(value, strategy), count: 1 } : masker.maskText(value, detectors);
        if (masked.count === 0)
            return pair;
        count += masked.count;
        return `${pair.slice(0, eq)}=${encodeURIComponent(masked.text)}`;
    });
    return { text: pairs.join('&'), count };
}
/**
 * Masks, in place, the values of the headers `masks` names: whole with the rule's strategy when the rule
 * lists no types, otherwise by the detectors. Returns how many values changed.
 */
function maskHeaders(headers, masks, masker) {
    if (masks.headers.size === 0)
        return 0;
    let count = 0;
    for (let i = 0; i < headers.length; i += 2) {
        const named = masks.headers.get(headers[i].toLowerCase());
        if (!named)
            continue;
        const value = headers[i + 1];
        const masked = named.whole ? { text: masker.maskValue(value, named.strategy), count: 1 } : masker.maskText(value, masks.detectors);
        headers[i + 1] = masked.text;
        count += masked.count;
    }
    return count;
}
/**
 * Runs the detectors over a text body line by line, so server-sent events and logs stream: a line is
 * held only until its end (a private key block until its END line), within MAX_TEXT_HOLD.
 */
class TextMaskStream extends external_node_stream_.Transform {
    #decoder = new external_node_string_decoder_.StringDecoder('utf8');
    #masker;
    #detectors;
    #form;
    #held = '';
    count = 0;
    constructor(masker, detectors, contentType) {
        super();
        this.#masker = masker;
        this.#detectors = detectors;
        this.#form = contentType?.split(';')[0].trim().toLowerCase() === FORM;
    }
    _transform(chunk, _encoding, done) {
        this.#held += this.#decoder.write(chunk);
        let end = this.#held.lastIndexOf('\n') + 1;
        // A key block is one finding: hold it whole.
        const begin = this.#held.lastIndexOf('-----BEGIN');
        if (begin >= 0 && this.#held.indexOf('-----END', begin) < 0)
            end = Math.min(end, begin);
        if (end > 0) {
            this.push(this.#mask(this.#held.slice(0, end)));
            this.#held = this.#held.slice(end);
        }
        if (this.#held.length > MAX_TEXT_HOLD)
            return done(new TextMaskError(`a line longer than ${MAX_TEXT_HOLD >> 20} MiB cannot be masked`));
        done();
    }
    _flush(done) {
        const rest = this.#held + this.#decoder.end();
        if (rest)
            this.push(this.#mask(rest));
        done();
    }
    #mask(text) {
        const masked = this.#form ? maskFormText(text, this.#masker, this.#detectors) : this.#masker.maskText(text, this.#detectors);
        this.count += masked.count;
        return masked.text;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/operation.ts




const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
/** Query parameters whose values are credentials by name; the record keeps the name only. */
const SECRET_PARAMETER = /token|key|secret|password|passwd|signature|sig|auth|credential|session|code/i;
/** How much of a body `recording.results: masked` keeps. */
const RECORDED_BODY = 64 * 1024;
/**
 * What rules read of a request besides its method and path: the target's host (so a host the forward
 * proxy intercepts, recorded as connection proxy:HOST, is named by its host), the job's headers and
 * the query string, as sent, and whether the target routes paths with case, when the connection says.
 */
function requestFacts(target, rawHeaders, search) {
    const facts = { host: target.hostname.toLowerCase(), headers: rawHeaders, query: search.slice(1) };
    if (target.reading.pathCase !== 'unknown')
        facts.pathCase = target.reading.pathCase;
    return facts;
}
function recordText(method, path, search, governor) {
    // Most requests have no query, and most paths no escape: neither is taken apart then.
    const query = search.length > 1
        ? search
            .slice(1)
            .split('&')
            .filter(Boolean)
            .map((pair) => {
            const eq = pair.indexOf('=');
            const name = eq < 0 ? pair : pair.slice(0, eq);
            return eq >= 0 && SECRET_PARAMETER.test(name) ? `${name}=[masked]` : pair;
        })
            .join('&')
        : '';
    let text = `${method} ${path}${query ? `?${query}` : ''}`;
    try {
        if (text.includes('%'))
            text = decodeURIComponent(text);
    }
    catch {
        // Kept encoded: the detectors still see what they can.
    }
    return governor.masker.maskText((0,credentials/* hideCredentials */.R)(text), masker/* REDACT_ALL */.kZ).text;
}
/** The operation the governor decides for one request (its body's JSON is added when a rule needs it). */
function requestOperation(state, method, target, rawHeaders) {
    const writes = !SAFE_METHODS.has(method);
    // The facts are copied field by field, not spread: this runs for every request.
    const facts = requestFacts(state.target, rawHeaders, target.search);
    const op = {
        connection: state.name,
        protocol: 'http',
        text: recordText(method, target.path, target.search, state.governor),
        classes: new Set([writes ? 'write' : 'read']),
        writes,
        method,
        path: target.path,
        host: facts.host,
        headers: facts.headers,
        query: facts.query,
    };
    if (facts.pathCase)
        op.pathCase = facts.pathCase;
    return op;
}
/** The method rules judge is another (an override in the body the target honours): so are the classes and the record's text. */
function judgeMethod(op, method, search, governor) {
    op.method = method;
    op.writes = !SAFE_METHODS.has(method);
    op.classes = new Set([op.writes ? 'write' : 'read']);
    op.text = recordText(method, op.path, search, governor);
}
/** The start of a body kept for the record (`recording.results: masked`); what it keeps is masked again with every detector. */
class RecordedBody {
    #kept = '';
    /** Whether the record should keep this response's body: text it can read, masked or uncoded. */
    static wanted(governor, contentType, masked, coding) {
        return governor.recordsContent && (isJsonType(contentType) || isTextType(contentType)) && (masked || !coding);
    }
    /** Adds a piece (none once enough is kept); false once enough is kept. */
    add(chunk) {
        if (this.#kept.length < RECORDED_BODY)
            this.#kept += chunk.toString();
        return this.#kept.length < RECORDED_BODY;
    }
    text(governor) {
        return governor.masker.maskText(this.#kept.slice(0, RECORDED_BODY), masker/* REDACT_ALL */.kZ).text;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/answer.ts
/**
 * The answer side of an HTTP exchange: the target's response read, masked where the request's ruling
 * says, and relayed to the job (re-framed when masked); or the answer the gateway gives itself.
 */








/** Headers that no longer describe a body the gateway decoded and masked. */
const MASKED_DROPS = new Set(['content-encoding', 'content-md5', 'etag']);
/** Request headers that ask for part of an answer; dropped where the answer is masked. */
const RANGE_HEADERS = ['range', 'if-range'];
/**
 * Whether answers under this plan have bodies to mask: then the target is asked for the whole answer
 * (a part may cut a value at its edge, or come as multipart/byteranges), and a partial one is refused.
 */
function masksAnswers(plan) {
    return plan.json.length > 0 || plan.detectors.size > 0;
}
/** A partial answer (206, multipart/byteranges), which cannot be masked as a whole body. */
function isPartial(status, contentType) {
    return status === 206 || contentType?.split(';')[0].trim().toLowerCase() === 'multipart/byteranges';
}
/**
 * What a response's body goes through before the job: the masking stage for its type, if any. The
 * JSON masker can also be used directly, without the stream around it (made only when asked for).
 */
function maskStage(ruling, contentType, governor) {
    const plan = ruling.masks;
    if ((plan.json.length > 0 || plan.detectors.size > 0) && isJsonType(contentType)) {
        const masker = new JsonStreamMasker(plan.json, plan.detectors, governor.masker);
        return { stream: () => jsonMaskStream(masker), count: () => masker.count, json: masker };
    }
    if (plan.detectors.size > 0 && isTextType(contentType)) {
        const stream = new TextMaskStream(governor.masker, plan.detectors, contentType);
        return { stream: () => stream, count: () => stream.count };
    }
    return undefined;
}
function decoderFor(coding) {
    switch (coding?.trim().toLowerCase()) {
        case 'gzip':
        case 'x-gzip':
            return (0,external_node_zlib_.createGunzip)();
        case 'deflate':
            return (0,external_node_zlib_.createInflate)();
        case 'br':
            return (0,external_node_zlib_.createBrotliDecompress)();
        default:
            return undefined;
    }
}
class Answer {
    #owner;
    #job;
    #state;
    /** The request answered. */
    #head;
    #answers;
    #answered = false;
    #headSent = false;
    /** The answer is through, or the exchange ended: nothing more of it is read. */
    finished = false;
    #status = 0;
    #bytes = 0;
    #maskedHeaders = 0;
    /** How the answer's body goes to the job. */
    #chunked = false;
    #keepAlive;
    #collect;
    #direct;
    #stages;
    #stageCount;
    #recorded;
    #discovered;
    #outHeaders = [];
    #reason = '';
    /** Whether the target's connection may carry another request once this answer is read. */
    #targetReusable = false;
    constructor(owner, job, state, head) {
        this.#owner = owner;
        this.#job = job;
        this.#state = state;
        this.#head = head;
        this.#keepAlive = head.keepAlive;
    }
    /** Whether the job's connection may carry another request after this answer. */
    get keepAlive() {
        return this.#keepAlive;
    }
    /** Whether the answer's head went to the job. */
    get headSent() {
        return this.#headSent;
    }
    /** Whether any of the target's answer arrived. */
    get answered() {
        return this.#answered;
    }
    /** The target's status, once its answer's head is read. */
    get status() {
        return this.#status;
    }
    /** The bytes of the target's answer body read. */
    get bytes() {
        return this.#bytes;
    }
    /** The reader of the target's connection the answer comes on (kept with that connection). */
    readFrom(answers) {
        this.#answers = answers;
        this.#answers.bodyless = this.#head.method === 'HEAD';
    }
    /** Bytes of the answer from the target. */
    targetData(chunk) {
        this.#answered = true;
        this.#answers.push(chunk);
        this.#consume();
    }
    /** The target ended its side: what the reader holds is read to its end. */
    targetEnded() {
        this.#answers.end();
        this.#consume();
    }
    #consume() {
        const answers = this.#answers;
        const socket = this.#job.socket;
        socket.cork();
        try {
            for (let event; !this.finished && (event = answers.next()) !== undefined;) {
                if (event === MESSAGE_END)
                    this.#answerEnd();
                else if (Buffer.isBuffer(event))
                    this.#answerPiece(event);
                else
                    this.#answerHead(event);
            }
            if (answers.error !== undefined && !this.finished)
                this.targetFailed(answers.error);
        }
        catch (e) {
            this.#owner.fail(e);
        }
        finally {
            socket.uncork();
        }
    }
    /** The target's connection failed or closed before the answer was through. */
    targetFailed(problem) {
        this.#owner.target?.destroy();
        // Once the target's answer began, a cut answer is a cut response (the job must not take it as whole).
        if (this.#status === 0) {
            this.#owner.complete(`the target failed: ${problem}`);
            return this.json(502, { error: `the target cannot be reached (${problem})` }, !this.#owner.requestRead);
        }
        this.#cut(problem);
    }
    /** The answer broke off after its head went to the job: the job's connection ends with it. */
    #cut(problem) {
        this.#owner.complete(`the response was cut: ${problem}`);
        this.finished = true;
        this.#owner.target?.destroy();
        this.#job.socket.destroy();
    }
    #answerHead(answer) {
        const state = this.#state;
        const ruling = this.#owner.ruling;
        const contentType = answer.headers['content-type'];
        const coding = answer.headers['content-encoding'];
        const stage = maskStage(ruling, contentType, state.governor);
        if (masksAnswers(ruling.masks) && isPartial(answer.statusCode, contentType)) {
            this.#owner.target.destroy();
            this.#owner.complete('a partial answer cannot be masked');
            return this.json(502, { error: 'the target answered with part of its body (206 or multipart/byteranges), which the gateway cannot mask' }, !this.#owner.requestRead);
        }
        if (stage && !decodable(coding)) {
            this.#owner.target.destroy();
            this.#owner.complete(`content coding ${coding} cannot be masked`);
            return this.json(502, { error: `the target's response is coded "${coding}", which the gateway cannot decode to mask` }, !this.#owner.requestRead);
        }
        this.#status = answer.statusCode;
        this.#reason = answer.statusMessage;
        this.#targetReusable = answer.keepAlive || (this.#head.method === 'HEAD' && answer.headers.connection?.toLowerCase() !== 'close');
        const headers = endToEndHeaders(answer.rawHeaders, stage ? MASKED_DROPS : undefined);
        if (answer.links && this.#job.secretPath)
            this.#job.secretPath.rewriteHeaders(headers);
        this.#maskedHeaders = maskHeaders(headers, ruling.masks, state.governor.masker);
        if (RecordedBody.wanted(state.governor, contentType, !!stage, coding))
            this.#recorded = new RecordedBody();
        this.#discovered = BodyDiscovery.for(state.governor, this.#state.name, contentType, !!stage || !coding);
        const bodyless = this.#head.method === 'HEAD' || answer.statusCode === 204 || answer.statusCode === 304;
        const length = answer.chunked || answer.contentLength < 0 ? Infinity : answer.contentLength;
        const decoder = stage && decoderFor(coding);
        if (stage && !bodyless) {
            this.#stageCount = stage.count;
            // A bounded, uncoded JSON body is masked piece by piece as it is collected, with no stream stage.
            if (length <= MAX_INSPECTED_BODY && !decoder && !state.governor.recordsContent && stage.json)
                this.#direct = stage.json;
            else
                this.#pipeStages(decoder ? [decoder, stage.stream()] : [stage.stream()]);
            // A masked body of known, bounded size is re-framed with its new length, in one write.
            if (length <= MAX_INSPECTED_BODY) {
                this.#collect = [];
                this.#outHeaders = headers;
                return;
            }
        }
        let framing = '';
        if (bodyless || (!stage && length !== Infinity)) {
            if (answer.headers['content-length'] !== undefined)
                framing = `Content-Length: ${answer.headers['content-length']}\r\n`;
        }
        else if (this.#head.httpVersion === '1.1') {
            this.#chunked = true;
            framing = 'Transfer-Encoding: chunked\r\n';
        }
        else
            this.#keepAlive = false;
        this.#writeHead(answer.statusCode, answer.statusMessage, headers, framing);
    }
    /** The masking stages a body goes through when it cannot be masked directly; their output goes to the job. */
    #pipeStages(stages) {
        this.#stages = stages;
        for (let i = 0; i < stages.length; i++) {
            const stage = stages[i];
            stage.on('error', (e) => this.#cut(e.message));
            if (i + 1 < stages.length)
                stage.pipe(stages[i + 1]);
        }
        const last = stages[stages.length - 1];
        last.on('data', (piece) => this.#out(piece));
        last.on('end', () => this.#bodyDone());
        stages[0].on('drain', () => this.#owner.target?.resume());
    }
    #answerPiece(piece) {
        this.#bytes += piece.length;
        if (this.#direct) {
            let masked;
            try {
                masked = this.#direct.push(piece);
            }
            catch (e) {
                return this.#cut(e.message);
            }
            for (const m of masked)
                this.#out(m);
        }
        else if (this.#stages) {
            if (!this.#stages[0].write(piece))
                this.#owner.target.pause();
        }
        else
            this.#out(piece);
    }
    #answerEnd() {
        if (this.#direct) {
            let masked;
            try {
                masked = this.#direct.end();
            }
            catch (e) {
                return this.#cut(e.message);
            }
            for (const m of masked)
                this.#out(m);
            this.#bodyDone();
        }
        else if (this.#stages)
            this.#stages[0].end();
        else
            this.#bodyDone();
    }
    /** A piece of the answer's body as it goes to the job (masked when it is). */
    #out(piece) {
        if (piece.length === 0)
            return;
        this.#recorded?.add(piece);
        this.#discovered?.add(piece);
        if (this.#collect)
            return void this.#collect.push(piece);
        const socket = this.#job.socket;
        let more;
        if (this.#chunked) {
            socket.write(chunkHead(piece.length));
            socket.write(piece);
            more = socket.write('\r\n');
        }
        else
            more = socket.write(piece);
        if (!more)
            this.#owner.target?.pause();
    }
    #bodyDone() {
        if (this.finished)
            return;
        const socket = this.#job.socket;
        if (this.#collect) {
            const body = this.#collect;
            this.#collect = undefined;
            let length = 0;
            for (const piece of body)
                length += piece.length;
            this.#writeHead(this.#status, this.#reason, this.#outHeaders, `Content-Length: ${length}\r\n`, body, length);
        }
        else if (this.#chunked)
            socket.write(LAST_CHUNK);
        this.#discovered?.done();
        this.#owner.complete(undefined, this.#maskedHeaders + (this.#stageCount?.() ?? 0), this.#recorded?.text(this.#state.governor));
        const target = this.#owner.target;
        this.#owner.detachTarget();
        if (this.#targetReusable && this.#owner.requestRead && !this.#answers.error)
            this.#state.target.pool.release(target);
        else
            target.destroy();
        this.finished = true;
        if (this.#owner.requestRead)
            this.#owner.end();
    }
    /** Writes the answer's head, and the pieces of its body (`length` bytes in all) with it when they are all here. */
    #writeHead(status, reason, headers, framing, body = [], length = 0) {
        this.#headSent = true;
        const connection = !this.#keepAlive ? 'Connection: close\r\n' : this.#head.httpVersion === '1.0' ? 'Connection: keep-alive\r\n' : '';
        const head = `HTTP/1.1 ${status} ${reason || external_node_http_.STATUS_CODES[status] || ''}\r\n${headerLines(headers)}${framing}${connection}\r\n`;
        const socket = this.#job.socket;
        // Heads are written as read (latin1: every byte as it was); a head and its body leave as one buffer.
        const bytes = Buffer.allocUnsafe(head.length + length);
        let at = bytes.write(head, 0, 'latin1');
        for (const piece of body) {
            bytes.set(piece, at);
            at += piece.length;
        }
        if (!socket.write(bytes))
            this.#owner.target?.pause();
    }
    /** An answer the gateway makes itself; `close` ends the connection after it. */
    json(status, body, close) {
        if (close)
            this.#keepAlive = false;
        const bytes = Buffer.from(JSON.stringify(body));
        this.#writeHead(status, external_node_http_.STATUS_CODES[status] ?? '', ['Content-Type', 'application/json'], `Content-Length: ${bytes.length}\r\n`, [bytes], bytes.length);
        this.finished = true;
        this.#owner.detachTarget();
        if (this.#owner.requestRead || close)
            this.#owner.end();
        else if (this.#owner.skipping) {
            this.#job.socket.resume();
            this.#job.drain();
        }
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/refusal.ts
/**
 * What the job is told instead of its request's answer: a refusal (by the policy, an approval that timed
 * out, a record that cannot be written) or a request the gateway cannot read, in HTTP's own terms.
 */

/** The rule a refusal names when the record cannot be written. */
const RECORDING_FAILED = 'recording-failed';
/** A refusal's status: an approval that timed out, a record that cannot be written, or the policy. */
function refusalStatus(ruling) {
    if (ruling.timedOut)
        return 504;
    return ruling.rule === RECORDING_FAILED ? 503 : 403;
}
function refusalBody(ruling, detail = '') {
    return { error: `${ruling.message ?? 'refused'}${detail}`, rule: ruling.rule, ...(ruling.requestId && { request_id: ruling.requestId }) };
}
/**
 * Writes what the governor decided so far to the record before anything is forwarded; when that
 * fails, the refusal to give instead (the operation must not reach the target unrecorded).
 */
function commitOrRefusal(governor) {
    try {
        governor.commit();
        return undefined;
    }
    catch (e) {
        return recordingRefusal(e);
    }
}
/** The refusal of a request whose event cannot be written to the record. */
function recordingRefusal(failure) {
    const ruling = { rule: RECORDING_FAILED, message: failure.message };
    return { status: refusalStatus(ruling), body: refusalBody(ruling) };
}
/** Answers what the parser refused (two lengths, bare CR/LF, oversized head…) and ends the connection. */
function refuseMalformed(socket, state, problem) {
    if (problem !== 'ECONNRESET')
        state.governor.note('http.malformed', { connection: state.name, problem });
    if (!socket.writable || problem === 'ECONNRESET')
        return void socket.destroy();
    socket.end(rawResponse(400, { error: `malformed request (${problem}); the connection is closed` }));
    socket.destroySoon();
}
/** A JSON answer written straight to a socket the HTTP server no longer frames (an upgrade, a CONNECT), then the close; `extraLines` end in CRLF. */
function rawResponse(status, body, extraLines = '') {
    const text = JSON.stringify(body);
    return `HTTP/1.1 ${status} ${external_node_http_.STATUS_CODES[status]}\r\n${extraLines}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`;
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/request-mask.ts
/**
 * Masking what the job sends a target (mask rules with `on: write`). Query values are masked before the
 * request is recorded; a body is read whole within the inspection cap, masked at the token level (JSON,
 * lossless for everything else) or value by value (forms), by the detectors (text), and re-framed by
 * the caller with its new length, in its original content coding. A body with nothing to mask goes out
 * byte for byte. One that must be masked and cannot be read (too large, an unknown coding, not JSON, a
 * form or text, JSON that does not parse) is refused, never passed unread.
 */




const request_mask_FORM = 'application/x-www-form-urlencoded';
/** Whether a selector names the top-level field `name`: how selectors reach form fields and query parameters. */
function selectsField(selector, name) {
    if (selector.steps.length !== 1)
        return false;
    const step = selector.steps[0];
    if (step.kind === 'any')
        return true;
    return step.key === name || (step.kind === 'descend' && step.key === '*');
}
function fieldStrategy(masks) {
    return (name) => masks.json.find((m) => selectsField(m.selector, name))?.strategy;
}
/** Whether the masks change values at all (header masks alone leave query and body as they are). */
const masksValues = (masks) => masks.json.length > 0 || masks.detectors.size > 0;
/** The query string (with its "?"): parameters a selector names masked whole, every other value by the detectors. */
function maskQuery(search, masks, masker) {
    if (search.length <= 1 || !masksValues(masks))
        return { search, count: 0 };
    const masked = maskFormText(search.slice(1), masker, masks.detectors, fieldStrategy(masks));
    return masked.count ? { search: `?${masked.text}`, count: masked.count } : { search, count: 0 };
}
/** A body in a coding the gateway decoded goes out in that coding again. */
function encodeBody(body, coding) {
    switch (coding?.trim().toLowerCase()) {
        case 'gzip':
        case 'x-gzip':
            return (0,external_node_zlib_.gzipSync)(body);
        case 'deflate':
            return (0,external_node_zlib_.deflateSync)(body);
        case 'br':
            return (0,external_node_zlib_.brotliCompressSync)(body);
        default:
            return body;
    }
}
/** A request body with the masks applied: the bytes as sent when nothing changed. Throws UninspectableBody. */
async function maskRequestBody(raw, contentType, coding, masks, masker) {
    if (raw.length === 0)
        return { body: raw, count: 0 };
    const json = isJsonType(contentType);
    if (!json && !isTextType(contentType))
        throw new UninspectableBody(`the body is ${contentType ?? 'untyped'}, not JSON, a form or text`);
    const decoded = await decodeBody(raw, coding);
    let masked;
    if (json) {
        const masking = new JsonStreamMasker(masks.json, masks.detectors, masker);
        try {
            masked = { body: Buffer.concat([...masking.push(decoded), ...masking.end()]), count: masking.count };
        }
        catch {
            throw new UninspectableBody('the body is not valid JSON');
        }
    }
    else {
        const text = decoded.toString('utf8');
        const form = contentType.split(';')[0].trim().toLowerCase() === request_mask_FORM;
        const result = form ? maskFormText(text, masker, masks.detectors, fieldStrategy(masks)) : masker.maskText(text, masks.detectors);
        masked = { body: Buffer.from(result.text), count: result.count };
    }
    return masked.count === 0 ? { body: raw, count: 0 } : { body: encodeBody(masked.body, coding), count: masked.count };
}
/** Headers that describe the body as the job sent it: dropped when the gateway masked the body. */
const BODY_DIGESTS = new Set(['content-md5', 'digest', 'content-digest', 'repr-digest']);

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/target-reading.ts
/**
 * A request as the connection's target reads it. Servers differ in how they read a path: some merge
 * `//`, decode `%2F` into a separator, cut `;parameters` from segments, route without case or take a
 * method from an override header. A rule judged on one reading and a target acting on another is a
 * rule not applied, so a request whose reading depends on such a habit is refused with 400 unless the
 * connection declares the habit (its `reads` setting); then rules see the path and method the target
 * acts on, and the target gets the path in that same form.
 */

const STRICT_READING = Object.freeze({
    emptySegments: 'refuse',
    encodedSlashes: 'refuse',
    pathParameters: 'refuse',
    pathCase: 'unknown',
    methodCase: 'refuse',
    methodOverride: 'refuse',
});
/** The `reads` setting as the policy spells it (snake case); the schema has checked its values. */
function parseReading(reads) {
    return {
        emptySegments: (reads?.empty_segments ?? STRICT_READING.emptySegments),
        encodedSlashes: (reads?.encoded_slashes ?? STRICT_READING.encodedSlashes),
        pathParameters: (reads?.path_parameters ?? STRICT_READING.pathParameters),
        pathCase: (reads?.path_case ?? STRICT_READING.pathCase),
        methodCase: (reads?.method_case ?? STRICT_READING.methodCase),
        methodOverride: (reads?.method_override ?? STRICT_READING.methodOverride),
    };
}
/** Why a request is refused: it reads differently on the target, or is not a path at all. */
class AmbiguousRequest extends Error {
}
/** A path with nothing to read two ways: segments of plain characters, none empty, none a dot segment. */
const PLAIN_PATH = /^(?:\/(?!\.{1,2}(?:\/|$))[A-Za-z0-9\-._~!$&'()*+,=:@]+)*\/?$/;
const PLAIN_QUERY = /^(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*)?$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
/** Characters a segment keeps as they are; any other is percent-encoded (as its latin1 byte, as the head was read). */
const SEGMENT_CHAR = /[A-Za-z0-9\-._~!$&'()*+,=:@;%]/;
const BASE = 'http://gateway.invalid';
const DECLARE = "; if the target reads it so, declare it in the connection's reads setting";
/**
 * The path and query of a request target as the target reads it, `from` skipping the reverse listener's
 * secret segment (after which an empty path is the root). Throws AmbiguousRequest for what the reading
 * refuses.
 */
function readTarget(raw, reading, from = 0) {
    const q = raw.indexOf('?', from);
    const rawPath = from > 0 && (from === raw.length || q === from) ? '/' : raw.slice(from, q < 0 ? raw.length : q);
    if (!rawPath.startsWith('/'))
        throw new AmbiguousRequest('the request target must be a path (origin-form)');
    const rawSearch = q < 0 ? '' : raw.slice(q);
    const search = rawSearch === '?' ? '' : PLAIN_QUERY.test(rawSearch) ? rawSearch : new URL(`${BASE}/${rawSearch}`).search;
    if (PLAIN_PATH.test(rawPath))
        return { path: rawPath, search };
    return { path: readPath(rawPath, reading), search };
}
function readPath(rawPath, reading) {
    const segments = [];
    const parts = splitSeparators(rawPath.slice(1), reading);
    for (let i = 0; i < parts.length; i++) {
        let segment = decodeSegment(parts[i]);
        if (segment.includes(';')) {
            const name = segment.slice(0, segment.indexOf(';'));
            // Kept, "..;" would be a name to the gateway and a step up to a server that cuts parameters later.
            const dot = name === '.' || name === '..';
            if (dot && reading.pathParameters === 'keep')
                throw new AmbiguousRequest(`the path has a dot segment with parameters ("${name};"), which servers resolve differently`);
            if (reading.pathParameters === 'refuse')
                throw new AmbiguousRequest(`the path has a ;parameter, which some servers cut from the segment${DECLARE} (path_parameters)`);
            if (reading.pathParameters === 'strip')
                segment = name;
        }
        const last = i === parts.length - 1;
        if (segment === '' && !last) {
            if (reading.emptySegments === 'refuse')
                throw new AmbiguousRequest(`the path has an empty segment (//), which some servers merge${DECLARE} (empty_segments)`);
            if (reading.emptySegments === 'merge')
                continue;
        }
        if (segment === '.') {
            if (last)
                segments.push('');
            continue;
        }
        if (segment === '..') {
            segments.pop();
            if (last)
                segments.push('');
            continue;
        }
        segments.push(segment);
    }
    return `/${segments.join('/')}`;
}
/** The path's segments: split at `/`, and where the target reads `%2F`, `%5C` or `\` as a separator, there too. */
function splitSeparators(path, reading) {
    const hasSlashLike = /%2f|%5c|\\/i.test(path);
    if (!hasSlashLike)
        return path.split('/');
    if (reading.encodedSlashes === 'refuse')
        throw new AmbiguousRequest(`the path has an encoded / or \\ (%2F, %5C or \\), which some servers read as a separator${DECLARE} (encoded_slashes)`);
    if (reading.encodedSlashes === 'decode')
        return path.replace(/%2f|%5c|\\/gi, '/').split('/');
    return path.replace(/\\/g, '%5C').split('/');
}
/** One segment: unreserved `%XX` decoded (so `%2E%2E` is a dot segment), other escapes upper-cased, other characters encoded. */
function decodeSegment(segment) {
    let out = '';
    for (let i = 0; i < segment.length; i++) {
        const c = segment[i];
        if (c === '%') {
            const hex = segment.slice(i + 1, i + 3);
            if (!/^[0-9A-Fa-f]{2}$/.test(hex))
                throw new AmbiguousRequest('the path has a malformed percent escape');
            const decoded = String.fromCharCode(parseInt(hex, 16));
            out += UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
            i += 2;
        }
        else
            out += SEGMENT_CHAR.test(c) ? c : encodeByte(c);
    }
    return out;
}
function encodeByte(c) {
    return `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
}
const OVERRIDE_HEADERS = new Set(['x-http-method-override', 'x-http-method', 'x-method-override']);
const OVERRIDE_FIELD = '_method';
const METHOD = /^[A-Za-z]+$/;
/** The method as the target reads it, before any override: in upper case if the target reads it so. */
function readMethod(method, reading) {
    if (method === method.toUpperCase())
        return method;
    if (reading.methodCase === 'refuse')
        throw new AmbiguousRequest(`the method "${method}" is not in upper case, and some servers read it as ${method.toUpperCase()}${DECLARE} (method_case)`);
    return method.toUpperCase();
}
/**
 * The method an override in the headers or query names (undefined: none), or the refusal: an override
 * is refused unless the connection says its target honours (the override is what rules see) or
 * ignores them. Two overrides that disagree are refused in any case.
 */
function overridingMethod(rawHeaders, search, reading, fromBody) {
    if (reading.methodOverride === 'ignore')
        return undefined;
    const named = new Set();
    for (let i = 0; i < rawHeaders.length; i += 2)
        if (OVERRIDE_HEADERS.has(rawHeaders[i].toLowerCase()))
            named.add(rawHeaders[i + 1].trim().toUpperCase());
    for (const value of queryFields(search.slice(1), OVERRIDE_FIELD))
        named.add(value.trim().toUpperCase());
    if (fromBody !== undefined)
        named.add(fromBody.trim().toUpperCase());
    if (named.size === 0)
        return undefined;
    if (reading.methodOverride === 'refuse')
        throw new AmbiguousRequest(`the request overrides its method (an X-HTTP-Method-Override header or _method), which some servers honour${DECLARE} (method_override)`);
    const [method] = named;
    if (named.size > 1 || !METHOD.test(method))
        throw new AmbiguousRequest('the request overrides its method more than once, or with something that is not a method');
    return method;
}
/** Whether the body must be read for a `_method` field: a POST form, to a target that may honour overrides. */
function overrideMayBeInBody(method, contentType, reading) {
    return reading.methodOverride !== 'ignore' && method === 'POST' && isForm(contentType);
}
function isForm(contentType) {
    const type = contentType?.split(';')[0].trim().toLowerCase();
    return type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data';
}
/**
 * The `_method` a form body carries (its last value when urlencoded; any part so named when multipart),
 * or undefined. The body is already decoded from its content coding.
 */
function bodyOverride(body, contentType) {
    const type = contentType?.split(';')[0].trim().toLowerCase();
    const text = body.toString('latin1');
    if (type === 'application/x-www-form-urlencoded')
        return queryFields(text, OVERRIDE_FIELD).at(-1);
    // A part named _method, in any quoting the parsers accept; its value is what follows its head.
    const part = /content-disposition:[^\r\n]*?\bname\s*=\s*"?_method"?[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n([^\r\n]*)/i.exec(text);
    return part ? part[1] : undefined;
}
/** The decoded values of one field of a query or urlencoded form. */
function queryFields(query, field) {
    return (0,http_match/* queryParameters */.fY)(query)
        .filter(([name]) => name === field)
        .map(([, value]) => value);
}
/** The request line and headers as the target reads them; throws AmbiguousRequest for what the reading refuses. */
function readRequest(method, url, rawHeaders, reading, from = 0) {
    const target = readTarget(url, reading, from);
    const sent = readMethod(method, reading);
    return { ...target, method: sent, judgedMethod: overridingMethod(rawHeaders, target.search, reading) ?? sent };
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/exchange.ts








const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const EXCHANGE = Symbol('exchange');
/** A target connection's reader of answers, kept with it: it is back at a message's start whenever the connection is idle. */
const ANSWERS = Symbol('answers');
/** One request and its answer on a raw connection: the request read, decided and forwarded here, its answer relayed by `Answer`. */
class Exchange {
    #job;
    #state;
    #head;
    #started = performance.now();
    #phase = 0 /* Phase.Deciding */;
    #ruling;
    /** Collected body pieces (when a rule reads the body), sent on first when forwarded. */
    #collected;
    #collectedLength = 0;
    #op;
    target;
    #reused = false;
    /** The request's head as sent to the target, kept to send it again on a fresh connection. */
    #targetHead = '';
    #answer;
    #completed = false;
    #uninspectableWhy;
    /** Mask rules with `on: write` that must mask this request's body: it is read whole first. */
    #writeMasks;
    /** Values masked in what goes to the target (query, body, headers). */
    #requestMasked = 0;
    #bodyMasked = false;
    /** The query as the target gets it and the record keeps it (masked where rules say). */
    #search = '';
    /** The query as the job sent it, where an override may be. */
    #rawSearch = '';
    /** Whether the body is read whole for a `_method` field. */
    #overrideInBody = false;
    /** The start of the request's body for the record (`recording.results: masked`), as the target gets it. */
    #requestRecord;
    constructor(job, head, state) {
        this.#job = job;
        this.#state = state;
        this.#head = head;
        this.#answer = new Answer(this, job, state, head);
    }
    get ruling() {
        return this.#ruling;
    }
    get requestRead() {
        return this.#phase === 4 /* Phase.Read */;
    }
    get skipping() {
        return this.#phase === 3 /* Phase.Skipping */;
    }
    /** Whether the exchange takes body pieces from the reader now. */
    get reading() {
        return this.#phase === 1 /* Phase.Collecting */ || this.#phase === 2 /* Phase.Sending */ || this.#phase === 3 /* Phase.Skipping */;
    }
    start() {
        const state = this.#state;
        const head = this.#head;
        const reading = state.target.reading;
        let target;
        try {
            target = readRequest(head.method, head.url, head.rawHeaders, reading, this.#job.pathStart);
        }
        catch (e) {
            if (e instanceof AmbiguousRequest)
                return this.#refuseAmbiguous(e, true);
            throw e;
        }
        const op = requestOperation(state, target.judgedMethod, target, head.rawHeaders);
        this.#op = op;
        let search = target.search;
        // What the job sends is masked where mask rules with `on: write` say: the query before it is recorded.
        const writeMasks = state.governor.masksRequests ? state.governor.maskPlan(op).write : undefined;
        if (writeMasks) {
            const query = maskQuery(search, writeMasks, state.governor.masker);
            if (query.count) {
                search = query.search;
                op.text = recordText(head.method, target.path, search, state.governor);
                this.#requestMasked = query.count;
            }
            if (masksValues(writeMasks) && (head.chunked || head.contentLength !== 0))
                this.#writeMasks = writeMasks;
        }
        if (RecordedBody.wanted(state.governor, head.headers['content-type'], false, head.headers['content-encoding']))
            this.#requestRecord = new RecordedBody();
        this.#targetHead = `${target.method} ${target.path}${search} HTTP/1.1\r\n`;
        this.#search = search;
        this.#rawSearch = target.search;
        // A form may carry `_method` (which some servers read before the headers'): the body is read whole to find it.
        this.#overrideInBody = overrideMayBeInBody(target.method, head.headers['content-type'], reading) && (head.chunked || head.contentLength !== 0);
        // The client waits to be told to send its body: as Node's server does, it is told at once.
        if (this.#head.expectContinue && !this.#job.reader.holdsEnd())
            this.#job.socket.write(CONTINUE);
        if (state.governor.needsJson(op) || this.#writeMasks || this.#overrideInBody) {
            this.#collected = [];
            this.#phase = 1 /* Phase.Collecting */;
            this.#job.socket.resume();
            return this.#job.drain();
        }
        this.#decide();
    }
    /** A body piece, or the end of the body, from the reader. */
    body(event) {
        if (this.#phase === 3 /* Phase.Skipping */) {
            if (event === MESSAGE_END)
                this.#requestRead();
            return;
        }
        if (this.#phase === 1 /* Phase.Collecting */)
            return this.#collectPiece(event);
        const target = this.target;
        if (event === MESSAGE_END) {
            if (this.#head.chunked)
                target.write(LAST_CHUNK);
            return this.#requestRead();
        }
        this.#requestRecord?.add(event);
        if (this.#head.chunked)
            target.write(chunkHead(event.length));
        const more = target.write(event);
        if (this.#head.chunked)
            target.write('\r\n');
        if (!more)
            this.#job.socket.pause();
    }
    #collectPiece(event) {
        if (event !== MESSAGE_END) {
            this.#collected.push(event);
            this.#collectedLength += event.length;
            if (this.#collectedLength <= MAX_INSPECTED_BODY)
                return;
            this.#uninspectable(`the body is larger than ${MAX_INSPECTED_BODY >> 20} MiB`);
            return this.#decide();
        }
        this.#phase = 4 /* Phase.Read */;
        const raw = Buffer.concat(this.#collected);
        this.#collected = [raw];
        this.#inspectBody(raw).then(() => this.#decide(), (e) => {
            if (e instanceof AmbiguousRequest)
                return this.#refuseAmbiguous(e, false);
            if (!(e instanceof UninspectableBody))
                return this.fail(e);
            this.#uninspectable(e.message);
            this.#decide();
        });
    }
    /** What rules read in a body read whole: its JSON for a json condition, and the masks of write rules. */
    async #inspectBody(raw) {
        const { governor } = this.#state;
        const type = this.#head.headers['content-type'];
        const coding = this.#head.headers['content-encoding'];
        if (this.#overrideInBody) {
            const override = overridingMethod(this.#head.rawHeaders, this.#rawSearch, this.#state.target.reading, bodyOverride(await decodeBody(raw, coding), type));
            if (override)
                judgeMethod(this.#op, override, this.#search, governor);
        }
        if (governor.needsJson(this.#op)) {
            const json = await inspectJsonBody(raw, type, coding);
            if (json !== undefined)
                this.#op.json = json;
        }
        if (!this.#writeMasks)
            return;
        const masked = await maskRequestBody(raw, type, coding, this.#writeMasks, governor.masker);
        if (masked.count === 0)
            return;
        this.#collected = [masked.body];
        this.#collectedLength = masked.body.length;
        this.#requestMasked += masked.count;
        this.#bodyMasked = true;
    }
    /** A request the target may read otherwise than the rules would: 400, recorded; `close` when its body is not read. */
    #refuseAmbiguous(e, close) {
        this.#state.governor.note('http.ambiguous', { connection: this.#state.name, problem: e.message });
        this.#answer.json(400, { error: `refused: ${e.message}` }, close);
    }
    /** A rule must look inside the body and cannot: the operation is refused as unparseable. */
    #uninspectable(why) {
        const op = this.#op;
        op.classes = new Set(['unparseable']);
        op.text += ` (${why})`;
        this.#uninspectableWhy = why;
    }
    #decide() {
        if (this.#phase === 1 /* Phase.Collecting */)
            this.#phase = 0 /* Phase.Deciding */;
        const ruling = this.#state.governor.decide(this.#op);
        if (!(ruling instanceof Promise))
            return this.#ruled(ruling);
        // A hold may take long: the job's further bytes wait in the kernel meanwhile.
        this.#job.socket.pause();
        ruling.then((r) => this.#ruled(r)).catch((e) => this.fail(e));
    }
    /** Whether the request's whole body is already read (or it has none). */
    #bodyHere() {
        return this.#phase === 4 /* Phase.Read */ || this.#job.reader.holdsEnd() || (this.#head.contentLength === 0 && !this.#head.chunked);
    }
    #ruled(ruling) {
        const state = this.#state;
        if (!ruling.allowed) {
            const detail = this.#uninspectableWhy ? `: ${this.#unreadable()} (${this.#uninspectableWhy})` : '';
            return this.#refuse(refusalStatus(ruling), refusalBody(ruling, detail), this.#bodyHere());
        }
        if (this.#uninspectableWhy && this.#writeMasks) {
            // Observe mode lets the request through, but never a body that had to be masked and could not be.
            const message = `the body is not forwarded: ${this.#unreadable()} (${this.#uninspectableWhy})`;
            state.governor.completed(ruling, { durationMs: performance.now() - this.#started, error: message });
            return this.#refuse(403, refusalBody({ rule: this.#writeMasks.rules[0], message }), this.#bodyHere());
        }
        // The job may have left while its request waited for an approver: nothing goes to the target then.
        if (this.#job.socket.destroyed)
            return state.governor.completed(ruling, { durationMs: performance.now() - this.#started, error: 'the job left before the request was forwarded' });
        this.#ruling = ruling;
        // The request's event goes into the file with those of every request read in this turn, in one write.
        state.governor.commitThen(this.#committed);
    }
    /** The request's event is in the file (or cannot be written: the request is refused, nothing reaches the target). */
    #committed = (failure) => {
        if (this.#answer.finished)
            return;
        if (failure !== undefined) {
            const refusal = recordingRefusal(failure);
            this.#ruling = undefined;
            return this.#refuse(refusal.status, refusal.body, this.#bodyHere());
        }
        try {
            this.#forward();
        }
        catch (e) {
            this.fail(e);
        }
    };
    /** Why an unreadable body stops the request: a json condition, or the mask rules that had to mask it. */
    #unreadable() {
        const rules = this.#writeMasks?.rules;
        if (!rules?.length)
            return 'a rule must read this body and cannot';
        return `${rules.length > 1 ? 'rules' : 'rule'} "${rules.join('", "')}" must mask this body and cannot`;
    }
    /** A refusal: the connection stays open only when the refused body is already read (it is dropped). */
    #refuse(status, body, bodyHere) {
        if (bodyHere && this.#phase !== 4 /* Phase.Read */)
            this.#phase = 3 /* Phase.Skipping */;
        this.#answer.json(status, body, !bodyHere);
    }
    #forward() {
        const state = this.#state;
        const t = state.target;
        const head = this.#head;
        let framing;
        if (this.#collected && this.#phase === 4 /* Phase.Read */)
            framing = `Content-Length: ${this.#collectedLength}\r\n`;
        else if (head.chunked)
            framing = 'Transfer-Encoding: chunked\r\n';
        else if (head.headers['content-length'] !== undefined)
            framing = `Content-Length: ${head.contentLength}\r\n`;
        else
            framing = '';
        // A body the gateway masked no longer matches the digests the job sent of it; an answer to mask is asked for whole.
        const wholeAnswer = masksAnswers(this.#ruling.masks);
        let drops = t.injectedNames;
        if (this.#bodyMasked || wholeAnswer) {
            const more = new Set(t.injectedNames);
            if (this.#bodyMasked)
                for (const name of BODY_DIGESTS)
                    more.add(name);
            if (wholeAnswer)
                for (const name of RANGE_HEADERS)
                    more.add(name);
            drops = more;
        }
        const headers = endToEndHeaders(head.rawHeaders, drops);
        // Request headers a mask rule with `on: write` names; the connection's own credentials come after.
        this.#requestMasked += maskHeaders(headers, this.#ruling.masks.write, state.governor.masker);
        this.#targetHead += `${headerLines(headers)}${t.addedLines}${framing}\r\n`;
        this.#connect();
        const target = this.target;
        target.cork();
        target.write(this.#targetHead, 'latin1');
        if (this.#collected && this.#phase === 4 /* Phase.Read */) {
            // A body read whole for a rule goes on as it was sent (or masked), then the request is complete.
            for (const piece of this.#collected) {
                this.#requestRecord?.add(piece);
                target.write(piece);
            }
            this.#collected = undefined;
            this.#requestRead();
        }
        else {
            if (this.#collected) {
                // A body too large to inspect: what was read goes first, the rest follows as it comes.
                for (const piece of this.#collected)
                    this.body(piece);
                this.#collected = undefined;
            }
            this.#phase = 2 /* Phase.Sending */;
            this.#job.socket.resume();
            this.#job.drain();
        }
        target.uncork();
    }
    /** Takes a connection to the target and listens on it for this exchange. */
    #connect() {
        const { socket, reused } = this.#state.target.pool.acquire();
        const target = socket;
        if (!(EXCHANGE in target)) {
            target.on('data', onTargetData);
            target.on('end', onTargetEnd);
            target.on('close', onTargetClose);
            target.on('error', onTargetError);
            target.on('drain', onTargetDrain);
        }
        target[EXCHANGE] = this;
        this.target = target;
        this.#reused = reused;
        this.#answer.readFrom((target[ANSWERS] ??= new MessageReader('response')));
    }
    #requestRead() {
        this.#phase = 4 /* Phase.Read */;
        if (this.#answer.finished)
            this.end();
    }
    /** The reader found the request's body malformed after it began to go to the target. */
    malformed(problem) {
        this.#answer.finished = true;
        this.target?.destroy();
        this.complete(`malformed request body: ${problem}`);
        if (!this.#answer.headSent)
            this.#job.refuseMalformed(problem);
        else
            this.#job.socket.destroy();
    }
    jobDrained() {
        this.target?.resume();
    }
    jobLeft() {
        if (this.#answer.finished)
            return;
        this.#answer.finished = true;
        this.target?.destroy();
        if (this.#ruling)
            this.complete(this.target ? 'the job left' : 'the job left before the request was forwarded');
    }
    targetDrained() {
        if (this.#phase === 2 /* Phase.Sending */)
            this.#job.socket.resume();
    }
    targetData(chunk) {
        this.#answer.targetData(chunk);
    }
    targetEnded() {
        this.#answer.targetEnded();
        this.targetClosed();
    }
    targetClosed(error) {
        if (this.#answer.finished)
            return;
        // A kept-alive connection the target had closed meanwhile: a request without a body is sent again.
        if (this.#reused && !this.#answer.answered && this.#head.contentLength === 0 && !this.#head.chunked && this.#phase === 4 /* Phase.Read */) {
            this.target[EXCHANGE] = undefined;
            this.target.destroy();
            this.#connect();
            this.target.write(this.#targetHead, 'latin1');
            return;
        }
        this.#answer.targetFailed(error ? (error.code ?? error.message) : 'the target closed the connection');
    }
    detachTarget() {
        if (this.target)
            this.target[EXCHANGE] = undefined;
    }
    complete(error, answerMasked = 0, body) {
        if (this.#completed || !this.#ruling)
            return;
        this.#completed = true;
        const { governor } = this.#state;
        // Set field by field rather than spread from optional parts: this runs for every request.
        const stats = { durationMs: performance.now() - this.#started, bytes: this.#answer.bytes };
        if (this.#answer.status)
            stats.status = this.#answer.status;
        if (error !== undefined)
            stats.error = error;
        const masked = this.#requestMasked + answerMasked;
        if (masked)
            stats.maskedValues = masked;
        if (body !== undefined)
            stats.body = body;
        if (this.#requestRecord)
            stats.requestBody = this.#requestRecord.text(governor);
        governor.completed(this.#ruling, stats);
    }
    /** Both the request and its answer are through. */
    end() {
        if (this.#job.exchange === this)
            this.#job.done(this.#answer.keepAlive);
    }
    /** An error that escaped: reported as a fault by the connection's guard. */
    fail(e) {
        this.target?.destroy();
        this.#answer.finished = true;
        this.#job.socket.destroy();
        this.#state.fault(`${this.#state.name} request`, e);
    }
}
function onTargetData(chunk) {
    this[EXCHANGE]?.targetData(chunk);
}
function onTargetEnd() {
    this[EXCHANGE]?.targetEnded();
}
function onTargetClose() {
    this[EXCHANGE]?.targetClosed();
}
function onTargetError(e) {
    const exchange = this[EXCHANGE];
    this.destroy();
    exchange?.targetClosed(e);
}
function onTargetDrain() {
    this[EXCHANGE]?.targetDrained();
}

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
// EXTERNAL MODULE: external "node:https"
var external_node_https_ = __webpack_require__(44708);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/websocket.ts














/** A text message (all its fragments) is held at most this long to be masked whole. */
const MAX_MESSAGE = 1 << 20;
/** How much of a text frame the record keeps (masked), with `recording.results: masked`. */
const RECORDED_TEXT = 4096;
class WebSocketFrameError extends Error {
}
/** Reads RFC 6455 frames from a byte stream; payloads are unmasked for inspection. */
class FrameReader {
    #buffered = Buffer.alloc(0);
    push(chunk) {
        this.#buffered = this.#buffered.length ? Buffer.concat([this.#buffered, chunk]) : chunk;
        const frames = [];
        for (;;) {
            const b = this.#buffered;
            if (b.length < 2)
                break;
            const masked = (b[1] & 0x80) !== 0;
            let length = b[1] & 0x7f;
            let at = 2;
            if (length === 126) {
                if (b.length < 4)
                    break;
                length = b.readUInt16BE(2);
                at = 4;
            }
            else if (length === 127) {
                if (b.length < 10)
                    break;
                const big = b.readBigUInt64BE(2);
                if (big > BigInt(MAX_MESSAGE) * 64n)
                    throw new WebSocketFrameError('a WebSocket frame over 64 MiB');
                length = Number(big);
                at = 10;
            }
            const keyAt = at;
            if (masked)
                at += 4;
            if (b.length < at + length)
                break;
            const payload = Buffer.from(b.subarray(at, at + length));
            if (masked)
                for (let i = 0; i < payload.length; i++)
                    payload[i] ^= b[keyAt + (i & 3)];
            frames.push({ fin: (b[0] & 0x80) !== 0, opcode: b[0] & 0x0f, payload, raw: b.subarray(0, at + length) });
            this.#buffered = b.subarray(at + length);
        }
        return frames;
    }
}
/**
 * A frame with FIN set: unmasked toward the job, masked with a fresh key toward the target (RFC 6455
 * requires every client-to-server frame to be masked).
 */
function encodeFrame(opcode, payload, masked = false) {
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x80 | opcode, n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
    if (n >= 126) {
        head[0] = 0x80 | opcode;
        if (n < 65536) {
            head[1] = 126;
            head.writeUInt16BE(n, 2);
        }
        else {
            head[1] = 127;
            head.writeBigUInt64BE(BigInt(n), 2);
        }
    }
    if (!masked)
        return Buffer.concat([head, payload]);
    head[1] |= 0x80;
    const key = (0,external_node_crypto_.randomBytes)(4);
    const body = Buffer.from(payload);
    for (let i = 0; i < body.length; i++)
        body[i] ^= key[i & 3];
    return Buffer.concat([head, key, body]);
}
/**
 * One direction of the relay: every frame is noted; with masks, text messages (fragments joined, up to
 * MAX_MESSAGE) are masked and re-framed, and every other frame (binary, control frames between
 * fragments) passes as it came.
 */
function frameRelay(masks, state, toTarget, note, write) {
    const reader = new FrameReader();
    const active = masks.json.length > 0 || masks.detectors.size > 0;
    let message;
    let messageLength = 0;
    return (chunk) => {
        for (const f of reader.push(chunk)) {
            const text = f.opcode === 1 /* Opcode.Text */ || (f.opcode === 0 /* Opcode.Continuation */ && message !== undefined);
            if (!active || !text) {
                note(f.opcode, f.payload.length, f.opcode === 1 /* Opcode.Text */ ? f.payload.toString('utf8') : undefined);
                write(f.raw);
                continue;
            }
            (message ??= []).push(f.payload);
            messageLength += f.payload.length;
            if (messageLength > MAX_MESSAGE)
                throw new WebSocketFrameError('a text message too long to mask');
            if (!f.fin)
                continue;
            const masked = maskMessage(Buffer.concat(message).toString('utf8'), masks, state);
            message = undefined;
            messageLength = 0;
            note(1 /* Opcode.Text */, masked.length, masked);
            write(encodeFrame(1 /* Opcode.Text */, Buffer.from(masked), toTarget));
        }
    };
}
/**
 * Relays frames between job and target: every frame is recorded (direction, opcode, bytes); text
 * messages are masked (JSON by selectors and detectors, other text by the detectors) and re-framed: the
 * target's by the plan's read masks, the job's by its write masks (mask rules with `on: write`);
 * binary frames pass as they came. A frame that breaks the protocol ends the relay; any other error
 * also goes to `escaped`, the connection's guard.
 */
function relay(state, plan, seq, job, far, escaped) {
    const { governor } = state;
    const client = job.socket;
    const target = far.socket;
    const note = (direction, opcode, bytes, text) => governor.note('websocket.frame', {
        connection: state.name,
        op: seq,
        direction,
        opcode,
        bytes,
        ...(text !== undefined && governor.recordsContent && { text: governor.masker.maskText(text.slice(0, RECORDED_TEXT), masker/* REDACT_ALL */.kZ).text }),
    });
    const fail = () => {
        client.destroy();
        target.destroy();
    };
    const failOn = (e) => {
        fail();
        if (!(e instanceof WebSocketFrameError))
            escaped(e);
    };
    const guardedRelay = (relayed) => (chunk) => {
        try {
            relayed(chunk);
        }
        catch (e) {
            failOn(e);
        }
    };
    const fromJob = guardedRelay(frameRelay(plan.write, state, true, (...frame) => note('up', ...frame), (b) => target.write(b)));
    const fromTarget = guardedRelay(frameRelay(plan, state, false, (...frame) => note('down', ...frame), (b) => client.write(b)));
    client.on('data', fromJob);
    target.on('data', fromTarget);
    // A socket handed over paused (by the gateway's own codec) flows again now that it is read.
    client.resume();
    // What each side sent along with the handshake.
    if (job.head.length)
        fromJob(job.head);
    if (far.head.length)
        fromTarget(far.head);
    client.on('close', () => target.destroy());
    target.on('close', () => client.destroy());
    client.on('error', fail);
    target.on('error', fail);
}
function maskMessage(text, plan, state) {
    const trimmed = text.trimStart();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
        try {
            const masker = new JsonStreamMasker(plan.json, plan.detectors, state.governor.masker);
            return Buffer.concat([...masker.push(Buffer.from(text)), ...masker.end()]).toString('utf8');
        }
        catch {
            // Not JSON after all: the detectors read it as text.
        }
    }
    return state.governor.masker.maskText(text, plan.detectors).text;
}
/**
 * The body of an answer that declines the upgrade, masked as a response's would be (JSON and text by
 * the plan); undefined when it must be masked and its coding cannot be read.
 */
function declinedBody(answer, body, plan, state) {
    const type = answer.headers['content-type'];
    const maskable = (plan.json.length > 0 && isJsonType(type)) || (plan.detectors.size > 0 && (isJsonType(type) || isTextType(type)));
    if (!maskable || body.length === 0)
        return { body, masked: false };
    const coding = answer.headers['content-encoding']?.trim().toLowerCase();
    if (coding && coding !== 'identity')
        return undefined;
    return { body: Buffer.from(maskMessage(body.toString('utf8'), plan, state)), masked: true };
}
function refuse(socket, status, body) {
    socket.end(rawResponse(status, body));
}
/**
 * A WebSocket upgrade: decided like any request, then forwarded to the target with the gateway's own
 * handshake headers (compression is not offered, so frames stay readable), then relayed frame by frame.
 * An error that escapes ends this connection only, reported as a fault.
 */
function handleUpgrade(req, socket, head, state, secretPath) {
    const where = `${state.name} websocket`;
    const escaped = (e) => {
        socket.destroy();
        state.fault(where, e);
    };
    (0,guard/* guardConnection */.cc)(socket, where, state.fault, () => upgrade(req, socket, head, state, secretPath, escaped));
}
async function upgrade(req, socket, head, state, secretPath, escaped) {
    let target;
    try {
        target = readRequest(req.method, req.url ?? '', req.rawHeaders, state.target.reading, secretPath?.segment.length);
    }
    catch (e) {
        if (!(e instanceof AmbiguousRequest))
            throw e;
        state.governor.note('http.ambiguous', { connection: state.name, problem: e.message });
        return refuse(socket, 400, { error: `refused: ${e.message}` });
    }
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || target.judgedMethod !== 'GET') {
        return refuse(socket, 400, { error: 'only WebSocket upgrades of a GET to a path are accepted' });
    }
    const op = { connection: state.name, protocol: 'http', text: '', classes: new Set(['write']), writes: true, method: 'GET', path: target.path, ...requestFacts(state.target, req.rawHeaders, target.search) };
    // The query masked like a request's (mask rules with `on: write`), before it is recorded.
    const search = state.governor.masksRequests ? maskQuery(target.search, state.governor.maskPlan(op).write, state.governor.masker).search : target.search;
    op.text = `${recordText('GET', target.path, search, state.governor)} (websocket)`;
    const path = `${target.path}${search}`;
    const ruling = await state.governor.decide(op);
    if (!ruling.allowed)
        return refuse(socket, refusalStatus(ruling), refusalBody(ruling));
    const unrecorded = commitOrRefusal(state.governor);
    if (unrecorded)
        return refuse(socket, unrecorded.status, unrecorded.body);
    const t = state.target;
    const headers = endToEndHeaders(req.rawHeaders, new Set([...t.injectedNames, 'sec-websocket-extensions']));
    maskHeaders(headers, ruling.masks.write, state.governor.masker);
    headers.push(...t.injected, 'Host', t.authority, 'Connection', 'Upgrade', 'Upgrade', 'websocket');
    const upstream = (t.secure ? external_node_https_.request : external_node_http_.request)({ host: t.hostname, port: t.port, method: 'GET', path, headers: headers, agent: t.agent, setHost: false });
    upstream.on('error', (e) => refuse(socket, 400, { error: `the target cannot be reached (${e.code ?? e.message})` }));
    // The target declined the upgrade: its answer, then the end.
    upstream.on('response', (answer) => {
        const body = [];
        answer.on('data', (c) => body.push(c));
        answer.on('end', () => {
            const payload = declinedBody(answer, Buffer.concat(body), ruling.masks, state);
            const headers = endToEndHeaders(answer.rawHeaders, payload?.masked ? MASKED_DROPS : undefined);
            secretPath?.rewriteHeaders(headers);
            if (!payload)
                return refuse(socket, 502, { error: `the target's answer is coded "${answer.headers['content-encoding']}", which the gateway cannot decode to mask` });
            maskHeaders(headers, ruling.masks, state.governor.masker);
            socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${answer.statusCode} ${answer.statusMessage}\r\n${headerLines(headers)}Content-Length: ${payload.body.length}\r\nConnection: close\r\n\r\n`), payload.body]));
        });
    });
    const accepted = (answer, targetSocket, targetHead) => {
        const raw = [...answer.rawHeaders];
        secretPath?.rewriteHeaders(raw);
        maskHeaders(raw, ruling.masks, state.governor.masker);
        socket.write(`HTTP/1.1 101 Switching Protocols\r\n${headerLines(raw)}\r\n`);
        relay(state, ruling.masks, ruling.seq, { socket, head }, { socket: targetSocket, head: targetHead }, escaped);
    };
    upstream.on('upgrade', (answer, targetSocket, targetHead) => (0,guard/* guarded */.Nj)(escaped, () => accepted(answer, targetSocket, targetHead)));
    upstream.end();
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/job-connection.ts





/** An idle job connection is closed after this long. */
const KEEP_ALIVE_MS = 60_000;
/** The job connections of one listener, so that closing it can end idle ones at once and the rest later. */
class JobConnections {
    #open = new Set();
    /** The reverse listener's: every request target must start with it. */
    #secretPath;
    constructor(secretPath) {
        this.#secretPath = secretPath;
    }
    serve(socket, state, route) {
        const connection = new JobConnection(socket, state, route, this.#secretPath);
        this.#open.add(connection);
        socket.once('close', () => this.#open.delete(connection));
        connection.escaped = (0,guard/* guardConnection */.cc)(socket, `${state.name} connection`, state.fault, () => connection.start());
    }
    /** Closes the listener: idle connections at once, the others once they finish or the deadline passes. */
    async close(server, deadlineMs) {
        const closed = server.listening ? new Promise((resolve) => server.close(() => resolve())) : Promise.resolve();
        for (const c of this.#open)
            c.closeIfIdle();
        const timer = setTimeout(() => {
            for (const c of this.#open)
                c.socket.destroy();
        }, deadlineMs);
        await closed;
        clearTimeout(timer);
    }
}
class JobConnection {
    socket;
    /** The connection's own target, or the forward proxy's where no target is known yet. */
    state;
    #route;
    /** The reverse listener's secret segment, which requests must start with and the target never sees. */
    secretPath;
    /** Where the path the target gets starts in a request target: after the secret segment. */
    pathStart;
    reader = new MessageReader('request');
    exchange;
    /** The connection's last resort: an error that escaped ends it and is reported as a fault. */
    escaped = () => undefined;
    /** The job closed its side: no request follows the one in progress. */
    #peerEnded = false;
    /** The gateway ends this connection: nothing more is read from it. */
    #ending = false;
    constructor(socket, state, route, secretPath) {
        this.socket = socket;
        this.state = state;
        this.#route = route;
        this.secretPath = secretPath;
        this.pathStart = secretPath ? secretPath.segment.length : 0;
    }
    start() {
        const socket = this.socket;
        socket.setNoDelay(true);
        socket.setTimeout(KEEP_ALIVE_MS);
        socket.on('timeout', () => this.closeIfIdle());
        socket.on('data', (chunk) => this.#read(chunk));
        socket.on('end', () => {
            this.#peerEnded = true;
            this.reader.end();
            this.#guarded(() => this.drain());
            if (!this.exchange)
                socket.end();
        });
        socket.on('drain', () => this.exchange?.jobDrained());
        socket.on('close', () => this.exchange?.jobLeft());
    }
    closeIfIdle() {
        if (!this.exchange)
            this.socket.destroy();
    }
    #read(chunk) {
        this.reader.push(chunk);
        const target = this.exchange?.target;
        target?.cork();
        this.#guarded(() => this.drain());
        target?.uncork();
        // Bytes past the request in progress (pipelined requests) wait in the reader, not more of them.
        if (this.exchange && !this.exchange.reading)
            this.socket.pause();
    }
    #guarded(step) {
        try {
            step();
        }
        catch (e) {
            this.escaped(e);
        }
    }
    /** Hands what the reader has to the request in progress, or starts the next request. */
    drain() {
        const reader = this.reader;
        for (;;) {
            const exchange = this.exchange;
            if (exchange && !exchange.reading)
                return;
            if (this.#ending || this.socket.destroyed)
                return;
            const event = reader.next();
            if (event === undefined)
                break;
            if (exchange)
                exchange.body(event);
            else
                this.#begin(event);
        }
        if (reader.error === undefined)
            return;
        if (this.exchange)
            this.exchange.malformed(reader.error);
        else
            this.refuseMalformed(reader.error);
    }
    /** Answers 400 to a malformed request and ends the connection. */
    refuseMalformed(problem) {
        this.#ending = true;
        refuseMalformed(this.socket, this.state, problem);
    }
    #begin(head) {
        // Nothing of a request whose body is already known to be malformed reaches the target.
        if (this.reader.failsInMessage())
            return this.refuseMalformed(this.reader.error);
        if (this.secretPath && !this.secretPath.admits(head.url))
            return this.#refuseWithoutSecret();
        const state = this.#route ? this.#route(head, this) : this.state;
        if (!state)
            return;
        if (head.upgrade)
            return handleUpgrade(head, this.socket, this.detach(), state, this.secretPath);
        this.exchange = new Exchange(this, head, state);
        this.exchange.start();
    }
    /** Hands the socket over (an upgrade, a CONNECT), paused, with the bytes already read past the head. */
    detach() {
        this.#ending = true;
        const socket = this.socket;
        for (const event of ['data', 'end', 'drain', 'timeout'])
            socket.removeAllListeners(event);
        socket.setTimeout(0);
        socket.pause();
        return this.reader.detach();
    }
    /** A request without the job's secret segment, maybe from another process on the runner: refused, and its path not recorded. */
    #refuseWithoutSecret() {
        this.state.governor.note('auth.failed', { connection: this.state.name, message: "a request without the job's secret path segment was refused" });
        this.refuse(this.secretPath.refusal);
    }
    /** An answer the connection's route gives itself, after which the connection ends. */
    refuse(text) {
        this.#ending = true;
        this.socket.end(text);
    }
    /** The exchange is over: the next request is read, or the connection ends. */
    done(keepAlive) {
        this.exchange = undefined;
        if (!keepAlive || this.#peerEnded) {
            this.#ending = true;
            return void this.socket.end();
        }
        this.socket.resume();
        this.drain();
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/listener-state.ts

function listenerState(name, target, governor, log) {
    return { name, target, governor, log, fault: (0,guard/* faultSink */.Qr)(governor, log) };
}

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(73024);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(48161);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: external "node:tls"
var external_node_tls_ = __webpack_require__(41692);
// EXTERNAL MODULE: ./runner-proxy/src/base/glob.ts
var glob = __webpack_require__(56997);
// EXTERNAL MODULE: ./runner-proxy/src/adapters/run-ca.ts
var run_ca = __webpack_require__(94012);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/pool.ts


/** An idle connection to the target is closed after this long. */
const IDLE_MS = 30_000;
/** Idle connections kept per target; more are closed as they come back. */
const MAX_IDLE = 256;
/** A new connection to the target, TLS verified for https (the start-up check's and the pool's). */
function connectTarget({ secure, hostname, port, ca }) {
    const socket = secure
        ? (0,external_node_tls_.connect)({ host: hostname, port, ...(ca && { ca }), ...(!(0,external_node_net_.isIP)(hostname) && { servername: hostname }), ALPNProtocols: ['http/1.1'] })
        : (0,external_node_net_.connect)({ host: hostname, port, noDelay: true });
    if (secure)
        socket.setNoDelay(true);
    return socket;
}
/**
 * Kept-alive raw connections to one target: the gateway writes each request's framing itself and reads
 * the answer with its own codec. Most recently used first, so a burst reuses warm connections. HTTPS
 * connections always verify the target's certificate (against `ca` when given).
 */
class TargetPool {
    #options;
    #idle = [];
    #all = new Set();
    #onIdleEnd;
    constructor(options) {
        this.#options = options;
        const idle = this.#idle;
        // Attached once per connection; a busy connection's end or error is its exchange's to handle.
        this.#onIdleEnd = function () {
            const at = idle.indexOf(this);
            if (at < 0)
                return;
            idle.splice(at, 1);
            this.destroy();
        };
    }
    /** A connection to use now: an idle one (`reused`), or a new one that can be written to at once. */
    acquire() {
        while (this.#idle.length > 0) {
            const socket = this.#idle.pop();
            if (!socket.destroyed && socket.readable && socket.writable)
                return { socket, reused: true };
            socket.destroy();
        }
        const socket = connectTarget(this.#options);
        socket.setTimeout(IDLE_MS);
        // An idle connection must see the target close it.
        socket.on('end', this.#onIdleEnd);
        socket.on('error', this.#onIdleEnd);
        // A busy connection's timeout is its exchange's to judge; an idle one is closed.
        socket.on('timeout', () => {
            if (this.#idle.includes(socket))
                this.#onIdleEnd.call(socket);
        });
        this.#all.add(socket);
        socket.once('close', () => this.#all.delete(socket));
        return { socket, reused: false };
    }
    /** Opens one connection (for https the TLS handshake, the certificate verified) and closes it: the start-up check. */
    probe(timeoutMs) {
        return new Promise((resolve, reject) => {
            const socket = connectTarget(this.#options);
            const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT', syscall: 'connect' })), timeoutMs);
            socket.once(this.#options.secure ? 'secureConnect' : 'connect', () => {
                clearTimeout(timer);
                socket.destroy();
                resolve();
            });
            socket.once('error', (e) => {
                clearTimeout(timer);
                reject(e);
            });
        });
    }
    /** Takes back a connection whose last answer was read whole and which may carry another request. */
    release(socket) {
        if (socket.destroyed || this.#idle.length >= MAX_IDLE)
            return void socket.destroy();
        // Paused by the last answer's backpressure maybe: an idle connection must see the target close it.
        socket.resume();
        this.#idle.push(socket);
    }
    /** Closes every connection, idle or busy. */
    destroy() {
        for (const socket of this.#all)
            socket.destroy();
        this.#idle.length = 0;
    }
}

// EXTERNAL MODULE: ./runner-proxy/src/base/errors.ts
var errors = __webpack_require__(25256);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/target.ts






class HttpTargetError extends Error {
}
/** Closes every connection to the target, idle or busy. */
function closeTarget(target) {
    target.agent.destroy();
    target.pool.destroy();
}
/** How long the start-up check waits for the target. */
const START_CHECK_MS = 15_000;
/**
 * Connects to the target once when the gateway starts (for https, the TLS handshake with the
 * certificate verified against `ca` or the system's CAs), then hangs up: an unreachable target or an
 * untrusted certificate is a start error naming the connection, not a 502 for every request of the job.
 */
async function checkHttpTarget(name, target, ca) {
    try {
        await target.pool.probe(START_CHECK_MS);
    }
    catch (e) {
        // OpenSSL's errors keep their one-line reason apart from a message with its source location.
        const error = e;
        const problem = error.syscall
            ? `the target ${target.authority} cannot be reached (${error.code ?? error.message}); check the connection's url`
            : `the TLS handshake with ${target.authority} failed (${error.reason ?? error.message}); ${tlsHint(error.code, ca !== undefined)}`;
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.GatewayStartFailed, `connection "${name}": ${problem}`, { cause: e });
    }
}
/** What to fix when the TLS handshake with the target fails: a port that does not speak TLS, or the trust. */
function tlsHint(code, caGiven) {
    if (code?.startsWith('ERR_SSL_'))
        return 'check that the url names a port that speaks https';
    return caGiven ? "check that the connection's ca signs the target's certificate" : "give the CA that signs the target's certificate as the connection's ca";
}
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
function parseHttpTarget(settings) {
    let u;
    try {
        u = new URL(settings.url);
    }
    catch {
        throw new HttpTargetError('the http url is not a URL (https://host[:port][/path])');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
        throw new HttpTargetError(`the http url has the scheme ${u.protocol}, not http: or https:`);
    if (u.username || u.password)
        throw new HttpTargetError('the http url carries credentials; put them in headers (Authorization) instead');
    if (u.search || u.hash)
        throw new HttpTargetError('the http url has a query or fragment; give the base URL only');
    if (settings.ca && u.protocol !== 'https:')
        throw new HttpTargetError('ca is given for a plain http url; use https');
    const injected = [];
    for (const [name, value] of Object.entries(settings.headers ?? {})) {
        if (!TOKEN.test(name))
            throw new HttpTargetError(`header name "${name}" is not a valid HTTP field name`);
        if (!FIELD_VALUE.test(value))
            throw new HttpTargetError(`header "${name}" has a line break or control character in its value`);
        injected.push(name, value);
    }
    const secure = u.protocol === 'https:';
    const hostname = u.hostname.replace(/^\[|\]$/g, '');
    const port = Number(u.port || (secure ? 443 : 80));
    const options = { keepAlive: true, scheduling: 'lifo', noDelay: true };
    return {
        secure,
        hostname,
        port,
        authority: u.host,
        prefix: u.pathname.replace(/\/+$/, ''),
        injectedNames: new Set(injected.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase())),
        injected,
        // Certificates are always verified: against the given CA, or the system's.
        pool: new TargetPool({ secure, hostname, port, ...(settings.ca && { ca: settings.ca }) }),
        addedLines: `${headerLines(injected)}Host: ${u.host}\r\n`,
        reading: parseReading(settings.reads),
        agent: secure ? new external_node_https_.Agent({ ...options, ...(settings.ca && { ca: settings.ca }), servername: u.hostname }) : new external_node_http_.Agent(options),
    };
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/forward.ts













/** The system's trust store, which the job's CA variables replace and therefore must include. */
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];
/** Loopback and the gateway's own listeners never go through the proxy. */
const NO_PROXY = 'localhost,127.0.0.1,::1';
/** The user name in the proxy URL; the password is the per-run secret. */
const PROXY_USER = 'govern';
/** The authentication scheme, as compared (RFC 9110 §11.1: without regard to case). */
const BASIC = 'basic ';
const PROXY_AUTHENTICATION_REQUIRED = rawResponse(407, { error: 'this forward proxy serves the job only: use the proxy URL in HTTPS_PROXY as it is, with its credentials' }, 'Proxy-Authenticate: Basic realm="govern"\r\n');
/** The forward proxy's job-scoped credentials, which every CONNECT and absolute-form request must carry. */
class ProxyCredentials {
    secret = (0,external_node_crypto_.randomBytes)(24).toString('base64url');
    /** The Basic credentials for `govern:SECRET`, as base64. */
    basic = Buffer.from(`${PROXY_USER}:${this.secret}`).toString('base64');
    #expected = Buffer.from(this.basic, 'latin1');
    /** Whether a request's Proxy-Authorization is the expected one (the scheme in any case), the credentials compared in constant time. */
    carriedBy(rawHeaders) {
        const value = rawHeader(rawHeaders, 'proxy-authorization');
        if (value === undefined || value.length !== BASIC.length + this.#expected.length || value.slice(0, BASIC.length).toLowerCase() !== BASIC)
            return false;
        return (0,external_node_crypto_.timingSafeEqual)(Buffer.from(value.slice(BASIC.length), 'latin1'), this.#expected);
    }
}
const originKey = (host, port) => `${host.toLowerCase()}:${port}`;
/** host:port from a CONNECT line, IPv6 in brackets. */
function parseAuthority(authority) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(authority);
    const port = Number(m?.[2]);
    if (!m || port < 1 || port > 65535)
        return undefined;
    return { host: m[1].replace(/^\[|\]$/g, ''), port };
}
/**
 * The forward proxy: CONNECT to a host the policy intercepts is answered with a certificate from this
 * run's CA, and the requests inside go through the same exchange as a connection's listener (the
 * connection's credentials, rules and masks when its host is one of the http connections). Other hosts
 * are tunnelled (recorded as host, port and bytes) or refused, as the policy says. Plain-HTTP requests
 * in absolute form follow the same routes. Every CONNECT and absolute-form request must carry the
 * job's proxy credentials (in the exported proxy URL), so that no other process on the runner can use
 * the job's identity and credentials through it.
 */
async function listenForwardProxy(context, connections) {
    const { proxy, governor, log } = context;
    const interceptPatterns = proxy.intercept.map((p) => p.toLowerCase());
    // The CA may vouch for what CONNECT intercepts: the https connections' hosts and the intercept globs.
    const secureHosts = [...connections.values()].filter((c) => c.target.secure).map((c) => c.target.hostname.toLowerCase());
    const ca = new run_ca/* RunCertificateAuthority */.W(context.label, [...secureHosts, ...interceptPatterns]);
    const intercepted = interceptPatterns.map((p) => (0,glob/* globMatcher */.fU)(p, { separator: '.' }));
    const tunnelled = proxy.tunnel.map((p) => (0,glob/* globMatcher */.fU)(p.toLowerCase(), { separator: '.' }));
    const listed = new Map();
    const proxyState = listenerState('(proxy)', undefined, governor, log);
    /** A target the policy lists rather than a connection: no credentials added, rules and masks as for any. */
    const listedState = (host, port, secure) => {
        const key = `${secure ? 'https' : 'http'}://${originKey(host, port)}`;
        let state = listed.get(key);
        if (!state) {
            const url = `${secure ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
            listed.set(key, (state = listenerState(`proxy:${host.toLowerCase()}`, parseHttpTarget({ url }), governor, log)));
        }
        return state;
    };
    const route = (host, port, secure) => {
        const connection = connections.get(originKey(host, port));
        if (connection && connection.target.secure === secure)
            return { kind: 'intercept', state: connection };
        const lower = host.toLowerCase();
        if (intercepted.some((m) => m(lower)))
            return { kind: 'intercept', state: listedState(host, port, secure) };
        if (!tunnelled.some((m) => m(lower)) && proxy.others !== 'tunnel')
            return { kind: 'refuse' };
        // Plain HTTP is readable anyway: it goes through the exchange and is recorded as requests.
        return secure ? { kind: 'tunnel' } : { kind: 'intercept', state: listedState(host, port, false) };
    };
    // The proxy's own connections and the intercepted TLS connections inside them, served alike.
    const served = new JobConnections();
    const credentials = new ProxyCredentials();
    const connectRequest = (head, socket, rest) => {
        const authority = parseAuthority(head.url);
        if (!authority)
            return void socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        const chosen = route(authority.host, authority.port, true);
        if (chosen.kind === 'refuse') {
            governor.note('proxy.refused', { host: authority.host, port: authority.port });
            return void socket.end(rawResponse(403, { error: `${authority.host}:${authority.port} is not on the policy's egress list` }));
        }
        const unrecorded = commitOrRefusal(governor);
        if (unrecorded)
            return void socket.end(rawResponse(unrecorded.status, unrecorded.body));
        if (chosen.kind === 'tunnel')
            return tunnel(socket, rest, authority, governor);
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (rest.length)
            socket.unshift(rest);
        const tls = new external_node_tls_.TLSSocket(socket, { isServer: true, secureContext: ca.contextFor(authority.host), ALPNProtocols: ['http/1.1'] });
        tls.on('error', () => tls.destroy());
        // The requests inside go to the intercepted target, as through its connection's own listener.
        served.serve(tls, chosen.state);
    };
    /** A request to the proxy itself: CONNECT, or an absolute-form http:// request (HTTP_PROXY). */
    const proxyRequest = (head, connection) => {
        if (!credentials.carriedBy(head.rawHeaders)) {
            governor.note('auth.failed', { connection: proxyState.name, message: "a request to the forward proxy without the job's proxy credentials was refused" });
            return void connection.refuse(PROXY_AUTHENTICATION_REQUIRED);
        }
        if (head.method === 'CONNECT')
            return void connectRequest(head, connection.socket, connection.detach());
        return plainRequest(head, connection, route, proxyState);
    };
    const server = (0,external_node_net_.createServer)({ noDelay: true }, (socket) => served.serve(socket, proxyState, proxyRequest));
    server.on('error', (e) => log.warn(`forward proxy: listener error: ${e.message}`));
    const port = await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve(server.address().port));
    });
    const dir = (0,external_node_fs_.mkdtempSync)((0,external_node_path_.join)((0,external_node_os_.tmpdir)(), 'govern-proxy-ca-'));
    const caFile = (0,external_node_path_.join)(dir, 'ca.pem');
    const bundleFile = (0,external_node_path_.join)(dir, 'bundle.pem');
    (0,external_node_fs_.writeFileSync)(caFile, ca.certPem, { mode: 0o644 });
    const system = SYSTEM_BUNDLES.find((f) => (0,external_node_fs_.existsSync)(f));
    (0,external_node_fs_.writeFileSync)(bundleFile, `${system ? (0,external_node_fs_.readFileSync)(system, 'utf8') : external_node_tls_.rootCertificates.join('\n')}\n${ca.certPem}`, { mode: 0o644 });
    const url = `http://${PROXY_USER}:${credentials.secret}@127.0.0.1:${port}`;
    return {
        exports: {
            HTTPS_PROXY: url,
            HTTP_PROXY: url,
            https_proxy: url,
            http_proxy: url,
            NO_PROXY,
            no_proxy: NO_PROXY,
            NODE_USE_ENV_PROXY: '1',
            NODE_EXTRA_CA_CERTS: caFile,
            SSL_CERT_FILE: bundleFile,
            CURL_CA_BUNDLE: bundleFile,
            REQUESTS_CA_BUNDLE: bundleFile,
            GIT_SSL_CAINFO: bundleFile,
        },
        // The Basic value too, which a client's verbose output may print.
        secrets: [credentials.secret, url, credentials.basic],
        target: `forward proxy (others: ${proxy.others})`,
        close: async (deadlineMs) => {
            await served.close(server, deadlineMs);
            for (const state of listed.values())
                closeTarget(state.target);
            (0,external_node_fs_.rmSync)(dir, { recursive: true, force: true });
        },
    };
}
/** An absolute-form request (http://host/path) through HTTP_PROXY: the target's state, with the request's target made a path. */
function plainRequest(head, connection, route, proxyState) {
    let u;
    try {
        u = head.url.startsWith('http://') ? new URL(head.url) : undefined;
    }
    catch {
        u = undefined;
    }
    if (!u)
        return void connection.refuse(rawResponse(400, { error: 'this is a forward proxy: send absolute http:// URLs, or CONNECT for https' }));
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = Number(u.port || 80);
    const chosen = route(host, port, false);
    if (chosen.kind === 'refuse') {
        proxyState.governor.note('proxy.refused', { host, port });
        return void connection.refuse(rawResponse(403, { error: `${host}:${port} is not on the policy's egress list` }));
    }
    if (chosen.kind !== 'intercept')
        return void connection.refuse(rawResponse(500, { error: 'no route' }));
    head.url = `${u.pathname}${u.search}`;
    // The proxy's credentials are the proxy hop's: no rule and no record sees them (nor does the target).
    dropHeader(head.rawHeaders, 'proxy-authorization');
    return chosen.state;
}
/** Passes bytes both ways unopened; the record keeps host, port, bytes and duration. */
function tunnel(client, head, { host, port }, governor) {
    const started = performance.now();
    const target = (0,external_node_net_.connect)(port, host);
    let up = head.length;
    let down = 0;
    let opened = false;
    const finish = () => {
        if (!opened)
            return;
        opened = false;
        governor.note('tunnel', { host, port, bytes_up: up, bytes_down: down, duration_ms: Math.round(performance.now() - started) });
    };
    target.on('connect', () => {
        opened = true;
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length)
            target.write(head);
        client.on('data', (c) => (up += c.length));
        target.on('data', (c) => (down += c.length));
        client.pipe(target);
        target.pipe(client);
    });
    target.on('error', (e) => {
        if (!opened)
            client.end(`HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\nX-Govern-Error: ${e.code ?? 'error'}\r\n\r\n`);
        else
            client.destroy();
    });
    target.on('close', () => {
        finish();
        client.destroy();
    });
    client.on('close', () => target.destroy());
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/secret-path.ts
/**
 * The reverse listener's job-scoped secret: the first path segment of the URL the job gets
 * (`http://127.0.0.1:PORT/SECRET/prefix`), since Node's fetch refuses URLs with userinfo. Another
 * process on the runner that does not know it is refused. The target never sees the segment, so
 * response headers that would lead the job's client out of it are rewritten, as nginx's
 * proxy_redirect and proxy_cookie_path do.
 */


/** Path=… in a Set-Cookie value (the cookie's own value cannot hold a semicolon). */
const COOKIE_PATH = /(;\s*path\s*=\s*)(\/)/i;
class SecretPath {
    /** The secret alone: a CI log mask. */
    secret = (0,external_node_crypto_.randomBytes)(24).toString('base64url');
    /** `/SECRET`, what a request target must start with. */
    segment = `/${this.secret}`;
    /** `http://127.0.0.1:PORT/SECRET`: where a path on the target is, for the job. */
    base;
    /** The target's origin as URL.origin spells it (lower-case host, no default port). */
    #targetOrigin;
    #targetScheme;
    /** The answer to a request without the segment. */
    refusal;
    constructor(port, target, exportName) {
        this.base = `http://127.0.0.1:${port}${this.segment}`;
        this.refusal = rawResponse(403, { error: `this listener serves the job's URL only: use the URL in ${exportName} as it is, its first path segment included` });
        this.#targetScheme = target.secure ? 'https:' : 'http:';
        this.#targetOrigin = new URL(`${this.#targetScheme}//${target.authority}`).origin;
    }
    /**
     * Whether a request target starts with the secret segment, followed by `/`, `?` or its end. Every
     * byte of the segment is compared whatever the others hold, so the time taken tells nothing of it.
     */
    admits(url) {
        const segment = this.segment;
        const n = segment.length;
        if (url.length < n)
            return false;
        let difference = 0;
        for (let i = 0; i < n; i++)
            difference |= url.charCodeAt(i) ^ segment.charCodeAt(i);
        if (difference !== 0)
            return false;
        if (url.length === n)
            return true;
        const next = url.charCodeAt(n);
        return next === 0x2f /* / */ || next === 0x3f /* ? */;
    }
    /**
     * Rewrites, in a response's header pairs, what would lead the job out of its URL: a Location or
     * Content-Location on the target's own origin (an absolute path, or an absolute URL) becomes the job's
     * URL for it; a Set-Cookie's Path gets the secret segment in front. Other origins stay as they are.
     */
    rewriteHeaders(headers) {
        for (let i = 0; i < headers.length; i += 2) {
            const name = headers[i].toLowerCase();
            if (name === 'location' || name === 'content-location')
                headers[i + 1] = this.#location(headers[i + 1]);
            else if (name === 'set-cookie')
                headers[i + 1] = headers[i + 1].replace(COOKIE_PATH, `$1${this.segment}$2`);
        }
    }
    #location(value) {
        if (value.startsWith('/') && !value.startsWith('//'))
            return this.base + value;
        let u;
        try {
            // A scheme-relative reference (//host/path) is on the target's scheme.
            u = new URL(value.startsWith('//') ? this.#targetScheme + value : value);
        }
        catch {
            return value;
        }
        return u.origin === this.#targetOrigin ? `${this.base}${u.pathname}${u.search}${u.hash}` : value;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/adapter.ts
/**
 * The HTTP adapter: a credential-injecting reverse proxy on loopback, one listener per connection,
 * reached only through the job's URL, whose first path segment is a per-run secret (`secret-path.ts`).
 *
 * Library choice. `http-proxy` has had no release since 2020 and carries open request-smuggling and
 * crash reports; `http-proxy-3` is a maintained rewrite, but both forward the job's framing headers
 * and add a layer the gateway would have to audit on top of Node's. undici is the fastest client, but
 * only covers the target side, adds a second HTTP/1.1 implementation beside the job side's, and its
 * body handling we would wrap anyway. Node's own `http` server and client were the first choice (one
 * strict parser, llhttp, with Node's hardening), but measured under wrk their layers (IncomingMessage,
 * ServerResponse, streams, the Agent) cost more than everything the gateway itself does per request:
 * a bare Node `http` pipe keeps a quarter to a third of what a bare `net` pipe relays (BENCHMARKS.md).
 * So the hot path is the gateway's own HTTP/1.1 codec on raw `net`/`tls` sockets (`codec.ts`, push-style
 * like pg-protocol's parser): it reads requests strictly (item 3 of the issue: anything a target might
 * frame differently is refused before it exists), writes each request's framing toward the target
 * itself on a kept-alive raw pool (`pool.ts`), and batches each direction's writes (`job-connection.ts`, `exchange.ts`, `answer.ts`).
 * It is small enough to audit, has no dependency to bundle or keep patched, and the job's
 * Content-Length/Transfer-Encoding never pass through, so the target reads exactly the message the
 * gateway inspected. Node's client remains only for WebSocket handshakes (`websocket.ts`), which are rare.
 */






class HttpAdapter {
    protocol = 'http';
    /** Each connection's target by host:port, for the forward proxy to intercept with its credentials. */
    #origins = new Map();
    listenProxy(context) {
        return listenForwardProxy(context, this.#origins);
    }
    async listen({ connection, governor, log }) {
        const settings = connection.settings;
        let target;
        try {
            target = parseHttpTarget(settings);
        }
        catch (e) {
            throw new HttpTargetError(`connection "${connection.name}": ${e.message}`);
        }
        await checkHttpTarget(connection.name, target, settings.ca);
        const state = listenerState(connection.name, target, governor, log);
        this.#origins.set(`${target.hostname.toLowerCase()}:${target.port}`, state);
        // Connections are served by `connections`, made once the port (part of the job's URL) is known,
        // before any connection can be accepted (that takes a turn of the event loop).
        const server = (0,external_node_net_.createServer)({ noDelay: true }, (socket) => connections.serve(socket, state));
        server.on('error', (e) => log.warn(`${connection.name}: listener error: ${e.message}`));
        const port = await new Promise((resolve, reject) => {
            server.once('error', reject);
            server.listen(0, '127.0.0.1', () => resolve(server.address().port));
        });
        const secretPath = new SecretPath(port, target, connection.export);
        const connections = new JobConnections(secretPath);
        const url = `${secretPath.base}${target.prefix}`;
        return {
            exports: { [connection.export]: url },
            secrets: [secretPath.secret, url],
            target: `${target.secure ? 'https' : 'http'}://${target.authority}${target.prefix}`,
            close: (deadlineMs) => closeListener(server, connections, target, deadlineMs),
        };
    }
}
async function closeListener(server, connections, target, deadlineMs) {
    await connections.close(server, deadlineMs);
    closeTarget(target);
}


/***/ }),

/***/ 94012:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   W: () => (/* binding */ RunCertificateAuthority)
/* harmony export */ });
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(77598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_net__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(77030);
/* harmony import */ var node_net__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_net__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_tls__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(41692);
/* harmony import */ var node_tls__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_tls__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var node_forge__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(8542);
/* harmony import */ var node_forge__WEBPACK_IMPORTED_MODULE_3___default = /*#__PURE__*/__webpack_require__.n(node_forge__WEBPACK_IMPORTED_MODULE_3__);




const HOUR = 3600_000;
/** A run is a CI job: a day covers it, and the CA is worthless once the gateway stops anyway. */
const VALIDITY = 24 * HOUR;
function newKeys() {
    // Node generates the key natively (fast); forge only signs.
    const { privateKey } = (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.generateKeyPairSync)('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' });
    const forgeKey = node_forge__WEBPACK_IMPORTED_MODULE_3___default().pki.privateKeyFromPem(pem);
    return { pem, forgeKey, publicKey: node_forge__WEBPACK_IMPORTED_MODULE_3___default().pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
}
/** GeneralName tags (RFC 5280 §4.2.1.6) of the name forms the constraints speak of. */
const DNS_NAME = 2;
const IP_ADDRESS = 7;
/** Every IPv4 and every IPv6 address: address and mask all zero. */
const ANY_IP = ['\0'.repeat(8), '\0'.repeat(32)];
/** A domain that never resolves (RFC 6761), permitted when no DNS name is: a constraint binds only the forms it names. */
const NO_DNS_NAME = 'invalid';
/** forge's address parser (its type declarations omit it); null for what it cannot read. */
const bytesFromIP = (node_forge__WEBPACK_IMPORTED_MODULE_3___default().util).bytesFromIP;
/** An IP address as the bytes X.509 holds. IPv6 is put in canonical form first: forge cannot read `::ffff:1.2.3.4`. */
function addressBytes(ip) {
    const bytes = bytesFromIP((0,node_net__WEBPACK_IMPORTED_MODULE_1__.isIP)(ip) === 6 ? new URL(`http://[${ip}]`).hostname.slice(1, -1) : ip);
    if (bytes === null)
        throw new Error(`${ip} is not an IP address a certificate can name`);
    return bytes;
}
function subtree(tag, base) {
    const { create, Class, Type } = (node_forge__WEBPACK_IMPORTED_MODULE_3___default().asn1);
    return create(Class.UNIVERSAL, Type.SEQUENCE, true, [create(Class.CONTEXT_SPECIFIC, tag, false, base)]);
}
/** `{a,b}.example.com` as `a.example.com` and `b.example.com` (globs do not nest braces). */
function expandBraces(pattern) {
    const group = /\{([^{}]*)\}/.exec(pattern);
    if (!group)
        return [pattern];
    return group[1].split(',').flatMap((choice) => expandBraces(pattern.slice(0, group.index) + choice + pattern.slice(group.index + group[0].length)));
}
/**
 * The nameConstraints extension (RFC 5280 §4.2.1.10, critical) that lets the run's CA vouch only for
 * the names it intercepts. A host name permits itself; since a dNSName constraint also permits every
 * name below it, those are excluded unless another entry reaches them. A glob permits what follows its
 * last wildcard: `*.example.com` and `**.example.com` permit `.example.com` (the names below it, not
 * the apex), `api-*.example.com` too. An IP address permits itself alone. A name form with nothing
 * permitted is closed (DNS: only `invalid`; IP: every address excluded); a glob whose last label is
 * a wildcard (`*`, `example.*`) leaves DNS names open, and one that could match an address (`10.0.*.*`)
 * leaves IP addresses open. Undefined when both are open.
 */
function nameConstraints(intercepted) {
    const dnsNames = new Set();
    const addresses = [];
    let anyDnsName = false;
    let anyAddress = false;
    for (const pattern of intercepted.flatMap(expandBraces)) {
        const wildcard = Math.max(pattern.lastIndexOf('*'), pattern.lastIndexOf('?'));
        if (wildcard < 0) {
            if ((0,node_net__WEBPACK_IMPORTED_MODULE_1__.isIP)(pattern))
                addresses.push(addressBytes(pattern));
            else
                dnsNames.add(pattern);
            continue;
        }
        const dot = pattern.indexOf('.', wildcard);
        if (dot < 0)
            anyDnsName = true;
        else
            dnsNames.add(pattern.slice(dot));
        if (/^[\d.*?]*$/.test(pattern) || pattern.includes(':'))
            anyAddress = true;
    }
    if (anyDnsName && anyAddress)
        return undefined;
    const { create, Class, Type } = (node_forge__WEBPACK_IMPORTED_MODULE_3___default().asn1);
    const permitted = [];
    const excluded = [];
    if (!anyDnsName) {
        if (!dnsNames.size)
            permitted.push(subtree(DNS_NAME, NO_DNS_NAME));
        for (const name of dnsNames) {
            permitted.push(subtree(DNS_NAME, name));
            if (name.startsWith('.'))
                continue;
            // The names below a host, unless another entry permits some of them or a glob's subtree holds the host.
            const below = `.${name}`;
            if (![...dnsNames].some((other) => other.endsWith(below) || (other.startsWith('.') && name.endsWith(other))))
                excluded.push(subtree(DNS_NAME, below));
        }
    }
    if (!anyAddress) {
        for (const address of addresses)
            permitted.push(subtree(IP_ADDRESS, address + '\xff'.repeat(address.length)));
        if (!addresses.length)
            excluded.push(...ANY_IP.map((any) => subtree(IP_ADDRESS, any)));
    }
    const trees = [create(Class.CONTEXT_SPECIFIC, 0, true, permitted), create(Class.CONTEXT_SPECIFIC, 1, true, excluded)].filter((t) => t.value.length);
    return { id: '2.5.29.30', critical: true, value: create(Class.UNIVERSAL, Type.SEQUENCE, true, trees) };
}
function baseCertificate(publicKey, now) {
    const cert = node_forge__WEBPACK_IMPORTED_MODULE_3___default().pki.createCertificate();
    cert.publicKey = publicKey;
    // A positive serial: the high bit cleared.
    cert.serialNumber = `01${(0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.randomBytes)(15).toString('hex')}`;
    cert.validity.notBefore = new Date(now - HOUR);
    cert.validity.notAfter = new Date(now + VALIDITY);
    return cert;
}
/**
 * A certificate authority made for this run alone (the forward proxy's, and the PostgreSQL listeners'):
 * its private key exists only in this process's memory and is never written anywhere, and its name
 * constraints let it vouch only for the hosts it is made for (the ones the run intercepts, loopback). Leaf certificates share one key and are made per host on first use,
 * then cached.
 */
class RunCertificateAuthority {
    certPem;
    #caKey;
    #caCert;
    #leafKey;
    #contexts = new Map();
    /** `intercepted`: the host names, addresses and host globs (lower case) the proxy opens. */
    constructor(label, intercepted, now = Date.now()) {
        const ca = newKeys();
        const cert = baseCertificate(ca.publicKey, now);
        const name = [
            { name: 'commonName', value: `govern run CA ${label}` },
            { name: 'organizationName', value: 'govern (this CI run only)' },
        ];
        cert.setSubject(name);
        cert.setIssuer(name);
        const constraints = nameConstraints(intercepted);
        cert.setExtensions([
            { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
            { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
            { name: 'subjectKeyIdentifier' },
            ...(constraints ? [constraints] : []),
        ]);
        cert.sign(ca.forgeKey, node_forge__WEBPACK_IMPORTED_MODULE_3___default().md.sha256.create());
        this.#caKey = ca.forgeKey;
        this.#caCert = cert;
        this.certPem = node_forge__WEBPACK_IMPORTED_MODULE_3___default().pki.certificateToPem(cert);
        this.#leafKey = newKeys();
    }
    /** The TLS context the job sees for `host`: a certificate for that name, signed by this CA. */
    contextFor(host) {
        let context = this.#contexts.get(host);
        if (!context) {
            context = (0,node_tls__WEBPACK_IMPORTED_MODULE_2__.createSecureContext)({ key: this.#leafKey.pem, cert: this.issue(host) + this.certPem });
            this.#contexts.set(host, context);
        }
        return context;
    }
    /** A certificate (PEM) for `host` signed by this CA, whether or not its name constraints allow the host. */
    issue(host) {
        const cert = baseCertificate(this.#leafKey.publicKey, Date.now());
        const ip = (0,node_net__WEBPACK_IMPORTED_MODULE_1__.isIP)(host);
        // An address goes in the SAN alone: verifiers check a common name that looks like a DNS name (as
        // 127.0.0.1 does) against the DNS constraints. An empty subject makes the SAN critical (RFC 5280).
        cert.setSubject(ip ? [] : [{ name: 'commonName', value: host.slice(0, 64) }]);
        cert.setIssuer(this.#caCert.subject.attributes);
        cert.setExtensions([
            { name: 'basicConstraints', cA: false, critical: true },
            { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
            { name: 'extKeyUsage', serverAuth: true },
            { name: 'subjectAltName', altNames: [ip ? { type: IP_ADDRESS, value: addressBytes(host) } : { type: DNS_NAME, value: host }], critical: ip > 0 },
            { name: 'subjectKeyIdentifier' },
            { name: 'authorityKeyIdentifier', keyIdentifier: this.#caCert.generateSubjectKeyIdentifier().getBytes() },
        ]);
        cert.sign(this.#caKey, node_forge__WEBPACK_IMPORTED_MODULE_3___default().md.sha256.create());
        return node_forge__WEBPACK_IMPORTED_MODULE_3___default().pki.certificateToPem(cert);
    }
}


/***/ })

};
