export const id = 339;
export const ids = [339];
export const modules = {

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

/***/ 4012:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   W: () => (/* binding */ RunCertificateAuthority)
/* harmony export */ });
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_net__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(7030);
/* harmony import */ var node_net__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_net__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_tls__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(1692);
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
