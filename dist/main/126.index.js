export const id = 126;
export const ids = [126];
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

/***/ 9126:
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
var lib = __webpack_require__(3091);
var lib_default = /*#__PURE__*/__webpack_require__.n(lib);
// EXTERNAL MODULE: ./runner-proxy/src/base/errors.ts
var errors = __webpack_require__(5256);
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
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/options.ts
function shortArity(short, letter) {
    const i = short.indexOf(letter);
    if (i < 0 || letter === ':' || letter === '+')
        return undefined;
    if (short[i + 1] !== ':')
        return 'none';
    return short[i + 2] === ':' ? 'optional' : 'required';
}
function longArity(spec) {
    if (spec.endsWith('::'))
        return [spec.slice(0, -2), 'optional'];
    if (spec.endsWith(':'))
        return [spec.slice(0, -1), 'required'];
    return [spec, 'none'];
}
/**
 * The long option a word names: an exact name, else the one name it abbreviates (getopt_long accepts
 * any unambiguous prefix: `--recu` is `--recursive`). Undefined when none or several match.
 */
function resolveLong(given, names) {
    if (names.includes(given))
        return given;
    const matches = names.filter((n) => n.startsWith(given));
    return matches.length === 1 ? matches[0] : undefined;
}
/** Reads `args` (the words after the program's name) as getopt_long would. */
function parseOptions(program, args, syntax) {
    const longs = (syntax.long ?? []).map(longArity);
    const names = longs.map(([n]) => n);
    const parsed = { options: [], operands: [] };
    const fail = (problem) => ({ ...parsed, operands: [...parsed.operands, ...args.slice(i)], problem: `${program}: ${problem}` });
    let i = 0;
    for (; i < args.length; i++) {
        const word = args[i];
        const t = word.text;
        if (!word.fixed) {
            if (!syntax.permute && !t.startsWith('-'))
                break;
            return fail(`an option known only at run time (${t})`);
        }
        if (t === '--') {
            parsed.operands.push(...args.slice(i + 1));
            return parsed;
        }
        if (!t.startsWith('-') || t === '-') {
            if (!syntax.permute)
                break;
            parsed.operands.push(word);
            continue;
        }
        if (syntax.numeric && /^-\d+$/.test(t)) {
            parsed.options.push({ name: t });
            continue;
        }
        if (t.startsWith('--')) {
            const eq = t.indexOf('=');
            const given = t.slice(2, eq < 0 ? undefined : eq);
            const name = resolveLong(given, names);
            if (name === undefined)
                return fail(`option --${given} is ${names.some((n) => n.startsWith(given)) ? 'ambiguous' : 'not one the gateway knows'}`);
            const arity = longs.find(([n]) => n === name)[1];
            if (eq >= 0)
                parsed.options.push({ name: `--${name}`, value: { text: t.slice(eq + 1), fixed: true } });
            else if (arity === 'required') {
                const value = args[++i];
                if (!value)
                    return fail(`option --${name} needs a value`);
                parsed.options.push({ name: `--${name}`, value });
            }
            else
                parsed.options.push({ name: `--${name}` });
            continue;
        }
        for (let j = 1; j < t.length; j++) {
            const letter = t[j];
            const arity = shortArity(syntax.short, letter);
            if (arity === undefined)
                return fail(`option -${letter} is not one the gateway knows`);
            if (arity === 'none') {
                parsed.options.push({ name: `-${letter}` });
                continue;
            }
            const attached = t.slice(j + 1);
            if (attached || arity === 'optional')
                parsed.options.push({ name: `-${letter}`, ...(attached && { value: { text: attached, fixed: true } }) });
            else {
                const value = args[++i];
                if (!value)
                    return fail(`option -${letter} needs a value`);
                parsed.options.push({ name: `-${letter}`, value });
            }
            break;
        }
    }
    parsed.operands.push(...args.slice(i));
    return parsed;
}
/** Whether one of the options read is one of `names` ("-c", "--command"). */
function has(parsed, ...names) {
    return parsed.options.some((o) => names.includes(o.name));
}
/** The values of the options read that are one of `names`. */
function valuesOf(parsed, ...names) {
    return parsed.options.filter((o) => names.includes(o.name) && o.value).map((o) => o.value);
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/interpreters.ts

const VERSION_WORDS = ['--version', '--help', '-h', '-V'];
/** Shells: `-c` makes the first operand the command text, whatever options follow it. */
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ksh93', 'mksh', 'lksh', 'pdksh', 'ash', 'yash', 'posh', 'fish', 'rbash']);
const SHELL = { program: '', valued: 'oO', longValued: ['--rcfile', '--init-file'], noProgram: ['--version', '--help'] };
const INTERPRETERS = {
    python: { program: 'c', valued: 'WXQ', module: 'm', noProgram: [...VERSION_WORDS, '-VV'] },
    pypy: { program: 'c', valued: 'WXQ', module: 'm', noProgram: [...VERSION_WORDS] },
    perl: { program: 'eE', valued: 'IMm', attached: 'ixdDF', digits: 'l0C', noProgram: ['-v', '--version', '-h', '--help'] },
    ruby: { program: 'e', valued: 'CEIrK', attached: 'xF', digits: '0W', noProgram: ['-v', '--version', '-h', '--help'] },
    node: { program: 'ep', valued: 'rC', longProgram: ['--eval', '--print'], longValued: ['--require', '--import', '--input-type'], noProgram: ['-v', '--version', '-h', '--help'] },
    bun: { program: 'e', valued: 'r', longProgram: ['--eval', '--print'], noProgram: ['-v', '--version', '-h', '--help'] },
    deno: { program: '', valued: '', noProgram: ['-V', '--version', '-h', '--help'] },
    php: { program: 'rRBE', valued: 'cdfFtz', noProgram: ['-v', '--version', '-h', '--help', '-m', '-i'] },
    lua: { program: 'e', valued: 'l', noProgram: ['-v'] },
    luajit: { program: 'e', valued: 'lbjO', noProgram: ['-v'] },
    Rscript: { program: 'e', valued: '', noProgram: ['--version', '--help'] },
    julia: { program: 'eE', valued: 'JLCtp', longProgram: ['--eval', '--print'], noProgram: ['-v', '--version', '-h', '--help'] },
    tclsh: { program: '', valued: '', noProgram: [] },
    wish: { program: '', valued: '', noProgram: [] },
    expect: { program: 'c', valued: 'f', noProgram: ['-v'] },
    osascript: { program: 'e', valued: 'l', noProgram: [] },
    jshell: { program: '', valued: '', noProgram: ['--version', '--help'] },
    pwsh: { program: 'cC', valued: 'fF', noProgram: ['-v', '-Version', '--version', '-h', '-Help'] },
    dc: { program: 'e', valued: 'f', noProgram: ['-V', '--version', '-h', '--help'] },
    gdb: { program: '', valued: 'xp', longProgram: ['-ex', '--eval-command', '-iex', '--init-eval-command'], noProgram: ['--version', '--help'] },
    sqlite3: { program: '', valued: '', noProgram: ['-version', '--version', '-help', '--help'] },
};
/** Program names with a version or a variant after them (`python3.11`, `perl5.36`, `mawk`) are the family's. */
function interpreterFamily(name) {
    if (INTERPRETERS[name] || SHELLS.has(name))
        return name;
    const family = /^(python|pypy|perl|ruby|node|php|lua|luajit|tclsh|wish)[\d.]*$/.exec(name)?.[1];
    if (family)
        return family;
    if (name === 'nodejs')
        return 'node';
    if (name === 'powershell')
        return 'pwsh';
    return undefined;
}
/** Files that are a descriptor rather than a script: a shell given one reads what another process writes. */
const DESCRIPTOR = /^\/(?:dev\/(?:stdin|fd\/\d+)|proc\/[^/]+\/fd\/\d+)$/;
/** A shell or interpreter: its inline program (parsed for shells), its script, or its stdin. */
function examineInterpreter(name, args, ex) {
    const shell = SHELLS.has(name);
    const syntax = shell ? SHELL : INTERPRETERS[name];
    let commandText = false;
    let stdin = false;
    let i = 0;
    for (; i < args.length; i++) {
        const w = args[i];
        if (!w.fixed)
            return ex.unknown(`${name} is given an option or program known only at run time (${w.text})`);
        const t = w.text;
        if (t === '--' || t === '-')
            break;
        if (syntax.noProgram.includes(t) && args.length === 1)
            return;
        if (!/^[-+]./.test(t) || (t.startsWith('+') && !shell))
            break;
        const long = t.split('=')[0];
        if (syntax.longProgram?.includes(long))
            return ex.unknown(`${name} ${long} runs a program given as text`);
        if (syntax.longValued?.includes(long)) {
            if (!t.includes('='))
                i++;
            continue;
        }
        if (t.startsWith('--'))
            continue;
        for (let j = 1; j < t.length; j++) {
            const letter = t[j];
            if (shell && letter === 'c')
                commandText = true;
            else if (shell && (letter === 's' || letter === 'i'))
                stdin = true;
            else if (syntax.program.includes(letter))
                return ex.unknown(`${name} ${t} runs a program given as text`);
            else if (syntax.module?.includes(letter))
                return;
            else if (syntax.valued.includes(letter)) {
                if (j === t.length - 1)
                    i++;
                break;
            }
            else if (syntax.attached?.includes(letter))
                break;
            else if (syntax.digits?.includes(letter))
                while (/[0-9a-fA-Fx]/.test(t[j + 1] ?? '') && !syntax.program.includes(t[j + 1]))
                    j++;
        }
    }
    if (args[i]?.text === '--')
        i++;
    const operand = args[i];
    if (commandText) {
        if (!operand)
            return ex.unknown(`${name} -c without its command text`);
        return ex.shell(operand, `${name} -c`);
    }
    if (operand && operand.text !== '-' && !stdin) {
        if (!operand.fixed)
            return ex.unknown(`${name} runs a program whose name is known only when it runs`);
        if (DESCRIPTOR.test(operand.text))
            return ex.unknown(`${name} reads its program from ${operand.text}`);
        if (name === 'sqlite3')
            return examineSqlite(args.slice(i + 1), ex);
        if (name === 'deno' && /^(eval|repl)$/.test(operand.text))
            return ex.unknown(`deno ${operand.text} runs a program given as text`);
        return;
    }
    ex.readsProgramFromStdin(shell ? 'shell' : 'interpreter', name);
}
/** Dot commands that only show or format: any other (.shell, .system, .output |cmd, .load, .import) is `unknown`. */
const SQLITE_SHOWING = /^\.(?:tables|schema|headers?|mode|dump|quit|exit|databases|indexes|indices|timeout|bail|echo|separator|nullvalue|width|show|stats|changes|fullschema|dbinfo|print)\b/;
/** sqlite3 DB [SQL…]: SQL and dot commands given as arguments; without them it reads its stdin. */
function examineSqlite(texts, ex) {
    if (texts.length === 0)
        return ex.readsProgramFromStdin('interpreter', 'sqlite3');
    for (const text of texts) {
        if (!text.fixed)
            return ex.unknown('sqlite3 is given SQL known only at run time');
        const lines = text.text.split(/[\n;]/).map((l) => l.trim());
        if (lines.some((l) => (l.startsWith('.') && !SQLITE_SHOWING.test(l)) || /load_extension|\bedit\s*\(/i.test(l))) {
            return ex.unknown('sqlite3 is given a dot command or function that runs programs or loads code');
        }
    }
}
/** awk and its variants: options, then the program (unless -f gave a file). */
function examineAwk(args, ex, name) {
    const parsed = parseOptions(name, args, {
        short: 'F:f:v:bcCd::D::e:E:hi:l:L::nNo::Op::MPrSstVYZ:W:',
        long: ['field-separator:', 'file:', 'assign:', 'characters-as-bytes', 'traditional', 'copyright', 'dump-variables::', 'debug::', 'source:', 'exec:', 'gen-pot', 'help', 'include:', 'load:', 'lint::', 'bignum', 'use-lc-numeric', 'non-decimal-data', 'pretty-print::', 'optimize', 'profile::', 'posix', 're-interval', 'no-optimize', 'sandbox', 'lint-old', 'version', 'csv'],
        permute: true,
    });
    if (parsed.problem)
        return ex.unknown(parsed.problem);
    if (has(parsed, '--sandbox', '-S', '--version', '-V', '--help', '-h'))
        return;
    if (has(parsed, '-l', '--load'))
        ex.unknown(`${name} -l loads an extension`);
    const files = valuesOf(parsed, '-f', '--file', '-E', '--exec');
    if (files.some((f) => f.text === '-' || DESCRIPTOR.test(f.text)))
        ex.unknown(`${name} reads its program from its stdin`);
    const texts = [...valuesOf(parsed, '-e', '--source'), ...(files.length || has(parsed, '-e', '--source') ? [] : parsed.operands.slice(0, 1))];
    for (const text of texts) {
        if (!text.fixed)
            ex.unknown(`${name} runs a program known only at run time`);
        else
            examineAwkProgram(name, text.text, ex);
    }
}
/**
 * An awk program runs commands through system(), pipes (`print | "cmd"`, `"cmd" | getline`, gawk's
 * `|&`) and extensions (@load). Strings and regular expressions are taken out first, so `/a|b/` and
 * "x|y" do not count; a literal command given to system() is checked as shell text too.
 */
function examineAwkProgram(name, program, ex) {
    let code = '';
    for (let i = 0; i < program.length; i++) {
        const c = program[i];
        const before = code.trimEnd().at(-1) ?? '';
        if (c === '"' || (c === '/' && !/[\w)\]$.]/.test(before))) {
            let j = i + 1;
            for (let bracket = false; j < program.length && (program[j] !== c || bracket); j++) {
                if (program[j] === '\\')
                    j++;
                else if (c === '/' && program[j] === '[')
                    bracket = true;
                else if (program[j] === ']')
                    bracket = false;
            }
            code += c === '"' ? '""' : '//';
            i = j;
        }
        else if (c === '#') {
            while (i < program.length && program[i] !== '\n')
                i++;
        }
        else
            code += c;
    }
    if (/\bsystem\s*\(|@load|(?<!\|)\|(?!\|)/.test(code)) {
        ex.unknown(`${name} runs a command from its program (system or a pipe)`);
        for (const m of program.matchAll(/\bsystem\s*\(\s*"((?:[^"\\]|\\.)*)"\s*\)/g))
            ex.shell({ text: m[1].replace(/\\(.)/g, '$1'), fixed: true }, `${name} system()`);
    }
}
/** sed: its script from -e/--expression or its first operand, read for the `e` command and the `e` flag of `s`. */
function examineSed(args, ex) {
    const parsed = parseOptions('sed', args, {
        short: 'nrsEuzi::l:e:f:',
        long: ['quiet', 'silent', 'regexp-extended', 'separate', 'unbuffered', 'null-data', 'zero-terminated', 'in-place::', 'line-length:', 'expression:', 'file:', 'posix', 'sandbox', 'debug', 'follow-symlinks', 'binary', 'help', 'version'],
        permute: true,
    });
    if (parsed.problem)
        return ex.unknown(parsed.problem);
    if (has(parsed, '--sandbox', '--help', '--version'))
        return;
    const files = valuesOf(parsed, '-f', '--file');
    if (files.some((f) => f.text === '-' || DESCRIPTOR.test(f.text)))
        ex.unknown('sed reads its script from its stdin');
    const expressions = valuesOf(parsed, '-e', '--expression');
    const scripts = expressions.length || files.length ? expressions : parsed.operands.slice(0, 1);
    for (const script of scripts) {
        if (!script.fixed)
            ex.unknown('sed runs a script known only at run time');
        else {
            const commands = sedExecutes(script.text);
            if (commands === null)
                ex.unknown('sed is given a script the gateway cannot read');
            else if (commands.length)
                ex.unknown('sed runs a command from its script (e, or the e flag of s)');
            for (const command of commands ?? [])
                if (command)
                    ex.shell({ text: command, fixed: true }, 'sed e');
        }
    }
}
/**
 * The commands a sed script executes (`e command`, an empty string for `e` alone or `s///e`, which run
 * the pattern space), or null when the script is not one GNU sed would read.
 */
function sedExecutes(script) {
    const run = [];
    let i = 0;
    const restOfLine = () => {
        const end = script.indexOf('\n', i);
        const text = script.slice(i, end < 0 ? undefined : end);
        i = end < 0 ? script.length : end;
        return text;
    };
    const delimited = (delim) => {
        for (i++; i < script.length && script[i] !== delim; i++) {
            if (script[i] === '\\')
                i++;
            if (script[i] === '\n' && delim !== '\n')
                return false;
        }
        return i < script.length;
    };
    const address = () => {
        if (/\d/.test(script[i] ?? ''))
            while (/[\d~+]/.test(script[i] ?? ''))
                i++;
        else if (script[i] === '$')
            i++;
        else if (script[i] === '/' || script[i] === '\\') {
            if (script[i] === '\\')
                i++;
            if (!delimited(script[i]))
                return false;
            i++;
            while (/[IM]/.test(script[i] ?? ''))
                i++;
        }
        return true;
    };
    while (i < script.length) {
        while (/[\s;]/.test(script[i] ?? ''))
            i++;
        if (i >= script.length)
            break;
        if (!address())
            return null;
        if (script[i] === ',') {
            i++;
            if (!address())
                return null;
        }
        while (/[\s!]/.test(script[i] ?? ''))
            i++;
        const command = script[i++];
        switch (command) {
            case undefined:
                return null;
            case '{':
            case '}':
            case '=':
            case 'd':
            case 'D':
            case 'g':
            case 'G':
            case 'h':
            case 'H':
            case 'n':
            case 'N':
            case 'p':
            case 'P':
            case 'x':
            case 'z':
            case 'F':
                break;
            case '#':
            case 'a':
            case 'i':
            case 'c':
            case 'r':
            case 'R':
            case 'w':
            case 'W':
                while (script[i] !== undefined && script[i] !== '\n')
                    if (script[i++] === '\\')
                        i++;
                break;
            case ':':
            case 'b':
            case 't':
            case 'T':
            case 'v':
            case 'l':
            case 'L':
            case 'q':
            case 'Q':
                while (script[i] !== undefined && !/[;\n}]/.test(script[i]))
                    i++;
                break;
            case 'e':
                run.push(restOfLine().trim());
                break;
            case 'y':
            case 's': {
                const delim = script[i];
                if (delim === undefined || delim === '\n' || delim === '\\')
                    return null;
                if (!delimited(delim) || !delimited(delim))
                    return null;
                i++;
                if (command === 'y')
                    break;
                let flags = '';
                while (script[i] !== undefined && /[gpiImMe\d]/.test(script[i]))
                    flags += script[i++];
                if (script[i] === 'w')
                    restOfLine();
                if (flags.includes('e'))
                    run.push('');
                break;
            }
            default:
                return null;
        }
    }
    return run;
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/wrappers.ts

const VERSION = ['help', 'version'];
/** `NAME=value`, as env takes it. */
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
/** Words run as one line of shell text (`watch`, `sg`): fixed only when every word is. */
function joined(words) {
    return { text: words.map((w) => w.text).join(' '), fixed: words.every((w) => w.fixed) };
}
const SU_OPTIONS = {
    short: 'c:fg:G:lmpPs:hVw:',
    long: ['command:', 'session-command:', 'fast', 'group:', 'supp-group:', 'login', 'preserve-environment', 'pty', 'shell:', 'whitelist-environment:', ...VERSION],
    permute: true,
};
const WRAPPERS = {
    env: {
        options: { short: '+0iu:C:S:v', long: ['ignore-environment', 'null', 'unset:', 'chdir:', 'split-string:', 'block-signal::', 'default-signal::', 'ignore-signal::', 'list-signal-handling', 'debug', ...VERSION] },
        textOptions: ['-S', '--split-string'],
        noCommand: ['--help', '--version', '--list-signal-handling'],
    },
    sudo: {
        options: {
            short: '+Aa:BbC:c:D:Eeg:Hh::iKklNnPp:R:r:SsT:t:U:u:Vv',
            long: ['askpass', 'auth-type:', 'background', 'bell', 'close-from:', 'login-class:', 'chdir:', 'preserve-env::', 'edit', 'group:', 'set-home', 'host:', 'login', 'remove-timestamp', 'reset-timestamp', 'list', 'non-interactive', 'preserve-groups', 'prompt:', 'chroot:', 'role:', 'stdin', 'shell', 'type:', 'command-timeout:', 'other-user:', 'user:', 'validate', ...VERSION],
        },
        noCommand: ['-e', '--edit', '-l', '--list', '-V', '--version', '-v', '--validate', '-K', '--remove-timestamp', '--help'],
        // `-h` alone is help, `-h host` a host in some versions: which one runs is not settled by the words.
        unsettled: ['-h'],
        bare: (p) => (has(p, '-s', '--shell', '-i', '--login') ? 'shell' : 'nothing'),
    },
    doas: { options: { short: '+a:C:Lnsu:' }, noCommand: ['-C', '-L'], bare: (p) => (has(p, '-s') ? 'shell' : 'nothing') },
    pkexec: { options: { short: '+', long: ['user:', 'disable-internal-agent', 'keep-cwd', ...VERSION] }, bare: 'shell' },
    setpriv: {
        options: {
            short: '+dhV',
            long: ['dump', 'no-new-privs', 'nnp', 'ambient-caps:', 'inh-caps:', 'bounding-set:', 'ruid:', 'euid:', 'rgid:', 'egid:', 'reuid:', 'regid:', 'clear-groups', 'keep-groups', 'init-groups', 'groups:', 'securebits:', 'pdeathsig:', 'selinux-label:', 'apparmor-profile:', 'landlock-access:', 'landlock-rule:', 'reset-env', ...VERSION],
        },
        noCommand: ['-d', '--dump', '--help', '--version'],
    },
    nice: { options: { short: '+n:', long: ['adjustment:', ...VERSION], numeric: true } },
    nohup: { options: { short: '+', long: VERSION } },
    timeout: { options: { short: '+k:s:fpv', long: ['kill-after:', 'signal:', 'foreground', 'preserve-status', 'verbose', ...VERSION] }, leadingOperands: 1 },
    xargs: {
        options: {
            short: '+0a:d:E:e::I:i::L:l::n:oprP:s:tx',
            long: ['null', 'arg-file:', 'delimiter:', 'eof::', 'replace::', 'max-lines::', 'max-args:', 'open-tty', 'interactive', 'no-run-if-empty', 'max-procs:', 'max-chars:', 'verbose', 'exit', 'show-limits', 'process-slot-var:', ...VERSION],
        },
    },
    exec: { options: { short: '+a:cl' } },
    command: { options: { short: '+pvV' }, noCommand: ['-v', '-V'] },
    builtin: { options: { short: '+' } },
    time: { options: { short: '+af:o:pqv', long: ['append', 'format:', 'output:', 'portability', 'quiet', 'verbose', ...VERSION] } },
    stdbuf: { options: { short: '+i:o:e:', long: ['input:', 'output:', 'error:', ...VERSION] } },
    setsid: { options: { short: '+cfw', long: ['ctty', 'fork', 'wait', ...VERSION] } },
    ionice: { options: { short: '+c:n:p:P:u:tVh', long: ['class:', 'classdata:', 'pid:', 'pgid:', 'uid:', 'ignore', ...VERSION] }, noCommand: ['-p', '-P', '-u', '--pid', '--pgid', '--uid'] },
    chrt: {
        options: { short: '+abdefiomprRvT:P:D:hV', long: ['all-tasks', 'batch', 'deadline', 'ext', 'fifo', 'idle', 'other', 'rr', 'reset-on-fork', 'max', 'pid', 'verbose', 'sched-runtime:', 'sched-period:', 'sched-deadline:', ...VERSION] },
        leadingOperands: 1,
        noCommand: ['-m', '--max', '-p', '--pid'],
    },
    taskset: { options: { short: '+acphV', long: ['all-tasks', 'cpu-list', 'pid', ...VERSION] }, leadingOperands: 1, noCommand: ['-p', '--pid'] },
    numactl: {
        options: { short: '+aC:c:i:lm:N:p:sHbS:w:', long: ['all', 'interleave:', 'preferred:', 'preferred-many:', 'weighted-interleave:', 'physcpubind:', 'cpunodebind:', 'membind:', 'localalloc', 'show', 'hardware', 'offset:', 'length:', 'strict', 'shmmode:', 'shm:', 'file:', 'huge', 'touch', 'dump', 'dump-nodes', 'balancing', ...VERSION] },
        noCommand: ['-s', '--show', '-H', '--hardware'],
    },
    unshare: {
        options: {
            short: '+fhVmuinpCTUrR:w:S:G:c',
            long: ['fork', 'mount::', 'uts::', 'ipc::', 'net::', 'pid::', 'user::', 'cgroup::', 'time::', 'mount-proc::', 'mount-binfmt::', 'map-user:', 'map-users:', 'map-group:', 'map-groups:', 'map-root-user', 'map-current-user', 'map-auto', 'propagation:', 'setgroups:', 'keep-caps', 'setuid:', 'setgid:', 'root:', 'wd:', 'monotonic:', 'boottime:', 'kill-child::', 'load-interp:', ...VERSION],
        },
        bare: 'shell',
    },
    nsenter: {
        options: {
            short: '+ahVt:m::u::i::n::p::C::U::T::S:G:r::w::W:FZec',
            long: ['all', 'target:', 'mount::', 'uts::', 'ipc::', 'net::', 'pid::', 'cgroup::', 'user::', 'time::', 'setuid:', 'setgid:', 'root::', 'wd::', 'wdns:', 'env', 'no-fork', 'preserve-credentials', 'follow-context', 'join-cgroup', 'user-parent', ...VERSION],
        },
        bare: 'shell',
    },
    flock: {
        options: { short: '+sexunw:E:oc:FhV', long: ['shared', 'exclusive', 'unlock', 'nonblock', 'nb', 'timeout:', 'wait:', 'conflict-exit-code:', 'close', 'command:', 'no-fork', 'verbose', ...VERSION] },
        leadingOperands: 1,
        textOptions: ['-c', '--command'],
    },
    chroot: { options: { short: '+', long: ['groups:', 'userspec:', 'skip-chdir', ...VERSION] }, leadingOperands: 1, bare: 'shell' },
    watch: {
        options: { short: '+bced::ghn:pq:tvwx', long: ['beep', 'color', 'no-color', 'differences::', 'errexit', 'chgexit', 'equexit:', 'interval:', 'precise', 'no-rerun', 'no-title', 'no-wrap', 'exec', 'shotsdir:', ...VERSION] },
        joinsText: (p) => !has(p, '-x', '--exec'),
    },
    script: {
        options: { short: 'ac:eE:fqI:O:B:T:t::m:o:hV', long: ['append', 'command:', 'echo:', 'return', 'flush', 'force', 'quiet', 'log-in:', 'log-out:', 'log-io:', 'log-timing:', 'timing::', 'logging-format:', 'output-limit:', ...VERSION], permute: true },
        textOptions: ['-c', '--command'],
        // Its operand is the typescript file; without -c it runs a shell reading its input.
        leadingOperands: 1,
        bare: (p) => (has(p, '-c', '--command') ? 'nothing' : 'shell'),
    },
    busybox: { options: { short: '+', long: ['list', 'list-full', 'install', 'help'] }, noCommand: ['--list', '--list-full', '--install', '--help'] },
    'ld.so': {
        options: { short: '+', long: ['list', 'verify', 'inhibit-cache', 'library-path:', 'inhibit-rpath:', 'audit:', 'preload:', 'argv0:', 'glibc-hwcaps-prepend:', 'glibc-hwcaps-mask:', 'list-tunables', 'list-diagnostics', ...VERSION] },
        noCommand: ['--list', '--verify', '--list-tunables', '--list-diagnostics', '--help', '--version'],
    },
};
/**
 * Takes one wrapper off a command: reports what it runs (the command after its options, text its
 * options carry, a shell when it has no command). Wrappers with a syntax of their own (su, capsh, sg,
 * parallel) have their own functions.
 */
function examineWrapper(name, args, ex) {
    const special = SPECIAL_WRAPPERS[name];
    if (special)
        return special(args, ex);
    const wrapper = WRAPPERS[name];
    const parsed = parseOptions(name, args, wrapper.options);
    if (parsed.problem)
        ex.unknown(parsed.problem);
    for (const o of parsed.options)
        if (wrapper.unsettled?.includes(o.name) && !o.value)
            ex.unknown(`${name} ${o.name} may or may not take the next word as its value`);
    if (parsed.options.some((o) => wrapper.noCommand?.includes(o.name)))
        return;
    for (const text of valuesOf(parsed, ...(wrapper.textOptions ?? [])))
        ex.shell(text, `${name} ${text.text}`);
    let operands = parsed.operands;
    if (name === 'env') {
        const first = operands.findIndex((w) => !(w.fixed && (w.text === '-' || ASSIGNMENT.test(w.text))));
        operands.slice(0, first < 0 ? undefined : first).forEach((w) => ex.environment(w));
        operands = first < 0 ? [] : operands.slice(first);
    }
    if (name === 'flock') {
        // `flock FILE -c TEXT` (its own -c after the lock file), `flock FD` locks and runs nothing.
        if (/^\d+$/.test(operands[0]?.text ?? ''))
            return;
        if (operands[1] && ['-c', '--command'].includes(operands[1].text))
            return operands[2] ? ex.shell(operands[2], 'flock -c') : undefined;
    }
    const command = operands.slice(wrapper.leadingOperands ?? 0);
    if (parsed.problem) {
        // The options could not be read as the wrapper reads them: every word it is given may start the command.
        command.forEach((w, i) => w.fixed && !w.text.startsWith('-') && ex.mayRun(command.slice(i)));
        return;
    }
    if (command.length === 0) {
        const bare = typeof wrapper.bare === 'function' ? wrapper.bare(parsed) : wrapper.bare;
        if (bare === 'shell')
            ex.run([{ text: 'sh', fixed: true }]);
        return;
    }
    if (wrapper.joinsText?.(parsed)) {
        return ex.shell(joined(command), `${name} runs its arguments as shell text`);
    }
    ex.run(command);
}
/** su and runuser: the rest after the user goes to a shell (-s's, else sh), with -c's text; runuser -u runs a command. */
function examineSu(name, args, ex) {
    const parsed = parseOptions(name, args, name === 'runuser' ? { ...SU_OPTIONS, short: `${SU_OPTIONS.short}u:` } : SU_OPTIONS);
    if (parsed.problem)
        ex.unknown(parsed.problem);
    if (has(parsed, '-h', '--help', '-V', '--version'))
        return;
    const operands = parsed.operands.filter((w, i) => !(i === 0 && w.text === '-'));
    if (has(parsed, '-u'))
        return ex.run(operands);
    const shell = valuesOf(parsed, '-s', '--shell').at(-1) ?? { text: 'sh', fixed: true };
    const text = valuesOf(parsed, '-c', '--command', '--session-command').at(-1);
    ex.run([shell, ...(text ? [{ text: '-c', fixed: true }, text] : []), ...operands.slice(1)]);
}
/** capsh: its own `--name=value` options; after `--` the rest goes to its shell (bash unless --shell=), after `==` to capsh again. */
function examineCapsh(args, ex) {
    let shell = { text: '/bin/bash', fixed: true };
    for (let i = 0; i < args.length; i++) {
        const w = args[i];
        if (!w.fixed)
            return ex.unknown(`capsh: an option known only at run time (${w.text})`);
        if (w.text === '--')
            return ex.run([shell, ...args.slice(i + 1)]);
        if (w.text === '==')
            return ex.run([{ text: 'capsh', fixed: true }, ...args.slice(i + 1)]);
        if (w.text.startsWith('--shell='))
            shell = { text: w.text.slice('--shell='.length), fixed: true };
    }
}
/** sg: `sg group [-c] command…`, the command run as text by /bin/sh. */
function examineSg(args, ex) {
    const rest = args.filter((w, i) => !(i === 0 && w.text === '-')).slice(1);
    const command = rest[0]?.text === '-c' ? rest.slice(1) : rest;
    if (command.length === 0)
        return ex.run([{ text: 'sh', fixed: true }]);
    ex.shell(joined(command), 'sg runs its arguments as shell text');
}
/** GNU parallel: its command (up to `:::`) is shell text it completes with each input; that completion is not known. */
function examineParallel(args, ex) {
    ex.unknown('parallel builds the commands it runs from its input');
    const end = args.findIndex((w) => /^:{3,4}\+?$/.test(w.text));
    const command = (end < 0 ? args : args.slice(0, end)).filter((w) => !w.text.startsWith('-'));
    if (command.length)
        ex.shell(joined(command), 'parallel');
}
const SPECIAL_WRAPPERS = {
    su: (args, ex) => examineSu('su', args, ex),
    runuser: (args, ex) => examineSu('runuser', args, ex),
    capsh: examineCapsh,
    sg: examineSg,
    parallel: examineParallel,
};
const WRAPPER_NAMES = new Set([...Object.keys(WRAPPERS), ...Object.keys(SPECIAL_WRAPPERS)]);

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/runners.ts


/**
 * Programs that run command text they are given in some of their options (git's aliases and
 * transports, tar's actions, rsync's remote shell, ssh's ProxyCommand, make's --eval), each read
 * enough to find those options: their text is checked as shell, or the command is `unknown`.
 */
/** Whether `given` (a long option without its dashes) is `name` or an abbreviation of it, as getopt_long and git accept. */
function abbreviates(given, name) {
    return given.length >= 2 && name.startsWith(given);
}
/** `--name[=value]`: the name and the value, from the word or the next one. */
function longOption(args, i) {
    const t = args[i].text;
    const eq = t.indexOf('=');
    if (eq >= 0)
        return { name: t.slice(2, eq), value: { text: t.slice(eq + 1), fixed: true }, next: i };
    return { name: t.slice(2), value: args[i + 1], next: i + 1 };
}
/**
 * git configuration keys that run nothing: anything else given with `-c`, `--config-env`, `clone -c`
 * or written by `git config` may name a program (core.pager, core.sshCommand, alias.*, filter.*,
 * credential.helper, url.*.insteadOf to an ext:: transport…) and is `unknown`.
 */
const GIT_INERT_KEYS = /^(user\.(name|email)|color\..*|advice\..*|core\.(autocrlf|quotepath|longpaths|filemode|symlinks|ignorecase|safecrlf|eol|abbrev)|safe\.directory|init\.defaultbranch|pull\.(rebase|ff)|push\.(autosetupremote|default)|fetch\.(prune|parallel)|http\.(sslverify|version|postbuffer)|protocol\.version|gc\.auto|log\..*|format\..*|diff\.renames|merge\.ff|rebase\.autostash|commit\.gpgsign|tag\.gpgsign|status\..*|column\..*)$/i;
/** git subcommand options whose value is a shell command, and subcommands' short letters that take one. */
const GIT_TEXT_OPTIONS = ['upload-pack', 'receive-pack', 'exec', 'extcmd', 'open-files-in-pager', 'env-filter', 'tree-filter', 'index-filter', 'parent-filter', 'msg-filter', 'commit-filter', 'tag-name-filter', 'sendmail-cmd', 'smtp-server'];
const GIT_TEXT_LETTERS = { rebase: 'x', difftool: 'x', clone: 'u', grep: 'O', 'fetch-pack': '', archive: '' };
const GIT_GLOBAL_VALUED = new Set(['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--config-env', '--super-prefix', '--attr-source', '--exec-path', '--list-cmds']);
function gitConfig(key, value, ex) {
    if (GIT_INERT_KEYS.test(key))
        return;
    ex.unknown(`git configuration ${key} may name a program git runs`);
    if (/^alias\./i.test(key) && value?.startsWith('!'))
        ex.shell({ text: value.slice(1), fixed: true }, `git ${key}`, false);
}
function examineGit(args, ex) {
    let i = 0;
    for (; i < args.length && args[i].text.startsWith('-'); i++) {
        const w = args[i];
        if (!w.fixed)
            return ex.unknown(`git is given an option known only at run time (${w.text})`);
        const name = w.text.split('=')[0];
        if (name === '-c') {
            const setting = args[++i];
            if (!setting?.fixed)
                return ex.unknown('git -c with a setting known only at run time');
            const eq = setting.text.indexOf('=');
            gitConfig(eq < 0 ? setting.text : setting.text.slice(0, eq), eq < 0 ? undefined : setting.text.slice(eq + 1), ex);
        }
        else if (name === '--config-env' || name === '--exec-path')
            ex.unknown(`git ${name} may name a program git runs`);
        else if (GIT_GLOBAL_VALUED.has(name) && !w.text.includes('='))
            i++;
    }
    const sub = args[i];
    if (!sub)
        return;
    if (!sub.fixed)
        return ex.unknown('git runs a subcommand known only at run time');
    const rest = args.slice(i + 1);
    for (const w of args)
        if (/^(ext|fd)::/.test(w.text))
            ex.unknown(`git ${w.text.slice(0, 5)} transports run a command`);
    if (sub.text === 'submodule' && rest.some((w) => w.text === 'foreach')) {
        const command = rest.slice(rest.findIndex((w) => w.text === 'foreach') + 1).filter((w) => !w.text.startsWith('--'));
        return ex.shell(joined(command), 'git submodule foreach', false);
    }
    if (sub.text === 'bisect' && rest[0]?.text === 'run')
        return ex.run(rest.slice(1));
    if (sub.text === 'config') {
        const operands = rest.filter((w) => !w.text.startsWith('-'));
        const [first, second, third] = operands.map((w) => w.text);
        const key = first === 'set' ? second : first;
        const value = first === 'set' ? third : second;
        if (key && value !== undefined)
            gitConfig(key, value, ex);
    }
    const letters = GIT_TEXT_LETTERS[sub.text] ?? '';
    for (let j = 0; j < rest.length; j++) {
        const w = rest[j];
        if (w.text === '--')
            break;
        if (w.text.startsWith('--')) {
            const option = longOption(rest, j);
            if ((sub.text === 'clone' && option.name === 'config') || GIT_TEXT_OPTIONS.some((n) => abbreviates(option.name, n))) {
                if (option.next > j)
                    j = option.next;
                if (!option.value)
                    continue;
                if (option.name === 'config')
                    gitConfig(option.value.text.split('=')[0], option.value.text.split('=').slice(1).join('='), ex);
                else
                    ex.shell(option.value, `git ${sub.text} --${option.name}`, false);
            }
        }
        else if (w.text.startsWith('-') && letters && [...w.text.slice(1)].some((l) => letters.includes(l))) {
            const letter = [...w.text.slice(1)].find((l) => letters.includes(l));
            const attached = w.text.slice(w.text.indexOf(letter) + 1);
            const value = attached ? { text: attached, fixed: true } : rest[++j];
            if (value)
                ex.shell(value, `git ${sub.text} -${letter}`, false);
        }
        else if (sub.text === 'clone' && w.text === '-c') {
            const setting = rest[++j];
            if (setting?.fixed)
                gitConfig(setting.text.split('=')[0], setting.text.split('=').slice(1).join('='), ex);
        }
    }
}
/** tar options that run a program: their value is checked as shell text. */
const TAR_PROGRAM_OPTIONS = ['to-command', 'use-compress-program', 'rsh-command', 'info-script', 'new-volume-script', 'rmt-command', 'checkpoint-action'];
const TAR_VALUED_LETTERS = 'bCfFgHIKLNTVX';
function examineTar(args, ex) {
    const program = (value, what) => value && ex.shell(value, `tar ${what}`, false);
    const letters = (group, at) => {
        let next = at;
        for (const letter of group) {
            if (!TAR_VALUED_LETTERS.includes(letter))
                continue;
            const value = args[++next];
            if (letter === 'I' || letter === 'F')
                program(value, `-${letter}`);
            if (letter === 'f' && value && /^[^/]*:/.test(value.text))
                ex.unknown('tar reaches a remote archive through a remote shell');
        }
        return next;
    };
    for (let i = 0; i < args.length; i++) {
        const w = args[i];
        if (!w.fixed)
            continue;
        if (i === 0 && !w.text.startsWith('-')) {
            i = letters(w.text, i);
            continue;
        }
        if (w.text === '--')
            break;
        if (w.text.startsWith('--')) {
            const option = longOption(args, i);
            if (option.name === 'checkpoint')
                continue;
            const name = TAR_PROGRAM_OPTIONS.find((n) => abbreviates(option.name, n));
            if (!name)
                continue;
            if (!w.text.includes('='))
                i = option.next;
            if (name === 'checkpoint-action') {
                const exec = /^exec=(.*)$/s.exec(option.value?.text ?? '');
                if (exec)
                    program({ text: exec[1], fixed: option.value.fixed }, '--checkpoint-action=exec');
            }
            else
                program(option.value, `--${name}`);
        }
        else if (w.text.startsWith('-')) {
            const group = w.text.slice(1);
            const valued = [...group].findIndex((l) => TAR_VALUED_LETTERS.includes(l));
            if (valued >= 0 && valued < group.length - 1) {
                const letter = group[valued];
                if (letter === 'I' || letter === 'F')
                    program({ text: group.slice(valued + 1), fixed: true }, `-${letter}`);
            }
            else
                i = letters(group, i);
        }
    }
}
/** rsync: -e/--rsh is the remote shell it runs, --rsync-path the command run on the other side. */
function examineRsync(args, ex) {
    // The server side gets the client's options as protocol flags (`-e.iLsfxC`): nothing there runs.
    if (args.some((w) => w.text === '--server'))
        return;
    for (let i = 0; i < args.length; i++) {
        const w = args[i];
        if (w.text === '--')
            break;
        if (w.text.startsWith('--')) {
            const option = longOption(args, i);
            const name = ['rsh', 'rsync-path', 'remote-option'].find((n) => abbreviates(option.name, n));
            if (!name)
                continue;
            if (!w.text.includes('='))
                i = option.next;
            if (name === 'remote-option')
                ex.unknown('rsync --remote-option passes options to the other side');
            else if (option.value)
                ex.shell(option.value, `rsync --${name}`, false);
        }
        else if (/^-[^-]/.test(w.text)) {
            const group = w.text.slice(1);
            const at = [...group].findIndex((l) => 'eBfMT@'.includes(l));
            if (at < 0)
                continue;
            const value = at < group.length - 1 ? { text: group.slice(at + 1), fixed: w.fixed } : args[++i];
            if (group[at] === 'e' && value)
                ex.shell(value, 'rsync -e', false);
            if (group[at] === 'M')
                ex.unknown('rsync -M passes options to the other side');
        }
    }
}
/** ssh options (-o) that make it run a local command, or a command on the other side. */
const SSH_COMMAND_OPTIONS = /^(proxycommand|localcommand|knownhostscommand|remotecommand|permitlocalcommand|match)$/i;
/** ssh, scp, sftp run on the host: -o settings that run commands; ssh's remote command, checked as shell text. */
function examineSsh(args, ex, name) {
    if (name === 'sftp')
        return ex.unknown('sftp runs local commands (!) from its input');
    const short = name === 'ssh' ? '46AaCfGgKkMNnqsTtVvXxYyB:b:c:D:E:e:F:I:i:J:L:l:m:O:o:p:Q:R:S:W:w:' : '346ABCOpqRrsTtfdvc:D:F:i:J:l:o:P:S:X:';
    const parsed = parseOptions(name, args, { short, permute: name === 'scp' });
    if (parsed.problem)
        ex.unknown(parsed.problem);
    for (const setting of valuesOf(parsed, '-o')) {
        const key = /^\s*([A-Za-z]+)/.exec(setting.text)?.[1] ?? '';
        if (!setting.fixed || SSH_COMMAND_OPTIONS.test(key))
            ex.unknown(`${name} -o ${key || setting.text} runs a command`);
    }
    if (name === 'scp' && valuesOf(parsed, '-S').length)
        ex.unknown('scp -S names the program it runs');
    // What follows the destination is a command for the other host's shell: rules see it too.
    if (name === 'ssh' && parsed.operands.length > 1)
        ex.shell(joined(parsed.operands.slice(1)), 'ssh', false);
}
/** make: --eval text, a makefile read from stdin, and assignments that change the shell or inject code. */
function examineMake(args, ex) {
    for (let i = 0; i < args.length; i++) {
        const t = args[i].text;
        const value = (prefix) => (t.length > prefix.length ? t.slice(prefix.length) : args[++i]?.text);
        if (/^--eval(=|$)|^-E/.test(t))
            return ex.unknown('make --eval runs make code given as text');
        if (/^--(file|makefile)(=|$)|^-f/.test(t)) {
            const file = t.startsWith('--') ? (t.includes('=') ? t.split('=').slice(1).join('=') : args[++i]?.text) : value('-f');
            if (file === '-' || /^\/(dev|proc)\//.test(file ?? ''))
                return ex.unknown('make reads its makefile from a descriptor');
        }
        const assignment = /^([^=\s]+?)[:+?!]*=(.*)$/s.exec(t);
        if (assignment && !t.startsWith('-') && (/^(SHELL|\.SHELLFLAGS|MAKEFLAGS|MAKEFILES|MAKESHELL|MFLAGS)$/.test(assignment[1]) || /\$[({]|`/.test(assignment[2]))) {
            return ex.unknown(`make ${assignment[1]}= changes what its recipes run`);
        }
    }
}
/** Editors run commands read from their arguments (-c, +cmd, --cmd) and from their input (`:!cmd`). */
const EDITORS = new Set(['vi', 'vim', 'nvim', 'ex', 'view', 'rvim', 'rview', 'vimdiff', 'gvim', 'evim', 'ed', 'red', 'emacs', 'emacsclient', 'nano', 'pico', 'joe', 'mcedit']);
const PAGERS = new Set(['less', 'more', 'most', 'pg']);
function examineEditor(name, args, ex, candidate) {
    if (args.length === 1 && /^--?(version|help)$/.test(args[0].text))
        return;
    if (!candidate || args.some((w) => /^(\+|-c$|--cmd$|-S$|-s$|--eval|-l$|--load|-x$|-e)/.test(w.text)))
        ex.unknown(`${name} runs editor commands, which can run programs`);
}
/** Pagers run a command given as `+cmd` (`less '+!cmd'`); their input filters come from LESSOPEN, an environment hook. */
function examinePager(name, args, ex) {
    if (args.some((w) => w.text.startsWith('+') || /^--?(lesskey|k$)/.test(w.text)))
        ex.unknown(`${name} runs pager commands given as arguments`);
}
/** man: the pager (-P) and browser (-H) it runs. */
function examineMan(args, ex) {
    const parsed = parseOptions('man', args, { short: 'C:dDfkKwWaiIlL:m:M:p:P:r:S:s:e:uE:R:tTH::Z7X::hV', long: ['pager:', 'html::', 'config-file:', 'locale:', 'manpath:', 'sections:', 'preprocessor:', 'prompt:', 'encoding:', 'recode:', 'extension:', 'systems:'], permute: true });
    if (parsed.problem)
        return;
    for (const text of valuesOf(parsed, '-P', '--pager', '-H', '--html'))
        ex.shell(text, 'man -P', false);
}
/** `find … -exec CMD … ;` runs CMD: it is a command of its own. */
function examineFind(args, ex) {
    for (let i = 0; i < args.length; i++) {
        if (!['-exec', '-execdir', '-ok', '-okdir'].includes(args[i].text))
            continue;
        const end = args.findIndex((a, j) => j > i && (a.text === ';' || a.text === '+'));
        const inner = args.slice(i + 1, end < 0 ? undefined : end);
        if (inner.length)
            ex.run(inner);
        if (end < 0)
            break;
        i = end;
    }
}
/** crontab, at and batch keep commands to run later, from a file or their stdin. */
function examineScheduler(args, ex, name) {
    const listing = name === 'crontab' ? /^-[lr]$/ : /^-[ldrcV]/;
    if (!args.some((w) => listing.test(w.text)))
        ex.unknown(`${name} schedules commands that run later`);
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/catalogue.ts



/**
 * Programs known to run neither their arguments nor text given to them: their argv is all there is to
 * judge. Every program is one of these, a catalogued one (a wrapper, an interpreter, a program that
 * runs command text from some of its options), or unknown to the gateway: then each of its words that
 * could name a program is checked as the command it may run (`strace -f rm -rf x` is also `rm -rf x`),
 * so a program the catalogue misses cannot carry a command past the rules.
 */
const INERT = new Set([
    'echo', 'printf', 'ls', 'dir', 'cat', 'tac', 'head', 'tail', 'wc', 'sort', 'uniq', 'cut', 'paste', 'tr', 'tee', 'grep', 'egrep', 'fgrep', 'zgrep', 'rg',
    'mkdir', 'rmdir', 'rm', 'cp', 'mv', 'ln', 'chmod', 'chown', 'chgrp', 'touch', 'stat', 'du', 'df', 'pwd', 'whoami', 'id', 'uname', 'hostname', 'date',
    'sleep', 'true', 'false', 'test', '[', 'printenv', 'basename', 'dirname', 'realpath', 'readlink', 'file', 'which', 'type', 'diff', 'cmp', 'comm',
    'md5sum', 'sha1sum', 'sha256sum', 'sha512sum', 'base64', 'base32', 'xxd', 'od', 'hexdump', 'gzip', 'gunzip', 'zcat', 'bzip2', 'bunzip2', 'xz', 'unxz',
    'zstd', 'unzip', 'zip', 'curl', 'wget', 'ps', 'kill', 'pkill', 'pgrep', 'uptime', 'free', 'systemctl', 'journalctl', 'mount', 'umount', 'shred', 'dd',
    'truncate', 'split', 'join', 'nl', 'fold', 'fmt', 'column', 'jq', 'iconv', 'locale', 'getent', 'groups', 'users', 'who', 'w', 'last', 'cal', 'seq',
    'yes', 'nproc', 'lscpu', 'lsblk', 'blkid', 'ip', 'ss', 'netstat', 'ping', 'dig', 'nslookup', 'host', 'cd', 'export', 'read', 'set', 'unset', 'shift',
    'exit', 'return', 'wait', 'jobs', 'umask', 'ulimit', 'getopts', 'local', 'declare', 'typeset', 'readonly', 'pushd', 'popd', 'dirs', 'tput', 'clear',
    'reset', 'stty', 'tty', 'sync', 'lsof', 'mktemp', 'install', 'chattr', 'lsattr', 'setfacl', 'getfacl', 'openssl', 'ssh-keygen',
    'ssh-keyscan', 'git-upload-pack', 'git-receive-pack', 'git-upload-archive', 'sftp-server', 'internal-sftp', ':', 'wall', 'logger', 'patch',
]);
/** The catalogue's name for a program: ld-linux-x86-64.so.2 is the dynamic loader, python3.11 is python, gawk is awk. */
function catalogueName(base) {
    if (/^ld(-linux[\w.-]*|-musl[\w.-]*)?\.so(\.\d+)*$/.test(base))
        return 'ld.so';
    if (/^(g|m|n|original-|busybox-)?awk$/.test(base))
        return 'awk';
    if (base === 'gsed')
        return 'sed';
    return interpreterFamily(base) ?? base;
}
/** Programs that run command text from some of their arguments, by the name they were called as. */
const RUNNERS = {
    awk: examineAwk,
    sed: examineSed,
    git: examineGit,
    tar: examineTar,
    rsync: examineRsync,
    ssh: examineSsh,
    scp: examineSsh,
    sftp: examineSsh,
    make: examineMake,
    gmake: examineMake,
    man: examineMan,
    find: examineFind,
    crontab: examineScheduler,
    at: examineScheduler,
    batch: examineScheduler,
};
/**
 * Reports what a program runs beyond its own argv. `candidate` is set for words that only may be a
 * command (an uncatalogued program's arguments): then only what the words show counts, not what a
 * program does by default (an editor reading its input), so `apt-get install vim` stays what it is.
 */
function examineProgram(base, args, ex, candidate) {
    const name = catalogueName(base);
    if (INERT.has(name))
        return;
    if (WRAPPER_NAMES.has(name))
        return examineWrapper(name, args, ex);
    const runner = RUNNERS[name];
    if (runner)
        return runner(args, ex, base);
    if (interpreterFamily(name))
        return examineInterpreter(name, args, ex);
    if (EDITORS.has(name))
        return examineEditor(name, args, ex, candidate);
    if (PAGERS.has(name))
        return examinePager(name, args, ex);
    if (candidate)
        return;
    args.forEach((w, i) => w.fixed && /^[\w./+-]+$/.test(w.text) && !w.text.startsWith('-') && ex.mayRun(args.slice(i)));
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/evaluating.ts

const { syntax } = (mvdan_sh_default());
/**
 * Shell features that evaluate a variable's value as code: arithmetic evaluates a variable holding
 * `a[$(cmd)]` and runs cmd (in `$((x))`, `((…))`, `let`, `[[ x -eq y ]]`, subscripts and offsets),
 * `${!x}` evaluates the subscript of the name x holds, `${x@P}` expands a prompt. A variable is safe in
 * arithmetic only when this text gives it numbers alone.
 */
const OPS = (() => {
    const parser = syntax.NewParser();
    const op = (src, type) => firstNode(parser.Parse(src, ''), type).Op;
    return {
        assign: new Set(['a=1', 'a+=1', 'a-=1', 'a*=1', 'a/=1', 'a%=1', 'a<<=1', 'a>>=1', 'a&=1', 'a|=1', 'a^=1'].map((s) => op(`((${s}))`, 'BinaryArithm'))),
        step: new Set(['a++', 'a--', '++a', '--a'].map((s) => op(`((${s}))`, 'UnaryArithm'))),
        tests: new Set(['-eq', '-ne', '-lt', '-le', '-gt', '-ge'].map((t) => op(`[[ a ${t} b ]]`, 'BinaryTest'))),
    };
})();
function firstNode(root, type) {
    let found;
    syntax.Walk(root, (n) => {
        if (!found && n && syntax.NodeType(n) === type)
            found = n;
        return !found;
    });
    return found;
}
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The name a word is when it is a bare identifier (in arithmetic, `x` is the variable x). */
function identifier(word) {
    if (!word || syntax.NodeType(word) !== 'Word')
        return undefined;
    const parts = word.Parts;
    const value = parts.length === 1 && syntax.NodeType(parts[0]) === 'Lit' ? parts[0].Value : undefined;
    return value && IDENTIFIER.test(value) ? value : undefined;
}
/**
 * The variables this text gives only numbers: literal integers and arithmetic results, never a
 * string, a loop's word, or what `read`, `mapfile`, `getopts` or `printf -v` store.
 */
function numericNames(file, value) {
    const numeric = new Set();
    const tainted = new Set();
    syntax.Walk(file, (node) => {
        if (!node)
            return true;
        switch (syntax.NodeType(node)) {
            case 'Assign': {
                const name = node.Name?.Value;
                if (!name)
                    break;
                const v = node.Value;
                const fixed = v && value(v);
                (fixed && fixed.fixed && /^-?\d+$/.test(fixed.text) && !node.Array ? numeric : tainted).add(name);
                break;
            }
            case 'BinaryArithm':
            case 'UnaryArithm': {
                const ops = syntax.NodeType(node) === 'BinaryArithm' ? OPS.assign : OPS.step;
                const name = identifier(node.X);
                if (name && ops.has(node.Op))
                    numeric.add(name);
                break;
            }
            case 'WordIter':
                tainted.add(node.Name.Value);
                break;
            case 'CallExpr': {
                const args = node.Args.map(value);
                if (/^(read|mapfile|readarray|getopts|printf)$/.test(args[0]?.text ?? ''))
                    for (const a of args.slice(1))
                        if (IDENTIFIER.test(a.text))
                            tainted.add(a.text);
                break;
            }
        }
        return true;
    });
    for (const name of tainted)
        numeric.delete(name);
    return numeric;
}
/** The variables an arithmetic expression reads: bare names and parameter expansions. */
function arithmeticReads(root) {
    const names = [];
    if (!root)
        return names;
    syntax.Walk(root, (node) => {
        if (!node)
            return true;
        const name = identifier(node) ?? (syntax.NodeType(node) === 'ParamExp' ? node.Param?.Value : undefined);
        if (name)
            names.push(name);
        return true;
    });
    return names;
}
/** Reports (through `unknown`) what about one node evaluates text the gateway cannot see. */
function evaluatingFeatures(node, source, numeric, unknown) {
    const arithmetic = (root) => {
        const unsafe = arithmeticReads(root).find((n) => !numeric.has(n) && !/^[0-9#?$!@*-]$/.test(n));
        if (unsafe)
            unknown(`arithmetic evaluates the value of ${unsafe} as an expression, which can run code`);
    };
    switch (syntax.NodeType(node)) {
        case 'ArithmExp':
        case 'ArithmCmd':
            return arithmetic(node.X);
        case 'LetClause':
            return node.Exprs.forEach(arithmetic);
        case 'CStyleLoop':
            return [node.Init, node.Cond, node.Post].forEach((n) => arithmetic(n));
        case 'BinaryTest':
            if (OPS.tests.has(node.Op))
                [node.X, node.Y].forEach((n) => arithmetic(n));
            return;
        case 'DeclClause': {
            const naked = node.Args
                .filter((a) => a.Naked)
                .map((a) => a.Name?.Value ?? source.slice(a.Value.Pos().Offset(), a.Value.End().Offset()));
            const flags = naked.filter((t) => t.startsWith('-')).join('');
            if (/[in]/.test(flags))
                unknown(`declare ${flags} makes assignments evaluate their values`);
            if (naked.some((t) => !t.startsWith('-') && !IDENTIFIER.test(t)))
                unknown('a declaration of a name known only at run time');
            return;
        }
        case 'ParamExp': {
            const text = source.slice(node.Pos().Offset(), node.End().Offset());
            if (node.Excl && !/^\$\{!\w+(\*|@|\[[@*]\])\}$/.test(text))
                unknown(`${text} expands the name a variable holds, evaluating its subscript`);
            if (/@P\}$/.test(text))
                unknown(`${text} expands a prompt, which runs command substitutions`);
            const index = node.Index;
            if (index && !/^[@*]$/.test(source.slice(index.Pos().Offset(), index.End().Offset())))
                arithmetic(index);
            const slice = node.Slice;
            if (slice)
                [slice.Offset, slice.Length].forEach((n) => arithmetic(n));
            return;
        }
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/commands.ts




const { syntax: commands_syntax } = (mvdan_sh_default());
/** Nesting of shell text within shell text (`bash -c "…"`, heredocs fed to shells), bounded so text cannot recurse for ever. */
const MAX_DEPTH = 4;
/** Commands followed in one analysis, bounded so a line cannot make the gateway work without end. */
const MAX_COMMANDS = 2000;
/** Operator tokens, learnt from the parser itself so a change in its numbering cannot go unnoticed. */
const TOKENS = (() => {
    const parser = commands_syntax.NewParser();
    const binaryOp = (src) => firstOf(parser.Parse(src, ''), 'BinaryCmd').Op;
    const redirectOp = (src) => firstOf(parser.Parse(src, ''), 'Stmt').Redirs[0].Op;
    return {
        pipes: new Set([binaryOp('a | b'), binaryOp('a |& b')]),
        inputs: new Set([redirectOp('a < f'), redirectOp('a <&3'), redirectOp('a <> f')]),
        texts: new Set([redirectOp('a <<X\nX'), redirectOp('a <<-X\nX'), redirectOp('a <<< s')]),
    };
})();
function firstOf(root, type) {
    let found;
    commands_syntax.Walk(root, (node) => {
        if (found || !node)
            return false;
        if (commands_syntax.NodeType(node) === type)
            found = node;
        return !found;
    });
    return found;
}
/** Parses a command line (or a script) and finds every command in it, however nested. */
function analyzeShell(text) {
    const analysis = { commands: [], written: [], unknown: [] };
    // A NUL ends the command string the host's shell is given, and bash drops it from a script: `r\0m` is rm.
    if (text.includes('\0'))
        analysis.unknown.push("the command holds a NUL byte, which the host's shell drops or stops at");
    analyze(text.replaceAll('\0', ''), analysis, { stdin: 'session', inputs: [], source: '', candidate: false, depth: 0 });
    return analysis;
}
function analyze(text, out, base) {
    if (base.depth > MAX_DEPTH) {
        out.unknown.push('shell code nested too deep to follow');
        return;
    }
    let file;
    try {
        file = commands_syntax.NewParser().Parse(text, '');
    }
    catch (e) {
        if (base.candidate)
            out.unknown.push(`text that may run as shell is not shell the gateway can parse: ${parseErrorText(e)}`);
        else
            out.unparseable ??= parseErrorText(e);
        return;
    }
    const stdinOf = stdinSources(file);
    const numeric = numericNames(file, (w) => wordValue(w, text));
    const unknown = (reason) => out.unknown.push(reason);
    commands_syntax.Walk(file, (node) => {
        if (!node)
            return true;
        evaluatingFeatures(node, text, numeric, unknown);
        const type = commands_syntax.NodeType(node);
        if (type === 'DeclClause')
            for (const a of node.Args)
                environment(a, out);
        if (type !== 'CallExpr')
            return true;
        for (const a of node.Assigns)
            environment(a, out);
        const words = node.Args.map((w) => wordValue(w, text));
        if (words.length === 0)
            return true;
        const { stdin, inputs } = stdinOf(node.Pos().Offset());
        examine(words, { ...base, stdin: stdin ?? base.stdin, inputs, source: text }, out, true);
        return true;
    });
}
/**
 * For each command (by offset), where its stdin comes from: the right side of a pipe, a coprocess, a
 * compound command or the command itself redirected, a shell whose own stdin `exec <…` replaced.
 */
function stdinSources(file) {
    const ranges = [];
    const own = new Map();
    let execRedirected = false;
    const readsFd0 = (r) => !r.N || r.N.Value === '0';
    commands_syntax.Walk(file, (node) => {
        if (!node)
            return true;
        const type = commands_syntax.NodeType(node);
        const range = (n, stdin) => ranges.push({ from: n.Pos().Offset(), to: n.End().Offset(), stdin });
        if (type === 'BinaryCmd' && TOKENS.pipes.has(node.Op))
            range(node.Y, 'pipe');
        if (type === 'CoprocClause')
            range(node.Stmt, 'coprocess');
        if (type === 'Stmt' && node.Cmd) {
            const redirs = node.Redirs.filter(readsFd0);
            const texts = redirs.filter((r) => TOKENS.texts.has(r.Op));
            const files = redirs.filter((r) => TOKENS.inputs.has(r.Op));
            const cmd = node.Cmd;
            if (commands_syntax.NodeType(cmd) !== 'CallExpr') {
                if (redirs.length)
                    range(cmd, 'redirected');
            }
            else if (cmd.Args.length === 1 && cmd.Args[0].Parts[0]?.Value === 'exec' && redirs.length)
                execRedirected = true;
            else if (redirs.length)
                own.set(cmd.Pos().Offset(), { redirected: files.length > 0, inputs: texts });
        }
        return true;
    });
    return (offset) => {
        const mine = own.get(offset);
        if (mine?.redirected || execRedirected)
            return { stdin: 'redirected', inputs: [] };
        const around = ranges.find((r) => r.from <= offset && offset < r.to);
        return { ...(around && { stdin: around.stdin }), inputs: mine?.inputs ?? [] };
    };
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
        const expands = commands_syntax.NodeType(part) === 'Lit' && EXPANDS.test(part.Value);
        if (value === null || expands)
            return { text: source.slice(word.Pos().Offset(), word.End().Offset()), fixed: false };
        text += value;
    }
    return { text, fixed: true };
}
function partValue(part) {
    switch (commands_syntax.NodeType(part)) {
        case 'Lit':
            return unescapeBare(part.Value);
        case 'SglQuoted':
            return part.Dollar ? unescapeAnsiC(part.Value) : part.Value;
        case 'DblQuoted': {
            let text = '';
            for (const inner of part.Parts) {
                if (commands_syntax.NodeType(inner) !== 'Lit')
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
const ANSI_C_SIMPLE = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };
/**
 * `$'…'` as bash reads it: \xHH, \uHHHH, \UHHHHHHHH, octal, \cX and the C escapes; the string ends at
 * the first NUL it makes (`$'rm\0x'` is rm).
 */
function unescapeAnsiC(value) {
    let out = '';
    for (const m of value.matchAll(/\\(x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|U[0-9A-Fa-f]{1,8}|[0-7]{1,3}|c.|.)|[^\\]+/gs)) {
        const escape = m[1];
        let piece = m[0];
        if (escape !== undefined) {
            if (/^[xuU]./.test(escape))
                piece = String.fromCodePoint(Math.min(parseInt(escape.slice(1), 16), 0x10ffff));
            else if (/^[0-7]/.test(escape))
                piece = String.fromCharCode(parseInt(escape, 8) & 0xff);
            else if (escape[0] === 'c' && escape.length === 2)
                piece = String.fromCharCode(escape.charCodeAt(1) & 0x1f);
            else
                piece = ANSI_C_SIMPLE[escape] ?? m[0];
        }
        const nul = piece.indexOf('\0');
        if (nul >= 0)
            return out + piece.slice(0, nul);
        out += piece;
    }
    return out;
}
/**
 * Variables whose value the shell or the programs it starts run as code, or that change which code
 * loads: setting one makes the line `unknown`. PATH is not among them: which file a name runs is the
 * host's, as any file a command runs.
 */
const ENVIRONMENT_HOOKS = /^(BASH_ENV|ENV|PROMPT_COMMAND|PS[0-4]|SHELLOPTS|BASHOPTS|BASH_FUNC_.*|BASH_LOADABLES_PATH|ZDOTDIR|LD_\w+|DYLD_\w+|GCONV_PATH|LESSOPEN|LESSCLOSE|PAGER|MANPAGER|MANOPT|GIT_PAGER|SYSTEMD_PAGER|EDITOR|VISUAL|SUDO_EDITOR|GIT_EDITOR|GIT_SEQUENCE_EDITOR|GIT_SSH|GIT_SSH_COMMAND|GIT_PROXY_COMMAND|GIT_EXTERNAL_DIFF|GIT_ASKPASS|SSH_ASKPASS|GIT_EXEC_PATH|GIT_CONFIG\w*|GIT_TEMPLATE_DIR|RSYNC_RSH|TAR_OPTIONS|MAKEFLAGS|MAKEFILES|MFLAGS|PERL5OPT|PERL5LIB|PERLLIB|PYTHONSTARTUP|PYTHONPATH|PYTHONHOME|PYTHONINSPECT|NODE_OPTIONS|NODE_PATH|RUBYOPT|RUBYLIB|BROWSER)$/;
/** An assignment (`NAME=value cmd`, `export NAME=…`, `env NAME=…`): hooks are `unknown`. */
function environment(assign, out) {
    const name = 'text' in assign ? /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(assign.text)?.[1] : assign.Name?.Value;
    if (typeof name === 'string' && ENVIRONMENT_HOOKS.test(name))
        out.unknown.push(`${name} is set, which makes programs run code from it`);
}
function basename(path) {
    return path.slice(path.lastIndexOf('/') + 1);
}
/** Shell builtins that evaluate text or change what names mean; true when `name` is one. */
function examineBuiltin(name, args, ex) {
    const text = (w, what) => w && ex.shell(w, what);
    switch (name) {
        case 'eval':
            ex.unknown('eval runs text as code');
            if (args.length)
                text(joined(args), 'eval');
            return true;
        case 'source':
        case '.':
            ex.unknown(`${name} runs a file's code the gateway cannot see`);
            return true;
        case 'alias':
            for (const a of args.filter((w) => w.text.includes('='))) {
                ex.unknown('alias defines text that runs as code wherever aliases are expanded');
                text({ text: a.text.slice(a.text.indexOf('=') + 1), fixed: a.fixed }, 'alias');
            }
            return true;
        case 'shopt':
            if (args.some((w) => !w.fixed || w.text === 'expand_aliases'))
                ex.unknown('shopt expand_aliases makes aliases run as code');
            return true;
        case 'trap':
            if (args.length > 1 && args[0].text !== '-' && args[0].text !== '') {
                ex.unknown('trap runs text as code when a signal comes');
                text(args[0], 'trap');
            }
            return true;
        case 'mapfile':
        case 'readarray': {
            const callback = args.findIndex((w) => w.text === '-C');
            if (callback >= 0) {
                ex.unknown(`${name} -C runs a callback as code`);
                text(args[callback + 1], `${name} -C`);
            }
            return true;
        }
        case 'hash':
        case 'enable':
        case 'fc':
        case 'bind':
        case 'complete':
        case 'compgen':
            if (name === 'fc' || args.some((w) => !w.fixed || /^-[^-]*[pfxC]/.test(w.text)))
                ex.unknown(`${name} changes or runs what a name or text means`);
            return true;
        default:
            return false;
    }
}
/** Records one simple command and what it runs, and what about it cannot be known in advance. */
function examine(words, ctx, out, written) {
    if (out.commands.length >= MAX_COMMANDS) {
        if (!out.unknown.includes('too many commands to follow'))
            out.unknown.push('too many commands to follow');
        return;
    }
    const argv = words.map((w) => w.text);
    if (written)
        out.written.push(argv);
    out.commands.push(argv);
    const [program, ...args] = words;
    if (!program.fixed) {
        if (!ctx.candidate)
            out.unknown.push(`the command name ${program.text} is known only when it runs`);
        return;
    }
    const ex = examiner(ctx, out);
    const name = basename(program.text);
    if (!examineBuiltin(name, args, ex))
        examineProgram(name, args, ex, ctx.candidate);
}
function examiner(ctx, out) {
    return {
        run: (words) => words.length > 0 && examine(words, ctx, out, false),
        mayRun: (words) => words.length > 0 && examine(words, { ...ctx, candidate: true }, out, false),
        shell: (text, what, sameStdin = true) => {
            if (!text.fixed)
                return void out.unknown.push(`${what} runs command text known only at run time`);
            const stdin = sameStdin && ctx.inputs.length === 0 ? ctx.stdin : 'redirected';
            analyze(text.text, out, { ...ctx, stdin, inputs: [], depth: ctx.depth + 1 });
        },
        unknown: (reason) => void out.unknown.push(reason),
        environment: (assignment) => environment(assignment, out),
        readsProgramFromStdin: (kind, name) => {
            if (ctx.candidate)
                return;
            for (const input of ctx.inputs) {
                const body = (input.Hdoc ?? input.Word);
                const text = body && wordValue(body, ctx.source);
                if (kind === 'shell' && text?.fixed)
                    analyze(text.text, out, { ...ctx, stdin: 'redirected', inputs: [], depth: ctx.depth + 1 });
                else
                    out.unknown.push(`${name} reads its program from ${input.Hdoc ? 'a here-document' : 'a here-string'}${kind === 'shell' ? ' with expansions' : ''}`);
            }
            if (ctx.inputs.length)
                return;
            if (ctx.stdin === 'session') {
                if (out.readsStdin !== 'interpreter')
                    out.readsStdin = kind;
            }
            else
                out.unknown.push(ctx.stdin === 'pipe' ? `output piped into ${name} runs as code` : `${name} reads its program from a ${ctx.stdin === 'coprocess' ? 'coprocess' : 'redirection'}`);
        },
    };
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

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/discover.ts
/** A line longer than this is counted in pieces. */
const MAX_LINE = 16 * 1024;
/**
 * Observe mode: a command's output as it goes to the job, counted line by line under the connection
 * (`deploy output`) by the run's Discovery, for `govern policy suggest` to propose the detector types
 * that connection's output needs masked. Lines are counted, never kept.
 */
class OutputDiscovery {
    #governor;
    #source;
    #partial = '';
    constructor(governor, connection) {
        this.#governor = governor;
        this.#source = `${connection} output`;
    }
    static for(governor, connection) {
        return governor.discovery.countsValues ? new OutputDiscovery(governor, connection) : undefined;
    }
    add(chunk) {
        const lines = (this.#partial + chunk.toString('utf8')).split('\n');
        this.#partial = lines.pop();
        for (const line of lines)
            if (line)
                this.#governor.discovery.value(this.#source, line);
        if (this.#partial.length > MAX_LINE)
            this.done();
    }
    done() {
        if (this.#partial)
            this.#governor.discovery.value(this.#source, this.#partial);
        this.#partial = '';
    }
}

// EXTERNAL MODULE: ./runner-proxy/src/masking/detectors.ts
var detectors = __webpack_require__(7597);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/output-mask.ts

/** A private key spans lines; its block is held whole, up to this size. */
const MAX_KEY_BLOCK = 64 * 1024;
/**
 * Masks a byte stream (a command's stdout or stderr, a terminal) with the shared detectors. Each write
 * is masked and sent at once except its end that could still begin a sensitive value (a run of digits,
 * a word that could be an email's local part, an unterminated private key block): that is held until
 * what follows settles it or the stream ends, however long the pause, so a value written in pieces is
 * masked whatever its timing, and a prompt goes out as soon as it is written. Bytes are read as latin1,
 * so whatever is not a finding, binary or UTF-8, goes out unchanged.
 */
class OutputMasker {
    #masker;
    #plan;
    #emit;
    #held = Buffer.alloc(0);
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
    }
    /** Masks and sends whatever is held: at the end of the stream. */
    flush() {
        if (this.#held.length === 0)
            return;
        const held = this.#held;
        this.#held = Buffer.alloc(0);
        this.#emit(this.#mask(held));
    }
    /** Where the bytes before can be masked on their own: before any value that may still be growing. */
    #safeCut(data) {
        const begin = data.lastIndexOf('-----BEGIN ');
        if (begin >= 0 && data.indexOf('-----END ', begin) < 0 && data.length - begin < MAX_KEY_BLOCK)
            return begin;
        const from = Math.max(0, data.length - 4 * 1024);
        return from + (0,detectors/* openValueStart */.Cb)(data.toString('latin1', from), this.#plan);
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
            ...(analysis && { commands: analysis.commands.map((argv) => argv.map(redact)), written: analysis.written.map((argv) => argv.map(redact)) }),
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
            analysis.written.unshift(...head.written);
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
        this.#cast = new CastRecorder(this.#ctx.governor.bundleDir, ruling.seq, { cols: pty.cols, rows: pty.rows, term: pty.term });
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
            if (governor.recordingFailure)
                throw governor.recordingFailure;
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
        const discovered = OutputDiscovery.for(governor, this.#ctx.name);
        const out = sink(channel, stream, (chunk) => {
            bytes += chunk.length;
            cast?.output(chunk);
            discovered?.add(chunk);
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
            discovered?.done();
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

// EXTERNAL MODULE: ./runner-proxy/src/base/glob.ts
var glob = __webpack_require__(6997);
// EXTERNAL MODULE: ./runner-proxy/src/base/duration.ts
var duration = __webpack_require__(536);
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
        keepaliveMs: (0,duration/* parseDuration */.E)(s.keepalive ?? DEFAULT_KEEPALIVE),
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
