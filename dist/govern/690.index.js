export const id = 690;
export const ids = [690];
export const modules = {

/***/ 9690:
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
    BundleNotFound: 'GOVERN_BUNDLE_NOT_FOUND',
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
// EXTERNAL MODULE: external "node:http"
var external_node_http_ = __webpack_require__(7067);
// EXTERNAL MODULE: external "node:https"
var external_node_https_ = __webpack_require__(4708);
// EXTERNAL MODULE: external "node:zlib"
var external_node_zlib_ = __webpack_require__(8522);
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

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
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

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/guard.ts
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

// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(7075);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/json-mask.ts

/** One string, number or masked value is held at most this long; a longer one cannot be masked. */
const MAX_JSON_TOKEN = 8 << 20;
class JsonMaskError extends Error {
}
/** No step of a selector reached: nothing below can be named by it. */
const NOWHERE = [];
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isSpace = (b) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const isScalarByte = (b) => (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2b || b === 0x2e || (b >= 0x61 && b <= 0x7a) || b === 0x45;
function keyMatches(step, key) {
    if (step.kind === 'any')
        return true;
    if (step.kind === 'descend')
        return step.key === '*' || step.key === key;
    return step.key === key;
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
            if (holdFrom >= 0) {
                const piece = chunk.subarray(holdFrom, end);
                const withinChunk = this.#held.length === 0;
                this.#hold(piece);
                const released = this.#release();
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
                    const { states, mask } = this.#childStates();
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
            case 1 /* Purpose.Key */:
                // Most keys have no escapes: their text is the bytes between the quotes.
                this.#stack[this.#stack.length - 1].key = raw.includes(BACKSLASH) ? JSON.parse(raw.toString('utf8')) : raw.toString('utf8', 1, raw.length - 1);
                return raw;
            case 2 /* Purpose.Detect */: {
                const masked = this.#masker.maskText(JSON.parse(raw.toString('utf8')), this.#detectors);
                if (masked.count === 0)
                    return raw;
                this.count += masked.count;
                return Buffer.from(JSON.stringify(masked.text));
            }
            case 3 /* Purpose.Mask */: {
                const text = raw.toString('utf8');
                const value = text.startsWith('"') ? JSON.parse(text) : text;
                this.count++;
                return Buffer.from(JSON.stringify(this.#masker.maskValue(value, this.#strategy)));
            }
            default:
                return raw;
        }
    }
    /** The selector states of the value about to be read, and the mask that names it, if any. */
    #childStates() {
        const parent = this.#stack[this.#stack.length - 1];
        if (!parent)
            return { states: this.#rootStates };
        let mask;
        const states = parent.states.map((reached, s) => {
            if (reached.length === 0)
                return reached;
            const steps = this.#masks[s].selector.steps;
            const step = reached.length === 1 ? steps[reached[0]] : undefined;
            // The usual case, allocation-free: one step reached, and the key does not take it further.
            if (step && !keyMatches(step, parent.key))
                return step.kind === 'descend' ? reached : NOWHERE;
            const next = [];
            for (const at of reached) {
                const step = steps[at];
                if (step.kind === 'descend' && !next.includes(at))
                    next.push(at);
                if (keyMatches(step, parent.key) && !next.includes(at + 1))
                    next.push(at + 1);
            }
            if (!mask && next.includes(steps.length))
                mask = this.#masks[s];
            return next.filter((at) => at < steps.length);
        });
        return mask ? { states, mask } : { states };
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
/**
 * What Node's strict parser lets through but a target might read differently: a transfer coding other
 * than exactly `chunked` (gzip, chunked; Chunked with odd spacing is fine), or chunked in HTTP/1.0.
 * Everything else (two Content-Lengths, CL with TE, bare CR or LF, obs-fold, oversized heads) the
 * parser already refuses before a request exists.
 */
function framingProblem(req) {
    const te = req.headers['transfer-encoding'];
    if (te === undefined)
        return undefined;
    if (te.trim().toLowerCase() !== 'chunked')
        return `transfer coding "${te}" is not accepted; only chunked is`;
    if (req.httpVersion === '1.0')
        return 'HTTP/1.0 has no chunked transfer coding';
    return undefined;
}
/**
 * The raw header pairs that go on to the next hop: hop-by-hop headers dropped (and any the Connection
 * header names), plus the names in `drop`. Framing headers are written by the caller.
 */
function endToEndHeaders(raw, drop = new Set()) {
    const named = new Set();
    for (let i = 0; i < raw.length; i += 2) {
        if (raw[i].toLowerCase() === 'connection')
            for (const token of raw[i + 1].split(','))
                named.add(token.trim().toLowerCase());
    }
    const out = [];
    for (let i = 0; i < raw.length; i += 2) {
        const lower = raw[i].toLowerCase();
        if (HOP_BY_HOP.has(lower) || named.has(lower) || drop.has(lower))
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
/**
 * Reads a request body whole for a rule that must look inside it, and returns it as sent together
 * with its JSON value. Throws UninspectableBody when it is too large, coded unknowably, or not JSON.
 */
async function readJsonBody(req) {
    const chunks = [];
    let length = 0;
    for await (const chunk of req) {
        length += chunk.length;
        if (length > MAX_INSPECTED_BODY)
            throw new UninspectableBody(`the body is larger than ${MAX_INSPECTED_BODY >> 20} MiB`);
        chunks.push(chunk);
    }
    const raw = Buffer.concat(chunks);
    if (raw.length === 0)
        return { raw, json: undefined };
    if (!isJsonType(req.headers['content-type']))
        throw new UninspectableBody(`the body is ${req.headers['content-type'] ?? 'untyped'}, not JSON`);
    const decoded = await decodeBody(raw, req.headers['content-encoding']);
    try {
        return { raw, json: JSON.parse(decoded.toString('utf8')) };
    }
    catch {
        throw new UninspectableBody('the body is not valid JSON');
    }
}

// EXTERNAL MODULE: external "node:string_decoder"
var external_node_string_decoder_ = __webpack_require__(6193);
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
/** Masks each `name=value` of a form or query string, decoded; pairs without findings stay as they were. */
function maskFormText(text, masker, detectors) {
    let count = 0;
    const pairs = text.split('&').map((pair) => {
        const eq = pair.indexOf('=');
        if (eq < 0)
            return pair;
        let value;
        try {
            value = decodeURIComponent(pair.slice(eq + 1).replaceAll('+', ' '));
        }
        catch {
            value = pair.slice(eq + 1);
        }
        const masked = masker.maskText(value, detectors);
        if (masked.count === 0)
            return pair;
        count += masked.count;
        return `${pair.slice(0, eq)}=${encodeURIComponent(masked.text)}`;
    });
    return { text: pairs.join('&'), count };
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

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/exchange.ts
/** One request and its answer, from the job through the governor to the target and back. */









/** The rule a refusal names when the record cannot be written. */
const RECORDING_FAILED = 'recording-failed';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
/** Query parameters whose values are credentials by name; the record keeps the name only. */
const SECRET_PARAMETER = /token|key|secret|password|passwd|signature|sig|auth|credential|session|code/i;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const BASE = 'http://gateway.invalid';
const SIMPLE_PATH = /^(?:\/(?!\.{1,2}(?:\/|$))[A-Za-z0-9\-._~!$&'()*+,;=:@]*)+$|^\/$/;
const SIMPLE_QUERY = /^(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*)?$/;
/** How much of a body `recording.results: masked` keeps. */
const RECORDED_BODY = 64 * 1024;
function listenerState(name, target, governor, log) {
    return { name, target, governor, log, fault: faultSink(governor, log) };
}
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
        const ruling = { rule: RECORDING_FAILED, message: e.message };
        return { status: refusalStatus(ruling), body: refusalBody(ruling) };
    }
}
/**
 * A request as a listener receives it: an error that escapes its handling is reported as a fault and
 * ends this request's connection only (a 500 and a close when nothing was answered yet).
 */
function serve(req, res, state) {
    guarded((e) => endAfterFault(res, state, e), () => handle(req, res, state));
}
function endAfterFault(res, state, e) {
    state.fault(`${state.name} request`, e);
    if (!res.headersSent && !res.destroyed)
        sendJson(res, 500, { error: 'the gateway could not handle this request' }, true);
    else
        res.destroy();
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
/** A JSON answer written straight to a socket the HTTP server no longer frames (an upgrade, a CONNECT), then the close. */
function rawResponse(status, body) {
    const text = JSON.stringify(body);
    return `HTTP/1.1 ${status} ${external_node_http_.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`;
}
function sendJson(res, status, body, close = false) {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...(close && { Connection: 'close' }) });
    res.end(text);
}
/** The path rules see and the target gets: dot segments resolved, unreserved characters decoded. */
function requestTarget(raw) {
    if (!raw.startsWith('/'))
        return undefined;
    const q = raw.indexOf('?');
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    // Most paths have nothing to normalise: no escapes, dot segments, backslashes or empty segments.
    if (SIMPLE_PATH.test(rawPath) && !rawPath.includes('//')) {
        const search = q < 0 ? '' : raw.slice(q);
        if (SIMPLE_QUERY.test(search))
            return { path: rawPath, search: search === '?' ? '' : search };
    }
    let u;
    try {
        u = new URL(BASE + raw);
    }
    catch {
        return undefined;
    }
    const decoded = u.pathname.replace(/%([0-9A-Fa-f]{2})/g, (m, hex) => {
        const c = String.fromCharCode(parseInt(hex, 16));
        return UNRESERVED.test(c) ? c : m.toUpperCase();
    });
    // Decoding can reveal dot segments (%2E%2E): resolve them again.
    return { path: new URL(BASE + decoded).pathname, search: u.search };
}
function recordText(method, path, search, governor) {
    const query = search
        .slice(1)
        .split('&')
        .filter(Boolean)
        .map((pair) => {
        const eq = pair.indexOf('=');
        const name = eq < 0 ? pair : pair.slice(0, eq);
        return eq >= 0 && SECRET_PARAMETER.test(name) ? `${name}=[masked]` : pair;
    })
        .join('&');
    let text = `${method} ${path}${query ? `?${query}` : ''}`;
    try {
        text = decodeURIComponent(text);
    }
    catch {
        // Kept encoded: the detectors still see what they can.
    }
    return governor.masker.maskText(hideCredentials(text), REDACT_ALL).text;
}
async function handle(req, res, state) {
    const started = performance.now();
    const problem = framingProblem(req);
    if (problem) {
        state.governor.note('http.malformed', { connection: state.name, problem });
        return sendJson(res, 400, { error: `malformed request: ${problem}; the connection is closed` }, true);
    }
    const target = requestTarget(req.url ?? '');
    if (!target)
        return sendJson(res, 400, { error: 'the request target must be a path (origin-form)' }, true);
    const method = req.method ?? 'GET';
    const writes = !SAFE_METHODS.has(method);
    const op = {
        connection: state.name,
        protocol: 'http',
        text: recordText(method, target.path, target.search, state.governor),
        classes: new Set([writes ? 'write' : 'read']),
        writes,
        method,
        path: target.path,
    };
    let body;
    let uninspectable;
    if (state.governor.needsJson(op)) {
        try {
            const read = await readJsonBody(req);
            body = read.raw;
            if (read.json !== undefined)
                op.json = read.json;
        }
        catch (e) {
            if (!(e instanceof UninspectableBody)) {
                // The job left while it sent the body: nothing to answer.
                if (req.destroyed)
                    return void res.destroy();
                throw e;
            }
            // A rule must look inside and cannot: the operation is refused as unparseable.
            op.classes = new Set(['unparseable']);
            uninspectable = e.message;
            op.text += ` (${e.message})`;
        }
    }
    const ruling = await state.governor.decide(op);
    // An unread body is not drained for a refused request: the connection closes instead.
    const unread = body === undefined && !req.complete;
    if (!ruling.allowed) {
        const detail = uninspectable ? `: a rule must read this body and cannot (${uninspectable})` : '';
        return sendJson(res, refusalStatus(ruling), refusalBody(ruling, detail), unread);
    }
    // The job may have left while its request waited for an approver: nothing goes to the target then.
    if (res.destroyed)
        return state.governor.completed(ruling, { durationMs: performance.now() - started, error: 'the job left before the request was forwarded' });
    const unrecorded = commitOrRefusal(state.governor);
    if (unrecorded)
        return sendJson(res, unrecorded.status, unrecorded.body, unread);
    forward(req, res, state, ruling, `${target.path}${target.search}`, body, started);
}
function forward(req, res, state, ruling, path, body, started) {
    const t = state.target;
    const headers = [...endToEndHeaders(req.rawHeaders, t.injectedNames), ...t.injected, 'Host', t.authority];
    // The gateway frames the message itself: a length it knows, or chunks.
    if (body)
        headers.push('Content-Length', String(body.length));
    else if (req.headers['content-length'] !== undefined)
        headers.push('Content-Length', req.headers['content-length']);
    else if (req.headers['transfer-encoding'] !== undefined)
        headers.push('Transfer-Encoding', 'chunked');
    const upstream = (t.secure ? external_node_https_.request : external_node_http_.request)({
        host: t.hostname,
        port: t.port,
        method: req.method,
        path,
        headers: headers,
        agent: t.agent,
        setHost: false,
    });
    let bytes = 0;
    let finished = false;
    const complete = (status, extra) => {
        if (finished)
            return;
        finished = true;
        state.governor.completed(ruling, { durationMs: performance.now() - started, bytes, ...(status !== undefined && { status }), ...extra });
    };
    upstream.on('error', (e) => {
        complete(undefined, { error: `the target failed: ${e.code ?? e.message}` });
        if (!res.headersSent)
            sendJson(res, 502, { error: `the target cannot be reached (${e.code ?? e.message})` }, !req.complete);
        else
            res.destroy();
    });
    // The job left, or its upload broke off: nothing more goes to the target for it.
    req.on('error', () => upstream.destroy());
    res.on('close', () => {
        if (!res.writableFinished)
            upstream.destroy();
    });
    upstream.on('response', (answer) => guarded((e) => endAfterFault(res, state, e), () => respond(answer, res, state, ruling, (n) => (bytes += n), complete)));
    if (body)
        upstream.end(body);
    else
        req.pipe(upstream);
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
/**
 * Masks, in place, the values of the response headers the plan names: whole with the rule's strategy
 * when the rule lists no types, otherwise by the detectors. Returns how many values changed.
 */
function maskHeaders(headers, plan, governor) {
    if (plan.headers.size === 0)
        return 0;
    let count = 0;
    for (let i = 0; i < headers.length; i += 2) {
        const named = plan.headers.get(headers[i].toLowerCase());
        if (!named)
            continue;
        const value = headers[i + 1];
        const masked = named.whole ? { text: governor.masker.maskValue(value, named.strategy), count: 1 } : governor.masker.maskText(value, plan.detectors);
        headers[i + 1] = masked.text;
        count += masked.count;
    }
    return count;
}
/** Keeps the start of a body for the record; what it keeps is masked again with every detector. */
function recordTap(stream, governor) {
    let kept = '';
    const onData = (chunk) => {
        kept += chunk.toString();
        if (kept.length >= RECORDED_BODY)
            stream.off('data', onData);
    };
    stream.on('data', onData);
    return () => governor.masker.maskText(kept.slice(0, RECORDED_BODY), REDACT_ALL).text;
}
function respond(answer, res, state, ruling, count, complete) {
    const status = answer.statusCode ?? 502;
    const contentType = answer.headers['content-type'];
    const stage = maskStage(ruling, contentType, state.governor);
    const coding = answer.headers['content-encoding'];
    if (stage && !decodable(coding)) {
        answer.destroy();
        complete(status, { error: `content coding ${coding} cannot be masked` });
        return sendJson(res, 502, { error: `the target's response is coded "${coding}", which the gateway cannot decode to mask` });
    }
    const headers = endToEndHeaders(answer.rawHeaders, stage ? new Set(['content-encoding', 'content-md5', 'etag']) : undefined);
    const maskedHeaders = maskHeaders(headers, ruling.masks, state.governor);
    const length = Number(answer.headers['content-length'] ?? Infinity);
    const decoder = stage && decoderFor(coding);
    // A bounded, uncoded JSON body is masked chunk by chunk as it is collected, with no stream stage of
    // its own (a Transform per request costs more than masking a small document); not when the record
    // keeps bodies, which it reads from the masked stream.
    const direct = stage && length <= MAX_INSPECTED_BODY && !decoder && !state.governor.recordsContent ? stage.json : undefined;
    const stages = [];
    if (stage) {
        if (decoder)
            stages.push(decoder);
        if (!direct)
            stages.push(stage.stream());
    }
    else if (answer.headers['content-length'] !== undefined)
        headers.push('Content-Length', answer.headers['content-length']);
    answer.on('data', (chunk) => count(chunk.length));
    const last = stages.at(-1) ?? answer;
    const recorded = state.governor.recordsContent && (isJsonType(contentType) || isTextType(contentType)) && (stage || !coding) ? recordTap(last, state.governor) : undefined;
    // Plain pipes rather than stream.pipeline, whose per-call AbortController costs more than the rest of the hot path.
    const fail = (e) => {
        complete(status, { error: `the response was cut: ${e.message}` });
        answer.destroy();
        res.destroy();
    };
    let from = answer;
    for (const next of stages) {
        from.pipe(next);
        next.on('error', fail);
        from = next;
    }
    if (stage && length <= MAX_INSPECTED_BODY) {
        // A masked body of known, bounded size is re-framed with its new length, in one write.
        const out = [];
        const masked = (pieces) => {
            try {
                out.push(...pieces());
            }
            catch (e) {
                fail(e);
            }
        };
        from.on('data', (chunk) => (direct ? masked(() => direct.push(chunk)) : out.push(chunk)));
        from.on('end', () => {
            if (direct)
                masked(() => direct.end());
            if (res.destroyed)
                return;
            const body = Buffer.concat(out);
            res.writeHead(status, answer.statusMessage, [...headers, 'Content-Length', String(body.length)]);
            res.end(body);
        });
    }
    else {
        res.writeHead(status, answer.statusMessage, headers);
        // A stream of unknown length (SSE, long polls) shows its head at once; otherwise it leaves with the body.
        if (answer.headers['content-length'] === undefined)
            res.flushHeaders();
        from.pipe(res);
    }
    answer.on('error', fail);
    res.on('close', () => {
        if (!res.writableFinished)
            fail(new Error('the job left'));
    });
    res.on('finish', () => complete(status, { maskedValues: maskedHeaders + (stage?.count() ?? 0), ...(recorded && { body: recorded() }) }));
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

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:net"
var external_node_net_ = __webpack_require__(7030);
// EXTERNAL MODULE: external "node:tls"
var external_node_tls_ = __webpack_require__(1692);
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

// EXTERNAL MODULE: ./node_modules/node-forge/lib/index.js
var lib = __webpack_require__(8542);
var lib_default = /*#__PURE__*/__webpack_require__.n(lib);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/ca.ts




const HOUR = 3600_000;
/** A run is a CI job: a day covers it, and the CA is worthless once the gateway stops anyway. */
const VALIDITY = 24 * HOUR;
function newKeys() {
    // Node generates the key natively (fast); forge only signs.
    const { privateKey } = (0,external_node_crypto_.generateKeyPairSync)('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' });
    const forgeKey = lib_default().pki.privateKeyFromPem(pem);
    return { pem, forgeKey, publicKey: lib_default().pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
}
function baseCertificate(publicKey, now) {
    const cert = lib_default().pki.createCertificate();
    cert.publicKey = publicKey;
    // A positive serial: the high bit cleared.
    cert.serialNumber = `01${(0,external_node_crypto_.randomBytes)(15).toString('hex')}`;
    cert.validity.notBefore = new Date(now - HOUR);
    cert.validity.notAfter = new Date(now + VALIDITY);
    return cert;
}
/**
 * The forward proxy's certificate authority, made for this run alone: its private key exists only in
 * this process's memory and is never written anywhere. Leaf certificates share one key and are made
 * per host on first use, then cached.
 */
class RunCertificateAuthority {
    certPem;
    #caKey;
    #caCert;
    #leafKey;
    #contexts = new Map();
    constructor(label, now = Date.now()) {
        const ca = newKeys();
        const cert = baseCertificate(ca.publicKey, now);
        const name = [
            { name: 'commonName', value: `govern run CA ${label}` },
            { name: 'organizationName', value: 'govern (this CI run only)' },
        ];
        cert.setSubject(name);
        cert.setIssuer(name);
        cert.setExtensions([
            { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
            { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
            { name: 'subjectKeyIdentifier' },
        ]);
        cert.sign(ca.forgeKey, lib_default().md.sha256.create());
        this.#caKey = ca.forgeKey;
        this.#caCert = cert;
        this.certPem = lib_default().pki.certificateToPem(cert);
        this.#leafKey = newKeys();
    }
    /** The TLS context the job sees for `host`: a certificate for that name, signed by this CA. */
    contextFor(host) {
        let context = this.#contexts.get(host);
        if (!context) {
            const cert = baseCertificate(this.#leafKey.publicKey, Date.now());
            cert.setSubject([{ name: 'commonName', value: host.slice(0, 64) }]);
            cert.setIssuer(this.#caCert.subject.attributes);
            const ip = (0,external_node_net_.isIP)(host);
            cert.setExtensions([
                { name: 'basicConstraints', cA: false, critical: true },
                { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
                { name: 'extKeyUsage', serverAuth: true },
                { name: 'subjectAltName', altNames: [ip ? { type: 7, ip: host } : { type: 2, value: host }] },
                { name: 'subjectKeyIdentifier' },
                { name: 'authorityKeyIdentifier', keyIdentifier: this.#caCert.generateSubjectKeyIdentifier().getBytes() },
            ]);
            cert.sign(this.#caKey, lib_default().md.sha256.create());
            context = (0,external_node_tls_.createSecureContext)({ key: this.#leafKey.pem, cert: lib_default().pki.certificateToPem(cert) + this.certPem });
            this.#contexts.set(host, context);
        }
        return context;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/target.ts


class HttpTargetError extends Error {
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
    const options = { keepAlive: true, scheduling: 'lifo', noDelay: true };
    return {
        secure,
        hostname: u.hostname.replace(/^\[|\]$/g, ''),
        port: Number(u.port || (secure ? 443 : 80)),
        authority: u.host,
        prefix: u.pathname.replace(/\/+$/, ''),
        injectedNames: new Set(injected.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase())),
        injected,
        // Certificates are always verified: against the given CA, or the system's.
        agent: secure ? new external_node_https_.Agent({ ...options, ...(settings.ca && { ca: settings.ca }), servername: u.hostname }) : new external_node_http_.Agent(options),
    };
}

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
/** A server-to-client frame (unmasked), FIN set. */
function encodeFrame(opcode, payload) {
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
    return Buffer.concat([head, payload]);
}
/**
 * Relays frames between job and target: every frame is recorded (direction, opcode, bytes); the
 * target's text messages are masked (JSON by the plan's selectors and detectors, other text by the
 * detectors) and re-framed; binary frames and the job's frames pass as they came. A frame that breaks
 * the protocol ends the relay; any other error also goes to `escaped`, the connection's guard.
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
        ...(text !== undefined && governor.recordsContent && { text: governor.masker.maskText(text.slice(0, RECORDED_TEXT), REDACT_ALL).text }),
    });
    const masks = plan.json.length > 0 || plan.detectors.size > 0;
    const fail = () => {
        client.destroy();
        target.destroy();
    };
    const failOn = (e) => {
        fail();
        if (!(e instanceof WebSocketFrameError))
            escaped(e);
    };
    const up = new FrameReader();
    const fromJob = (chunk) => {
        try {
            for (const f of up.push(chunk)) {
                note('up', f.opcode, f.payload.length, f.opcode === 1 /* Opcode.Text */ ? f.payload.toString('utf8') : undefined);
                target.write(f.raw);
            }
        }
        catch (e) {
            failOn(e);
        }
    };
    const down = new FrameReader();
    let message;
    let messageLength = 0;
    const fromTarget = (chunk) => {
        try {
            for (const f of down.push(chunk)) {
                const text = f.opcode === 1 /* Opcode.Text */ || (f.opcode === 0 /* Opcode.Continuation */ && message !== undefined);
                if (!masks || !text) {
                    note('down', f.opcode, f.payload.length);
                    client.write(f.raw);
                    continue;
                }
                (message ??= []).push(f.payload);
                messageLength += f.payload.length;
                if (messageLength > MAX_MESSAGE)
                    throw new WebSocketFrameError('a text message too long to mask');
                if (!f.fin)
                    continue;
                const masked = maskMessage(Buffer.concat(message).toString('utf8'), plan, state);
                message = undefined;
                messageLength = 0;
                note('down', 1 /* Opcode.Text */, masked.length, masked);
                client.write(encodeFrame(1 /* Opcode.Text */, Buffer.from(masked)));
            }
        }
        catch (e) {
            failOn(e);
        }
    };
    client.on('data', fromJob);
    target.on('data', fromTarget);
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
function refuse(socket, status, body) {
    socket.end(rawResponse(status, body));
}
/**
 * A WebSocket upgrade: decided like any request, then forwarded to the target with the gateway's own
 * handshake headers (compression is not offered, so frames stay readable), then relayed frame by frame.
 * An error that escapes ends this connection only, reported as a fault.
 */
function handleUpgrade(req, socket, head, state) {
    const where = `${state.name} websocket`;
    const escaped = (e) => {
        socket.destroy();
        state.fault(where, e);
    };
    guardConnection(socket, where, state.fault, () => upgrade(req, socket, head, state, escaped));
}
async function upgrade(req, socket, head, state, escaped) {
    const target = requestTarget(req.url ?? '');
    if (!target || framingProblem(req) || req.headers.upgrade?.toLowerCase() !== 'websocket' || req.method !== 'GET') {
        return refuse(socket, 400, { error: 'only WebSocket upgrades of a GET to a path are accepted' });
    }
    const text = `${recordText('GET', target.path, target.search, state.governor)} (websocket)`;
    const path = `${target.path}${target.search}`;
    const ruling = await state.governor.decide({ connection: state.name, protocol: 'http', text, classes: new Set(['write']), writes: true, method: 'GET', path: target.path });
    if (!ruling.allowed)
        return refuse(socket, refusalStatus(ruling), refusalBody(ruling));
    const unrecorded = commitOrRefusal(state.governor);
    if (unrecorded)
        return refuse(socket, unrecorded.status, unrecorded.body);
    const t = state.target;
    const headers = [...endToEndHeaders(req.rawHeaders, new Set([...t.injectedNames, 'sec-websocket-extensions'])), ...t.injected, 'Host', t.authority, 'Connection', 'Upgrade', 'Upgrade', 'websocket'];
    const upstream = (t.secure ? external_node_https_.request : external_node_http_.request)({ host: t.hostname, port: t.port, method: 'GET', path, headers: headers, agent: t.agent, setHost: false });
    upstream.on('error', (e) => refuse(socket, 400, { error: `the target cannot be reached (${e.code ?? e.message})` }));
    // The target declined the upgrade: its answer, then the end.
    upstream.on('response', (answer) => {
        const body = [];
        answer.on('data', (c) => body.push(c));
        answer.on('end', () => {
            const lines = endToEndHeaders(answer.rawHeaders).reduce((acc, v, i, all) => (i % 2 ? acc : [...acc, `${v}: ${all[i + 1]}`]), []);
            const payload = Buffer.concat(body);
            socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${answer.statusCode} ${answer.statusMessage}\r\n${lines.join('\r\n')}${lines.length ? '\r\n' : ''}Content-Length: ${payload.length}\r\nConnection: close\r\n\r\n`), payload]));
        });
    });
    const accepted = (answer, targetSocket, targetHead) => {
        const raw = answer.rawHeaders;
        const lines = [];
        for (let i = 0; i < raw.length; i += 2)
            lines.push(`${raw[i]}: ${raw[i + 1]}`);
        socket.write(`HTTP/1.1 101 Switching Protocols\r\n${lines.join('\r\n')}\r\n\r\n`);
        relay(state, ruling.masks, ruling.seq, { socket, head }, { socket: targetSocket, head: targetHead }, escaped);
    };
    upstream.on('upgrade', (answer, targetSocket, targetHead) => guarded(escaped, () => accepted(answer, targetSocket, targetHead)));
    upstream.end();
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/forward.ts













/** The system's trust store, which the job's CA variables replace and therefore must include. */
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];
/** Loopback and the gateway's own listeners never go through the proxy. */
const NO_PROXY = 'localhost,127.0.0.1,::1';
const SERVER_OPTIONS = { maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 60_000 };
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
 * in absolute form follow the same routes.
 */
async function listenForwardProxy(context, connections) {
    const { proxy, governor, log } = context;
    const ca = new RunCertificateAuthority(context.label);
    const intercepted = proxy.intercept.map((p) => globMatcher(p.toLowerCase(), { separator: '.' }));
    const tunnelled = proxy.tunnel.map((p) => globMatcher(p.toLowerCase(), { separator: '.' }));
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
    // Requests inside intercepted TLS: one server, fed sockets; each socket knows its target.
    const socketStates = new WeakMap();
    const inner = (0,external_node_http_.createServer)(SERVER_OPTIONS, (req, res) => serve(req, res, socketStates.get(req.socket)));
    inner.on('upgrade', (req, socket, head) => handleUpgrade(req, socket, head, socketStates.get(socket)));
    inner.on('clientError', (e, socket) => refuseMalformed(socket, socketStates.get(socket) ?? proxyState, e.code ?? e.message));
    const server = (0,external_node_http_.createServer)(SERVER_OPTIONS, (req, res) => guarded((e) => {
        res.destroy();
        proxyState.fault('forward proxy request', e);
    }, () => plainRequest(req, res, route, proxyState)));
    server.on('clientError', (e, socket) => refuseMalformed(socket, proxyState, e.code ?? e.message));
    server.on('connect', (req, socket, head) => guardConnection(socket, 'forward proxy CONNECT', proxyState.fault, () => connectRequest(req, socket, head)));
    const connectRequest = (req, socket, head) => {
        const authority = parseAuthority(req.url ?? '');
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
            return tunnel(socket, head, authority, governor);
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length)
            socket.unshift(head);
        const tls = new external_node_tls_.TLSSocket(socket, { isServer: true, secureContext: ca.contextFor(authority.host), ALPNProtocols: ['http/1.1'] });
        tls.on('error', () => tls.destroy());
        socketStates.set(tls, chosen.state);
        inner.emit('connection', tls);
    };
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
    const url = `http://127.0.0.1:${port}`;
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
        secrets: [],
        target: `forward proxy (others: ${proxy.others})`,
        close: async (deadlineMs) => {
            await Promise.all([closeServer(server, deadlineMs), closeServer(inner, deadlineMs)]);
            for (const state of listed.values())
                state.target.agent.destroy();
            (0,external_node_fs_.rmSync)(dir, { recursive: true, force: true });
        },
    };
}
async function closeServer(server, deadlineMs) {
    const closed = server.listening ? new Promise((resolve) => server.close(() => resolve())) : Promise.resolve();
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), deadlineMs);
    await closed;
    clearTimeout(timer);
}
/** An absolute-form request (http://host/path) through HTTP_PROXY. */
function plainRequest(req, res, route, proxyState) {
    let u;
    try {
        u = req.url?.startsWith('http://') ? new URL(req.url) : undefined;
    }
    catch {
        u = undefined;
    }
    if (!u)
        return sendJson(res, 400, { error: 'this is a forward proxy: send absolute http:// URLs, or CONNECT for https' }, true);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = Number(u.port || 80);
    const chosen = route(host, port, false);
    if (chosen.kind === 'refuse') {
        proxyState.governor.note('proxy.refused', { host, port });
        return sendJson(res, 403, { error: `${host}:${port} is not on the policy's egress list` });
    }
    if (chosen.kind !== 'intercept')
        return sendJson(res, 500, { error: 'no route' }, true);
    req.url = `${u.pathname}${u.search}`;
    serve(req, res, chosen.state);
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

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/adapter.ts
/**
 * The HTTP adapter: a credential-injecting reverse proxy on loopback, one listener per connection.
 *
 * Library choice. `http-proxy` has had no release since 2020 and carries open request-smuggling and
 * crash reports; `http-proxy-3` is a maintained rewrite, but both forward the job's framing headers
 * and add a layer the gateway would have to audit on top of Node's. undici is the fastest client, but
 * its pool would be a second HTTP/1.1 implementation beside the server side's, bundled by ncc, with
 * an API whose body handling we would wrap anyway. Node's own `http` server and client share one
 * strict parser (llhttp) with Node's hardening, stream with backpressure, give raw header pairs, and
 * write the framing toward the target themselves from the headers the gateway sets: the job's
 * Content-Length/Transfer-Encoding never pass through, so the target reads exactly the message the
 * gateway inspected. No dependency to bundle or keep patched.
 */






class HttpAdapter {
    protocol = 'http';
    /** Each connection's target by host:port, for the forward proxy to intercept with its credentials. */
    #origins = new Map();
    listenProxy(context) {
        return listenForwardProxy(context, this.#origins);
    }
    async listen({ connection, governor, log }) {
        let target;
        try {
            target = parseHttpTarget(connection.settings);
        }
        catch (e) {
            throw new HttpTargetError(`connection "${connection.name}": ${e.message}`);
        }
        const state = listenerState(connection.name, target, governor, log);
        this.#origins.set(`${target.hostname.toLowerCase()}:${target.port}`, state);
        const server = (0,external_node_http_.createServer)(
        // A slow upload may take long; a slow head may not.
        { maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 60_000 }, (req, res) => serve(req, res, state));
        server.on('upgrade', (req, socket, head) => handleUpgrade(req, socket, head, state));
        server.on('clientError', (e, socket) => refuseMalformed(socket, state, e.code ?? e.message));
        server.on('error', (e) => log.warn(`${connection.name}: listener error: ${e.message}`));
        const port = await new Promise((resolve, reject) => {
            server.once('error', reject);
            server.listen(0, '127.0.0.1', () => resolve(server.address().port));
        });
        return {
            exports: { [connection.export]: `http://127.0.0.1:${port}${target.prefix}` },
            secrets: [],
            target: `${target.secure ? 'https' : 'http'}://${target.authority}${target.prefix}`,
            close: (deadlineMs) => closeListener(server, target, deadlineMs),
        };
    }
}
async function closeListener(server, target, deadlineMs) {
    const closed = new Promise((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), deadlineMs);
    await closed;
    clearTimeout(timer);
    target.agent.destroy();
}

;// CONCATENATED MODULE: ./runner-proxy/src/core/lru.ts
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
class frames_FrameReader {
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
        this.#reader = new frames_FrameReader({
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
            this.#tables.set(oid, { oid, ...t });
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
            `(SELECT pg_catalog.json_agg(a.attname ORDER BY a.attnum) FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), ` +
            `CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END ` +
            `FROM pg_catalog.unnest(ARRAY[${missing.map(literal).join(',')}]::text[]) AS q(name) ` +
            // A temporary relation of the job's own session is not on this connection's search_path: found by name when only one session has it.
            `LEFT JOIN pg_catalog.pg_class c ON c.oid = COALESCE(pg_catalog.to_regclass(q.name), (SELECT min(t.oid::text)::oid FROM pg_catalog.pg_class t ` +
            `JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace WHERE tn.nspname LIKE 'pg\\_temp\\_%' ` +
            `AND '"' || pg_catalog.replace(t.relname, '"', '""') || '"' = q.name HAVING count(*) = 1)) ` +
            `LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace`);
        if (version !== this.version)
            return;
        for (const [name, schema, relname, columns, definition] of rows) {
            this.#relations.set(name, relname === null ? null : {
                schema: schema,
                name: relname,
                columns: columns ? JSON.parse(columns) : [],
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
const SQL_RUNNING_FUNCTIONS = new Set([
    'query_to_xml', 'query_to_xml_and_xmlschema', 'query_to_xmlschema', 'cursor_to_xml', 'cursor_to_xmlschema', 'ts_stat', 'ts_rewrite',
    'dblink', 'dblink_exec', 'dblink_open', 'dblink_send_query', 'dblink_fetch', 'dblink_build_sql_insert', 'dblink_build_sql_update',
    'dblink_build_sql_delete', 'table_to_xml', 'table_to_xml_and_xmlschema', 'schema_to_xml', 'database_to_xml',
    'database_to_xml_and_xmlschema', 'schema_to_xml_and_xmlschema',
]);
/** Settings whose change makes the session act as someone else. */
const ROLE_SETTINGS = new Set(['role', 'session_authorization']);
class Collector {
    prepared;
    parser;
    classes = new Set();
    cacheable = true;
    copy;
    prepares = new Map();
    deallocates = [];
    constructor(prepared, parser) {
        this.prepared = prepared;
        this.parser = parser;
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
/**
 * MERGE takes the class of each action. An UPDATE or DELETE reaches every row when the join condition is
 * true for all (ON true, ON id = id) and its WHEN has no condition of its own, or when it acts on the
 * rows the source does not match (NOT MATCHED BY SOURCE) with no condition.
 */
function mergeActionClasses(node) {
    const joinTrue = alwaysTrue(node.joinCondition);
    const classes = [];
    for (const w of node.mergeWhenClauses ?? []) {
        const clause = w.MergeWhenClause ?? {};
        const action = clause.commandType === 'CMD_UPDATE' ? 'update' : clause.commandType === 'CMD_DELETE' ? 'delete' : clause.commandType === 'CMD_INSERT' ? 'insert' : undefined;
        if (!action)
            continue;
        classes.push(action);
        if (action === 'insert' || !alwaysTrue(clause.condition))
            continue;
        if (joinTrue || clause.matchKind === 'MERGE_WHEN_NOT_MATCHED_BY_SOURCE')
            classes.push(`${action}_without_where`);
    }
    return classes;
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
        case 'MergeStmt':
            c.add('merge', 'write', ...mergeActionClasses(node));
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
            const inner = new Collector(c.prepared, c.parser);
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
        tree = c.parser.parsePlPgSQL(`CREATE FUNCTION governed_do() RETURNS void LANGUAGE plpgsql AS $governed_do$${body}$governed_do$`);
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
            walk(c.parser.parse(expression ? `SELECT ${query}` : query), c);
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
    #prepared = new Map();
    constructor(shared) {
        this.#shared = shared;
    }
    get parser() {
        return this.#shared.parser;
    }
    classify(sql) {
        const { cache, parser } = this.#shared;
        // A known shape differs from a statement parsed before only in its integer literals.
        const shape = numberShape(sql);
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
            walk(s.stmt, c);
        const result = { ...finish(c, stmts.map((s) => commandOf(s.stmt))), shape: key };
        for (const [name, prepared] of result.prepares ?? [])
            this.#prepared.set(name, prepared);
        for (const name of result.deallocates ?? []) {
            if (name === '*')
                this.#prepared.clear();
            else
                this.#prepared.delete(name);
        }
        if (c.cacheable && key.length <= MAX_CACHED_KEY) {
            cache.set(key, result);
            // One statement and no COPY: nothing in the result can depend on a number's value.
            if (shape !== undefined && stmts.length === 1 && !result.copy)
                cache.set(shape, result);
        }
        return result;
    }
}
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
const SHAPED = /^\s*(select|insert|update|delete|with|values)\b/i;
const isDigit = (c) => c >= 0x30 && c <= 0x39;
const isIdentifierStart = (c) => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
const isIdentifierPart = (c) => isIdentifierStart(c) || isDigit(c) || c === 0x24;
/**
 * A cache key for a plain SELECT, INSERT, UPDATE, DELETE, WITH or VALUES statement: its text with
 * every integer literal replaced by a NUL (which no statement text can hold), found without the
 * parser. A scan this simple is trusted only where it cannot misread: any quote, dollar sign,
 * backslash, comment or non-ASCII character gives undefined, and the parser's normalisation decides.
 * Numbers it is unsure of (decimals, exponents, `0x…`) stay as they are, which only makes the key
 * more specific.
 */
function numberShape(sql) {
    if (!SHAPED.test(sql))
        return undefined;
    let shape = '\u0000';
    let copied = 0;
    const length = sql.length;
    for (let i = 0; i < length; i++) {
        const c = sql.charCodeAt(i);
        if (c === 0x27 || c === 0x22 || c === 0x24 || c === 0x5c || c >= 0x80)
            return undefined;
        if ((c === 0x2d || c === 0x2f) && (sql.charCodeAt(i + 1) === (c === 0x2d ? 0x2d : 0x2a)))
            return undefined;
        if (isIdentifierStart(c)) {
            while (i + 1 < length && isIdentifierPart(sql.charCodeAt(i + 1)))
                i++;
            continue;
        }
        if (!isDigit(c))
            continue;
        const start = i;
        while (i + 1 < length && isDigit(sql.charCodeAt(i + 1)))
            i++;
        const next = sql.charCodeAt(i + 1);
        if (sql.charCodeAt(start - 1) === 0x2e || next === 0x2e || isIdentifierPart(next))
            continue;
        shape += sql.slice(copied, start) + '\u0000';
        copied = i + 1;
    }
    return shape + sql.slice(copied);
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
                return n.query ? this.statement(n.query, scope) : undefined;
            case 'ExplainStmt':
                if (explainAnalyzes(n.options))
                    this.statement(n.query, scope);
                return undefined;
            case 'DeclareCursorStmt':
            case 'PrepareStmt':
                return this.statement(n.query, scope);
            default:
                return undefined;
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
        const own = (column) => {
            const d = new Deps();
            d.sources.set(`${info.schema}.${info.name}\u0000${column}`, { table: info.name, qualified: `${info.schema}.${info.name}`, column });
            return d;
        };
        const defined = info.definition !== undefined ? this.#view(info) : undefined;
        return info.columns.map((column, i) => ({ name: column, deps: own(column).add(defined ? (defined[i]?.deps ?? Deps.opaque()) : new Deps()) }));
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
                case 'ColumnRef':
                    return this.#column(n.fields ?? [], scope);
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
                    return this.#ownFunction(n) ? args.add(Deps.opaque()) : args;
                }
                case 'TypeName':
                    return new Deps();
                default:
                    return this.expr(n, scope);
            }
        }
        return Deps.of(...Object.values(node).map((v) => this.expr(v, scope)));
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
        const ownFunctions = await this.#catalog.ownFunctions();
        await this.#resolveRelations(stmts);
        if (this.#viewsVersion !== this.#catalog.version) {
            this.#views.clear();
            this.#viewsVersion = this.#catalog.version;
        }
        const analyzer = new Analyzer(this.#catalog, this.#parser, ownFunctions, this.#views);
        const results = [];
        const cursors = new Map();
        const prepared = new Map();
        let copyOut;
        for (const stmt of stmts) {
            const columns = analyzer.statement(stmt, undefined);
            const t = nodeType(stmt);
            const frozen = () => (columns ?? []).map((c) => c.deps.freeze(c.spread));
            if (t?.[0] === 'DeclareCursorStmt')
                cursors.set(String(t[1].portalname), frozen());
            if (t?.[0] === 'PrepareStmt')
                prepared.set(String(t[1].name), frozen());
            if (t?.[0] === 'CopyStmt' && !t[1].is_from && columns)
                copyOut ??= frozen();
            const result = resultOf(stmt, columns);
            if (result)
                results.push(result);
        }
        const lineage = { results, writes: analyzer.writes, predicates: analyzer.predicates, cursors, prepared, ...(copyOut && { copyOut }) };
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
        const source = w.from.sources.map((s) => ({ s, mask: masks.find((m) => m.matches(s.table, s.column) || m.matches(s.qualified, s.column)) })).find((x) => x.mask);
        if (!source)
            continue;
        const target = masks.find((m) => m.matches(w.table, w.column) || m.matches(w.qualified, w.column));
        if (target?.rule === source.mask.rule)
            continue;
        return `the value written to ${w.qualified}.${w.column} derives from masked column ${source.s.qualified}.${source.s.column}`;
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
    return (lineage.results.some((r) => 'columns' in r && r.columns.some(derived)) ||
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
    #instance;
    #replacing;
    #recycled = 0;
    constructor(wasmPath, instance, maxHeapBytes) {
        this.#wasmPath = wasmPath;
        this.#instance = instance;
        this.#maxHeapBytes = maxHeapBytes;
    }
    static async load(options = {}) {
        let wasmPath = '';
        const instance = await libpg_query_default()({
            locateFile: (file, directory) => (wasmPath = directory + file),
        });
        return new SqlParser(wasmPath, instance, options.maxHeapBytes ?? DEFAULT_MAX_HEAP_BYTES);
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
            if (m.HEAPU8.length > this.#maxHeapBytes && m === this.#instance)
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
const json_select_TOKEN = /\s*(?:(\d+(?:\.\d+)?)|"((?:[^"\\]|\\.)*)"|'([^']*)'|(==|!=|>=|<=|>|<|\(|\))|([A-Za-z_$][\w$]*(?:(?:\.[A-Za-z_][\w]*)|\[\d+\])*))/y;
function tokenize(source) {
    const tokens = [];
    json_select_TOKEN.lastIndex = 0;
    while (json_select_TOKEN.lastIndex < source.length) {
        if (/^\s*$/.test(source.slice(json_select_TOKEN.lastIndex)))
            break;
        const at = json_select_TOKEN.lastIndex;
        const m = json_select_TOKEN.exec(source);
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
 * Classes no operation may have unless a rule allows them explicitly: the safe defaults, the one list
 * README's policy section documents. `unparseable` has no place in the schema, so nothing allows it: text
 * the parser rejects is always refused.
 */
const REFUSED_UNLESS_ALLOWED = new Set([
    'function_call', 'startup_options', 'replication', 'dangerous_function', 'copy_program', 'masked_copy', 'masked_predicate', 'unparseable',
    // SSH channels that reach beyond one command: a terminal, tunnels, the job's agent, X11.
    'interactive', 'port_forwarding', 'agent_forwarding', 'x11_forwarding',
]);
const UNKNOWN = 'unknown';
const anyOf = (matchers) => (op) => matchers.some((m) => m(op));
/**
 * Long and alternative spellings of single-letter flags, per program, so "rm -rf" also matches
 * `rm --recursive --force` and `rm -R -f`.
 */
const FLAG_SPELLINGS = {
    rm: { '--recursive': 'r', '-R': 'r', '--force': 'f', '--dir': 'd', '--verbose': 'v' },
    chmod: { '--recursive': 'R' },
    chown: { '--recursive': 'R' },
    chgrp: { '--recursive': 'R' },
    cp: { '--recursive': 'r', '-R': 'r', '--force': 'f' },
    mv: { '--force': 'f' },
    shred: { '--remove': 'u', '--zero': 'z', '--force': 'f' },
};
/** The single-letter flags an argv carries, in any grouping or spelling, up to `--`. */
function flagsOf(program, args) {
    const spellings = FLAG_SPELLINGS[program] ?? {};
    const flags = new Set();
    const words = [];
    let options = true;
    for (const arg of args) {
        if (options && arg === '--') {
            options = false;
            continue;
        }
        const spelled = options ? spellings[arg.split('=')[0]] : undefined;
        if (spelled)
            flags.add(spelled);
        else if (options && /^-[^-]/.test(arg))
            for (const f of arg.slice(1))
                flags.add(spellings[`-${f}`] ?? f);
        else
            words.push(arg);
    }
    return { flags, words };
}
function shellMatcher(pattern) {
    if (pattern === UNKNOWN)
        return (op) => op.protocol === 'ssh' && op.classes.has(UNKNOWN);
    const [program, ...required] = pattern.split(/\s+/);
    const needed = flagsOf(program, required);
    return (op) => op.commands?.some((argv) => {
        if (argv.length === 0 || argv[0].split('/').pop() !== program)
            return false;
        const { flags, words } = flagsOf(program, argv.slice(1));
        return [...needed.flags].every((f) => flags.has(f)) && needed.words.every((w) => words.includes(w) || argv.includes(w));
    }) ?? false;
}
/** SSH channel classes: interactive, port_forwarding, agent_forwarding, x11_forwarding. */
function sshMatcher(kind) {
    return (op) => op.protocol === 'ssh' && op.classes.has(kind);
}
/** "CLASS" or "CLASS /path/glob": an sftp operation of that class on a matching path. */
function sftpMatcher(pattern) {
    const [kind, path] = pattern.split(/\s+/, 2);
    const pathMatches = path ? globMatcher(path, { separator: '/' }) : () => true;
    return (op) => op.protocol === 'ssh' && op.classes.has('sftp') && op.classes.has(kind) && pathMatches(op.path ?? '');
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
    condition.ssh?.forEach((p) => matchers.push(sshMatcher(p)));
    condition.sftp?.forEach((p) => matchers.push(sftpMatcher(p)));
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
        namedClasses: new Set([...(spec.condition?.sql ?? []), ...(spec.condition?.ssh ?? [])]),
        coversUnknown: [spec.condition?.sql, spec.condition?.shell, spec.condition?.http, spec.condition?.sftp].some((l) => l?.includes(UNKNOWN)),
        perRequest: Boolean(spec.when?.method || spec.when?.path),
        readsJson: spec.condition?.json !== undefined,
    };
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
const EMPTY_MASK_PLAN = Object.freeze({ columns: [], writeColumns: [], detectors: new Map(), json: [], headers: new Map(), rules: [] });
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
        if (block) {
            const matched = [...op.classes].filter((c) => block.namedClasses.has(c));
            return { verdict: 'block', rule: block.name, reason: `blocked by rule "${block.name}"${matched.length ? ` (class ${matched.join(', ')})` : ''}` };
        }
        if (op.writes && principal.readOnly) {
            return { verdict: 'block', rule: 'read-only-identity', reason: `blocked: ${principal.readOnlyReason ?? 'this identity may only read'}` };
        }
        const refused = [...op.classes].find((c) => REFUSED_UNLESS_ALLOWED.has(c) && !applicable.some((r) => r.action === 'allow' && r.namedClasses.has(c)));
        if (refused) {
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
        const headers = new Map();
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
            for (const h of mask.headers)
                if (!headers.has(h))
                    headers.set(h, { strategy: mask.strategy, whole: mask.types.length === 0 });
            for (const t of mask.types)
                if (!detectors.has(t))
                    detectors.set(t, mask.strategy);
        }
        return rules.length ? { columns, writeColumns, detectors, json, headers, rules } : EMPTY_MASK_PLAN;
    }
}

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
            const cell = { action: 1 /* CellAction.Column */, strategy: mask.strategy, typeOid: f.typeOid, binary, label: `${table.name}.${table.columns.get(f.column)}` };
            if (mask.strategy === 'redact' || !TEXTUAL.has(f.typeOid))
                cell.constant = replacement(cell, '[masked]');
            return cell;
        }
        if (derived && maskingSource(derived[i], masks.columns) !== undefined) {
            active = true;
            const cell = { action: 1 /* CellAction.Column */, strategy: 'redact', typeOid: f.typeOid, binary, label: `derived:${f.name}` };
            cell.constant = replacement(cell, '[masked]');
            return cell;
        }
        const scannable = binary ? TEXTUAL.has(f.typeOid) : !NOT_TEXT.has(f.typeOid);
        if (scannable && (masks.detectors.size > 0 || (masks.json.length > 0 && (f.typeOid === JSON_T || f.typeOid === JSONB)))) {
            active = true;
            return { action: 2 /* CellAction.Detect */, strategy: 'redact', typeOid: f.typeOid, binary, label: f.name };
        }
        return { action: 0 /* CellAction.None */, strategy: 'redact', typeOid: f.typeOid, binary, label: f.name };
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
/**
 * Masks one DataRow into `out` and returns how many values it replaced; `tally` (when given) counts
 * them by column (column masks) and by detector type.
 */
function maskRowInto(frame, plan, masks, masker, out, tally) {
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
            if (tally)
                tally[p.label] = (tally[p.label] ?? 0) + 1;
        }
        else if (masks.json.length > 0 || couldContain(frame, start + offset, pos, masks.detectors)) {
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
/** Longer statements (bulk INSERTs and the like) are not kept by their text. */
const MAX_REMEMBERED_TEXT = 4096;
/**
 * One direction of the relay: frames read from one socket, the batch built from them written to the
 * other. When the other socket is full, reading from this one pauses until it drains. `beforeWrite`
 * runs once per batch before it leaves (the client's batch: its operations are recorded first).
 */
class Direction {
    reader;
    out = new OutputBatch();
    #from;
    #to;
    #onError;
    #beforeWrite;
    constructor(from, to, sink, maxFrame, onError, beforeWrite) {
        this.#from = from;
        this.#to = to;
        this.#onError = onError;
        this.#beforeWrite = beforeWrite;
        this.reader = new frames_FrameReader(sink, { maxFrame });
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
            if (!this.out.empty)
                this.#beforeWrite?.();
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
    /** Result lineage of the cursors DECLAREd and statements PREPAREd in SQL, for FETCH and EXECUTE. */
    #cursors = new Map();
    #preparedLineage = new Map();
    constructor(ctx, client, upstream, openSeq) {
        this.#ctx = ctx;
        this.#client = client;
        this.#server = upstream.socket;
        this.#openSeq = openSeq;
        for (const [name, value] of upstream.parameters)
            this.#trackParameter(name, value);
        this.#up = new Direction(client, this.#server, this.#clientSink(), ctx.maxFrame, (e) => this.#protocolViolation(e), () => ctx.governor.commit());
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
            case 81 /* Frontend.Query */: {
                const sql = readCString(frame);
                return this.#decideThen(this.#traced(this.#sqlOperation(sql), sql), (ruling, op) => this.#query(frame, ruling, op));
            }
            case 80 /* Frontend.Parse */: {
                const parse = readParse(frame);
                const op = { ...this.#sqlOperation(parse.query), approveAtExecution: true };
                return this.#decideThen(this.#traced(op, parse.query), (ruling, traced) => this.#parse(frame, parse, ruling, traced));
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
        // With standard_conforming_strings off or an unsafe encoding the target could read quotes otherwise.
        const unsafe = this.#syntaxUnsafe !== undefined && sql.includes('\\');
        const known = unsafe ? undefined : this.#ctx.operations.get(sql);
        if (known)
            return known;
        let classification = this.#ctx.classifier.classify(sql);
        if (unsafe)
            classification = { ...classification, classes: new Set(['unparseable']), syntaxError: this.#syntaxUnsafe };
        const op = {
            connection: this.#ctx.connection,
            protocol: 'postgres',
            text: this.#ctx.governor.masker.maskText(hideCredentials(sql), REDACT_ALL).text,
            classes: classification.classes,
            writes: classification.writes,
            sql: classification,
        };
        if (!unsafe && !classification.perSession && sql.length <= MAX_REMEMBERED_TEXT)
            this.#ctx.operations.set(sql, op);
        return op;
    }
    /**
     * With columns masked on this connection, a statement's lineage comes before its decision: a write
     * that copies a masked value out of its mask gets the class `masked_copy`, a predicate on a column
     * whose rule refuses them `masked_predicate`. Lineage is cached per statement shape, so only a new
     * shape (or new DDL) waits for the catalog.
     */
    #traced(op, text) {
        const masks = this.#connectionMasks().columns;
        if (masks.length === 0 || op.sql.shape === undefined || op.sql.syntaxError !== undefined)
            return op;
        // Whether a predicate is `column = $1` or `column = 'literal'`, `ORDER BY 1` or `ORDER BY 2`, is lost in
        // the shape: where predicates are refused, lineage is cached by the exact text.
        const shape = masks.some((m) => m.predicates?.refuse) ? `=${text}` : op.sql.shape;
        const withLineage = (lineage) => {
            for (const [name, columns] of lineage.cursors)
                this.#cursors.set(name, columns);
            for (const [name, columns] of lineage.prepared)
                this.#preparedLineage.set(name, columns);
            const copied = maskedCopy(lineage, masks);
            const oracle = maskedPredicate(lineage, masks);
            if (!copied && !oracle)
                return { ...op, lineage };
            const classes = new Set([...op.classes, ...(copied ? ['masked_copy'] : []), ...(oracle ? ['masked_predicate'] : [])]);
            return { ...op, classes, lineage, ...(copied && { maskedCopy: copied }), ...(oracle && { maskedPredicate: oracle }) };
        };
        const cached = this.#ctx.lineage.cached(shape);
        if (cached)
            return withLineage(cached);
        return this.#ctx.lineage.compute(text, shape).then(withLineage, (e) => {
            throw new Error(`cannot trace the columns of a statement through the catalog: ${e.message}`);
        });
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
        const decided = this.#ctx.governor.decide(op);
        const acted = decided instanceof Promise ? decided.then((ruling) => act(ruling, op)) : act(decided, op);
        if (!(acted instanceof Promise))
            return true;
        acted.then(() => this.#up.resume(), (e) => this.#fail(e));
        return false;
    }
    #query(frame, ruling, op) {
        if (!ruling.allowed)
            return this.#refuseSimple(explained(ruling, op), op.sql.syntaxError);
        const unmaskable = unmaskableCopy(op, ruling.masks);
        if (unmaskable)
            return this.#refuseSimple({ ...ruling, allowed: false, rule: 'copy-mask', message: unmaskable });
        const entry = { kind: 'query', ruling, sql: op.sql, started: performance.now(), rows: 0, bytes: 0, masked: 0, plan: PASS_THROUGH, ...(op.lineage && { lineage: op.lineage }) };
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
        const statement = { ruling, sql: op.sql, text: op.text, ...(op.lineage && { lineage: op.lineage }) };
        this.#statements.set(parse.statement, statement);
        const runnable = ruling.allowed || ruling.deferred;
        const unmaskable = runnable ? unmaskableCopy(op, ruling.masks) : undefined;
        if (!runnable || unmaskable) {
            statement.refusal = unmaskable ? errorFields('ERROR', SQLSTATE_REFUSED, `govern: ${unmaskable}`, 'rule: copy-mask') : this.#refusalFields(explained(ruling, op), op.sql.syntaxError);
            return this.#refuseExtended(statement.refusal, 'parse');
        }
        if (ruling.deferred)
            statement.held = op;
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
        if (statement?.held) {
            // Approved for this one execution, with the parameters the approver was shown.
            const execution = { ...statement.held, text: this.#withParameters(statement, bind), approveAtExecution: false };
            return this.#decideThen(execution, (ruling) => ruling.allowed ? this.#bound(frame, bind, statement, ruling) : this.#refuseExtended(this.#refusalFields(ruling), 'bind'));
        }
        this.#bound(frame, bind, statement, statement?.ruling);
        return true;
    }
    /** A statement's text for the record and the approver, with its parameters as the record keeps them (masked). */
    #withParameters(statement, bind) {
        const { masker } = this.#ctx.governor;
        const values = bind.params.map((value, i) => {
            if (value === null)
                return `$${i + 1} = NULL`;
            if ((bind.paramFormats.length === 1 ? bind.paramFormats[0] : bind.paramFormats[i]) === 1)
                return `$${i + 1} = (${value.length} bytes, binary)`;
            const strategy = statement.write?.params?.get(i);
            const text = strategy ? masker.maskValue(value.toString('utf8'), strategy) : masker.maskText(hideCredentials(value.toString('utf8')), REDACT_ALL).text;
            return `$${i + 1} = '${text.replaceAll("'", "''")}'`;
        });
        return values.length ? `${statement.text} -- with ${values.join(', ')}` : statement.text;
    }
    #bound(frame, bind, statement, ruling) {
        this.#portals.set(bind.portal, { statement, resultFormats: bind.resultFormats, ...(ruling && { ruling }) });
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
            return (portal.plan = planResult(fields, masks, this.#ctx.catalog, portal.resultFormats, this.#statementColumns(portal.statement)));
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
                if (code === 67 /* Backend.CommandComplete */ && (head?.kind === 'execute' || head?.kind === 'query'))
                    recordCommandTag(head, frame);
                if (head?.kind === 'execute') {
                    this.#pending.shift();
                    this.#changedCatalog(head.portal.statement?.sql);
                    this.#completed(head.portal.ruling, head);
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
                if (this.#readsMasked(head)) {
                    this.#down.out.push(writeNotice(78 /* Backend.NoticeResponse */, withheldNotice(fields)));
                    return true;
                }
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
        const tally = head?.kind === 'query' || head?.kind === 'execute' ? (head.maskedBy ??= {}) : undefined;
        const masked = maskRowInto(frame, plan, this.#masksOf(head), this.#ctx.governor.masker, this.#down.out, tally);
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
                head.plan = planResult(fields, masks, this.#ctx.catalog, undefined, this.#queryColumns(head));
            else if (head?.kind === 'describe') {
                this.#pending.shift();
                if (head.statement)
                    head.statement.fields = fields;
                if (head.portal) {
                    head.portal.fields = fields;
                    head.portal.plan = planResult(fields, masks, this.#ctx.catalog, undefined, this.#statementColumns(head.portal.statement));
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
            return this.#cursors.get(result.cursor) ?? null;
        if ('prepared' in result)
            return this.#preparedLineage.get(result.prepared) ?? null;
        return result.columns;
    }
    /** Whether the statement being answered reads a masked column, so its errors and notices could quote a value. */
    #readsMasked(head) {
        const lineage = head?.kind === 'query' ? head.lineage : head?.kind === 'execute' ? head.portal.statement?.lineage : undefined;
        return lineage !== undefined && touchesMasked(lineage, this.#connectionMasks().columns);
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
        else if (this.#readsMasked(head)) {
            fields = withheldNotice(fields);
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
                this.#completed(dropped.portal.ruling, { ...dropped, error: message });
        }
    }
    #readyForQuery(head) {
        if (head?.kind === 'query') {
            this.#changedCatalog(head.sql);
            this.#completed(head.ruling, head);
        }
        this.#pending.shift();
    }
    /** After DDL, names may mean other things: lineage and table descriptions are looked up afresh. */
    #changedCatalog(sql) {
        if (sql?.classes.has('ddl'))
            this.#ctx.catalog.invalidate();
    }
    #completed(ruling, stats) {
        if (!ruling || !ruling.allowed)
            return;
        this.#ctx.governor.completed(ruling, {
            rows: stats.written ?? stats.rows,
            ...(stats.tag !== undefined && { tag: stats.tag }),
            bytes: stats.bytes,
            maskedValues: stats.masked,
            ...(stats.masked > 0 && stats.maskedBy && { maskedBy: stats.maskedBy }),
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
        if (e instanceof GovernError && e.code === ErrorCode.RecordingFailed)
            return this.#unrecorded(e);
        const message = e instanceof FrameTooLargeError ? e.message : e instanceof MalformedFrameError ? `invalid message: ${e.message}` : e.message;
        const sqlstate = e instanceof FrameTooLargeError ? '54000' : '08P01';
        this.#ctx.governor.note('protocol.violation', { connection: this.#ctx.connection, message });
        closeWithMessage(this.#client, writeNotice(69 /* Backend.ErrorResponse */, errorFields('FATAL', sqlstate, `govern: ${message}`)));
        this.#close('protocol violation');
    }
    /** The events of the batch could not be written: nothing of it is forwarded, and the session ends. */
    #unrecorded(e) {
        this.#ctx.log.warn(`${this.#ctx.connection}: ${e.message}`);
        closeWithMessage(this.#client, writeNotice(69 /* Backend.ErrorResponse */, errorFields('FATAL', SQLSTATE_REFUSED, `govern: refused, the session cannot be recorded: ${e.message}`)));
        this.#close('recording failed');
    }
    #fail(e) {
        const message = e.message;
        this.#ctx.log.warn(`${this.#ctx.connection}: ${message}`);
        closeWithMessage(this.#client, writeNotice(69 /* Backend.ErrorResponse */, errorFields('FATAL', '08006', `govern: ${message}`)));
        this.#close('gateway error');
    }
    #close(reason) {
        if (this.#closed)
            return;
        this.#closed = true;
        if (this.#pending.length && reason.startsWith('client'))
            void this.#ctx.cancel().catch(() => undefined);
        this.#server.destroy();
        closeWithMessage(this.#client);
        this.#ctx.governor.connectionClosed(this.#ctx.connection, this.#openSeq, reason);
    }
    /** Ends the session at the gateway's stop. */
    end() {
        this.#close('gateway stopped');
        this.#client.destroy();
    }
}
/** A refusal for copying a value out of its mask, or for a predicate on it, says which column. */
function explained(ruling, op) {
    const detail = ruling.rule === 'default-masked_copy' ? op.maskedCopy : ruling.rule === 'default-masked_predicate' ? op.maskedPredicate : undefined;
    return detail ? { ...ruling, message: `${ruling.message}: ${detail}` } : ruling;
}
function placeholder(text) {
    return { ruling: { allowed: true, seq: 0, masks: EMPTY_MASK_PLAN }, text };
}
/**
 * COPY output the gateway cannot mask is refused before it starts: binary output (no types to read it
 * by), and COPY (query) that may carry a masked column (no row description to find it by): one that
 * reads a table with masked columns and names such a column, `*`, or a whole row.
 */
function unmaskableCopy(op, masks) {
    const copy = op.sql.copy;
    if (!copy || copy.from)
        return undefined;
    if (copy.format === 'binary' && (masks.columns.length || masks.detectors.size))
        return 'refused: binary COPY output cannot be masked; use FORMAT text or csv';
    if (!copy.reads)
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

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/adapter.ts














const MAX_STARTUP = 10_000;
/** Frames larger than this are not held for inspection (results stream past it when unmasked). */
const MAX_FRAME = 64 << 20;
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Statement shapes (and exact texts) whose classification each connection remembers. */
const CLASSIFICATION_CACHE_SIZE = 2000;
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
    /** One parser for every connection: each WebAssembly instance reserves its own heap. */
    #parser;
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
            log,
            fault: faultSink(governor, log),
        };
        const server = (0,external_node_net_.createServer)((socket) => guardConnection(socket, `${connection.name} connection`, state.fault, () => accept(socket, state)));
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
            close: (deadlineMs) => adapter_closeListener(server, state, deadlineMs),
        };
    }
}
async function adapter_closeListener(server, state, deadlineMs) {
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
            try {
                readPackets();
            }
            catch (e) {
                cleanup();
                reject(new StartupRefused('08P01', `invalid startup packet: ${e.message}`));
            }
        };
        const readPackets = () => {
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
    // Watched from the first byte: a client that leaves during the handshake must not leave a target backend behind.
    let clientGone = false;
    socket.once('close', () => (clientGone = true));
    try {
        const packet = await readStartupPacket(socket);
        if ('cancel' in packet) {
            clearTimeout(timer);
            await relayCancel(packet.cancel, state);
            closeWithMessage(socket);
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
            // The startup's own operations (options, replication) are in the record before they reach the target.
            state.governor.commit();
            upstream = await connectUpstream(state.target, forwarded);
        }
        catch (e) {
            if (e instanceof GovernError)
                throw new StartupRefused('42501', e.message);
            state.governor.note('connection.failed', { connection: state.name, message: e.message });
            throw new StartupRefused('08006', e.message);
        }
        if (clientGone) {
            upstream.socket.destroy();
            return;
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
        clearTimeout(timer);
        session.start(Buffer.concat([queue.detach() ?? Buffer.alloc(0), ...upstream.leftover]));
    }
    catch (e) {
        clearTimeout(timer);
        const refused = e instanceof StartupRefused ? e : new StartupRefused('08006', e.message);
        closeWithMessage(socket, writeNotice(69 /* Backend.ErrorResponse */, errorFields('FATAL', refused.sqlstate, `govern: ${refused.message}`)));
    }
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
        throw new GovernError(ErrorCode.GatewayStartFailed, `connection "${name}": ${message}; check the connection's url and credentials`, { cause: e });
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

// EXTERNAL MODULE: ./node_modules/ssh2/lib/index.js
var ssh2_lib = __webpack_require__(3091);
var ssh2_lib_default = /*#__PURE__*/__webpack_require__.n(ssh2_lib);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/job-config.ts




const { utils } = (ssh2_lib_default());
/** The ciphers both sides prefer: AES-GCM runs natively in Node; chacha20 would need ssh2's native addon. */
const CIPHERS = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr'];
/**
 * A per-run client key (0600), the pin of the per-run host key, and an ssh config naming them, in a private temp
 * directory that is removed at stop. The job's ssh pins the host key through HostKeyAlias.
 */
function writeJobSshFiles(options) {
    const dir = (0,external_node_fs_.mkdtempSync)((0,external_node_path_.join)((0,external_node_os_.tmpdir)(), 'govern-ssh-'));
    (0,external_node_fs_.chmodSync)(dir, 0o700);
    const client = utils.generateKeyPairSync('ed25519', { comment: `govern ${options.alias}` });
    const identity = (0,external_node_path_.join)(dir, 'id_ed25519');
    (0,external_node_fs_.writeFileSync)(identity, client.private, { mode: 0o600 });
    (0,external_node_fs_.writeFileSync)(`${identity}.pub`, `${client.public}\n`, { mode: 0o600 });
    const keyAlias = `govern-${options.alias}`;
    const knownHosts = (0,external_node_path_.join)(dir, 'known_hosts');
    (0,external_node_fs_.writeFileSync)(knownHosts, `${keyAlias} ${options.hostPublicKey.split(' ').slice(0, 2).join(' ')}\n`, { mode: 0o600 });
    const config = (0,external_node_path_.join)(dir, 'config');
    (0,external_node_fs_.writeFileSync)(config, [
        `# Written by govern for this job; removed when the job ends.`,
        `Host ${options.alias}`,
        `  HostName 127.0.0.1`,
        `  Port ${options.port}`,
        `  User ${options.user}`,
        `  IdentityFile "${identity}"`,
        `  IdentitiesOnly yes`,
        `  HostKeyAlias ${keyAlias}`,
        `  UserKnownHostsFile "${knownHosts}"`,
        `  GlobalKnownHostsFile /dev/null`,
        `  StrictHostKeyChecking yes`,
        `  CheckHostIP no`,
        `  Ciphers ${CIPHERS.join(',')}`,
        '',
    ].join('\n'), { mode: 0o600 });
    const clientKey = utils.parseKey(client.public);
    if (clientKey instanceof Error)
        throw clientKey;
    return { dir, config, clientPublicKey: clientKey.getPublicSSH() };
}
function removeJobSshFiles(files) {
    (0,external_node_fs_.rmSync)(files.dir, { recursive: true, force: true });
}
/**
 * Adds `Include CONFIG` at the top of ~/.ssh/config in a marked block, the way ssh-agent actions do, so
 * unmodified ssh, scp, rsync and git find the alias. `restore` takes exactly that block out again
 * (keeping anything the job added), and removes the file and ~/.ssh when they did not exist before.
 */
class UserSshConfigInclude {
    #sshDir;
    #file;
    #block;
    #createdDir;
    #createdFile;
    constructor(config, connection, home = (0,external_node_os_.homedir)()) {
        this.#sshDir = (0,external_node_path_.join)(home, '.ssh');
        this.#file = (0,external_node_path_.join)(this.#sshDir, 'config');
        this.#block = `# >>> govern ${connection}: added for this job, removed when it ends >>>\nInclude "${config}"\n# <<< govern ${connection} <<<\n`;
        this.#createdDir = !(0,external_node_fs_.existsSync)(this.#sshDir);
        if (this.#createdDir)
            (0,external_node_fs_.mkdirSync)(this.#sshDir, { mode: 0o700 });
        this.#createdFile = !(0,external_node_fs_.existsSync)(this.#file);
        const before = this.#createdFile ? Buffer.alloc(0) : (0,external_node_fs_.readFileSync)(this.#file);
        (0,external_node_fs_.writeFileSync)(this.#file, Buffer.concat([Buffer.from(this.#block), before]), { mode: 0o600 });
    }
    get file() {
        return this.#file;
    }
    restore() {
        if (!(0,external_node_fs_.existsSync)(this.#file))
            return;
        const now = (0,external_node_fs_.readFileSync)(this.#file, 'latin1');
        const at = now.indexOf(this.#block);
        if (at < 0)
            return;
        const restored = now.slice(0, at) + now.slice(at + this.#block.length);
        if (restored === '' && this.#createdFile) {
            (0,external_node_fs_.unlinkSync)(this.#file);
            if (this.#createdDir) {
                try {
                    (0,external_node_fs_.rmdirSync)(this.#sshDir);
                }
                catch {
                    // Not empty: what the job put in the ~/.ssh that govern created stays.
                }
            }
            return;
        }
        (0,external_node_fs_.writeFileSync)(this.#file, Buffer.from(restored, 'latin1'));
    }
}

// EXTERNAL MODULE: ./node_modules/mvdan-sh/index.js
var mvdan_sh = __webpack_require__(2914);
var mvdan_sh_default = /*#__PURE__*/__webpack_require__.n(mvdan_sh);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/commands.ts

const { syntax } = (mvdan_sh_default());
/** Shells, and programs that run a shell command given as text (`su -c`, `runuser -c`). */
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'fish', 'rbash', 'su', 'runuser']);
const INTERPRETERS = new Set([
    'python', 'python2', 'python3', 'perl', 'ruby', 'node', 'nodejs', 'php', 'lua', 'deno', 'bun', 'tclsh', 'Rscript', 'pwsh', 'osascript', 'awk', 'gawk', 'mawk', 'jshell',
]);
/** Interpreter flags that take the program text as their argument. */
const INLINE_PROGRAM_FLAGS = new Set(['-c', '-e', '-E', '-r', '--eval', '--exec', '-p', '--print', '-Command', '-command']);
const SOURCES = new Set(['eval', 'source', '.']);
/** Nesting of `bash -c "…"` and heredocs fed to shells, parsed again: bounded so text cannot recurse for ever. */
const MAX_DEPTH = 4;
/** Operator tokens, learnt from the parser itself so a change in its numbering cannot go unnoticed. */
const TOKENS = (() => {
    const parser = syntax.NewParser();
    const binaryOp = (src) => firstOf(parser.Parse(src, ''), 'BinaryCmd').Op;
    const redirectOp = (src) => firstOf(parser.Parse(src, ''), 'Stmt').Redirs[0].Op;
    return {
        pipes: new Set([binaryOp('a | b'), binaryOp('a |& b')]),
        stdin: new Set([redirectOp('a < f'), redirectOp('a <<< s')]),
        heredocs: new Set([redirectOp('a <<X\nX'), redirectOp('a <<-X\nX')]),
    };
})();
function firstOf(root, type) {
    let found;
    syntax.Walk(root, (node) => {
        if (found || !node)
            return false;
        if (syntax.NodeType(node) === type)
            found = node;
        return !found;
    });
    return found;
}
/** Parses a command line (or a script) and finds every simple command in it, however nested. */
function analyzeShell(text) {
    const analysis = { commands: [], unknown: [] };
    analyze(text, analysis, 0);
    return analysis;
}
function analyze(text, out, depth) {
    if (depth > MAX_DEPTH) {
        out.unknown.push('shell code nested too deep to follow');
        return;
    }
    let file;
    try {
        file = syntax.NewParser().Parse(text, '');
    }
    catch (e) {
        out.unparseable ??= parseErrorText(e);
        return;
    }
    // Where each command's stdin comes from, by the command's offset: a pipe, a file or a here-document.
    const piped = new Set();
    const fedBy = new Map();
    syntax.Walk(file, (node) => {
        if (!node)
            return true;
        const type = syntax.NodeType(node);
        if (type === 'BinaryCmd' && TOKENS.pipes.has(node.Op))
            piped.add(node.Y.Cmd.Pos().Offset());
        if (type === 'Stmt' && node.Cmd) {
            const inputs = node.Redirs.filter((r) => TOKENS.stdin.has(r.Op) || TOKENS.heredocs.has(r.Op));
            if (inputs.length)
                fedBy.set(node.Cmd.Pos().Offset(), inputs);
        }
        if (type === 'CallExpr') {
            const words = node.Args.map((w) => wordValue(w, text));
            if (words.length === 0)
                return true;
            const offset = node.Pos().Offset();
            examine(words, { piped: piped.has(offset), inputs: fedBy.get(offset) ?? [], source: text }, out, depth);
        }
        return true;
    });
}
function parseErrorText(e) {
    const error = e;
    return typeof error?.Error === 'function' ? error.Error() : String(error?.message ?? e);
}
/** Unquoted glob or brace expansion: `/bin/r?` and `{rm,-rf,x}` become other words when they run (`[` alone is test). */
const EXPANDS = /[*?]|\[.*\]|\{[^{}]*(,|\.\.)[^{}]*\}/;
function wordValue(word, source) {
    let text = '';
    for (const part of word.Parts) {
        const value = partValue(part);
        const expands = syntax.NodeType(part) === 'Lit' && EXPANDS.test(part.Value);
        if (value === null || expands)
            return { text: source.slice(word.Pos().Offset(), word.End().Offset()), fixed: false };
        text += value;
    }
    return { text, fixed: true };
}
function partValue(part) {
    switch (syntax.NodeType(part)) {
        case 'Lit':
            return unescapeBare(part.Value);
        case 'SglQuoted':
            return part.Dollar ? unescapeAnsiC(part.Value) : part.Value;
        case 'DblQuoted': {
            let text = '';
            for (const inner of part.Parts) {
                if (syntax.NodeType(inner) !== 'Lit')
                    return null;
                text += inner.Value.replace(/\\([$`"\\\n])/g, (_, c) => (c === '\n' ? '' : c));
            }
            return text;
        }
        default:
            return null;
    }
}
function unescapeBare(value) {
    return value.replace(/\\(.)/gs, (_, c) => (c === '\n' ? '' : c));
}
function unescapeAnsiC(value) {
    const simple = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };
    return value.replace(/\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)/gs, (whole, c) => {
        if (c[0] === 'x')
            return String.fromCharCode(parseInt(c.slice(1), 16));
        if (/^[0-7]/.test(c))
            return String.fromCharCode(parseInt(c, 8));
        return simple[c] ?? whole;
    });
}
/** Records one simple command after unwrapping it, and what about it cannot be known in advance. */
function examine(words, ctx, out, depth) {
    const unwrapped = unwrap(words, out);
    if (!unwrapped || unwrapped.length === 0)
        return;
    const [program, ...args] = unwrapped;
    if (!program.fixed) {
        out.unknown.push(`the command name ${program.text} is known only when it runs`);
        out.commands.push(unwrapped.map((w) => w.text));
        return;
    }
    const argv = unwrapped.map((w) => w.text);
    out.commands.push(argv);
    const name = basename(program.text);
    if (SOURCES.has(name))
        out.unknown.push(`${name} runs code the gateway cannot see`);
    if (name === 'find')
        examineFindExec(args, ctx, out, depth);
    if (SHELLS.has(name) || INTERPRETERS.has(name))
        examineInterpreter(name, args, ctx, out, depth);
}
function examineInterpreter(name, args, ctx, out, depth) {
    const shell = SHELLS.has(name);
    const inline = args.findIndex((a) => a.fixed && (INLINE_PROGRAM_FLAGS.has(a.text) || (shell && /^-[a-zA-Z]*c[a-zA-Z]*$/.test(a.text))));
    if (inline >= 0) {
        out.unknown.push(`${name} ${args[inline].text} runs code given as text`);
        const program = args[inline + 1];
        if (shell && program?.fixed)
            analyze(program.text, out, depth + 1);
        return;
    }
    const operands = args.filter((a) => !a.fixed || !a.text.startsWith('-'));
    if (operands.some((a) => !a.fixed))
        out.unknown.push(`${name} runs a program whose name is known only when it runs`);
    const readsStdin = operands.length === 0 || args.some((a) => a.text === '-s' || a.text === '-');
    if (!readsStdin)
        return;
    if (ctx.piped)
        out.unknown.push(`output piped into ${name} runs as code`);
    if (!ctx.piped && ctx.inputs.length === 0 && depth === 0 && out.readsStdin !== 'interpreter')
        out.readsStdin = shell ? 'shell' : 'interpreter';
    for (const input of ctx.inputs) {
        const body = input.Hdoc;
        const text = body && wordValue(body, ctx.source);
        if (shell && text?.fixed)
            analyze(text.text, out, depth + 1);
        else
            out.unknown.push(`${name} reads its program from ${body ? 'a here-document with expansions' : 'a redirection'}`);
    }
}
/** `find … -exec CMD … ;` runs CMD: it is a command of its own. */
function examineFindExec(args, ctx, out, depth) {
    for (let i = 0; i < args.length; i++) {
        if (!['-exec', '-execdir', '-ok', '-okdir'].includes(args[i].text))
            continue;
        const end = args.findIndex((a, j) => j > i && (a.text === ';' || a.text === '+'));
        const inner = args.slice(i + 1, end < 0 ? undefined : end);
        if (inner.length)
            examine(inner, { ...ctx, piped: false, inputs: [] }, out, depth);
        if (end < 0)
            break;
        i = end;
    }
}
function basename(path) {
    return path.slice(path.lastIndexOf('/') + 1);
}
const WRAPPERS = {
    env: { valued: ['-u', '--unset', '-C', '--chdir', '-S', '--split-string'] },
    sudo: { valued: ['-u', '--user', '-g', '--group', '-h', '--host', '-p', '--prompt', '-C', '--close-from', '-D', '--chdir', '-r', '--role', '-t', '--type', '-U', '--other-user', '-T', '--command-timeout'], noCommand: ['-l', '--list', '-v', '--validate', '-k', '-K', '-V'] },
    doas: { valued: ['-u', '-C'] },
    nice: { valued: ['-n', '--adjustment'] },
    nohup: { valued: [] },
    timeout: { valued: ['-s', '--signal', '-k', '--kill-after'], leadingOperands: 1 },
    xargs: { valued: ['-I', '-L', '-n', '-P', '-s', '-d', '-E', '-a', '--arg-file', '--delimiter', '--max-args', '--max-procs', '--max-lines', '--replace', '--eof', '--max-chars', '--process-slot-var'] },
    exec: { valued: ['-a'] },
    command: { valued: [], noCommand: ['-v', '-V'] },
    builtin: { valued: [] },
    time: { valued: ['-f', '--format', '-o', '--output'] },
    stdbuf: { valued: ['-i', '-o', '-e', '--input', '--output', '--error'] },
    setsid: { valued: [] },
    ionice: { valued: ['-c', '-n', '-p', '-P', '-u', '--class', '--classdata'] },
    chrt: { valued: [], leadingOperands: 1 },
    busybox: { valued: [] },
    nsenter: { valued: ['-t', '--target', '-S', '--setuid', '-G', '--setgid'] },
    watch: { valued: ['-n', '--interval', '-d', '--differences'] },
    flock: { valued: ['-w', '--timeout', '-E', '--conflict-exit-code'], leadingOperands: 1 },
    chroot: { valued: ['--userspec', '--groups'], leadingOperands: 1 },
};
/** Takes wrappers off until the command they run; null when a wrapper runs nothing. */
function unwrap(words, out) {
    let rest = words;
    for (let guard = 0; guard < 32 && rest.length; guard++) {
        const head = rest[0];
        const wrapper = head.fixed ? WRAPPERS[basename(head.text)] : undefined;
        if (!wrapper)
            return rest;
        const name = basename(head.text);
        let i = 1;
        let operands = wrapper.leadingOperands ?? 0;
        for (; i < rest.length; i++) {
            const word = rest[i];
            if (!word.fixed)
                break;
            const t = word.text;
            if (t === '--') {
                i++;
                break;
            }
            if (wrapper.noCommand?.includes(t))
                return null;
            if (name === 'env' && (t === '-S' || t.startsWith('--split-string')))
                out.unknown.push('env -S splits a string into a command at run time');
            if (name === 'env' && /^[A-Za-z_][A-Za-z0-9_]*=/.test(t))
                continue;
            if (t.startsWith('-') && t.length > 1) {
                const flag = t.startsWith('--') ? t.split('=')[0] : t.slice(0, 2);
                if (wrapper.valued.includes(flag) && t === flag)
                    i++;
                continue;
            }
            // nice's old form -N, timeout's duration, chrt's priority.
            if (operands > 0) {
                operands--;
                continue;
            }
            break;
        }
        rest = rest.slice(i);
    }
    return rest;
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/cast.ts



/** Where terminal recordings go inside the bundle: ssh/<seq>.cast, seq being the shell's operation. */
const CAST_DIR = 'ssh';
/**
 * A terminal's output as an asciicast v2 file (docs.asciinema.org/manual/asciicast/v2): a header line,
 * then `[seconds, "o", text]` and `[seconds, "r", "COLSxROWS"]` events. It is written from the masked
 * stream, so it holds what the job saw.
 */
class CastRecorder {
    #file;
    #decoder = new external_node_string_decoder_.StringDecoder('utf8');
    #started = performance.now();
    closed;
    constructor(bundleDir, seq, size) {
        (0,external_node_fs_.mkdirSync)((0,external_node_path_.join)(bundleDir, CAST_DIR), { recursive: true, mode: 0o700 });
        this.#file = (0,external_node_fs_.createWriteStream)((0,external_node_path_.join)(bundleDir, CAST_DIR, `${seq}.cast`), { mode: 0o600 });
        this.closed = new Promise((resolve) => {
            this.#file.once('close', () => resolve());
            this.#file.once('error', () => resolve());
        });
        const header = { version: 2, width: size.cols, height: size.rows, timestamp: Math.floor(Date.now() / 1000), env: { TERM: size.term ?? 'xterm' } };
        this.#file.write(`${JSON.stringify(header)}\n`);
    }
    output(chunk) {
        const text = this.#decoder.write(chunk);
        if (text)
            this.#event('o', text);
    }
    resize(cols, rows) {
        this.#event('r', `${cols}x${rows}`);
    }
    close() {
        const rest = this.#decoder.end();
        if (rest)
            this.#event('o', rest);
        this.#file.end();
    }
    #event(code, data) {
        if (this.#file.writableEnded)
            return;
        const t = Math.round(performance.now() - this.#started) / 1000;
        this.#file.write(`${JSON.stringify([t, code, data])}\n`);
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/output-mask.ts
/** How long a partial line may wait for the rest of a value before it is masked and sent as it is. */
const HOLD_MS = 100;
/** A line longer than this is masked in pieces, keeping this many bytes back for a value cut in two. */
const MAX_LINE = 16 * 1024;
const KEEP_BACK = 256;
/** A private key spans lines; its block is held whole, up to this size. */
const MAX_KEY_BLOCK = 64 * 1024;
const NEWLINE = 0x0a;
/**
 * Masks a byte stream (a command's stdout or stderr, a terminal) with the shared detectors. Values
 * split across writes or packets are caught because text is masked by whole lines: a partial line is
 * held until its newline, or for at most HOLD_MS. Bytes are read as latin1, so whatever is not a
 * finding, binary or UTF-8, goes out unchanged.
 */
class OutputMasker {
    #masker;
    #plan;
    #emit;
    #held = Buffer.alloc(0);
    #timer;
    /** How many values were masked, for the record. */
    masked = 0;
    constructor(masker, plan, emit) {
        this.#masker = masker;
        this.#plan = plan;
        this.#emit = emit;
    }
    push(chunk) {
        const data = this.#held.length ? Buffer.concat([this.#held, chunk]) : chunk;
        const cut = this.#safeCut(data);
        if (cut > 0)
            this.#emit(this.#mask(data.subarray(0, cut)));
        this.#held = Buffer.from(data.subarray(cut));
        clearTimeout(this.#timer);
        this.#timer = this.#held.length ? setTimeout(() => this.flush(), HOLD_MS).unref() : undefined;
    }
    /** Masks and sends whatever is held: at the end of the stream, or when the hold time is up. */
    flush() {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        if (this.#held.length === 0)
            return;
        const held = this.#held;
        this.#held = Buffer.alloc(0);
        this.#emit(this.#mask(held));
    }
    /** Where the bytes before can be masked on their own: after the last complete line. */
    #safeCut(data) {
        const begin = data.lastIndexOf('-----BEGIN ');
        if (begin >= 0 && data.indexOf('-----END ', begin) < 0 && data.length - begin < MAX_KEY_BLOCK)
            return begin;
        const newline = data.lastIndexOf(NEWLINE);
        if (newline >= 0 && data.length - newline - 1 <= MAX_LINE)
            return newline + 1;
        return data.length > MAX_LINE ? data.length - KEEP_BACK : 0;
    }
    #mask(bytes) {
        const { text, count } = this.#masker.maskText(bytes.toString('latin1'), this.#plan);
        if (count === 0)
            return bytes;
        this.masked += count;
        return Buffer.from(text, 'latin1');
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/sftp.ts

const FX_PERMISSION_DENIED = 3;
const FX_FAILURE = 4;
const OPEN_WRITES = 0x02 | 0x04 | 0x08 | 0x10; // WRITE, APPEND, CREAT, TRUNC
/** OpenSSH caps a packet at 256 KiB; anything far larger is not SFTP. */
const MAX_PACKET = 1 << 20;
/** Extensions by the class of what they do; metadata-only ones pass unrecorded. */
const EXTENSIONS = {
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
class MalformedSftpError extends Error {
}
/** Reads SFTP fields from one packet; throws MalformedSftpError past its end. */
class Fields {
    packet;
    #at;
    constructor(packet, at) {
        this.packet = packet;
        this.#at = at;
    }
    uint32() {
        if (this.#at + 4 > this.packet.length)
            throw new MalformedSftpError('an sftp packet ends inside a field');
        const v = this.packet.readUInt32BE(this.#at);
        this.#at += 4;
        return v;
    }
    uint64() {
        const high = this.uint32();
        return high * 2 ** 32 + this.uint32();
    }
    bytes() {
        const length = this.uint32();
        if (this.#at + length > this.packet.length)
            throw new MalformedSftpError('an sftp string runs past its packet');
        const v = this.packet.subarray(this.#at, this.#at + length);
        this.#at += length;
        return v;
    }
    string() {
        return this.bytes().toString('utf8');
    }
}
/** Splits a byte stream into whole SFTP packets (uint32 length, then that many bytes). */
class PacketSplitter {
    onPacket;
    #chunks = [];
    #size = 0;
    constructor(onPacket) {
        this.onPacket = onPacket;
    }
    push(chunk) {
        this.#chunks.push(chunk);
        this.#size += chunk.length;
        while (this.#size >= 4) {
            const head = this.#chunks[0].length >= 4 ? this.#chunks[0] : this.#merge();
            const length = head.readUInt32BE(0);
            if (length < 1 || length > MAX_PACKET)
                throw new MalformedSftpError(`an sftp packet of ${length} bytes is not valid`);
            if (this.#size < length + 4)
                return;
            const all = this.#merge();
            this.onPacket(all.subarray(0, length + 4));
            const rest = all.subarray(length + 4);
            this.#chunks = rest.length ? [rest] : [];
            this.#size = rest.length;
        }
    }
    #merge() {
        const all = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks);
        this.#chunks = [all];
        return all;
    }
}
/**
 * Reads the target's answers as they stream past, without holding them: small packets are gathered
 * whole, DATA payloads are handed on piece by piece for hashing.
 */
class ResponseObserver {
    on;
    /** The packet being gathered (header, or all of a small packet). */
    #head = Buffer.alloc(0);
    /** Payload bytes of a DATA packet still to come, and where they go. */
    #streaming = 0;
    #sink;
    constructor(on) {
        this.on = on;
    }
    push(chunk) {
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
                if (length < 1 || (this.#head[4] !== 103 /* Sftp.Data */ && length > MAX_PACKET))
                    throw new MalformedSftpError(`an sftp packet of ${length} bytes is not valid`);
            }
            if (this.#head.length >= 5 && this.#head.length === this.#need())
                this.#packet();
        }
    }
    /** The length and type first, then either the DATA header or the whole (small) packet. */
    #need() {
        if (this.#head.length < 5)
            return 5;
        return this.#head[4] === 103 /* Sftp.Data */ ? 13 : 4 + this.#head.readUInt32BE(0);
    }
    #packet() {
        const head = this.#head;
        this.#head = Buffer.alloc(0);
        const type = head[4];
        const f = new Fields(head, 5);
        if (type === 103 /* Sftp.Data */) {
            const id = f.uint32();
            const length = f.uint32();
            if (length + 9 !== head.readUInt32BE(0))
                throw new MalformedSftpError('an sftp DATA packet whose lengths disagree');
            this.#sink = this.on.data(id);
            this.#streaming = length;
            return;
        }
        if (head.length < 9)
            return;
        const id = f.uint32();
        if (type === 102 /* Sftp.Handle */)
            this.on.handle(id, f.bytes());
        this.on.answered(id);
    }
}
/**
 * Relays an sftp subsystem (sftp, and scp, which speaks SFTP since OpenSSH 9) between the job and the
 * target. Each operation that changes or opens something is an operation of its own class, checked
 * before it is forwarded; a refused one is answered SSH_FX_PERMISSION_DENIED with the reason. Files
 * are recorded by name, size and SHA-256, and never rewritten.
 */
function relaySftp(channel, stream, ctx) {
    const opens = new Map();
    const handles = new Map();
    const reads = new Map();
    const queue = [];
    let waiting = false;
    let ended = false;
    const fail = (e) => {
        ctx.governor.note('protocol.error', { connection: ctx.connection, error: e.message });
        channel.close();
        stream.close();
    };
    const toTarget = (packet) => {
        if (!stream.write(packet))
            channel.pause();
    };
    const toJob = (packet) => {
        if (!channel.write(packet))
            stream.pause();
    };
    stream.on('drain', () => channel.resume());
    channel.on('drain', () => stream.resume());
    const finish = (handle) => {
        const t = handles.get(handle);
        if (!t)
            return;
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
    const count = (t, offset, data) => {
        t.bytes += data.length;
        if (t.hash && offset === t.next)
            t.hash.update(data);
        else
            t.hash = undefined;
        t.next = offset + data.length;
    };
    /** Runs client packets in order; a pending decision holds the ones behind it. */
    const drain = () => {
        while (!waiting && queue.length) {
            const packet = queue.shift();
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
                path: request.paths[0],
            });
            const apply = (ruling) => {
                if (ended)
                    return;
                if (!ruling.allowed) {
                    toJob(sftp_status(request.id, FX_PERMISSION_DENIED, `govern: ${ruling.message ?? 'refused'}`));
                    return;
                }
                try {
                    ctx.governor.commit();
                }
                catch (e) {
                    toJob(sftp_status(request.id, FX_FAILURE, ctx.unrecorded(e)));
                    return;
                }
                if (request.type === 3 /* Sftp.Open */) {
                    const direction = request.kind === 'write' ? 'upload' : 'download';
                    opens.set(request.id, { path: request.paths[0], direction, op: ruling.seq, bytes: 0, next: 0, hash: (0,external_node_crypto_.createHash)('sha256') });
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
                    }
                    catch (e) {
                        fail(e);
                    }
                });
            }
            else
                apply(decided);
        }
    };
    /** Requests that need no decision still feed the transfer records. */
    const observeRequest = (packet) => {
        const type = packet[4];
        if (type === 1 /* Sftp.Init */)
            return;
        const f = new Fields(packet, 5);
        const id = f.uint32();
        if (type === 6 /* Sftp.Write */) {
            const t = handles.get(f.bytes().toString('latin1'));
            const offset = f.uint64();
            if (t)
                count(t, offset, f.bytes());
        }
        else if (type === 5 /* Sftp.Read */) {
            const t = handles.get(f.bytes().toString('latin1'));
            if (t)
                reads.set(id, { transfer: t, offset: f.uint64() });
        }
        else if (type === 4 /* Sftp.Close */) {
            finish(f.bytes().toString('latin1'));
        }
    };
    const fromJob = new PacketSplitter((packet) => queue.push(packet));
    const fromTarget = new ResponseObserver({
        handle: (id, handle) => {
            const t = opens.get(id);
            if (t)
                handles.set(handle.toString('latin1'), t);
        },
        data: (id) => {
            const read = reads.get(id);
            reads.delete(id);
            if (!read)
                return undefined;
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
    channel.on('data', (chunk) => {
        try {
            fromJob.push(chunk);
            drain();
        }
        catch (e) {
            fail(e);
        }
    });
    stream.on('data', (chunk) => {
        try {
            fromTarget.push(chunk);
        }
        catch (e) {
            return fail(e);
        }
        // The target's answers are only read, never changed: they go on as they came.
        toJob(chunk);
    });
    stream.stderr.on('data', (chunk) => channel.stderr.write(chunk));
    channel.on('end', () => {
        if (!waiting && queue.length === 0)
            stream.end();
        else
            void waitThenEnd();
    });
    const waitThenEnd = async () => {
        while (waiting || queue.length)
            await new Promise((r) => setTimeout(r, 10));
        stream.end();
    };
    stream.on('error', () => undefined);
    stream.on('exit', (code) => {
        try {
            if (typeof code === 'number')
                channel.exit(code);
        }
        catch {
            // The job left first.
        }
    });
    channel.on('close', () => {
        ended = true;
        stream.close();
    });
    stream.on('close', () => {
        ended = true;
        for (const handle of [...handles.keys()])
            finish(handle);
        channel.end();
    });
}
/** The request's class and paths, for those the policy decides on; undefined for the rest. */
function classify(packet) {
    const type = packet[4];
    if (type === 1 /* Sftp.Init */)
        return undefined;
    const f = new Fields(packet, 5);
    const id = f.uint32();
    const one = (kind) => ({ type, id, kind, paths: [f.string()] });
    switch (type) {
        case 3 /* Sftp.Open */: {
            const path = f.string();
            const flags = f.uint32();
            return { type, id, kind: flags & OPEN_WRITES ? 'write' : 'read', paths: [path] };
        }
        case 11 /* Sftp.Opendir */:
            return one('list');
        case 13 /* Sftp.Remove */:
            return one('remove');
        case 14 /* Sftp.Mkdir */:
            return one('mkdir');
        case 15 /* Sftp.Rmdir */:
            return one('rmdir');
        case 9 /* Sftp.Setstat */:
            return one('setstat');
        case 10 /* Sftp.Fsetstat */:
            return { type, id, kind: 'setstat', paths: ['(open file)'] };
        case 18 /* Sftp.Rename */:
            return { type, id, kind: 'rename', paths: [f.string(), f.string()] };
        case 20 /* Sftp.Symlink */:
            return { type, id, kind: 'symlink', paths: [f.string(), f.string()] };
        case 200 /* Sftp.Extended */: {
            const name = f.string();
            const kind = name in EXTENSIONS ? EXTENSIONS[name] : 'unknown';
            if (kind === null)
                return undefined;
            if (kind === 'unknown')
                return { type, id, kind, paths: [name] };
            return { type, id, kind: kind, paths: [f.string(), ...(kind === 'rename' || kind === 'symlink' ? [f.string()] : [])] };
        }
        default:
            return undefined;
    }
}
function sftp_status(id, code, message) {
    const text = Buffer.from(message);
    const packet = Buffer.alloc(4 + 1 + 4 + 4 + 4 + text.length + 4);
    let at = packet.writeUInt32BE(packet.length - 4, 0);
    at = packet.writeUInt8(101 /* Sftp.Status */, at);
    at = packet.writeUInt32BE(id, at);
    at = packet.writeUInt32BE(code, at);
    at = packet.writeUInt32BE(text.length, at);
    at += text.copy(packet, at);
    packet.writeUInt32BE(0, at);
    return packet;
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/session.ts







/** Programs that move files: their bytes are transfers, recorded by size and never rewritten. */
const TRANSFER_PROGRAMS = new Set(['scp', 'rsync', 'git-upload-pack', 'git-receive-pack', 'git-upload-archive', 'sftp-server', 'internal-sftp']);
/**
 * One session channel of a job connection: its pty, env and window requests are kept until the exec,
 * shell or subsystem request that starts it; that request is checked by the governor first.
 */
class SessionChannel {
    #ctx;
    #pty;
    #env = {};
    #upstream;
    #cast;
    constructor(ctx, session) {
        this.#ctx = ctx;
        const safely = (handle) => guarded(ctx.escaped, handle);
        session.on('pty', (accept, _reject, info) => safely(() => {
            this.#pty = info;
            accept?.();
        }));
        session.on('window-change', (accept, _reject, info) => safely(() => {
            if (this.#pty)
                Object.assign(this.#pty, { rows: info.rows, cols: info.cols, height: info.height, width: info.width });
            this.#cast?.resize(info.cols, info.rows);
            this.#upstream?.setWindow(info.rows, info.cols, info.height, info.width);
            accept?.();
        }));
        session.on('env', (accept, reject, info) => safely(() => this.#envRequest(accept, reject, info.key, info.val)));
        session.on('signal', (accept, reject, info) => safely(() => {
            try {
                this.#upstream?.signal(info.name);
            }
            catch {
                // A signal name the protocol does not know, from the job: refused, not a fault.
                return reject?.();
            }
            accept?.();
        }));
        session.on('auth-agent', (accept, reject) => safely(() => this.#refuseChannelFeature(accept, reject, 'agent_forwarding', 'agent forwarding')));
        session.on('x11', (accept, reject) => safely(() => this.#refuseChannelFeature(accept, reject, 'x11_forwarding', 'X11 forwarding')));
        session.on('exec', (accept, _reject, info) => safely(() => this.#guard(accept, (channel) => this.#exec(channel, info.command))));
        session.on('shell', (accept) => safely(() => this.#guard(accept, (channel) => (this.#pty ? this.#terminal(channel) : this.#script(channel, '')))));
        session.on('subsystem', (accept, reject, info) => safely(() => (info.name === 'sftp' ? this.#guard(accept, (channel) => this.#sftp(channel)) : reject?.())));
    }
    /** A channel's failure ends that channel with a message, never the gateway. */
    async #guard(accept, run) {
        if (!accept)
            return;
        const channel = accept();
        channel.on('error', () => undefined);
        try {
            await run(channel);
        }
        catch (e) {
            endWith(channel, `govern: ${e.message}`, 255);
        }
    }
    #envRequest(accept, reject, key, value) {
        if (!this.#ctx.target.envAllowed(key)) {
            this.#ctx.governor.note('ssh.env.refused', { connection: this.#ctx.name, name: key });
            return reject?.();
        }
        this.#env[key] = value;
        accept?.();
    }
    /** Agent and X11 forwarding need a rule that allows them; the gateway relays neither even then. */
    async #refuseChannelFeature(_accept, reject, kind, what) {
        const ruling = await this.#ctx.governor.decide(this.#operation(what, new Set([kind])));
        if (ruling.allowed)
            this.#ctx.governor.note('ssh.unsupported', { connection: this.#ctx.name, op: ruling.seq, feature: kind });
        reject?.();
    }
    /** The operation as recorded: sensitive values in the text and the argv are redacted, whatever the rules. */
    #operation(text, classes, analysis) {
        const redact = (t) => this.#ctx.governor.masker.maskText(t, REDACT_ALL).text;
        return {
            connection: this.#ctx.name,
            protocol: 'ssh',
            text: redact(text),
            classes,
            writes: true,
            ...(analysis && { commands: analysis.commands.map((argv) => argv.map(redact)) }),
            fingerprint: (0,external_node_crypto_.createHash)('sha256').update(`${this.#ctx.name}\u0000${text}`).digest('hex'),
        };
    }
    async #exec(channel, command) {
        const analysis = analyzeShell(command);
        // With a pty, a shell or interpreter reading the job's keyboard is a terminal (`ssh -t host bash`).
        if (this.#pty && analysis.readsStdin && !analysis.unparseable)
            return this.#terminal(channel, command, analysis);
        if (analysis.readsStdin === 'shell' && !analysis.unparseable)
            return this.#script(channel, command);
        const ruling = await this.#decide(command, analysis, 'exec');
        if (!ruling.allowed)
            return session_refuse(channel, ruling);
        const stream = await this.#open(channel, (upstream, done) => upstream.exec(command, { ...(this.#pty && { pty: this.#pty }), env: this.#env }, done));
        if (!stream)
            return;
        // Only a command line made of transfer programs alone is left unmasked: `rsync --version; cat f` is not a transfer.
        const transfer = analysis.commands.length > 0 && analysis.commands.every((argv) => TRANSFER_PROGRAMS.has(argv[0].split('/').pop()));
        this.#relay(channel, stream, ruling, transfer ? undefined : ruling.masks.detectors);
    }
    async #decide(text, analysis, kind) {
        const classes = new Set([kind]);
        if (analysis.unparseable)
            classes.add('unparseable');
        if (analysis.unknown.length || analysis.readsStdin === 'interpreter')
            classes.add('unknown');
        return this.#ctx.governor.decide(this.#operation(text, classes, analysis));
    }
    /**
     * A shell reading its script from stdin (`ssh host <<EOF`, `ssh host bash -s < f`): the script is
     * read whole, up to the policy's cap, and checked before any of it reaches the host.
     */
    async #script(channel, command) {
        const script = await readAll(channel, this.#ctx.target.maxScript);
        if (script === undefined) {
            return endWith(channel, `govern: the script sent on stdin is larger than ${this.#ctx.target.maxScript} bytes (max_script of connection "${this.#ctx.name}"); refused before it ran`, 126);
        }
        const text = script.toString('utf8');
        const analysis = analyzeShell(text);
        const head = command ? analyzeShell(command) : undefined;
        if (head) {
            analysis.commands.unshift(...head.commands);
            analysis.unknown.push(...head.unknown);
        }
        const ruling = await this.#decide(command ? `${command} <<'script'\n${text}` : text, analysis, 'script');
        if (!ruling.allowed)
            return session_refuse(channel, ruling);
        const stream = await this.#open(channel, (upstream, done) => (command ? upstream.exec(command, { env: this.#env }, done) : upstream.shell(false, { env: this.#env }, done)));
        if (!stream)
            return;
        stream.end(script);
        this.#relay(channel, stream, ruling, ruling.masks.detectors, { stdin: false });
    }
    /** A terminal: refused unless a rule allows interactive shells, then recorded as an asciicast. */
    async #terminal(channel, command = '', analysis) {
        const pty = this.#pty;
        const text = `${command || 'shell'} (pty ${pty.term ?? 'unknown'} ${pty.cols}x${pty.rows})`;
        const ruling = await this.#ctx.governor.decide(this.#operation(text, new Set(['interactive']), analysis));
        if (!ruling.allowed)
            return session_refuse(channel, ruling);
        const window = { term: pty.term, cols: pty.cols, rows: pty.rows, width: pty.width, height: pty.height, modes: pty.modes };
        const stream = await this.#open(channel, (upstream, done) => (command ? upstream.exec(command, { pty: window, env: this.#env }, done) : upstream.shell(window, { env: this.#env }, done)));
        if (!stream)
            return;
        this.#cast = new CastRecorder(this.#ctx.governor.recorder.dir, ruling.seq, { cols: pty.cols, rows: pty.rows, term: pty.term });
        this.#ctx.track(this.#cast.closed);
        this.#relay(channel, stream, ruling, ruling.masks.detectors);
    }
    async #sftp(channel) {
        const stream = await this.#open(channel, (upstream, done) => upstream.subsys('sftp', done));
        if (!stream)
            return;
        relaySftp(channel, stream, { connection: this.#ctx.name, governor: this.#ctx.governor, unrecorded: unrecordedMessage });
    }
    /**
     * Opens the target's channel once what was decided is in the events file; when it cannot be
     * written, the job's channel is refused instead (126, one line) and nothing reaches the target.
     */
    async #open(channel, start) {
        const upstream = await this.#ctx.upstream;
        const governor = this.#ctx.governor;
        try {
            governor.commit();
            // A channel, an sftp one too, opens only while the record can still be written.
            if (governor.recorder.failure)
                throw governor.recorder.failure;
        }
        catch (e) {
            this.#ctx.log.warn(`${this.#ctx.name}: ${e.message}`);
            endWith(channel, unrecordedMessage(e), 126);
            return undefined;
        }
        return new Promise((resolve, reject) => start(upstream, (e, stream) => (e ? reject(e) : resolve(stream))));
    }
    /**
     * Relays one started channel both ways with backpressure; stdout and stderr are masked when the
     * plan has detectors; the exit status or signal goes back as the target sent it.
     */
    #relay(channel, stream, ruling, detectors, options = { stdin: true }) {
        this.#upstream = stream;
        const started = performance.now();
        const governor = this.#ctx.governor;
        let bytes = 0;
        const cast = this.#cast;
        const out = sink(channel, stream, (chunk) => {
            bytes += chunk.length;
            cast?.output(chunk);
        });
        const err = sink(channel.stderr, stream.stderr, (chunk) => (bytes += chunk.length));
        const maskOut = detectors?.size ? new OutputMasker(governor.masker, detectors, out) : undefined;
        const maskErr = detectors?.size ? new OutputMasker(governor.masker, detectors, err) : undefined;
        stream.on('data', (chunk) => (maskOut ? maskOut.push(chunk) : out(chunk)));
        stream.stderr.on('data', (chunk) => (maskErr ? maskErr.push(chunk) : err(chunk)));
        if (options.stdin) {
            channel.on('data', (chunk) => {
                if (!stream.write(chunk))
                    channel.pause();
            });
            stream.on('drain', () => channel.resume());
            channel.on('end', () => stream.end());
        }
        let exit = {};
        stream.on('exit', (code, signal, core, description) => {
            exit = code === null || code === undefined ? { signal: signal ?? 'SIGKILL', core: core ?? false, description: description ?? '' } : { code };
        });
        stream.on('error', () => undefined);
        channel.on('close', () => stream.close());
        stream.on('close', () => {
            maskOut?.flush();
            maskErr?.flush();
            cast?.close();
            try {
                if (exit.code !== undefined)
                    channel.exit(exit.code);
                else if (exit.signal)
                    channel.exit(exit.signal, exit.core ?? false, exit.description ?? '');
            }
            catch {
                // A signal name the protocol does not know: the channel ends without one.
            }
            channel.end();
            governor.completed(ruling, {
                durationMs: performance.now() - started,
                bytes,
                maskedValues: (maskOut?.masked ?? 0) + (maskErr?.masked ?? 0),
                ...(exit.code !== undefined && { exit: exit.code }),
                ...(exit.signal && { exit: exit.signal, error: `killed by ${exit.signal}` }),
            });
        });
    }
}
/** A writer toward the job that pauses the target's stream while the job's side is full. */
function sink(to, from, counted) {
    to.on('drain', () => from.resume());
    return (chunk) => {
        counted(chunk);
        if (!to.write(chunk))
            from.pause();
    };
}
function session_refuse(channel, ruling) {
    const id = ruling.requestId && !ruling.message?.includes(ruling.requestId) ? ` (request ${ruling.requestId})` : '';
    endWith(channel, `govern: ${ruling.message ?? 'refused'}${id}`, 126);
}
/** The one line a job reads when its operation is refused because the record cannot be written. */
function unrecordedMessage(e) {
    return `govern: refused, the session cannot be recorded: ${e.message}`;
}
function endWith(channel, line, status) {
    try {
        channel.stderr.write(`${line}\n`);
        channel.exit(status);
        channel.end();
    }
    catch {
        // The job already went away.
    }
}
/** The whole of a channel's stdin, or undefined past `max` bytes. */
function readAll(channel, max) {
    return new Promise((resolve) => {
        const chunks = [];
        let size = 0;
        const onData = (chunk) => {
            size += chunk.length;
            if (size > max) {
                channel.off('data', onData);
                channel.off('end', onEnd);
                return resolve(undefined);
            }
            chunks.push(chunk);
        };
        const onEnd = () => resolve(Buffer.concat(chunks));
        channel.on('data', onData);
        channel.once('end', onEnd);
        channel.once('close', onEnd);
    });
}

// EXTERNAL MODULE: ./node_modules/ajv/dist/ajv.js
var ajv = __webpack_require__(2463);
// EXTERNAL MODULE: ./node_modules/yaml/dist/index.js
var dist = __webpack_require__(8815);
;// CONCATENATED MODULE: ./runner-proxy/src/identity/pinning.ts

const FORGES = {
    github: { name: 'GitHub', ids: ['repository_id', 'repository_owner_id'], names: ['repository', 'repository_owner'], ownerWord: 'organisation' },
    gitlab: { name: 'GitLab', ids: ['project_id', 'namespace_id'], names: ['project_path', 'namespace_path'], ownerWord: 'group' },
};
/** The forge whose tokens a trust entry is written for: by its issuer, or for any other issuer (GHES) by the claims it names. */
function forgeOfEntry(entry) {
    if (entry.issuer === 'github' || entry.issuer === 'gitlab')
        return FORGES[entry.issuer];
    const claims = Object.keys(entry.claims);
    return Object.values(FORGES).find((f) => claims.some((c) => f.ids.includes(c) || f.names.includes(c)));
}
/** The forge that minted a token, by the id claims it carries. */
function forgeOfToken(payload) {
    return Object.values(FORGES).find((f) => f.ids.some((c) => payload[c] !== undefined));
}
const exact = (value) => value !== undefined && (Array.isArray(value) ? value : [value]).every((v) => typeof v !== 'string' || !hasGlobSyntax(v));
const namesAnId = (entry, forge) => forge.ids.some((c) => exact(entry.claims[c]));
/** Whether an entry binds the repository by a stable id or an exact `sub`, or says it means every repository. */
function isPinned(entry, forge) {
    return entry.anyRepository === true || namesAnId(entry, forge) || exact(entry.claims.sub);
}
/** Why an entry lets in every repository on the forge, as the sentence that says what to add. */
function unpinnedReason(forge) {
    const [repository, owner] = forge.ids;
    return (`names no ${forge.name} repository by id, so it lets in every repository on the forge that asks for a token: ` +
        `add ${repository} (or ${owner} for a whole ${forge.ownerWord}) or an exact sub, ` +
        `or any_repository: true if every repository is really meant`);
}
/** Why an entry that is pinned still deserves a warning, if it does. */
function weakPinning(entry, forge) {
    if (namesAnId(entry, forge))
        return undefined;
    if (entry.anyRepository)
        return `any_repository: true lets in every repository on ${forge.name} that can get a token for this audience`;
    const byName = forge.names.filter((c) => entry.claims[c] !== undefined);
    const named = byName.length ? byName.map((c) => `${c}: ${String(entry.claims[c])}`).join(', ') : 'sub';
    return `binds the repository by name only (${named}); names are given to someone else after a rename or deletion: add ${forge.ids[0]} too`;
}

;// CONCATENATED MODULE: ./runner-proxy/src/policy/policy.schema.json
const policy_schema_namespaceObject = /*#__PURE__*/JSON.parse('{"$schema":"http://json-schema.org/draft-07/schema#","$id":"https://github.com/hoop/govern/policy.schema.json","title":"govern policy","description":"The policy file of govern (.github/govern.yml or .govern.yml). See SPEC §3.","type":"object","additionalProperties":false,"required":["version"],"properties":{"version":{"const":1,"description":"The policy format version; only 1 exists."},"identity":{"type":"object","additionalProperties":false,"required":["audience","trust"],"description":"Who may run this pipeline. Absent: the run is recorded as identity \\"none\\", with a warning.","properties":{"audience":{"type":"string","minLength":1,"description":"The token\'s aud must contain it."},"trust":{"type":"array","minItems":1,"description":"The token must match at least one entry; every claim listed in an entry must match.","items":{"type":"object","additionalProperties":false,"required":["issuer"],"properties":{"issuer":{"type":"string","description":"github, gitlab, or an https issuer URL (OIDC discovery). Plain http only for a loopback issuer."},"claims":{"type":"object","description":"Claim name to an exact value, a glob (* never crosses \'/\', ** does) or a list meaning any of. Pin the repository by id: repository_id (GitHub), project_id (GitLab).","additionalProperties":{"oneOf":[{"type":["string","number","boolean"]},{"type":"array","minItems":1,"items":{"type":["string","number","boolean"]}}]}},"any_repository":{"type":"boolean","description":"Dangerous: let in every repository on the forge. Without it, a github or gitlab entry must name repository_id / repository_owner_id (project_id / namespace_id) or an exact sub."}}}}}},"connections":{"type":"object","description":"The targets the job reaches through the gateway, by name.","propertyNames":{"pattern":"^[A-Za-z][A-Za-z0-9_-]*$"},"additionalProperties":{"$ref":"#/definitions/connection"}},"rules":{"type":"array","description":"Every operation is checked against every rule. Precedence: block beats approve beats allow; masks accumulate.","items":{"$ref":"#/definitions/rule"}},"approvals":{"type":"object","additionalProperties":false,"properties":{"via":{"enum":["github","gitlab","cli"],"description":"Where approvers answer."},"approvers":{"type":"array","items":{"type":"string","minLength":1},"description":"User names, or @org/team."},"timeout":{"type":"string","pattern":"^[0-9]+(ms|s|m|h)$","description":"How long an operation waits before it is denied, e.g. 15m."},"allow_self_approval":{"type":"boolean","description":"Whether the run\'s own actor may approve."},"max_pending":{"type":"integer","minimum":1,"description":"How many operations may wait at once."}}},"recording":{"type":"object","additionalProperties":false,"properties":{"results":{"enum":["none","summary","masked"],"description":"none, summary (counts, sizes) or masked (masked values too)."}}},"mode":{"enum":["enforce","observe"],"description":"observe: decide and record, but let everything through."},"proxy":{"type":"object","additionalProperties":false,"description":"A forward proxy for the job (HTTPS_PROXY, HTTP_PROXY and a CA made for this run). The hosts of the http connections are always intercepted.","properties":{"intercept":{"type":"array","items":{"type":"string","minLength":1},"description":"More host globs to open and inspect (*.example.com)."},"tunnel":{"type":"array","items":{"type":"string","minLength":1},"description":"Host globs passed through unopened, recorded as host, port and bytes."},"others":{"enum":["tunnel","refuse"],"description":"Every other host: tunnel (default) or refuse, which makes intercept and tunnel an egress allow-list."}}}},"definitions":{"exportName":{"type":"string","pattern":"^[A-Z_][A-Z0-9_]*$"},"connection":{"type":"object","additionalProperties":false,"required":["export"],"properties":{"export":{"$ref":"#/definitions/exportName","description":"The variable the job gets for this connection."},"postgres":{"type":"object","additionalProperties":false,"required":["url"],"properties":{"url":{"type":"string","description":"postgres://user:password@host:port/db?sslmode=…, usually ${VAR}."},"ca":{"type":"string","description":"PEM of the CA that signs the target\'s certificate."}}},"ssh":{"type":"object","additionalProperties":false,"required":["host","user"],"properties":{"host":{"type":"string"},"port":{"type":"integer","minimum":1,"maximum":65535},"user":{"type":"string"},"private_key":{"type":"string"},"password":{"type":"string"},"known_hosts":{"type":"string","description":"The target\'s host key line(s); the gateway pins it."},"keepalive":{"type":"string","pattern":"^[0-9]+(ms|s|m|h)$","description":"How often the gateway checks the target is alive (default 15s); three unanswered checks end the connection."},"user_ssh_config":{"type":"boolean","description":"Whether ~/.ssh/config includes the gateway\'s ssh config for the job\'s lifetime (default true); false leaves it untouched and the job uses GIT_SSH_COMMAND or ssh -F."},"env":{"type":"array","items":{"type":"string","minLength":1},"description":"Names (globs) of the variables the job may send with SendEnv/SetEnv; any other is refused."},"max_script":{"type":"integer","minimum":1,"description":"The largest script, in bytes, a shell may receive on stdin (default 1048576); it is checked whole before it runs."}}},"http":{"type":"object","additionalProperties":false,"required":["url"],"properties":{"url":{"type":"string"},"headers":{"type":"object","additionalProperties":{"type":"string"}},"ca":{"type":"string","description":"PEM of the CA that signs the target\'s certificate (https targets)."}}}}},"stringOrList":{"oneOf":[{"type":"string"},{"type":"array","minItems":1,"items":{"type":"string"}}]},"sqlClasses":{"type":"array","minItems":1,"items":{"enum":["read","write","insert","update","delete","merge","delete_without_where","update_without_where","ddl","create","alter","drop","truncate","grant","set_role","alter_system","copy_from","copy_to","copy_program","dangerous_function","function_call","startup_options","replication","maintenance","lock","notify","transaction","session","unknown","masked_copy","masked_predicate"]},"description":"PostgreSQL statement classes; a statement has every class of its worst effect."},"shellPatterns":{"type":"array","minItems":1,"items":{"type":"string","minLength":1},"description":"Commands, as a program name and the arguments it must carry (\\"rm -rf\\"), or unknown."},"httpPatterns":{"type":"array","minItems":1,"items":{"type":"string","minLength":1},"description":"\\"METHOD /path/glob\\", \\"METHOD\\", \\"/path/glob\\", or unknown."},"sshClasses":{"type":"array","minItems":1,"items":{"enum":["interactive","port_forwarding","agent_forwarding","x11_forwarding"]},"description":"SSH channels beyond one command, each refused unless a rule allows it: a terminal (pty shell), tunnels (-L, -R, -D, -W), agent forwarding (-A), X11 (-X)."},"sftpPatterns":{"type":"array","minItems":1,"items":{"type":"string","pattern":"^(read|write|remove|rename|mkdir|rmdir|setstat|symlink|list|unknown)(\\\\s+\\\\S+)?$"},"description":"sftp (and scp) operations as \\"CLASS\\" or \\"CLASS /path/glob\\": read, write, remove, rename, mkdir, rmdir, setstat, symlink, list, unknown."},"condition":{"type":"object","additionalProperties":false,"minProperties":1,"properties":{"sql":{"$ref":"#/definitions/sqlClasses"},"shell":{"$ref":"#/definitions/shellPatterns"},"http":{"$ref":"#/definitions/httpPatterns"},"json":{"type":"string","minLength":1,"description":"A condition on the JSON body, e.g. payment_amount > 1000."},"ssh":{"$ref":"#/definitions/sshClasses"},"sftp":{"$ref":"#/definitions/sftpPatterns"}}},"rule":{"type":"object","additionalProperties":false,"required":["name"],"properties":{"name":{"type":"string","pattern":"^[A-Za-z0-9][A-Za-z0-9_.-]*$"},"when":{"type":"object","additionalProperties":false,"minProperties":1,"description":"Narrows the rule to some operations.","properties":{"connection":{"$ref":"#/definitions/stringOrList"},"method":{"$ref":"#/definitions/stringOrList"},"path":{"$ref":"#/definitions/stringOrList"}}},"mask":{"type":"object","additionalProperties":false,"minProperties":1,"properties":{"columns":{"type":"array","items":{"type":"string","minLength":1},"description":"table.column globs."},"types":{"type":"array","items":{"enum":["credit_card","us_ssn","email","iban","phone","aws_key","bearer_token","private_key"]}},"json":{"type":"array","items":{"type":"string","pattern":"^\\\\$"},"description":"JSONPath-like selectors: $.a.b, $..ssn, $.items[*].card."},"headers":{"type":"array","items":{"type":"string","pattern":"^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$"},"description":"HTTP response headers whose values are masked: by types, or whole when the rule lists none."},"on":{"enum":["read","write"],"description":"read (default) masks what comes back; write masks what goes to the target."},"strategy":{"enum":["redact","partial","hash"]},"predicates":{"description":"PostgreSQL: refuse statements that filter, join, group, order, window-partition on or compare a masked column (an oracle for its values). allow (default) lets them run; allow_param_equality still lets `column = $1` through.","oneOf":[{"enum":["refuse","allow"]},{"type":"object","additionalProperties":false,"properties":{"refuse":{"type":"boolean"},"allow_param_equality":{"type":"boolean"}}}]}}},"block":{"$ref":"#/definitions/condition"},"approve":{"$ref":"#/definitions/condition"},"allow":{"$ref":"#/definitions/condition"}}}}}');
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
        const missing = cause.code === 'ENOENT';
        throw new GovernError(ErrorCode.PolicyNotFound, missing ? `the policy file ${file} does not exist; check its path` : `cannot read the policy file ${file}: ${cause.message}`, { cause });
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
    const warnings = [];
    const located = new Located(doc, at, (offset, message) => warnings.push({ file, ...lineCounter.linePos(offset), message }));
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
        ...(raw.proxy && { proxy: checkProxy(raw.proxy, located) }),
        warnings,
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
    warnAt;
    constructor(doc, at, warnAt) {
        this.doc = doc;
        this.at = at;
        this.warnAt = warnAt;
    }
    warning(path, message) {
        const node = this.node(path);
        this.warnAt(node?.range?.[0] ?? 0, message);
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
function checkProxy(raw, located) {
    for (const key of ['intercept', 'tunnel'])
        raw[key]?.forEach((host, i) => checkGlob(host, '.', ['proxy', key, i], located));
    return { intercept: raw.intercept ?? [], tunnel: raw.tunnel ?? [], others: raw.others ?? 'tunnel' };
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
    const entry = { issuer, claims: raw.claims ?? {}, ...(raw.any_repository && { anyRepository: true }) };
    const forge = forgeOfEntry(entry);
    if (forge && !isPinned(entry, forge))
        located.problem(path, `${describePath(path)} (issuer ${issuer}) ${unpinnedReason(forge)}`);
    const weak = forge && isPinned(entry, forge) ? weakPinning(entry, forge) : undefined;
    if (weak)
        located.warning(path, `${describePath(path)} ${weak}`);
    return entry;
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
            headers: (raw.mask.headers ?? []).map((h) => h.toLowerCase()),
            on: raw.mask.on ?? 'read',
            strategy: raw.mask.strategy ?? 'redact',
            ...(raw.mask.predicates !== undefined && { predicates: predicatesOf(raw.mask.predicates) }),
        };
        mask.columns.forEach((c, i) => {
            if (!c.includes('.'))
                located.problem([...path, 'mask', 'columns', i], `${describePath([...path, 'mask', 'columns', i])} "${c}" must name table.column (use *.${c} for any table)`);
            else if (/[[\]()\s"';]/.test(c)) {
                located.problem([...path, 'mask', 'columns', i], `${describePath([...path, 'mask', 'columns', i])} "${c}" is not a table.column name or glob: use names with * ? and {a,b}`);
            }
            else
                checkGlob(c, '.', [...path, 'mask', 'columns', i], located);
        });
        mask.json.forEach((s, i) => load_syntax(() => compileSelector(s), [...path, 'mask', 'json', i], located));
        if (mask.on === 'write' && mask.columns.length === 0) {
            located.problem([...path, 'mask'], `rule "${raw.name}" masks on write, which needs columns: the values bound for them are replaced`);
        }
        if (mask.columns.length + mask.types.length + mask.json.length + mask.headers.length === 0) {
            located.problem([...path, 'mask'], `rule "${raw.name}" masks nothing; list columns, types, json or headers`);
        }
        rule.mask = mask;
    }
    else if (action !== 'mask') {
        const condition = raw[action];
        if (condition.json !== undefined)
            load_syntax(() => compileCondition(condition.json), [...path, action, 'json'], located);
        condition.http?.forEach((pattern, i) => {
            const glob = pattern.split(/\s+/).find((part) => part.startsWith('/'));
            if (glob)
                checkGlob(glob, '/', [...path, action, 'http', i], located);
        });
        condition.sftp?.forEach((pattern, i) => {
            const glob = pattern.split(/\s+/)[1];
            if (glob)
                checkGlob(glob, '/', [...path, action, 'sftp', i], located);
        });
        rule.condition = condition;
    }
    return rule;
}
function load_syntax(compile, path, located) {
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
/** `predicates: refuse`, or `{ refuse: true, allow_param_equality: true }` to still allow `column = $1`. */
function predicatesOf(raw) {
    if (typeof raw === 'string')
        return { refuse: raw === 'refuse', allowParamEquality: false };
    return { refuse: raw.refuse ?? true, allowParamEquality: raw.allow_param_equality ?? false };
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/settings.ts





const { utils: settings_utils } = (ssh2_lib_default());
/** A connection whose settings cannot work: the gateway does not start, and says which setting to fix. */
class SshSettingsError extends GovernError {
    constructor(message) {
        super(ErrorCode.GatewayStartFailed, message);
    }
}
const DEFAULT_KEEPALIVE = '15s';
const DEFAULT_MAX_SCRIPT = 1 << 20;
function parseSshSettings(connection) {
    const s = connection.settings;
    const where = `connection "${connection.name}"`;
    if (!s.private_key && !s.password)
        throw new SshSettingsError(`${where} needs private_key or password to log in to ${s.host}`);
    if (s.private_key) {
        const parsed = settings_utils.parseKey(s.private_key);
        if (parsed instanceof Error)
            throw new SshSettingsError(`${where}: private_key is not a private key ssh can read (${parsed.message})`);
    }
    const env = (s.env ?? []).map((g) => globMatcher(g, { separator: '/' }));
    return {
        host: s.host,
        port: s.port ?? 22,
        user: s.user,
        ...(s.private_key && { privateKey: s.private_key }),
        ...(s.password && { password: s.password }),
        hostKeys: parseKnownHosts(s.known_hosts ?? ''),
        keepaliveMs: parseDuration(s.keepalive ?? DEFAULT_KEEPALIVE),
        userSshConfig: s.user_ssh_config ?? true,
        envAllowed: (name) => env.some((m) => m(name)),
        maxScript: s.max_script ?? DEFAULT_MAX_SCRIPT,
    };
}
/**
 * The key blobs of known_hosts lines (`host type base64`, or `type base64` alone). Revoked and CA
 * lines are not pins; host patterns are not needed, since the policy gives one target per connection.
 */
function parseKnownHosts(text) {
    const keys = new Set();
    for (const raw of text.split('\n')) {
        const line = raw.trim();
        if (!line || line.startsWith('#') || line.startsWith('@'))
            continue;
        const fields = line.split(/\s+/);
        const at = isKeyType(fields[0]) ? 0 : 1;
        if (fields[at + 1] && isKeyType(fields[at]))
            keys.add(fields[at + 1]);
    }
    return keys;
}
function isKeyType(word) {
    return /^(ssh-|ecdsa-|sk-)/.test(word);
}
/** The fingerprint OpenSSH prints: SHA256 of the key blob, base64 without padding. */
function fingerprint(blob) {
    return `SHA256:${(0,external_node_crypto_.createHash)('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/upstream.ts



const READY_TIMEOUT_MS = 20_000;
const KEEPALIVE_COUNT_MAX = 3;
/** Why the target could not be used, in one sentence for the job's stderr. */
class UpstreamError extends Error {
    authentication;
    constructor(message, 
    /** The target was reached and refused the policy's key or password. */
    authentication = false) {
        super(message);
        this.authentication = authentication;
    }
}
/**
 * Logs in to the target with the policy's key or password. The host key must be one of the policy's
 * known_hosts; anything else refuses, naming the fingerprint seen so the policy can be fixed.
 */
function upstream_connectUpstream(connection, target) {
    const client = new (ssh2_lib_default()).Client();
    let seen;
    return new Promise((resolve, reject) => {
        const fail = (e) => {
            client.end();
            const where = `${target.host}:${target.port}`;
            if (seen && !target.hostKeys.has(seen.toString('base64'))) {
                const listed = target.hostKeys.size ? 'is not the one known_hosts pins' : 'cannot be checked: known_hosts is empty';
                return reject(new UpstreamError(`the host key of ${where} (${fingerprint(seen)}) ${listed} for connection "${connection}"; refusing to connect`));
            }
            if (e.level === 'client-authentication') {
                const credential = target.privateKey ? 'private_key' : 'password';
                return reject(new UpstreamError(`${where} refused the login of user "${target.user}" with the ${credential} of connection "${connection}"`, true));
            }
            reject(new UpstreamError(`cannot reach ${where} for connection "${connection}": ${e.message}`));
        };
        client.once('ready', () => {
            client.off('error', fail);
            client.setNoDelay(true);
            // Later failures end the connection; each channel reports its own.
            client.on('error', () => undefined);
            resolve(client);
        });
        client.once('error', fail);
        try {
            client.connect({
                host: target.host,
                port: target.port,
                username: target.user,
                ...(target.privateKey && { privateKey: target.privateKey }),
                ...(target.password && { password: target.password }),
                hostVerifier: (key) => {
                    seen = key;
                    return target.hostKeys.has(key.toString('base64'));
                },
                keepaliveInterval: target.keepaliveMs,
                keepaliveCountMax: KEEPALIVE_COUNT_MAX,
                readyTimeout: READY_TIMEOUT_MS,
                algorithms: { cipher: CIPHERS },
            });
        }
        catch (e) {
            fail(e);
        }
    });
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/adapter.ts









const { Server, utils: adapter_utils } = (ssh2_lib_default());
/** A job that opens a connection and never logs in is dropped after this long. */
const LOGIN_TIMEOUT_MS = 30_000;
/**
 * The SSH adapter: a loopback SSH server per connection. The job logs in with a per-run key that an
 * ssh config names (the alias is the connection's name); the gateway logs in to the target with the
 * policy's key or password, and every exec, script, terminal and sftp operation goes through the
 * governor first.
 */
class SshAdapter {
    protocol = 'ssh';
    async listen({ connection, governor, log }) {
        let target;
        try {
            target = parseSshSettings(connection);
        }
        catch (e) {
            throw e instanceof SshSettingsError ? e : new SshSettingsError(`connection "${connection.name}": ${e.message}`);
        }
        await adapter_checkTarget(connection.name, target);
        const state = {
            name: connection.name,
            target,
            governor,
            log,
            connections: new Set(),
            pending: new Set(),
            fault: faultSink(governor, log),
        };
        let files;
        let include;
        const hostKey = adapter_utils.generateKeyPairSync('ed25519');
        const sshServer = new Server({ hostKeys: [hostKey.private], algorithms: { cipher: CIPHERS } });
        // The job's sockets are accepted here, so each goes through the guard before ssh2 reads a byte of it.
        const escapes = new Map();
        const server = (0,external_node_net_.createServer)((socket) => {
            const peer = `${socket.remoteAddress}:${socket.remotePort}`;
            escapes.set(peer, guardConnection(socket, `${connection.name} connection`, state.fault, () => sshServer.injectSocket(socket)));
            socket.once('close', () => escapes.delete(peer));
        });
        try {
            const port = await new Promise((resolve, reject) => {
                server.once('error', reject);
                server.listen(0, '127.0.0.1', () => resolve(server.address().port));
            });
            files = writeJobSshFiles({ alias: connection.name, port, user: target.user, hostPublicKey: hostKey.public });
            const clientKey = adapter_utils.parseKey(files.clientPublicKey);
            const full = { ...state, clientKey, clientKeyBlob: files.clientPublicKey };
            sshServer.on('connection', (client, info) => {
                const escaped = escapes.get(`${info.ip}:${info.port}`);
                if (escaped)
                    adapter_accept(client, full, escaped);
                else
                    client.end();
            });
            server.on('error', (e) => log.warn(`${connection.name}: listener error: ${e.message}`));
            if (target.userSshConfig)
                include = new UserSshConfigInclude(files.config, connection.name);
        }
        catch (e) {
            server.close();
            if (files)
                removeJobSshFiles(files);
            throw e;
        }
        const jobFiles = files;
        return {
            exports: {
                [connection.export]: connection.name,
                GIT_SSH_COMMAND: `ssh -F '${jobFiles.config}'`,
                [`${connection.export}_SSH_CONFIG`]: jobFiles.config,
            },
            secrets: [],
            target: `${target.user}@${target.host}:${target.port}`,
            close: async (deadlineMs) => {
                const closed = new Promise((resolve) => server.close(() => resolve()));
                const deadline = Date.now() + deadlineMs;
                while (state.connections.size > 0 && Date.now() < deadline)
                    await new Promise((r) => setTimeout(r, 50));
                for (const client of state.connections)
                    client.end();
                await Promise.all(state.pending);
                include?.restore();
                removeJobSshFiles(jobFiles);
                await closed;
            },
        };
    }
}
/** One job connection; each handler goes through `guarded`, so what escapes it reaches the connection's guard. */
function adapter_accept(client, state, escaped) {
    const timer = setTimeout(() => client.end(), LOGIN_TIMEOUT_MS);
    state.connections.add(client);
    // Request/response protocols (sftp, git) must not wait for Nagle's delayed small packets.
    client.setNoDelay(true);
    let openSeq;
    let upstream;
    // Malformed bytes and resets from the job: ssh2 ends the connection.
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => guarded(escaped, () => adapter_authenticate(ctx, state)));
    client.on('ready', () => guarded(escaped, () => {
        clearTimeout(timer);
        openSeq = state.governor.connectionOpened(state.name, 'ssh');
        const target = upstream_connectUpstream(state.name, state.target);
        upstream = target;
        // The job hears of a failure on each channel; a target that goes away later ends the job's connection.
        target.then((c) => c.once('close', () => client.end()), (e) => state.governor.note(e instanceof UpstreamError && e.authentication ? 'auth.failed' : 'connection.failed', { connection: state.name, message: e.message }));
        const ctx = {
            name: state.name,
            target: state.target,
            governor: state.governor,
            upstream: target,
            log: state.log,
            escaped,
            track: (done) => {
                state.pending.add(done);
                void done.then(() => state.pending.delete(done));
            },
        };
        client.on('session', (acceptSession) => guarded(escaped, () => new SessionChannel(ctx, acceptSession())));
        client.on('tcpip', (acceptTunnel, reject, info) => guarded(escaped, () => forwardLocal(state, target, acceptTunnel, reject, info)));
        client.on('request', (_accept, reject, name) => guarded(escaped, () => {
            refuseForwarding(state, name);
            reject?.();
        }));
        client.on('openssh.streamlocal', (_accept, reject) => guarded(escaped, () => {
            refuseForwarding(state, 'unix socket forwarding');
            reject();
        }));
    }));
    client.on('close', () => guarded(escaped, () => {
        clearTimeout(timer);
        state.connections.delete(client);
        if (openSeq !== undefined)
            state.governor.connectionClosed(state.name, openSeq, 'client');
        void upstream?.then((c) => c.end(), () => undefined);
    }));
}
/** Remote and socket forwarding are recorded and refused: the gateway relays no tunnels toward the job. */
function refuseForwarding(state, what) {
    const decided = state.governor.decide({ connection: state.name, protocol: 'ssh', text: what, classes: new Set(['port_forwarding']), writes: true });
    void Promise.resolve(decided).then((ruling) => {
        if (ruling.allowed)
            state.governor.note('ssh.unsupported', { connection: state.name, op: ruling.seq, feature: what });
    });
}
/** `ssh -L` and `ssh -W`: a tunnel from the target onward, only when a rule allows port_forwarding. */
async function forwardLocal(state, upstream, acceptTunnel, reject, info) {
    const refuse = () => {
        try {
            reject();
        }
        catch {
            // The job's connection is already gone.
        }
    };
    try {
        const destination = `${info.destIP}:${info.destPort}`;
        const ruling = await state.governor.decide({ connection: state.name, protocol: 'ssh', text: `direct-tcpip to ${destination}`, classes: new Set(['port_forwarding']), writes: true });
        if (!ruling.allowed)
            return refuse();
        const target = await upstream;
        try {
            state.governor.commit();
        }
        catch (e) {
            state.log.warn(`${state.name}: ${e.message}`);
            return refuse();
        }
        const stream = await new Promise((resolve, fail) => target.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, (e, s) => (e ? fail(e) : resolve(s))));
        const tunnel = acceptTunnel();
        tunnel.on('error', () => undefined);
        stream.on('error', () => undefined);
        tunnel.pipe(stream).pipe(tunnel);
    }
    catch {
        refuse();
    }
}
/**
 * Logs in to the target once when the gateway starts, then hangs up: a wrong key or password, a host
 * key the policy does not pin or an unreachable host is a start error naming the connection.
 */
async function adapter_checkTarget(name, target) {
    try {
        const probe = await upstream_connectUpstream(name, target);
        probe.end();
    }
    catch (e) {
        throw new GovernError(ErrorCode.GatewayStartFailed, `${e.message}; fix its host, port, known_hosts or credentials in the policy`, { cause: e });
    }
}
/** Only the per-run key logs in, as the target's user. */
function adapter_authenticate(ctx, state) {
    if (ctx.username !== state.target.user || ctx.method !== 'publickey')
        return ctx.reject(['publickey']);
    const offered = ctx.key.data;
    if (offered.length !== state.clientKeyBlob.length || !(0,external_node_crypto_.timingSafeEqual)(offered, state.clientKeyBlob))
        return ctx.reject(['publickey']);
    // A probe, before the client signs: the key is the right one.
    if (!ctx.signature)
        return ctx.accept();
    const key = state.clientKey;
    if (key instanceof Error || !key.verify(ctx.blob, ctx.signature, ctx.hashAlgo))
        return ctx.reject(['publickey']);
    ctx.accept();
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/index.ts



/** The protocol adapters this build serves. */
function builtInAdapters() {
    return new Map([
        ['postgres', new PostgresAdapter()],
        ['ssh', new SshAdapter()],
        ['http', new HttpAdapter()],
    ]);
}

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
const REQUEST_TIMEOUT_MS = 15_000;
const WRITE_RETRIES = 2;
/** How often one request is retried after a secondary rate limit before the poll gives up until the next one. */
const SECONDARY_LIMIT_RETRIES = 2;
/** A spent primary limit is waited out only when it resets soon; otherwise polling pauses until the reset. */
const MAX_RATE_LIMIT_WAIT_S = 60;
class GitHubApprovals extends ThreadApprovals {
    #o;
    #owner;
    #repo;
    #octokit;
    #thread;
    #etag;
    /** Aborts the poll in flight when polling stops; the outcome edits that follow still go out. */
    #polling = new AbortController();
    /** When the rate limit is spent, polling waits for its reset. */
    #notBefore = 0;
    constructor(options) {
        super({ ...options, forge: 'GitHub' });
        this.#o = options;
        [this.#owner, this.#repo] = options.repository.split('/');
    }
    /** Loaded on first use: @actions/github reads the event payload when imported, which a gateway without GitHub approvals never needs. */
    #client() {
        this.#octokit ??= (async () => {
            const [{ getOctokit }, { retry }, { throttling }] = await Promise.all([
                __webpack_require__.e(/* import() */ 758).then(__webpack_require__.bind(__webpack_require__, 1758)),
                Promise.all(/* import() */[__webpack_require__.e(251), __webpack_require__.e(735)]).then(__webpack_require__.bind(__webpack_require__, 9735)),
                Promise.all(/* import() */[__webpack_require__.e(251), __webpack_require__.e(856)]).then(__webpack_require__.bind(__webpack_require__, 6856)),
            ]);
            const warn = this.#o.warn;
            const octokit = getOctokit(this.#o.token, {
                baseUrl: this.#o.apiUrl.replace(/\/$/, ''),
                userAgent: 'govern',
                throttle: {
                    // The plugin spaces writes (1 s) and comments (3 s) as GitHub asks, per id: one queue per gateway.
                    id: `govern-${(0,external_node_crypto_.randomUUID)()}`,
                    onSecondaryRateLimit: (retryAfter, options, _o, retryCount) => {
                        warn(`GitHub's secondary rate limit on ${options.method} ${options.url}; retrying in ${retryAfter} s`);
                        return retryCount < SECONDARY_LIMIT_RETRIES;
                    },
                    onRateLimit: (retryAfter) => {
                        this.#notBefore = Date.now() + retryAfter * 1000;
                        return retryAfter <= MAX_RATE_LIMIT_WAIT_S;
                    },
                },
                // Writes that fail with a 5xx or a network error are tried twice more (after 1 s and 4 s): a stopping gateway waits for no more.
                retry: { retries: WRITE_RETRIES },
                log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
            }, retry, throttling);
            // One slow answer must not hold the gateway forever.
            octokit.hook.wrap('request', (request, options) => request({ ...options, request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), ...options.request } }));
            return octokit;
        })();
        return this.#octokit;
    }
    /** The pull request of the event, else the open pull request of the commit, else the commit itself. */
    #findThread() {
        this.#thread ??= (async () => {
            const event = this.#o.event;
            const number = event?.pull_request?.number ?? (event?.issue?.pull_request ? event.issue.number : undefined);
            if (number)
                return { kind: 'issue', number };
            const octokit = await this.#client();
            const pulls = await found(octokit.rest.repos.listPullRequestsAssociatedWithCommit({ owner: this.#owner, repo: this.#repo, commit_sha: this.#o.sha }));
            const open = pulls?.data.find((p) => p.state === 'open');
            return open ? { kind: 'issue', number: open.number } : { kind: 'commit' };
        })();
        return this.#thread;
    }
    async post(body) {
        const [octokit, thread] = await Promise.all([this.#client(), this.#findThread()]);
        const repo = { owner: this.#owner, repo: this.#repo, body };
        const { data } = thread.kind === 'issue'
            ? await octokit.rest.issues.createComment({ ...repo, issue_number: thread.number })
            : await octokit.rest.repos.createCommitComment({ ...repo, commit_sha: this.#o.sha });
        return data.id;
    }
    async edit(commentId, body) {
        const [octokit, thread] = await Promise.all([this.#client(), this.#findThread()]);
        const repo = { owner: this.#owner, repo: this.#repo, comment_id: commentId, body };
        await (thread.kind === 'issue' ? octokit.rest.issues.updateComment(repo) : octokit.rest.repos.updateCommitComment(repo));
    }
    async comments() {
        if (Date.now() < this.#notBefore)
            return undefined;
        const [octokit, thread] = await Promise.all([this.#client(), this.#findThread()]);
        const route = thread.kind === 'issue'
            ? `GET /repos/{owner}/{repo}/issues/${thread.number}/comments`
            : `GET /repos/{owner}/{repo}/commits/${this.#o.sha}/comments`;
        const list = [];
        try {
            let pages = 0;
            let etag;
            for await (const page of octokit.paginate.iterator(route, {
                owner: this.#owner,
                repo: this.#repo,
                per_page: 100,
                ...(this.since && { since: this.since }),
                ...(this.#etag && { headers: { 'if-none-match': this.#etag } }),
                // The next poll is the retry; a stopped gateway waits for none.
                request: { retries: 0, signal: AbortSignal.any([this.#polling.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) },
            })) {
                if (pages++ === 0)
                    etag = page.headers.etag;
                list.push(...page.data);
            }
            // The first page's ETag says whether anything changed only while there is one page: new comments land on the last.
            this.#etag = pages === 1 ? etag : undefined;
        }
        catch (e) {
            if (e.status === 304)
                return undefined;
            throw e;
        }
        return list.map((c) => ({ id: c.id, body: c.body ?? '', author: c.user?.login ?? '', raw: c }));
    }
    stop() {
        super.stop();
        this.#polling.abort();
    }
    async counts(comment) {
        const { raw, author } = comment;
        if (!raw.user || raw.user.type === 'Bot' || raw.created_at !== raw.updated_at)
            return false;
        if (!this.#o.allowSelfApproval && this.isActor(author)) {
            await this.#reactWith(comment, 'confused');
            return false;
        }
        if (!(await this.#isApprover(author)))
            return false;
        const octokit = await this.#client();
        const permission = await found(octokit.rest.repos.getCollaboratorPermissionLevel({ owner: this.#owner, repo: this.#repo, username: author }));
        return WRITE.has(permission?.data.permission ?? '');
    }
    async #isApprover(login) {
        for (const approver of this.#o.approvers) {
            if (!approver.startsWith('@') && approver.toLowerCase() === login.toLowerCase())
                return true;
            const team = /^@([^/]+)\/(.+)$/.exec(approver);
            if (team) {
                const octokit = await this.#client();
                const membership = await found(octokit.rest.teams.getMembershipForUserInOrg({ org: team[1], team_slug: team[2], username: login }));
                if (membership?.data.state === 'active')
                    return true;
            }
        }
        return false;
    }
    react(comment, approve) {
        return this.#reactWith(comment, approve ? '+1' : '-1');
    }
    async #reactWith(comment, content) {
        const [octokit, thread] = await Promise.all([this.#client(), this.#findThread()]);
        const target = { owner: this.#owner, repo: this.#repo, comment_id: comment.id, content };
        await (thread.kind === 'issue' ? octokit.rest.reactions.createForIssueComment(target) : octokit.rest.reactions.createForCommitComment(target)).catch(() => undefined);
    }
}
/** A response, or undefined when GitHub answers 404 (no such pull request, collaborator or team member). */
async function found(request) {
    try {
        return await request;
    }
    catch (e) {
        if (e.status === 404)
            return undefined;
        throw e;
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
    /** Outcomes on their way to the forge (edits GitHub's throttling may hold for a second or more). */
    #showing = new Set();
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
        const durable = this.#recorder.durable();
        if (this.#provider) {
            const provider = this.#provider;
            const showing = durable.then(() => provider.settled(result)).catch((e) => this.#warn(`cannot show the outcome of ${id}: ${e.message}`));
            this.#showing.add(showing);
            void showing.finally(() => this.#showing.delete(showing));
        }
        await durable;
        return result;
    }
    /** Waits, at most timeoutMs, for the outcomes decided so far to show on the forge: the job may end as soon as the gateway stops. */
    async outcomesShown(timeoutMs) {
        let timer;
        await Promise.race([Promise.all(this.#showing), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
        clearTimeout(timer);
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
    counts = { operations: 0, allowed: 0, masked_values: 0, blocked: 0, approved: 0, denied: 0, would_block: 0, would_hold: 0 };
    masker;
    recorder;
    approvals;
    principal;
    /** Errors that escaped a connection's own handling and reached the last-resort guard; none is expected. */
    faults = 0;
    #rules;
    #recordResults;
    /** `recording.results: masked`: results keep their (masked) content. */
    recordsContent;
    constructor({ policy, principal, recorder, masker, approvals }) {
        this.#rules = new RuleEngine(policy);
        this.#recordResults = policy.recording.results !== 'none';
        this.recordsContent = policy.recording.results === 'masked';
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
                ...(op.commands && { argv: op.commands }),
                verdict: decision.policyVerdict,
                ...(decision.verdict !== decision.policyVerdict && { enforced: decision.verdict }),
                ...(decision.rule && { rule: decision.rule }),
                ...(decision.masks.rules.length && { masks: decision.masks.rules }),
                ...(decision.verdict === 'approve' && op.approveAtExecution && { approval: 'asked at each execution' }),
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
        if (decision.verdict === 'approve' && op.approveAtExecution)
            return { allowed: false, seq, masks: decision.masks, rule: decision.rule, message: decision.reason, deferred: true };
        if (decision.verdict === 'approve')
            return this.#hold(op, seq, decision);
        this.counts.allowed++;
        if (decision.policyVerdict === 'block')
            this.counts.would_block++;
        else if (decision.policyVerdict === 'approve')
            this.counts.would_hold++;
        return { allowed: true, seq, masks: decision.masks };
    }
    /**
     * Puts the events of the operations decided so far in the file: an adapter calls this before it
     * forwards them. Throws when they cannot be written; the adapter then refuses instead of forwarding.
     */
    commit() {
        this.recorder.write();
    }
    /** Whether `decide` needs the operation's JSON body (HTTP reads it only then). */
    needsJson(op) {
        return this.#rules.needsJson(op);
    }
    /** Records how an allowed operation ended; masked counts feed the summary. */
    completed(ruling, stats) {
        this.counts.masked_values += stats.maskedValues ?? 0;
        if (!this.#recordResults)
            return;
        this.#tryAppend('result', {
            op: ruling.seq,
            duration_ms: Math.round(stats.durationMs * 1000) / 1000,
            ...(stats.status !== undefined && { status: stats.status }),
            ...(stats.rows !== undefined && { rows: stats.rows }),
            ...(stats.tag !== undefined && { tag: stats.tag }),
            ...(stats.bytes !== undefined && { bytes: stats.bytes }),
            ...(stats.maskedValues && { masked: stats.maskedValues }),
            ...(stats.maskedValues && stats.maskedBy && { masked_by: stats.maskedBy }),
            ...(stats.error !== undefined && { error: stats.error }),
            ...(stats.body !== undefined && { body: stats.body }),
            ...(stats.exit !== undefined && { exit: stats.exit }),
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
    /** The last-resort guard caught an error: it is recorded (its message masked) and the gateway serves on. */
    fault(where, error) {
        this.faults++;
        const message = error instanceof Error ? error.message : String(error);
        this.#tryAppend('gateway.fault', { where, error: this.masker.maskText(message, REDACT_ALL).text });
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
/**
 * Space set aside when the session starts and given back when it ends, so that a bundle whose disk
 * filled up can still be finalized: its manifest names what was recorded and where the record stops.
 */
const RESERVE_FILE = 'space.reserve';
const RESERVE_BYTES = 128 * 1024;
/** Queued bytes past which the queue is written at once rather than at the next interval. */
const FLUSH_BYTES = 256 * 1024;
/**
 * Appends hash-chained events to events.jsonl. Appending is synchronous and cheap: the chain is
 * computed at once and the line queued. `write()` puts the queue in the file at once: adapters call it
 * before they forward what the events record (one write per batch of messages read together), so an
 * operation that reaches a target is in the file even if the gateway is killed. Other events (results,
 * notes) reach the file within a few milliseconds. `durable()` writes and fsyncs, and is awaited
 * before a block or an approval takes effect. After any write error the recorder refuses every further
 * event, so the gateway fails closed.
 */
class Recorder {
    dir;
    #fd;
    #now;
    #flushIntervalMs;
    #seq = 0;
    /** The last event known to be in the file. */
    #writtenSeq = 0;
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
        try {
            (0,external_node_fs_.writeFileSync)((0,external_node_path_.join)(dir, RESERVE_FILE), Buffer.alloc(RESERVE_BYTES), { mode: 0o600 });
        }
        catch {
            // Without the reserve a full disk may keep the manifest from being written; recording still works.
            (0,external_node_fs_.rmSync)((0,external_node_path_.join)(dir, RESERVE_FILE), { force: true });
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
    /**
     * Puts every event appended so far in the file now (no fsync: the file survives the gateway being
     * killed); throws when they are not all there, so what they record is refused rather than forwarded.
     */
    write() {
        if (this.#writtenSeq === this.#seq)
            return;
        this.#flush();
        if (this.#failure)
            throw this.#failure;
    }
    /** Gives back the space set aside for finalizing: the manifest and the report are written next. */
    releaseReserve() {
        (0,external_node_fs_.rmSync)((0,external_node_path_.join)(this.dir, RESERVE_FILE), { force: true });
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
            this.#writtenSeq = this.#seq;
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
/** The last whole event of an events.jsonl file's content, and how many bytes of a cut-off line follow it. */
function recordedTail(content) {
    const end = content.lastIndexOf(10) + 1;
    const cutBytes = content.length - end;
    if (end === 0)
        return { cutBytes };
    const start = content.lastIndexOf(10, end - 2) + 1;
    return { last: JSON.parse(content.toString('utf8', start, end - 1)), cutBytes };
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
    return name === 'gateway.json' || name === 'gateway.log' || name.endsWith('.sock') || name === RESERVE_FILE;
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

;// CONCATENATED MODULE: ./runner-proxy/src/recording/report-viewer.ts
/**
 * The inline viewer of report.html. Plain browser JavaScript, no dependency, no network. Every value
 * from the session reaches the page through textContent, never as HTML. Tables show one page at a
 * time so the number of operations does not slow the page down.
 */
const VIEWER_STYLE = [
    'body{font:14px/1.45 system-ui,sans-serif;margin:0;padding:1em 2em;color:#1b1f24;background:#fff}',
    'h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 .4em}',
    'code,pre{font:12.5px ui-monospace,SFMono-Regular,Menlo,monospace}pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;padding:.5em;margin:.2em 0}',
    '.run{padding:.1em .5em;border-radius:.3em;color:#fff;font-size:.8em;text-transform:uppercase}.run-pass{background:#1a7f37}.run-blocked{background:#cf222e}.run-denied{background:#bc4c00}',
    '.mode{font-size:.7em;color:#57606a;border:1px solid #d0d7de;padding:.1em .4em;border-radius:.3em}',
    'dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:.5em 0}dt{color:#57606a}dd{margin:0}',
    '.pill{display:inline-block;padding:0 .45em;border-radius:1em;margin:0 .15em;font-size:.9em}',
    'table{border-collapse:collapse;width:100%;table-layout:fixed}td,th{border-bottom:1px solid #d8dee4;padding:.25em .4em;text-align:left;vertical-align:top;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}',
    'th{background:#f6f8fa;font-weight:600}tr.op,tr.group{cursor:pointer}tr.op:hover,tr.group:hover{background:#f3f6fa}',
    'td.detail{white-space:normal;background:#fbfcfd}td.detail dl{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;margin:.3em 0}',
    '.v-allow{color:#1a7f37}.v-block{color:#fff;background:#cf222e}.v-approved{color:#fff;background:#8250df}.v-denied,.v-timed-out{color:#fff;background:#bc4c00}.v-would-block{color:#7d4e00;background:#fff8c5;outline:1px solid #d4a72c}.v-would-hold{color:#0550ae;background:#ddf4ff;outline:1px solid #54aeff}.v-held{color:#fff;background:#6e7781}',
    'span.verdict{padding:0 .35em;border-radius:.25em;white-space:nowrap}',
    '.filters{display:flex;flex-wrap:wrap;gap:.5em;align-items:center;position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #d0d7de;z-index:1}',
    '.filters input[type=search]{min-width:18em}.pager{margin:.4em 0;color:#57606a}.pager button{margin:0 .3em}',
    '.empty{color:#57606a;font-style:italic}.incidents{color:#bc4c00}',
    'col.c-v{width:9em}col.c-n{width:5.5em}col.c-t{width:7em}col.c-c{width:8em}col.c-r{width:10em}col.c-x{width:5.5em}',
].join('');
const VIEWER_SCRIPT = String.raw `(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('govern-data').textContent);
  var S = D.strings, OPS = D.ops, DET = D.details;
  var VERDICTS = ['allow', 'block', 'approved', 'denied', 'timed out', 'would block', 'would hold', 'held'];
  var ICONS = ['\u2713', '\u2298', '\u2714', '\u2716', '\u29d6', '\u25b2', '\u2016', '\u2026'];
  var SEQ = 0, AT = 1, CONN = 2, TEXT = 3, FP = 4, VERDICT = 5, RULE = 6, CLASSES = 7, DUR = 8, ROWS = 9, TAG = 10, MASKED = 11;
  var PAGE = 100;
  var identity = (D.session && D.session.identity) || {};
  var claims = identity.claims || {};
  var requester = claims.actor || claims.user_login || identity.subject || (identity.kind === 'none' ? 'the job (no identity)' : 'the job');
  var state = { verdict: '', connection: '', rule: '', cls: '', q: '', view: 'groups' };
  var lower = [];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function num(n) { return n < 0 ? '' : n.toLocaleString('en-US'); }
  function short(s, max) { s = s.replace(/\s+/g, ' '); return s.length > max ? s.slice(0, max - 1) + '\u2026' : s; }
  function clock(ms) {
    var m = Math.floor(ms / 60000), s = ((ms % 60000) / 1000).toFixed(3);
    return (m < 10 ? '0' : '') + m + ':' + (s.length < 6 ? '0' : '') + s;
  }
  function isException(op) { return op[VERDICT] !== 0; }
  function verdictBadge(v, count) {
    var b = el('span', 'verdict v-' + VERDICTS[v].replace(' ', '-'), ICONS[v] + ' ' + VERDICTS[v] + (count !== undefined ? ' \u00d7 ' + num(count) : ''));
    b.title = VERDICTS[v];
    return b;
  }
  function distinct(col, split) {
    var seen = {}, out = [];
    for (var i = 0; i < OPS.length; i++) {
      var idx = OPS[i][col];
      if (idx < 0 || seen[idx]) continue;
      seen[idx] = 1;
      var values = split ? S[idx].split(' ') : [S[idx]];
      for (var j = 0; j < values.length; j++) if (values[j] && out.indexOf(values[j]) < 0) out.push(values[j]);
    }
    return out.sort();
  }
  function select(name, label, values, labels) {
    var s = el('select');
    s.id = 'filter-' + name;
    s.setAttribute('aria-label', label);
    s.appendChild(el('option', '', 'every ' + label)).value = '';
    for (var i = 0; i < values.length; i++) s.appendChild(el('option', '', labels ? labels[i] : values[i])).value = values[i];
    s.addEventListener('change', function () { state[name] = s.value; render(); });
    return s;
  }
  function matches(op) {
    if (state.verdict !== '') {
      if (state.verdict === 'exceptions' ? !isException(op) : VERDICTS[op[VERDICT]] !== state.verdict) return false;
    }
    if (state.connection && S[op[CONN]] !== state.connection) return false;
    if (state.rule && (op[RULE] < 0 || S[op[RULE]] !== state.rule)) return false;
    if (state.cls && (' ' + S[op[CLASSES]] + ' ').indexOf(' ' + state.cls + ' ') < 0) return false;
    if (state.q) {
      var t = op[TEXT];
      var l = lower[t] || (lower[t] = S[t].toLowerCase());
      if (l.indexOf(state.q) < 0 && (op[RULE] < 0 || S[op[RULE]].toLowerCase().indexOf(state.q) < 0)) return false;
    }
    return true;
  }

  function detail(op, index) {
    var d = DET[index] || {};
    var dl = el('dl');
    function row(name, value) {
      if (value === undefined || value === null || value === '') return;
      dl.appendChild(el('dt', '', name));
      var dd = dl.appendChild(el('dd'));
      if (value instanceof Node) dd.appendChild(value); else dd.textContent = String(value);
    }
    row('operation', el('pre', 'full-text', S[op[TEXT]]));
    row('verdict', verdictBadge(op[VERDICT]));
    row('event', '#' + op[SEQ] + ' at +' + clock(op[AT]));
    row('connection', S[op[CONN]]);
    row('classes', S[op[CLASSES]] || 'none');
    if (op[RULE] >= 0) row('rule', S[op[RULE]]);
    if (op[DUR] >= 0) row('duration', op[DUR] + ' ms');
    if (op[TAG] >= 0) row('command tag', S[op[TAG]]);
    if (op[ROWS] >= 0) row('rows', num(op[ROWS]) + (op[TAG] >= 0 && /^(INSERT|UPDATE|DELETE|MERGE|COPY)/.test(S[op[TAG]]) ? ' affected' : ' returned'));
    if (d.bytes !== undefined) row('bytes', num(d.bytes));
    if (op[MASKED] > 0 || d.masked_by) {
      var by = d.masked_by ? Object.keys(d.masked_by).map(function (k) { return k + ' ' + d.masked_by[k]; }).join(', ') : '';
      row('masked values', num(op[MASKED]) + (by ? ' (' + by + ')' : ''));
    }
    if (d.error) row('error', d.error);
    if (d.approval) {
      var a = d.approval;
      row('approval', a.id + (a.via ? ' via ' + a.via : ''));
      row('requested by', requester);
      if (a.outcome) row('decision', a.outcome + (a.by ? ' by ' + a.by : ''));
      if (a.reason) row('reason', a.reason);
      if (a.wait_ms !== undefined) row('waited', (a.wait_ms / 1000).toFixed(1) + ' s');
    }
    return dl;
  }

  function opTable(indexes, page, onPage) {
    var wrap = el('div');
    var table = wrap.appendChild(el('table', 'ops'));
    var cols = table.appendChild(el('colgroup'));
    ['c-v', 'c-n', 'c-t', 'c-c', '', 'c-r', 'c-x', 'c-x'].forEach(function (c) { cols.appendChild(el('col', c)); });
    var head = table.appendChild(el('thead')).appendChild(el('tr'));
    ['verdict', 'event', 'time', 'connection', 'operation', 'rule', 'rows', 'ms'].forEach(function (h) { head.appendChild(el('th', '', h)); });
    var body = table.appendChild(el('tbody'));
    var start = page * PAGE, end = Math.min(indexes.length, start + PAGE);
    for (var i = start; i < end; i++) {
      (function (index) {
        var op = OPS[index];
        var tr = body.appendChild(el('tr', 'op'));
        tr.dataset.seq = op[SEQ];
        tr.appendChild(el('td')).appendChild(verdictBadge(op[VERDICT]));
        tr.appendChild(el('td', '', '#' + op[SEQ]));
        tr.appendChild(el('td', '', '+' + clock(op[AT])));
        tr.appendChild(el('td', '', S[op[CONN]]));
        var text = tr.appendChild(el('td', 'text', short(S[op[TEXT]], 300)));
        text.title = short(S[op[TEXT]], 2000);
        tr.appendChild(el('td', '', op[RULE] >= 0 ? S[op[RULE]] : ''));
        tr.appendChild(el('td', '', num(op[ROWS])));
        tr.appendChild(el('td', '', op[DUR] >= 0 ? op[DUR] : ''));
        var open = null;
        tr.addEventListener('click', function () {
          if (open) { open.remove(); open = null; return; }
          open = el('tr', 'detail-row');
          var td = open.appendChild(el('td', 'detail'));
          td.colSpan = 8;
          td.appendChild(detail(op, index));
          tr.after(open);
        });
      })(indexes[i]);
    }
    if (indexes.length === 0) body.appendChild(el('tr')).appendChild(el('td', 'empty', 'none')).colSpan = 8;
    if (indexes.length > PAGE) wrap.appendChild(pager(page, indexes.length, onPage));
    return wrap;
  }

  function pager(page, total, onPage) {
    var p = el('div', 'pager');
    var last = Math.ceil(total / PAGE) - 1;
    var prev = p.appendChild(el('button', 'prev', '\u2190 previous'));
    prev.disabled = page === 0;
    prev.addEventListener('click', function (e) { e.stopPropagation(); onPage(page - 1); });
    p.appendChild(el('span', 'range', num(page * PAGE + 1) + '\u2013' + num(Math.min(total, (page + 1) * PAGE)) + ' of ' + num(total)));
    var next = p.appendChild(el('button', 'next', 'next \u2192'));
    next.disabled = page >= last;
    next.addEventListener('click', function (e) { e.stopPropagation(); onPage(page + 1); });
    return p;
  }

  function paged(container, build) {
    function show(page) { container.textContent = ''; container.appendChild(build(page, show)); }
    show(0);
  }

  function groupTable(indexes, page, onPage) {
    var groups = {}, list = [];
    for (var i = 0; i < indexes.length; i++) {
      var op = OPS[indexes[i]];
      var key = op[FP] + ':' + op[CONN];
      var g = groups[key];
      if (!g) { g = groups[key] = { fp: op[FP], conn: op[CONN], ops: [], verdicts: {}, rows: 0, masked: 0, exceptions: 0 }; list.push(g); }
      g.ops.push(indexes[i]);
      g.verdicts[op[VERDICT]] = (g.verdicts[op[VERDICT]] || 0) + 1;
      if (op[ROWS] > 0) g.rows += op[ROWS];
      g.masked += op[MASKED];
      if (isException(op)) g.exceptions++;
    }
    list.sort(function (a, b) { return (b.exceptions > 0) - (a.exceptions > 0) || b.ops.length - a.ops.length; });
    var wrap = el('div');
    var table = wrap.appendChild(el('table', 'groups'));
    var cols = table.appendChild(el('colgroup'));
    ['c-r', 'c-n', 'c-c', '', 'c-x', 'c-x'].forEach(function (c) { cols.appendChild(el('col', c)); });
    var head = table.appendChild(el('thead')).appendChild(el('tr'));
    ['verdicts', 'count', 'connection', 'statement', 'rows', 'masked'].forEach(function (h) { head.appendChild(el('th', '', h)); });
    var body = table.appendChild(el('tbody'));
    var start = page * PAGE, end = Math.min(list.length, start + PAGE);
    for (var k = start; k < end; k++) {
      (function (g) {
        var tr = body.appendChild(el('tr', 'group'));
        var vs = tr.appendChild(el('td'));
        Object.keys(g.verdicts).forEach(function (v) { vs.appendChild(verdictBadge(+v, g.verdicts[v])); });
        tr.appendChild(el('td', 'count', '\u00d7 ' + num(g.ops.length)));
        tr.appendChild(el('td', '', S[g.conn]));
        var text = tr.appendChild(el('td', 'text', short(S[g.fp], 300)));
        text.title = short(S[g.fp], 2000);
        tr.appendChild(el('td', '', num(g.rows)));
        tr.appendChild(el('td', '', num(g.masked)));
        var open = null;
        tr.addEventListener('click', function () {
          if (open) { open.remove(); open = null; return; }
          open = el('tr', 'executions');
          var td = open.appendChild(el('td', 'detail'));
          td.colSpan = 6;
          paged(td, function (p, show) { return opTable(g.ops, p, show); });
          tr.after(open);
        });
      })(list[k]);
    }
    if (list.length === 0) body.appendChild(el('tr')).appendChild(el('td', 'empty', 'none')).colSpan = 6;
    if (list.length > PAGE) wrap.appendChild(pager(page, list.length, onPage));
    return wrap;
  }

  var main = document.getElementById('viewer');
  main.textContent = '';
  var filters = main.appendChild(el('div', 'filters'));
  var present = VERDICTS.filter(function (v, i) { return OPS.some(function (op) { return op[VERDICT] === i; }); });
  filters.appendChild(select('verdict', 'verdict', ['exceptions'].concat(present), ['exceptions only'].concat(present)));
  filters.appendChild(select('connection', 'connection', distinct(CONN)));
  filters.appendChild(select('rule', 'rule', distinct(RULE)));
  filters.appendChild(select('cls', 'class', distinct(CLASSES, true)));
  var search = filters.appendChild(el('input'));
  search.type = 'search';
  search.id = 'search';
  search.placeholder = 'search statements and rules';
  var timer = 0;
  search.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.q = search.value.trim().toLowerCase(); render(); }, 120);
  });
  var grouping = filters.appendChild(el('label'));
  var toggle = grouping.appendChild(el('input'));
  toggle.type = 'checkbox';
  toggle.id = 'group-toggle';
  toggle.checked = true;
  grouping.appendChild(document.createTextNode(' group by statement'));
  toggle.addEventListener('change', function () { state.view = toggle.checked ? 'groups' : 'all'; render(); });
  var shown = filters.appendChild(el('span', 'shown'));
  shown.id = 'shown';

  var exceptionsTitle = main.appendChild(el('h2', '', 'Exceptions'));
  exceptionsTitle.id = 'exceptions-title';
  var exceptions = main.appendChild(el('section'));
  exceptions.id = 'exceptions';
  if (D.incidents.length) {
    main.appendChild(el('h2', '', 'Connection problems'));
    var list = main.appendChild(el('ul'));
    list.id = 'incident-list';
    D.incidents.forEach(function (x) { list.appendChild(el('li', 'incidents', x.ts + ' ' + (x.connection || '') + ' ' + x.type + ': ' + x.message)); });
  }
  var operationsTitle = main.appendChild(el('h2', '', 'Statements'));
  var operations = main.appendChild(el('section'));
  operations.id = 'operations';

  function render() {
    var all = [], exc = [];
    for (var i = 0; i < OPS.length; i++) {
      if (!matches(OPS[i])) continue;
      all.push(i);
      if (isException(OPS[i])) exc.push(i);
    }
    shown.textContent = num(all.length) + ' of ' + num(OPS.length) + ' operations';
    exceptionsTitle.textContent = 'Exceptions (' + num(exc.length) + ')';
    paged(exceptions, function (p, show) { return opTable(exc, p, show); });
    operationsTitle.textContent = state.view === 'groups' ? 'Statements, grouped' : 'Every operation';
    paged(operations, function (p, show) { return state.view === 'groups' ? groupTable(all, p, show) : opTable(all, p, show); });
  }
  render();
  document.documentElement.setAttribute('data-ready', '1');
})();
`;

// EXTERNAL MODULE: external "node:readline"
var external_node_readline_ = __webpack_require__(481);
;// CONCATENATED MODULE: ./runner-proxy/src/recording/session-view.ts


/**
 * What auditors look at, read from events.jsonl one line at a time: the session's facts and every
 * operation with what became of it, in a compact form that report.html embeds and the job summary
 * condenses. Texts are kept once however often they repeat.
 */
/** What became of an operation, as the report and the summary name it. */
const session_view_VERDICTS = ['allow', 'block', 'approved', 'denied', 'timed out', 'would block', 'would hold', 'held'];
const V = Object.fromEntries(session_view_VERDICTS.map((v, i) => [v, i]));
/** Verdicts an auditor looks at first: everything that was stopped, released by a person, or would have been stopped. */
const EXCEPTIONS = new Set(['block', 'denied', 'timed out', 'approved', 'would block', 'would hold', 'held']);
/** One operation: indexes into `strings`, numbers, and -1 for "not recorded". */
const session_view_Col = {
    Seq: 0,
    /** Milliseconds since the session started. */
    At: 1,
    Connection: 2,
    Text: 3,
    Fingerprint: 4,
    Verdict: 5,
    Rule: 6,
    Classes: 7,
    DurationMs: 8,
    Rows: 9,
    Tag: 10,
    Masked: 11,
};
/** Past this many operations only the exceptions are listed (the rest are counted): a page must still open. */
const MAX_LISTED_OPS = 500_000;
/** A statement longer than this is cut in the report; events.jsonl keeps it whole. */
const MAX_TEXT = 16 * 1024;
/** The statement's shape: literals and numbers become ?, lists collapse, whitespace is folded. */
function session_view_fingerprint(text) {
    return text
        .replace(/'(?:[^']|'')*'/g, '?')
        .replace(/\b\d+(?:\.\d+)?\b/g, '?')
        .replace(/\$\d+/g, '?')
        .replace(/\(\s*\?(?:\s*,\s*\?)+\s*\)/g, '(?)')
        .replace(/\s+/g, ' ')
        .trim();
}
const INCIDENTS = new Set(['connection.failed', 'auth.failed', 'protocol.violation', 'target.unreachable']);
/** Builds the view event by event; `read` streams a file through it. */
class SessionViewBuilder {
    #view = { format: 1, start_ms: 0, connections: [], strings: [], ops: [], details: {}, incidents: [], omitted: 0 };
    #stringIndex = new Map();
    /** Op rows by event seq, so results and approvals find their operation. */
    #bySeq = new Map();
    #str(s) {
        let i = this.#stringIndex.get(s);
        if (i === undefined) {
            i = this.#view.strings.push(s) - 1;
            this.#stringIndex.set(s, i);
        }
        return i;
    }
    #detail(row) {
        return (this.#view.details[row] ??= {});
    }
    add(e) {
        const view = this.#view;
        switch (e.type) {
            case 'session.start':
                view.start_ms = Date.parse(e.ts);
                view.session = {
                    id: e.session_id,
                    identity: e.identity,
                    policy: e.policy,
                    public_key: e.public_key,
                };
                return;
            case 'listener.ready':
                view.connections.push({ name: String(e.connection), protocol: String(e.protocol), target: String(e.target) });
                return;
            case 'process.start':
                view.command = { text: String(e.command) };
                return;
            case 'process.exit':
                view.command = {
                    text: view.command?.text ?? '',
                    status: e.status,
                    signal: e.signal,
                    duration_ms: e.duration_ms,
                    ...(e.error !== undefined && { error: String(e.error) }),
                };
                return;
            case 'session.end':
                view.end = { ts: e.ts, reason: String(e.reason) };
                return;
            case 'operation':
                return this.#operation(e);
            case 'result': {
                const row = this.#bySeq.get(e.op);
                if (row === undefined)
                    return;
                const op = view.ops[row];
                op[session_view_Col.DurationMs] = e.duration_ms ?? -1;
                op[session_view_Col.Rows] = e.rows ?? -1;
                if (e.tag !== undefined)
                    op[session_view_Col.Tag] = this.#str(String(e.tag));
                op[session_view_Col.Masked] = e.masked ?? 0;
                if (e.bytes !== undefined)
                    this.#detail(row).bytes = e.bytes;
                if (e.error !== undefined)
                    this.#detail(row).error = String(e.error);
                if (e.masked_by !== undefined)
                    this.#detail(row).masked_by = e.masked_by;
                return;
            }
            case 'approval.requested': {
                const row = this.#bySeq.get(e.op);
                if (row === undefined)
                    return;
                this.#detail(row).approval = { id: String(e.request_id), via: String(e.via), requested_at: e.ts };
                view.ops[row][session_view_Col.Verdict] = V.held;
                return;
            }
            case 'approval.decided': {
                const row = this.#bySeq.get(e.op);
                if (row === undefined)
                    return;
                const approval = (this.#detail(row).approval ??= { id: String(e.request_id) });
                Object.assign(approval, {
                    outcome: String(e.outcome),
                    by: String(e.by),
                    ...(e.reason !== undefined && e.reason !== null && { reason: String(e.reason) }),
                    ...(approval.requested_at && { wait_ms: Date.parse(e.ts) - Date.parse(approval.requested_at) }),
                });
                view.ops[row][session_view_Col.Verdict] = e.outcome === 'approved' ? V.approved : e.outcome === 'timeout' ? V['timed out'] : V.denied;
                return;
            }
            default:
                if (INCIDENTS.has(e.type)) {
                    view.incidents.push({ ts: e.ts, type: e.type, ...(e.connection !== undefined && { connection: String(e.connection) }), message: String(e.message ?? e.reason ?? e.error ?? '') });
                }
        }
    }
    #operation(e) {
        const view = this.#view;
        const verdict = reportVerdict(e);
        if (view.ops.length >= MAX_LISTED_OPS && verdict === 'allow') {
            view.omitted++;
            return;
        }
        const full = String(e.text ?? '');
        const text = full.length > MAX_TEXT ? `${full.slice(0, MAX_TEXT)}… (${full.length} characters; the whole text is in events.jsonl)` : full;
        const row = [
            e.seq,
            Date.parse(e.ts) - view.start_ms,
            this.#str(String(e.connection)),
            this.#str(text),
            this.#str(session_view_fingerprint(text.length > 2048 ? text.slice(0, 2048) : text)),
            V[verdict],
            e.rule !== undefined ? this.#str(String(e.rule)) : -1,
            this.#str((e.classes ?? []).join(' ')),
            -1,
            -1,
            -1,
            0,
        ];
        this.#bySeq.set(e.seq, view.ops.push(row) - 1);
    }
    get view() {
        return this.#view;
    }
    /** Streams events.jsonl through a new builder: one line parsed at a time. */
    static async read(eventsPath) {
        const builder = new SessionViewBuilder();
        const lines = (0,external_node_readline_.createInterface)({ input: (0,external_node_fs_.createReadStream)(eventsPath, { encoding: 'utf8' }), crlfDelay: Infinity });
        for await (const line of lines) {
            if (!line)
                continue;
            let event;
            try {
                event = JSON.parse(line);
            }
            catch {
                // A torn last line of a crashed session: verify reports it; the report shows what came before.
                continue;
            }
            builder.add(event);
        }
        return builder.view;
    }
}
/** In observe mode the event's verdict is the policy's and `enforced` what happened. */
function reportVerdict(e) {
    const policy = String(e.verdict);
    if (e.enforced === 'allow' && policy === 'block')
        return 'would block';
    if (e.enforced === 'allow' && policy === 'approve')
        return 'would hold';
    return policy === 'block' ? 'block' : policy === 'approve' ? 'held' : 'allow';
}
function countVerdicts(view) {
    const byVerdict = Object.fromEntries(session_view_VERDICTS.map((v) => [v, 0]));
    let masked = 0;
    for (const op of view.ops) {
        byVerdict[session_view_VERDICTS[op[session_view_Col.Verdict]]]++;
        masked += op[session_view_Col.Masked];
    }
    byVerdict.allow += view.omitted;
    return { operations: view.ops.length + view.omitted, byVerdict, masked };
}
/** The run as one word: blocked when anything was blocked, denied when an approval was refused or ran out. */
function runVerdict(counts) {
    const v = counts.byVerdict;
    if (v.block)
        return 'blocked';
    if (v.denied || v['timed out'] || v.held)
        return 'denied';
    return 'pass';
}
/** Operations grouped by connection and fingerprint, most frequent first. */
function session_view_groupStatements(view) {
    const groups = new Map();
    for (const op of view.ops) {
        const key = `${op[session_view_Col.Connection]}:${op[session_view_Col.Fingerprint]}`;
        let g = groups.get(key);
        if (!g)
            groups.set(key, (g = { fingerprint: view.strings[op[session_view_Col.Fingerprint]], connection: view.strings[op[session_view_Col.Connection]], count: 0, verdicts: {}, rows: 0, masked: 0 }));
        g.count++;
        const verdict = session_view_VERDICTS[op[session_view_Col.Verdict]];
        g.verdicts[verdict] = (g.verdicts[verdict] ?? 0) + 1;
        if (op[session_view_Col.Rows] > 0)
            g.rows += op[session_view_Col.Rows];
        g.masked += op[session_view_Col.Masked];
    }
    return [...groups.values()].sort((a, b) => b.count - a.count);
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/report.ts



/**
 * report.html: one self-contained page (no network) that opens from the artifact zip. The facts an
 * auditor asks first are written as HTML, escaped; the operations travel as one JSON blob that the
 * inline viewer renders with textContent only, a page at a time, so 100,000 operations open at once.
 */
/** Every value written as HTML passes through here: SQL text, claims and names are not HTML. */
function report_escapeHtml(value) {
    return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
/** JSON that may sit inside a <script> element: no "<", ">" or "&" can end it or open a comment. */
function scriptSafeJson(value) {
    return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
/** Who the run was, in one line: the forge's claims that identify a job. */
function report_describeIdentity(identity) {
    const record = identity;
    if (!record || record.kind === 'none')
        return 'none (the policy has no identity section)';
    const c = record.claims ?? {};
    const parts = [c.repository ?? c.project_path, c.ref, c.event_name ?? c.pipeline_source, c.actor ?? c.user_login, c.run_id ?? c.pipeline_id].filter((v) => v !== undefined && v !== '');
    return `${parts.length ? parts.join(' · ') : String(record.subject ?? record.issuer)}${record.read_only ? ' (read-only)' : ''}`;
}
function report_formatDuration(ms) {
    if (!Number.isFinite(ms) || ms < 0)
        return '';
    if (ms < 1000)
        return `${Math.round(ms)} ms`;
    const s = ms / 1000;
    if (s < 60)
        return `${s.toFixed(1)} s`;
    const m = Math.floor(s / 60);
    return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
function report_verifyCommand(facts) {
    const dir = /^[\w@%+=:,./-]+$/.test(facts.bundle_dir) ? facts.bundle_dir : `'${facts.bundle_dir.replaceAll("'", `'\\''`)}'`;
    return `govern verify ${dir} --key ${facts.public_key}`;
}
function header(facts, view) {
    const counts = countVerdicts(view);
    const verdict = runVerdict(counts);
    const duration = Date.parse(facts.ended_at) - Date.parse(facts.started_at);
    const command = view.command;
    const exit = command ? (command.error ? `could not start (${command.error})` : command.signal ? `ended by ${command.signal}` : command.status !== undefined ? `exit status ${command.status}` : 'still running at the end') : '';
    const fact = (name, value, id) => `<dt>${name}</dt><dd id="${id}">${value}</dd>`;
    const code = (v) => `<code>${report_escapeHtml(v)}</code>`;
    const tally = session_view_VERDICTS.filter((v) => counts.byVerdict[v]).map((v) => `<span class="pill v-${v.replace(' ', '-')}">${report_escapeHtml(v)} ${counts.byVerdict[v].toLocaleString('en-US')}</span>`);
    return [
        `<header><h1>govern session <span id="run-verdict" class="run run-${verdict}">${verdict}</span> <span id="mode" class="mode">${report_escapeHtml(facts.policy.mode)}</span></h1>`,
        `<p id="tally">${counts.operations.toLocaleString('en-US')} operations: ${tally.join(' ') || 'none'}; ${counts.masked.toLocaleString('en-US')} values masked.</p>`,
        '<dl class="facts">',
        fact('identity', report_escapeHtml(report_describeIdentity(facts.identity)), 'identity'),
        fact('session', code(facts.session_id), 'session-id'),
        fact('start', report_escapeHtml(facts.started_at), 'started'),
        fact('end', `${report_escapeHtml(facts.ended_at)} (${report_escapeHtml(facts.end_reason)})`, 'ended'),
        fact('duration', report_escapeHtml(report_formatDuration(duration)), 'duration'),
        ...(command ? [fact('command', `${code(command.text)} ${report_escapeHtml(exit)}`, 'command')] : []),
        fact('policy', `${code(facts.policy.file)} sha256 ${code(facts.policy.sha256)}`, 'policy'),
        fact('connections', facts.connections.map((c) => `${code(c.name)} ${report_escapeHtml(c.protocol)} ${report_escapeHtml(c.target)} as ${code(`$${c.export}`)}`).join('<br>') || 'none', 'connections'),
        fact('signature', `This page is part of the session bundle signed by ${code(facts.public_key)}; an altered page or recording fails <br>${code(report_verifyCommand(facts))}`, 'signature'),
        '</dl>',
        ...(view.incidents.length ? [`<p class="incidents" id="incidents">${view.incidents.length} connection problem${view.incidents.length === 1 ? '' : 's'} (refused or failed target connections, protocol violations): listed below.</p>`] : []),
        ...(view.omitted ? [`<p>${view.omitted.toLocaleString('en-US')} allowed operations past the first ${view.ops.length.toLocaleString('en-US')} are counted but not listed: <code>govern replay</code> shows them.</p>`] : []),
        '</header>',
    ].join('\n');
}
/** The whole page as a string; `appendix` is markup of the gateway's own (terminal players) placed at its end. */
function reportPage(facts, view, appendix = '') {
    return [
        '<!doctype html>',
        '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">',
        // No network: nothing but this page's own inline style and script may load.
        `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">`,
        `<title>govern session ${report_escapeHtml(facts.session_id)}</title><style>${VIEWER_STYLE}</style></head><body>`,
        header(facts, view),
        '<main id="viewer"><p class="nojs">The operations are listed by the script of this page; <code>govern replay</code> shows them as text.</p></main>',
        `<script type="application/json" id="govern-data">${scriptSafeJson(view)}</script>`,
        `<script>${VIEWER_SCRIPT}</script>`,
        appendix,
        '</body></html>',
        '',
    ].join('\n');
}
async function writeReport(path, facts, view, appendix = '') {
    await (0,promises_.writeFile)(path, reportPage(facts, view, appendix));
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/cast-player.ts


/** Every terminal recording in a bundle (ssh/<seq>.cast), in the order of their operations. */
function recordedCasts(dir) {
    const folder = (0,external_node_path_.join)(dir, 'ssh');
    if (!(0,external_node_fs_.existsSync)(folder))
        return [];
    return (0,external_node_fs_.readdirSync)(folder)
        .map((name) => /^(\d+)\.cast$/.exec(name))
        .filter((m) => m !== null)
        .map((m) => ({ seq: Number(m[1]), file: (0,external_node_path_.join)(folder, m[0]) }))
        .sort((a, b) => a.seq - b.seq);
}
/** Terminal recordings of a bundle: ssh/<seq>.cast, seq being the shell's operation event. */
function terminalCasts(dir, events, connection) {
    return events
        .filter((e) => e.type === 'operation' && e.protocol === 'ssh' && (!connection || e.connection === connection))
        .map((e) => ({ seq: e.seq, file: (0,external_node_path_.join)(dir, 'ssh', `${e.seq}.cast`) }))
        .filter((c) => (0,external_node_fs_.existsSync)(c.file));
}
/**
 * Plays an asciicast v2 file's output at its recorded pace, `speed` times faster. Lines that are not
 * events (a truncated last line) are skipped rather than stopping the playback.
 */
async function playCast(file, write, speed = 1) {
    const lines = (0,external_node_fs_.readFileSync)(file, 'utf8').split('\n').slice(1).filter(Boolean);
    const started = performance.now();
    for (const line of lines) {
        let event;
        try {
            event = JSON.parse(line);
        }
        catch {
            continue;
        }
        if (!Array.isArray(event) || typeof event[0] !== 'number' || event[1] !== 'o' || typeof event[2] !== 'string')
            continue;
        const due = (event[0] * 1000) / speed - (performance.now() - started);
        if (due > 0)
            await new Promise((r) => setTimeout(r, due));
        write(event[2]);
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/cast-html.ts


/**
 * Terminal recordings for report.html: one section per cast, played in the page by a small inline
 * script (no network, so the bundle's page works offline). The player draws text in a <pre>: cursor
 * movement and colours are dropped, carriage returns (overwriting) and backspaces are honoured, which is enough for
 * shells and command output; full-screen programs come out as their text.
 */
function terminalSectionsHtml(casts) {
    if (casts.length === 0)
        return '';
    const sections = casts.map(({ seq, file }) => {
        // The cast is JSON lines written by the gateway; embedded as JSON text, never as markup.
        const data = JSON.stringify((0,external_node_fs_.readFileSync)(file, 'utf8')).replace(/</g, '\\u003c');
        return `<section class="terminal"><h3>Terminal of operation #${report_escapeHtml(seq)}</h3><button type="button">Play</button> <select><option value="1">1×</option><option value="4">4×</option><option value="16">16×</option></select><pre></pre><script type="application/json">${data}</script></section>`;
    });
    return `<h2>Terminals</h2>${sections.join('')}<style>.terminal pre{background:#111;color:#ddd;padding:8px;min-height:4em;white-space:pre-wrap}</style><script>${PLAYER}</script>`;
}
const PLAYER = `(() => {
  const strip = (s) => s.replace(/\\x1b\\[[0-9;?]*[ -\\/]*[@-~]/g, '').replace(/\\x1b\\][^\\x07\\x1b]*(\\x07|\\x1b\\\\)/g, '').replace(/\\x1b[()][0-9A-Za-z]|\\x1b[=>78]/g, '');
  const apply = (screen, text) => {
    for (const c of strip(text)) {
      if (c === '\\r') screen.col = 0;
      else if (c === '\\n') { screen.done += screen.line + '\\n'; screen.line = ''; screen.col = 0; }
      else if (c === '\\b') screen.col = Math.max(0, screen.col - 1);
      else if (c >= ' ' || c === '\\t') { screen.line = screen.line.slice(0, screen.col).padEnd(screen.col) + c + screen.line.slice(screen.col + 1); screen.col++; }
    }
  };
  for (const section of document.querySelectorAll('section.terminal')) {
    const lines = JSON.parse(section.querySelector('script').textContent).split('\\n').filter(Boolean);
    const events = lines.slice(1).map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter((e) => Array.isArray(e) && e[1] === 'o');
    const pre = section.querySelector('pre');
    const speed = section.querySelector('select');
    let timer;
    section.querySelector('button').addEventListener('click', () => {
      clearTimeout(timer);
      const screen = { done: '', line: '', col: 0 };
      const started = performance.now();
      let next = 0;
      const step = () => {
        const now = (performance.now() - started) / 1000 * Number(speed.value);
        while (next < events.length && events[next][0] <= now) apply(screen, events[next++][2]);
        pre.textContent = screen.done + screen.line;
        if (next < events.length) timer = setTimeout(step, Math.max(10, (events[next][0] - now) * 1000 / Number(speed.value)));
      };
      step();
    });
    const whole = { done: '', line: '', col: 0 };
    for (const e of events) apply(whole, e[2]);
    pre.textContent = whole.done + whole.line;
  }
})();`;

;// CONCATENATED MODULE: ./runner-proxy/src/gateway/gateway.ts















/** Why a connection cannot start: `policy check` says the same, from the same registry. */
function cannotServe(connection, adapters) {
    return `connection "${connection.name}" uses ${connection.protocol}, which this build of govern cannot serve (it serves ${[...adapters.keys()].join(', ')})`;
}
/** The forward proxy's name in the manifest and status: no connection can be called this. */
const PROXY_NAME = '(proxy)';
/** The bundle's self-contained viewer. */
const REPORT_FILE = 'report.html';
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
    #view;
    #markStopped;
    #failStopped;
    /** Settles once the bundle is finalized (or finalizing failed), whoever asked for the stop. */
    stopped = new Promise((resolve, reject) => {
        this.#markStopped = resolve;
        this.#failStopped = reject;
    });
    constructor(options, recorder) {
        // Whoever waits on `stopped` sees a failed stop; nobody waiting is no unhandled rejection.
        this.stopped.catch(() => undefined);
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
                if (!adapter)
                    throw new GovernError(ErrorCode.AdapterUnavailable, cannotServe(connection, options.adapters));
                const listener = await adapter.listen({ connection, governor: gateway.governor, log: options.log });
                gateway.#connections.push({ name: connection.name, protocol: connection.protocol, export: connection.export, target: listener.target, listener });
                recorder.append('listener.ready', { connection: connection.name, protocol: connection.protocol, target: listener.target, exports: Object.keys(listener.exports) });
            }
            if (policy.proxy)
                await gateway.#startProxy(policy.proxy);
        }
        catch (e) {
            // The bundle still tells what happened: it ends, signed, with the reason the gateway did not start.
            await gateway.stop(`failed to start: ${e.message}`).catch(() => undefined);
            throw e;
        }
        return gateway;
    }
    /** The session as the report shows it, once the gateway has stopped. */
    get view() {
        return this.#view;
    }
    /** The forward proxy: a listener of its own, served by the HTTP adapter. */
    async #startProxy(proxy) {
        const adapter = this.#options.adapters.get('http');
        if (!adapter?.listenProxy)
            throw new GovernError(ErrorCode.AdapterUnavailable, 'the policy has a proxy section, which this build of govern cannot serve');
        const listener = await adapter.listenProxy({ proxy, governor: this.governor, log: this.#options.log, label: this.sessionId.slice(0, 8) });
        this.#connections.push({ name: PROXY_NAME, protocol: 'http', export: 'HTTPS_PROXY', target: listener.target, listener });
        this.governor.recorder.append('listener.ready', { connection: PROXY_NAME, protocol: 'http', target: listener.target, exports: Object.keys(listener.exports) });
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
            approval_timeout_ms: this.#options.policy.approvals.timeoutMs,
        };
    }
    /**
     * Drains, denies what still waits for approval, and writes the signed manifest. Idempotent. `stopped`
     * settles either way, so a gateway that cannot finalize (its disk is gone) still ends.
     */
    stop(reason) {
        this.#stopping ??= this.#finalize(reason).then((manifest) => {
            this.#markStopped(manifest);
            return manifest;
        }, (e) => {
            this.#failStopped(e);
            throw e;
        });
        return this.#stopping;
    }
    /**
     * The last resort of the gateway's process: an error that escaped every connection's guard is
     * logged and recorded, and the gateway keeps serving the other connections. Returns the undo.
     */
    guardProcess() {
        const onFault = (e) => {
            this.#options.log.warn(`unexpected error, the gateway serves on: ${e?.message ?? String(e)}`);
            this.governor.fault('process', e);
        };
        process.on('uncaughtException', onFault);
        process.on('unhandledRejection', onFault);
        return () => {
            process.off('uncaughtException', onFault);
            process.off('unhandledRejection', onFault);
        };
    }
    async #finalize(reason) {
        const { policy, principal, outDir } = this.#options;
        this.governor.approvals.denyAll('the gateway stopped');
        const drainMs = this.#options.drainMs ?? 10_000;
        await Promise.all(this.#connections.map((c) => c.listener.close(drainMs)));
        await this.governor.approvals.outcomesShown(drainMs);
        const recorder = this.governor.recorder;
        const counts = { ...this.governor.counts };
        if (!recorder.failure)
            recorder.append('session.end', { reason, counts });
        await recorder.close().catch(() => undefined);
        recorder.releaseReserve();
        const eventsPath = (0,external_node_path_.join)(outDir, EVENTS_FILE);
        let events = { count: recorder.head.count, head: recorder.head.hash };
        if (recorder.failure) {
            events = writtenEvents((0,external_node_fs_.readFileSync)(eventsPath), recorder.head.count, recorder.failure.message);
            this.#options.log.warn(`${EVENTS_FILE}: ${events.failure}`);
        }
        const body = {
            session_id: this.sessionId,
            started_at: this.#startedAt,
            ended_at: new Date((this.#options.now ?? Date.now)()).toISOString(),
            end_reason: reason,
            identity: principalRecord(principal),
            policy: { file: policy.file, sha256: policy.sha256, mode: policy.mode },
            connections: this.#connections.map(({ name, protocol, export: exp, target }) => ({ name, protocol, export: exp, target })),
            counts,
            events,
        };
        // The report is written before the manifest, so the signature covers it too; events.jsonl is read
        // one line at a time, however long the session (a line cut off by a full disk is left out).
        const view = (this.#view = await SessionViewBuilder.read(eventsPath));
        try {
            // Terminal recordings play inside the page (their own module, so the page's layout can change freely).
            const terminals = terminalSectionsHtml(recordedCasts(outDir));
            await writeReport((0,external_node_path_.join)(outDir, REPORT_FILE), { ...body, public_key: this.signer.publicKey, bundle_dir: outDir }, view, terminals);
        }
        catch (e) {
            // A full disk: the manifest matters more than the page, which `govern replay` can stand in for.
            (0,external_node_fs_.rmSync)((0,external_node_path_.join)(outDir, REPORT_FILE), { force: true });
            this.#options.log.warn(`cannot write ${REPORT_FILE}: ${e.message}`);
        }
        return writeManifest(outDir, body, this.signer);
    }
}
/**
 * After a recording failure the chain is what reached the file: up to its last whole event. The
 * sentence says where the record stops and what was lost after it. No operation among the lost events
 * reached a target (an operation whose event cannot be written is refused); results and notes may be.
 */
function writtenEvents(content, appended, cause) {
    const { last, cutBytes } = recordedTail(content);
    const count = last?.seq ?? 0;
    const cut = cutBytes ? `event ${count + 1} is cut off after ${cutBytes} bytes` : '';
    const lost = appended - count - (cutBytes ? 1 : 0);
    const unwritten = lost > 0 ? `${lost} later event${lost === 1 ? ' was' : 's were'} never written` : '';
    const what = [cut, unwritten].filter(Boolean).join(' and ') || 'nothing after it was lost';
    return { count, head: last?.hash ?? GENESIS, failure: `the record stops after event ${count}: ${what} (${cause})` };
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/job-summary.ts


/**
 * The job summary: the run in one headline, then every exception (however many allowed operations
 * surround them), the statements most run, masked counts, where the bundle is and how to check it.
 * GitHub refuses a step summary over 1 MiB, so the listing is budgeted and what does not fit is grouped.
 */
/** GitHub's limit for one step's summary is 1 MiB; leave room for what other steps add. */
const SUMMARY_BUDGET = (/* unused pure expression or super */ null && (900 * 1024));
const TOP_STATEMENTS = 15;
const cut = (text, max) => {
    const s = text.replace(/\s+/g, ' ').trim();
    return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};
const n = (value) => value.toLocaleString('en-US');
/** The headline's status word, without emoji: PASS, BLOCKED or DENIED. */
function summaryHeadline(view, mode) {
    const counts = countVerdicts(view);
    const v = counts.byVerdict;
    const parts = [
        `${n(counts.operations)} operations`,
        `${n(v.allow)} allowed`,
        v.block && `${n(v.block)} blocked`,
        v.approved && `${n(v.approved)} approved`,
        v.denied + v['timed out'] + v.held && `${n(v.denied + v['timed out'] + v.held)} denied`,
        v['would block'] && `${n(v['would block'])} would be blocked`,
        v['would hold'] && `${n(v['would hold'])} would wait for approval`,
        `${n(counts.masked)} values masked`,
    ].filter(Boolean);
    return `govern ${runVerdict(counts).toUpperCase()} (${mode} mode): ${parts.join(', ')}`;
}
function exceptionRow(view, index) {
    const op = view.ops[index];
    const d = view.details[index];
    const approval = d?.approval;
    const note = approval ? `${approval.id}${approval.by ? `, by ${approval.by}` : ''}${approval.reason ? `: ${cut(approval.reason, 120)}` : ''}` : '';
    const s = (i) => (i >= 0 ? view.strings[i] : '');
    return `<tr><td>${escapeHtml(VERDICTS[op[Col.Verdict]])}</td><td>#${op[Col.Seq]}</td><td>${escapeHtml(s(op[Col.Connection]))}</td><td><code>${escapeHtml(cut(s(op[Col.Text]), 300))}</code></td><td>${escapeHtml(s(op[Col.Rule]))}</td><td>${escapeHtml(note)}</td></tr>`;
}
/** The summary as HTML, within SUMMARY_BUDGET bytes whatever the session's size. */
function jobSummaryHtml(view, facts) {
    const parts = [`<h2>${escapeHtml(summaryHeadline(view, facts.mode))}</h2>`];
    if (facts.problem)
        parts.push(`<p><strong>The session bundle does not verify:</strong> ${escapeHtml(facts.problem)}</p>`);
    parts.push(`<p>Identity: ${escapeHtml(describeIdentity(facts.identity))}; session <code>${escapeHtml(facts.session_id)}</code>, ${escapeHtml(facts.started_at)} for ${escapeHtml(formatDuration(Date.parse(facts.ended_at) - Date.parse(facts.started_at)))}.</p>`);
    const exceptions = exceptionIndexes(view);
    parts.push(`<h3>Exceptions (${n(exceptions.length)})</h3>`);
    if (exceptions.length === 0)
        parts.push('<p>Nothing was blocked, denied or held.</p>');
    else {
        // Exceptions come first and complete: listed one by one while they fit, then grouped by statement.
        const budget = SUMMARY_BUDGET / 2;
        const rows = [];
        let size = 0;
        let listed = 0;
        for (const index of exceptions) {
            const row = exceptionRow(view, index);
            if (size + row.length > budget)
                break;
            rows.push(row);
            size += row.length;
            listed++;
        }
        parts.push('<table><tr><th>verdict</th><th>event</th><th>connection</th><th>operation</th><th>rule</th><th>approval</th></tr>', ...rows, '</table>');
        if (listed < exceptions.length) {
            const rest = groupStatements({ ...view, ops: exceptions.slice(listed).map((i) => view.ops[i]) });
            parts.push(`<p>${n(exceptions.length - listed)} more exceptions, by statement:</p><table><tr><th>count</th><th>connection</th><th>statement</th><th>verdicts</th></tr>`);
            let restSize = 0;
            for (const g of rest) {
                const row = `<tr><td>${n(g.count)}</td><td>${escapeHtml(g.connection)}</td><td><code>${escapeHtml(cut(g.fingerprint, 200))}</code></td><td>${escapeHtml(verdictList(g.verdicts))}</td></tr>`;
                if (restSize + row.length > budget / 2) {
                    parts.push(`<tr><td colspan="4">and more: report.html lists every one</td></tr>`);
                    break;
                }
                parts.push(row);
                restSize += row.length;
            }
            parts.push('</table>');
        }
    }
    const groups = groupStatements(view);
    if (groups.length) {
        parts.push(`<h3>Top statements (${n(groups.length)} distinct)</h3><table><tr><th>count</th><th>connection</th><th>statement</th><th>verdicts</th><th>rows</th><th>masked</th></tr>`);
        for (const g of groups.slice(0, TOP_STATEMENTS)) {
            parts.push(`<tr><td>× ${n(g.count)}</td><td>${escapeHtml(g.connection)}</td><td><code>${escapeHtml(cut(g.fingerprint, 200))}</code></td><td>${escapeHtml(verdictList(g.verdicts))}</td><td>${n(g.rows)}</td><td>${n(g.masked)}</td></tr>`);
        }
        parts.push('</table>');
    }
    const masked = maskedByKind(view);
    if (masked.size) {
        parts.push('<h3>Masked values</h3><table><tr><th>type or column</th><th>values</th></tr>');
        for (const [kind, count] of [...masked].sort((a, b) => b[1] - a[1]).slice(0, 30))
            parts.push(`<tr><td>${escapeHtml(kind)}</td><td>${n(count)}</td></tr>`);
        parts.push('</table>');
    }
    parts.push('<h3>Session bundle</h3>');
    const artifact = facts.artifact;
    if (artifact) {
        parts.push(`<p>Artifact ${artifact.url ? `<a href="${escapeHtml(artifact.url)}">${escapeHtml(artifact.name)}</a>` : `<code>${escapeHtml(artifact.name)}</code>`}: open <code>report.html</code> in it for every operation, with filters and search.</p>`);
    }
    else
        parts.push(`<p>The bundle is in <code>${escapeHtml(facts.bundle_dir)}</code>: open <code>report.html</code> in it for every operation.</p>`);
    // The artifact unzips into a directory of its name; without one, the bundle is where the gateway wrote it.
    const verify = verifyCommand({ ...facts, ...(artifact && { bundle_dir: artifact.name }) });
    parts.push(`<p>Signed by <code>${escapeHtml(facts.public_key)}</code>. Check it${artifact ? ' once downloaded and unzipped' : ''} with <code>${escapeHtml(verify)}</code>.</p>`);
    return `${parts.join('\n')}\n`;
}
function verdictList(verdicts) {
    return Object.entries(verdicts)
        .map(([v, count]) => `${v} ${n(count)}`)
        .join(', ');
}
function exceptionIndexes(view) {
    const out = [];
    view.ops.forEach((op, i) => EXCEPTIONS.has(session_view_VERDICTS[op[session_view_Col.Verdict]]) && out.push(i));
    return out;
}
/** Masked values by detector type and column, where results recorded the breakdown. */
function maskedByKind(view) {
    const out = new Map();
    for (const detail of Object.values(view.details)) {
        for (const [kind, count] of Object.entries(detail.masked_by ?? {}))
            out.set(kind, (out.get(kind) ?? 0) + count);
    }
    return out;
}
/** The exceptions as plain text lines for a job log (GitLab shows no step summary). */
function exceptionLines(view, max = 200) {
    const exceptions = exceptionIndexes(view);
    const lines = exceptions.slice(0, max).map((index) => {
        const op = view.ops[index];
        const rule = op[session_view_Col.Rule] >= 0 ? ` (rule ${view.strings[op[session_view_Col.Rule]]})` : '';
        return `  ${session_view_VERDICTS[op[session_view_Col.Verdict]].toUpperCase().padEnd(11)} #${op[session_view_Col.Seq]} ${view.strings[op[session_view_Col.Connection]]}: ${cut(view.strings[op[session_view_Col.Text]], 160)}${rule}`;
    });
    if (exceptions.length > max)
        lines.push(`  … and ${exceptions.length - max} more: report.html lists every one`);
    return lines;
}

;// CONCATENATED MODULE: ./runner-proxy/src/gateway/summary.ts


/**
 * The end-of-run summary for the job log (GitLab shows no step summary, so this is where its auditors
 * look): the headline, counts, every exception, where the bundle and its report are, and how to verify.
 */
function formatSummary(manifest, outDir, view) {
    const c = manifest.counts;
    const observed = c.would_block || c.would_hold ? `, ${c.would_block} would block, ${c.would_hold} would hold` : '';
    const exceptions = view ? exceptionLines(view) : [];
    const lines = [
        view ? summaryHeadline(view, manifest.policy.mode) : 'govern session',
        `  identity     ${report_describeIdentity(manifest.identity)}`,
        `  policy       ${manifest.policy.file} (${manifest.policy.mode}, sha256 ${manifest.policy.sha256.slice(0, 12)})`,
        ...manifest.connections.map((conn) => `  connection   ${conn.name}: ${conn.protocol} ${conn.target} as $${conn.export}`),
        `  operations   ${c.operations}: ${c.allowed} allowed, ${c.blocked} blocked, ${c.approved} approved, ${c.denied} denied${observed}`,
        `  masked       ${c.masked_values} values`,
        ...(exceptions.length ? ['  exceptions', ...exceptions.map((line) => `  ${line}`)] : []),
        `  bundle       ${outDir} (${manifest.events.count} events, head ${manifest.events.head.slice(0, 12)})`,
        `  report       ${outDir}/report.html`,
        `  signed by    ${manifest.public_key}`,
        `  verify with  ${report_verifyCommand({ bundle_dir: outDir, public_key: manifest.public_key })}`,
        ...(manifest.events.failure ? [`  recording    FAILED: ${manifest.events.failure}`] : []),
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

;// CONCATENATED MODULE: ./runner-proxy/src/identity/token-text.ts
/** The longest piece of a token that a message repeats; enough to recognise a claim, too short to flood a log. */
const MAX_CHARS = 120;
// C0 and C1 controls, DEL, and the Unicode line and paragraph separators: none may start a new log line
// (a claim holding "\n::error::…" would otherwise write a workflow command of its own into the job log).
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
/**
 * Every value taken from a token passes through here before it goes into a message: control characters
 * become a space and the text is cut to a sane length. Objects and lists are named, never converted
 * (a claim such as {"toString": 1} cannot be turned into a string).
 */
function tokenText(value) {
    if (value === null)
        return 'null';
    if (Array.isArray(value))
        return 'a JSON list';
    if (typeof value === 'object')
        return 'a JSON object';
    if (typeof value !== 'string')
        return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
    const clean = value.replace(CONTROL, ' ');
    return clean.length > MAX_CHARS ? `${clean.slice(0, MAX_CHARS)}…` : clean;
}
/** tokenText in double quotes, for a value that may hold spaces. */
const quotedTokenText = (value) => (typeof value === 'string' ? `"${tokenText(value)}"` : tokenText(value));
const SEGMENT = /^[A-Za-z0-9_-]+$/;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/**
 * Why a token is not three canonical base64url segments (RFC 7515 §2: no padding, no whitespace, and
 * unused trailing bits zero), or undefined when it is. Lenient decoding would give one signed token many
 * spellings; the signature is checked over the spelling received, so only one may be accepted.
 */
function segmentProblem(token) {
    const segments = token.split('.');
    if (segments.length !== 3)
        return `it is not a JWT: ${segments.length} dot-separated parts, not 3`;
    const names = ['header', 'claims', 'signature'];
    for (const [i, segment] of segments.entries()) {
        // An empty signature is left to the algorithm check, which names alg "none".
        if (segment === '' && i === 2)
            continue;
        if (!SEGMENT.test(segment)) {
            return segment === '' ? `its ${names[i]} part is empty` : `its ${names[i]} part is not base64url (padding, whitespace or other characters)`;
        }
        const tail = segment.length % 4;
        const lastBits = BASE64URL.indexOf(segment.at(-1));
        if (tail === 1 || (tail === 2 && (lastBits & 0b1111) !== 0) || (tail === 3 && (lastBits & 0b11) !== 0)) {
            return `its ${names[i]} part is not canonical base64url (its last character carries bits that encode nothing)`;
        }
    }
    return undefined;
}

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
        return entry.issuer;
    }
    async verify(token) {
        const malformed = segmentProblem(token);
        if (malformed)
            throw new TokenRejectedError('format', malformed);
        const header = readHeader(token);
        let unverified;
        try {
            unverified = (0,decode_jwt/* decodeJwt */.i)(token);
        }
        catch (cause) {
            throw new TokenRejectedError('format', 'its claims are not a JSON object', { cause });
        }
        // OpenID Connect compares the issuer exactly: no trailing-slash or case leniency.
        const iss = unverified.iss;
        if (iss === undefined)
            throw new TokenRejectedError('iss', 'token has no "iss" claim');
        if (typeof iss !== 'string')
            throw new TokenRejectedError('iss', `"iss" claim is ${tokenText(iss)}, not a string`);
        const candidates = this.#policy.trust
            .map((entry, index) => ({ entry, index }))
            .filter(({ entry }) => this.issuerUrl(entry) === iss);
        if (candidates.length === 0) {
            const trusted = [...new Set(this.#policy.trust.map((e) => this.issuerUrl(e)))].join(', ');
            throw new TokenRejectedError('iss', `issuer ${quotedTokenText(iss)} is not trusted; the policy trusts ${trusted}`);
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
                issuer: iss,
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
            return new TokenRejectedError('exp', `token expired ${nowS - e.payload.exp} s ago`, { cause: e });
        }
        if (e instanceof errors/* JWTClaimValidationFailed */.ie) {
            const { claim, reason, payload } = e;
            if (reason === 'missing')
                return new TokenRejectedError(claim, `token has no "${claim}" claim`, { cause: e });
            if (claim === 'aud') {
                const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
                const listed = aud.every((a) => typeof a === 'string') ? `[${aud.map(quotedTokenText).join(',')}]` : tokenText(payload.aud);
                return new TokenRejectedError('aud', `audience "${this.#policy.audience}" not in token aud ${listed}`, { cause: e });
            }
            if (claim === 'nbf') {
                return new TokenRejectedError('nbf', `token not valid for another ${payload.nbf - nowS} s ("nbf" in the future)`, { cause: e });
            }
            const value = payload[claim];
            const what = value !== null && typeof value === 'object' ? `is ${tokenText(value)}, which` : 'is';
            return new TokenRejectedError(claim, `"${claim}" claim ${what} not valid`, { cause: e });
        }
        if (e instanceof errors/* JWKSNoMatchingKey */.BT) {
            return new TokenRejectedError('kid', `no key in the issuer's JWKS matches kid ${kid === undefined ? 'null' : quotedTokenText(kid)}`, { cause: e });
        }
        if (e instanceof errors/* JWSSignatureVerificationFailed */.h2) {
            return new TokenRejectedError('signature', "signature does not verify against the issuer's keys", { cause: e });
        }
        if (e instanceof errors/* JWKSTimeout */.xb || e instanceof errors/* JWKSInvalid */.Dm || (e instanceof TypeError && /fetch/i.test(e.message))) {
            return new GovernError(ErrorCode.IssuerUnreachable, `cannot fetch the issuer's keys: ${e.message}`, { cause: e });
        }
        if (e instanceof errors/* JOSEError */.i4)
            return new TokenRejectedError('format', `token is malformed: ${tokenText(e.message)}`, { cause: e });
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
        const url = `${iss.replace(/\/$/, '')}/.well-known/openid-configuration`;
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
        if (config.issuer !== iss || typeof config.jwks_uri !== 'string') {
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
    const alg = header.alg;
    if (typeof alg === 'string' && alg.toLowerCase() === 'none')
        throw new TokenRejectedError('alg', 'token is unsigned (alg "none")');
    if (typeof alg !== 'string' || !ALGORITHMS.includes(alg)) {
        throw new TokenRejectedError('alg', `algorithm ${quotedTokenText(alg)} is not allowed; only RS256 and ES256 are`);
    }
    for (const key of ['jwk', 'jku', 'x5u', 'x5c']) {
        if (header[key] !== undefined) {
            throw new TokenRejectedError(key, `token header carries "${key}"; keys come only from the issuer's JWKS`);
        }
    }
    if (header.kid !== undefined && typeof header.kid !== 'string')
        throw new TokenRejectedError('kid', `header "kid" is ${tokenText(header.kid)}, not a string`);
    return { ...(header.kid !== undefined && { kid: header.kid }) };
}
function claimMatches(actual, wanted) {
    if (actual === undefined || actual === null || typeof actual === 'object')
        return false;
    const value = String(actual);
    return (Array.isArray(wanted) ? wanted : [wanted]).some((w) => typeof w === 'string' ? globMatcher(w, { separator: '/' })(value) : String(w) === value);
}
function matchTrust(candidates, payload) {
    // A forge's token (GitHub Enterprise Server's too, under its own issuer URL) is let in only by an entry that pins the repository.
    const forge = forgeOfToken(payload);
    const unpinned = forge && candidates.find(({ entry }) => !isPinned(entry, forge));
    if (unpinned)
        throw new TokenRejectedError('claims', `identity.trust[${unpinned.index}] ${unpinnedReason(forge)}`);
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
    const actual = m.actual === undefined ? 'absent'
        : m.actual !== null && typeof m.actual === 'object' ? `is ${tokenText(m.actual)}, which never matches (claims match only as strings, numbers or booleans)`
            : `was ${tokenText(m.actual)}`;
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
    log.info(`identity verified from ${obtained.source}: ${tokenText(principal.subject ?? principal.issuer)}${principal.readOnly ? ' (read-only)' : ''}`);
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
    for (const w of policy.warnings)
        log.warn(`${w.file}:${w.line}: ${w.message}`);
    const { principal, tokenVariable } = await identify(policy, env, tokenEnv, log);
    const out = (0,external_node_path_.resolve)(outDir);
    const provider = approvalProvider(policy.approvals, principal, env, (m) => log.warn(m));
    const gateway = await Gateway.start({ policy, principal, outDir: out, adapters: builtInAdapters(), log, ...(provider && { approvalProvider: provider }) });
    const unguard = gateway.guardProcess();
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
    return { gateway, policy, control, withheld: [...policy.variables, ...(tokenVariable ? [tokenVariable] : [])], unguard };
}
async function handleControl(gateway, request, approver) {
    switch (request.cmd) {
        case 'status':
            return gateway.status();
        case 'stop': {
            const manifest = await gateway.stop('govern stop');
            return formatSummary(manifest, gateway.outDir, gateway.view);
        }
        case 'approve':
        case 'deny':
            gateway.governor.approvals.decide(request.id, request.cmd === 'approve', approver, request.reason);
            return { id: request.id, decided: request.cmd };
        default:
            throw new GovernError(ErrorCode.ControlFailed, `unknown control command ${JSON.stringify(request.cmd)}`);
    }
}
/**
 * Stops a launched gateway in this process: finalize, close the control socket, forget the runtime
 * file. The last three happen even when finalizing fails, so the process can end.
 */
async function shutdown({ gateway, control, unguard }, reason) {
    try {
        const manifest = await gateway.stop(reason);
        return formatSummary(manifest, gateway.outDir, gateway.view);
    }
    finally {
        await new Promise((done) => control.close(done));
        removeRuntimeInfo(gateway.outDir);
        unguard();
    }
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
    // A young generation of 2 MB rather than V8's up to 48 MB: the gateway's garbage (frames, statements,
    // events) dies young, and the default made up a third of its resident memory under load.
    const args = ['--max-semi-space-size=2', entry, 'serve', '--out', outDir, '--ready-fd', '3'];
    if (policy)
        args.push('--policy', (0,external_node_path_.resolve)(policy));
    if (tokenEnv)
        args.push('--token-env', tokenEnv);
    if (mode)
        args.push('--mode', mode);
    // Two malloc arenas rather than eight per core: V8 compiles the SQL parser's WebAssembly on background
    // threads, and memory freed there stayed with the process (204–226 MB after 100,000 distinct
    // statements, 164 MB with two arenas).
    const child = (0,external_node_child_process_.spawn)(process.execPath, args, { detached: true, stdio: ['ignore', logFd, logFd, 'pipe'], env: { MALLOC_ARENA_MAX: '2', ...env } });
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
    return { env: message.env ?? {}, secrets: message.secrets ?? [], withheld: message.withheld ?? [], publicKey: message.publicKey ?? '', identity: message.identity ?? 'unknown', outDir, pid: child.pid };
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
    // GOVERN_OUT lets status, approve, deny and stop find this gateway without --out, as SSH_AUTH_SOCK does for ssh-add.
    io.stdout.write(formatEnv({ ...started.env, GOVERN_OUT: started.outDir }, format, started.withheld));
    io.stderr.write(`govern start: gateway ready (pid ${started.pid}); identity ${started.identity}; signing key ${started.publicKey}; bundle in ${started.outDir}\n`);
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
    // A stop that cannot finalize still ends the gateway: `stopped` settles, and shutdown reports why.
    const stopOnSignal = (signal) => void launched.gateway.stop(`received ${signal}`).catch(() => undefined);
    process.once('SIGTERM', stopOnSignal);
    process.once('SIGINT', stopOnSignal);
    report({
        ready: true,
        env: launched.gateway.exports(),
        secrets: launched.gateway.secrets(),
        withheld: launched.withheld,
        publicKey: launched.gateway.signer.publicKey,
        identity: report_describeIdentity(principalRecord(launched.gateway.governor.principal)),
    });
    await launched.gateway.stopped.catch(() => undefined);
    // Closing the control server waits for the stop request's answer to leave.
    log.info((await shutdown(launched, 'stopped')).trimEnd());
    return 0;
}
async function stopCommand({ values, io }) {
    const outDir = values.out;
    if (!(0,external_node_fs_.existsSync)((0,external_node_path_.join)(outDir, RUNTIME_FILE)) && (0,external_node_fs_.existsSync)((0,external_node_path_.join)(outDir, MANIFEST_FILE))) {
        io.stderr.write(`govern stop: the gateway of ${outDir} has already stopped; its signed bundle is in ${outDir} (open report.html, or run govern verify ${outDir})\n`);
        return 0;
    }
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
async function statusCommand({ values, env, io }) {
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
        `operations: ${c.operations} (${c.allowed} allowed, ${c.blocked} blocked, ${c.approved} approved, ${c.denied} denied${c.would_block || c.would_hold ? `; observed: ${c.would_block} would block, ${c.would_hold} would hold` : ''}), ${c.masked_values} values masked`,
        status.pending.length ? 'waiting for approval:' : 'nothing waits for approval',
        ...status.pending.flatMap((p) => {
            const waited = Date.now() - Date.parse(p.requested_at);
            const left = Math.max(0, Math.round((status.approval_timeout_ms - waited) / 1000));
            const where = env.GOVERN_OUT === status.out_dir ? '' : ` --out ${status.out_dir}`;
            return [
                `  ${p.id}  ${p.connection}  rule ${p.rule}  waiting ${Math.round(waited / 1000)} s, ${left} s left before it is denied  ${p.operation}`,
                `    release it: govern approve ${p.id}${where}    refuse it: govern deny ${p.id}${where}`,
            ];
        }),
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
            const wouldBe = e.verdict === 'approve' ? 'WOULD HOLD' : `WOULD ${String(e.verdict).toUpperCase()}`;
            const verdict = e.enforced ? `${wouldBe} (observe: let through)` : String(e.verdict).toUpperCase();
            return `${oneLine(e.text)}  → ${verdict}${e.rule ? ` by ${String(e.rule)}` : ''}`;
        }
        case 'result': {
            const op = operations.get(e.op);
            const parts = [
                e.tag !== undefined && String(e.tag),
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
        case 'session.end': {
            const c = e.counts;
            const counted = c
                ? `; ${c.operations} operations: ${c.allowed} allowed, ${c.blocked} blocked, ${c.approved} approved, ${c.denied} denied, ${c.would_block ?? 0} would block, ${c.would_hold ?? 0} would hold`
                : '';
            return `session end: ${String(e.reason)}${counted}`;
        }
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
    // A line cut off by a failed write is no tampering when the signed manifest says the recording failed there.
    const declaredCut = chain.truncated && manifest.events.failure !== undefined;
    if (chain.problem && !declaredCut)
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
    return { ok: true, manifest, events: chain.events, ...(manifest.events.failure !== undefined && { failure: manifest.events.failure }) };
}
function checkChain(text) {
    const events = [];
    if (text.length > 0 && !text.endsWith('\n')) {
        // A line without its newline was cut off mid-write; name it, the rest is checked as usual.
        const count = text.split('\n').length;
        const partial = checkLines(text.split('\n').slice(0, -1), events);
        return partial.problem ? partial : { events, problem: `${EVENTS_FILE} is truncated: event ${count} is cut off`, brokenSeq: count, truncated: true };
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











/** The one session directory a command reads: it must exist and hold a recording. */
function oneBundle(positionals, command) {
    if (positionals.length !== 1)
        throw usage(`govern ${command} takes one session directory, such as ./govern-session`);
    const dir = positionals[0];
    if (!(0,external_node_fs_.existsSync)(dir))
        throw new GovernError(ErrorCode.BundleNotFound, `${dir} does not exist; give the directory the session was recorded in (--out of govern start or run, or the unzipped artifact)`);
    if (!(0,external_node_fs_.statSync)(dir).isDirectory())
        throw new GovernError(ErrorCode.BundleNotFound, `${dir} is a file; give the session directory that holds ${EVENTS_FILE}`);
    if (!(0,external_node_fs_.existsSync)((0,external_node_path_.join)(dir, EVENTS_FILE)))
        throw new GovernError(ErrorCode.BundleNotFound, `${dir} is not a session bundle: it has no ${EVENTS_FILE}`);
    return dir;
}
const PUBLIC_KEY = /^ed25519:[A-Za-z0-9_-]{43}$/;
async function inspect_verifyCommand({ values, positionals, io }) {
    const key = values.key;
    if (key !== undefined && !PUBLIC_KEY.test(key)) {
        throw usage(`--key must be the signing key printed by govern start, "ed25519:" and 43 base64url characters, not "${key.length > 60 ? `${key.slice(0, 60)}…` : key}"`);
    }
    const dir = oneBundle(positionals, 'verify');
    const result = verifyBundle(dir, values.key ? { expectedKey: values.key } : {});
    if (values.json) {
        const { events, manifest, ...rest } = result;
        io.stdout.write(`${JSON.stringify({ ...rest, events: events.length, public_key: manifest?.public_key }, null, 2)}\n`);
    }
    else if (result.ok) {
        const m = result.manifest;
        io.stdout.write(`${dir}: ok — ${m.events.count} events, chain head ${m.events.head.slice(0, 16)}, signed by ${m.public_key}\n`);
        if (result.failure)
            io.stdout.write(`${dir}: the recording failed, as the signed manifest says: ${result.failure}\n`);
    }
    else {
        const broken = result.brokenSeq !== undefined ? ` (first broken event: #${result.brokenSeq})` : '';
        io.stderr.write(`${dir}: FAILED — ${result.problem}${broken}\n`);
    }
    return result.ok ? 0 : 1;
}
async function replayCommand({ values, positionals, io }) {
    const dir = oneBundle(positionals, 'replay');
    const result = verifyBundle(dir);
    if (!result.ok)
        io.stderr.write(`warning: ${dir} does not verify: ${result.problem}\n`);
    io.stdout.write(formatTimeline(result.events, values.connection ? { connection: values.connection } : {}));
    if (!values.connection)
        return 0;
    const speed = values.speed === undefined ? 1 : Number(values.speed);
    if (!(speed > 0))
        throw usage(`--speed takes a positive number, such as 2 or 0.5, not "${String(values.speed)}"`);
    for (const cast of terminalCasts(dir, result.events, values.connection)) {
        io.stdout.write(`\n--- terminal of operation #${cast.seq} ---\n`);
        await playCast(cast.file, (text) => io.stdout.write(text), speed);
        io.stdout.write(`\n--- end of terminal #${cast.seq} ---\n`);
    }
    return 0;
}
async function policyCheckCommand({ values, positionals, env, io }) {
    const [sub, file, extra] = positionals;
    if (sub !== 'check' || !file || extra)
        throw usage('use govern policy check FILE');
    try {
        const policy = loadPolicy(file, { env, resolveVariables: !values['no-env'] });
        const adapters = builtInAdapters();
        const unserved = policy.connections.filter((c) => !adapters.has(c.protocol));
        if (unserved.length) {
            io.stderr.write(`${unserved.map((c) => `${file}: ${cannotServe(c, adapters)}`).join('\n')}\n${unserved.length} problem${unserved.length === 1 ? '' : 's'} in ${file}\n`);
            return 1;
        }
        const count = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;
        for (const w of policy.warnings)
            io.stderr.write(`${formatProblem({ ...w, message: `warning: ${w.message}` })}\n`);
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
        const child = (0,external_node_child_process_.spawn)(program, args, { stdio: 'inherit', env: jobEnvironment(env, launched.withheld, { ...launched.gateway.exports(), GOVERN_OUT: launched.gateway.outDir }) });
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
/** For commands that reach a running gateway: --out, else $GOVERN_OUT (exported by start), else the default. */
const gatewayOut = { type: 'string', short: 'o' };
const GATEWAY_OUT_HELP = 'DIR defaults to $GOVERN_OUT, which govern start exports, then ./govern-session';
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
        usage: `govern stop [--out DIR]  (${GATEWAY_OUT_HELP})`,
        options: { out: gatewayOut },
        run: stopCommand,
    },
    status: {
        summary: 'connections, counts and pending approvals of the running gateway',
        usage: `govern status [--out DIR] [--json]  (${GATEWAY_OUT_HELP})`,
        options: { out: gatewayOut, json: { type: 'boolean' } },
        run: statusCommand,
    },
    approve: {
        summary: 'release an operation held for approval',
        usage: `govern approve ID [--reason TEXT] [--out DIR]  (${GATEWAY_OUT_HELP})`,
        options: { out: gatewayOut, reason: { type: 'string' } },
        run: (ctx) => approveCommand(ctx, 'approve'),
    },
    deny: {
        summary: 'refuse an operation held for approval',
        usage: `govern deny ID [--reason TEXT] [--out DIR]  (${GATEWAY_OUT_HELP})`,
        options: { out: gatewayOut, reason: { type: 'string' } },
        run: (ctx) => approveCommand(ctx, 'deny'),
    },
    verify: {
        summary: 'check a bundle: signature, hash chain, completeness',
        usage: 'govern verify DIR [--key ed25519:…] [--json]',
        options: { key: { type: 'string' }, json: { type: 'boolean' } },
        run: inspect_verifyCommand,
    },
    replay: {
        summary: 'the session as a readable timeline',
        usage: 'govern replay DIR [--connection NAME [--speed N]]  (with --connection, its terminals play at their recorded pace)',
        options: { connection: { type: 'string' }, speed: { type: 'string' } },
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
        io.stderr.write(`govern ${name}: ${argumentProblem(e, name, command)}\n`);
        return 2;
    }
    if (command.options.out === gatewayOut)
        parsed.values.out ??= env.GOVERN_OUT || DEFAULT_OUT;
    const log = streamLogger(io.stderr, { timestamps: name === 'serve' });
    try {
        return await command.run({ values: parsed.values, positionals: parsed.positionals, env, io, log });
    }
    catch (e) {
        if (debug)
            io.stderr.write(`${e.stack ?? String(e)}\n`);
        if (e instanceof GovernError) {
            // Messages that already name the command (usage lines) are not prefixed twice.
            const message = e.message.startsWith(`govern ${name}`) ? e.message : `govern ${name}: ${e.message}`;
            io.stderr.write(`${message}${debug ? ` [${e.code}]` : ''}\n`);
            return e.code === ErrorCode.Usage ? 2 : 1;
        }
        io.stderr.write(`govern ${name}: unexpected failure: ${e.message} (run with --debug for details)\n`);
        return 1;
    }
}
/** One sentence for what the argument parser refused, with the closest option when one was misspelt. */
function argumentProblem(e, name, command) {
    const help = `run "govern ${name} --help" for its options`;
    const option = /'(-{1,2}[^' ]+)/.exec(e.message)?.[1];
    switch (e.code) {
        case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
            const known = Object.keys(command.options).map((o) => `--${o}`);
            const close = option && main_closest(option.replace(/=.*$/, ''), known);
            return `unknown option ${option ?? ''}${close ? `; did you mean ${close}?` : `; ${help}`}`;
        }
        case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
            return `${option ?? 'an option'} ${/argument missing/.test(e.message) ? 'needs a value' : 'takes no value'}; ${help}`;
        case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
            return `takes no arguments besides its options; ${help}`;
        default:
            return `${e.message.split('\n')[0]}; ${help}`;
    }
}
/** The candidate within two edits (or a third of its length) of what was typed, if any. */
function main_closest(typed, candidates) {
    let best;
    for (const candidate of candidates) {
        const distance = main_editDistance(typed, candidate);
        if (distance <= Math.max(2, Math.floor(candidate.length / 3)) && (!best || distance < best.distance))
            best = { candidate, distance };
    }
    return best?.candidate;
}
function main_editDistance(a, b) {
    let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++)
            current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        previous = current;
    }
    return previous[b.length];
}


/***/ })

};
