export const id = 299;
export const ids = [299];
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

/***/ 4299:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  SshAdapter: () => (/* binding */ SshAdapter)
});

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
// EXTERNAL MODULE: external "node:net"
var external_node_net_ = __webpack_require__(7030);
// EXTERNAL MODULE: ./node_modules/ssh2/lib/index.js
var lib = __webpack_require__(5472);
var lib_default = /*#__PURE__*/__webpack_require__.n(lib);
// EXTERNAL MODULE: ./runner-proxy/src/core/errors.ts
var errors = __webpack_require__(4294);
// EXTERNAL MODULE: ./runner-proxy/src/adapters/guard.ts
var guard = __webpack_require__(923);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(8161);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/job-config.ts




const { utils } = (lib_default());
/**
 * A new ed25519 key pair in OpenSSH's formats. ssh2's generator writes an ed25519 public key whose first
 * byte is zero one byte short (about one key in 256), which neither ssh2 nor OpenSSH can read: such a
 * pair is made again.
 */
function ed25519KeyPair(comment) {
    for (;;) {
        const pair = utils.generateKeyPairSync('ed25519', comment === undefined ? {} : { comment });
        if (!(utils.parseKey(pair.public) instanceof Error))
            return pair;
    }
}
/** The ciphers both sides prefer: AES-GCM runs natively in Node; chacha20 would need ssh2's native addon. */
const CIPHERS = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr'];
/**
 * A per-run client key (0600), the pin of the per-run host key, and an ssh config naming them, in a private temp
 * directory that is removed at stop. The job's ssh pins the host key through HostKeyAlias.
 */
function writeJobSshFiles(options) {
    const dir = (0,external_node_fs_.mkdtempSync)((0,external_node_path_.join)((0,external_node_os_.tmpdir)(), 'govern-ssh-'));
    (0,external_node_fs_.chmodSync)(dir, 0o700);
    const client = ed25519KeyPair(`govern ${options.alias}`);
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

// EXTERNAL MODULE: ./runner-proxy/src/masking/masker.ts
var masker = __webpack_require__(7171);
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

// EXTERNAL MODULE: external "node:string_decoder"
var external_node_string_decoder_ = __webpack_require__(6193);
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
        const safely = (handle) => (0,guard/* guarded */.Nj)(ctx.escaped, handle);
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
        const redact = (t) => this.#ctx.governor.masker.maskText(t, masker/* REDACT_ALL */.kZ).text;
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
            return refuse(channel, ruling);
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
            return refuse(channel, ruling);
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
            return refuse(channel, ruling);
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
function refuse(channel, ruling) {
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

// EXTERNAL MODULE: ./runner-proxy/src/core/glob.ts
var glob = __webpack_require__(7987);
// EXTERNAL MODULE: ./runner-proxy/src/policy/load.ts + 1 modules
var load = __webpack_require__(1589);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/settings.ts





const { utils: settings_utils } = (lib_default());
/** A connection whose settings cannot work: the gateway does not start, and says which setting to fix. */
class SshSettingsError extends errors/* GovernError */.MF {
    constructor(message) {
        super(errors/* ErrorCode */.O4.GatewayStartFailed, message);
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
    const env = (s.env ?? []).map((g) => (0,glob/* globMatcher */.fU)(g, { separator: '/' }));
    return {
        host: s.host,
        port: s.port ?? 22,
        user: s.user,
        ...(s.private_key && { privateKey: s.private_key }),
        ...(s.password && { password: s.password }),
        hostKeys: parseKnownHosts(s.known_hosts ?? ''),
        keepaliveMs: (0,load/* parseDuration */.E9)(s.keepalive ?? DEFAULT_KEEPALIVE),
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
function connectUpstream(connection, target) {
    const client = new (lib_default()).Client();
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









const { Server, utils: adapter_utils } = (lib_default());
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
        await checkTarget(connection.name, target);
        const state = {
            name: connection.name,
            target,
            governor,
            log,
            connections: new Set(),
            pending: new Set(),
            fault: (0,guard/* faultSink */.Qr)(governor, log),
        };
        let files;
        let include;
        const hostKey = ed25519KeyPair();
        const sshServer = new Server({ hostKeys: [hostKey.private], algorithms: { cipher: CIPHERS } });
        // The job's sockets are accepted here, so each goes through the guard before ssh2 reads a byte of it.
        const escapes = new Map();
        const server = (0,external_node_net_.createServer)((socket) => {
            const peer = `${socket.remoteAddress}:${socket.remotePort}`;
            escapes.set(peer, (0,guard/* guardConnection */.cc)(socket, `${connection.name} connection`, state.fault, () => sshServer.injectSocket(socket)));
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
                    accept(client, full, escaped);
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
function accept(client, state, escaped) {
    const timer = setTimeout(() => client.end(), LOGIN_TIMEOUT_MS);
    state.connections.add(client);
    // Request/response protocols (sftp, git) must not wait for Nagle's delayed small packets.
    client.setNoDelay(true);
    let openSeq;
    let upstream;
    // Malformed bytes and resets from the job: ssh2 ends the connection.
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => (0,guard/* guarded */.Nj)(escaped, () => authenticate(ctx, state)));
    client.on('ready', () => (0,guard/* guarded */.Nj)(escaped, () => {
        clearTimeout(timer);
        openSeq = state.governor.connectionOpened(state.name, 'ssh');
        const target = connectUpstream(state.name, state.target);
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
        client.on('session', (acceptSession) => (0,guard/* guarded */.Nj)(escaped, () => new SessionChannel(ctx, acceptSession())));
        client.on('tcpip', (acceptTunnel, reject, info) => (0,guard/* guarded */.Nj)(escaped, () => forwardLocal(state, target, acceptTunnel, reject, info)));
        client.on('request', (_accept, reject, name) => (0,guard/* guarded */.Nj)(escaped, () => {
            refuseForwarding(state, name);
            reject?.();
        }));
        client.on('openssh.streamlocal', (_accept, reject) => (0,guard/* guarded */.Nj)(escaped, () => {
            refuseForwarding(state, 'unix socket forwarding');
            reject();
        }));
    }));
    client.on('close', () => (0,guard/* guarded */.Nj)(escaped, () => {
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
async function checkTarget(name, target) {
    try {
        const probe = await connectUpstream(name, target);
        probe.end();
    }
    catch (e) {
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.GatewayStartFailed, `${e.message}; fix its host, port, known_hosts or credentials in the policy`, { cause: e });
    }
}
/** Only the per-run key logs in, as the target's user. */
function authenticate(ctx, state) {
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


/***/ })

};
