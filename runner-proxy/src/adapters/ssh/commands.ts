import sh, { type Node } from 'mvdan-sh';
import { examineProgram } from './catalogue.js';
import { evaluatingFeatures, numericNames } from './evaluating.js';
import type { Word } from './options.js';
import { joined, type Examiner } from './wrappers.js';

const { syntax } = sh;

/** What the gateway knows of a command line before it runs. */
export interface ShellAnalysis {
  /**
   * Every command that runs or may run, as its argv with quoting and escapes resolved: each simple
   * command as written, what its wrappers run once taken off, commands in text it hands a shell, and
   * the words an uncatalogued program is given that could name a program. Rules that refuse or hold
   * look at all of them.
   */
  commands: string[][];
  /** Each simple command as written, wrappers included, in the line and in shell text it runs: what an allow-list must list. */
  written: string[][];
  /** Why the effect cannot be known before it runs; empty when it can. */
  unknown: string[];
  /** The parser's complaint: text that is not shell at all is refused. */
  unparseable?: string;
  /**
   * A shell or interpreter that reads its program from the session's own stdin (`ssh host bash -s`):
   * a shell's script is checked before it runs; an interpreter's cannot be.
   */
  readsStdin?: 'shell' | 'interpreter';
}

/** Nesting of shell text within shell text (`bash -c "…"`, heredocs fed to shells), bounded so text cannot recurse for ever. */
const MAX_DEPTH = 4;
/** Commands followed in one analysis, bounded so a line cannot make the gateway work without end. */
const MAX_COMMANDS = 2000;

/** Where a command's stdin comes from: the session's channel, a pipe, a coprocess's, or a redirection. */
type Stdin = 'session' | 'pipe' | 'coprocess' | 'redirected';

interface Context {
  stdin: Stdin;
  /** Here-documents and here-strings on the command itself, which a shell's script can be read from. */
  inputs: Node[];
  source: string;
  /** Words that only may be a command (an uncatalogued program's arguments). */
  candidate: boolean;
  depth: number;
}

/** Operator tokens, learnt from the parser itself so a change in its numbering cannot go unnoticed. */
const TOKENS = (() => {
  const parser = syntax.NewParser();
  const binaryOp = (src: string) => firstOf(parser.Parse(src, ''), 'BinaryCmd')!.Op as number;
  const redirectOp = (src: string) => (firstOf(parser.Parse(src, ''), 'Stmt')!.Redirs as Node[])[0]!.Op as number;
  return {
    pipes: new Set([binaryOp('a | b'), binaryOp('a |& b')]),
    inputs: new Set([redirectOp('a < f'), redirectOp('a <&3'), redirectOp('a <> f')]),
    texts: new Set([redirectOp('a <<X\nX'), redirectOp('a <<-X\nX'), redirectOp('a <<< s')]),
  };
})();

export function firstOf(root: Node, type: string): Node | undefined {
  let found: Node | undefined;
  syntax.Walk(root, (node) => {
    if (found || !node) return false;
    if (syntax.NodeType(node) === type) found = node;
    return !found;
  });
  return found;
}

/** Parses a command line (or a script) and finds every command in it, however nested. */
export function analyzeShell(text: string): ShellAnalysis {
  const analysis: ShellAnalysis = { commands: [], written: [], unknown: [] };
  // A NUL ends the command string the host's shell is given, and bash drops it from a script: `r\0m` is rm.
  if (text.includes('\0')) analysis.unknown.push("the command holds a NUL byte, which the host's shell drops or stops at");
  analyze(text.replaceAll('\0', ''), analysis, { stdin: 'session', inputs: [], source: '', candidate: false, depth: 0 });
  return analysis;
}

function analyze(text: string, out: ShellAnalysis, base: Context): void {
  if (base.depth > MAX_DEPTH) {
    out.unknown.push('shell code nested too deep to follow');
    return;
  }
  let file: Node;
  try {
    file = syntax.NewParser().Parse(text, '');
  } catch (e) {
    if (base.candidate) out.unknown.push(`text that may run as shell is not shell the gateway can parse: ${parseErrorText(e)}`);
    else out.unparseable ??= parseErrorText(e);
    return;
  }
  const stdinOf = stdinSources(file);
  const numeric = numericNames(file, (w) => wordValue(w, text));
  const unknown = (reason: string) => out.unknown.push(reason);
  syntax.Walk(file, (node) => {
    if (!node) return true;
    evaluatingFeatures(node, text, numeric, unknown);
    const type = syntax.NodeType(node);
    if (type === 'DeclClause') for (const a of node.Args as Node[]) environment(a, out);
    if (type !== 'CallExpr') return true;
    for (const a of node.Assigns as Node[]) environment(a, out);
    const words = (node.Args as Node[]).map((w) => wordValue(w, text));
    if (words.length === 0) return true;
    const { stdin, inputs } = stdinOf(node.Pos().Offset());
    examine(words, { ...base, stdin: stdin ?? base.stdin, inputs, source: text }, out, true);
    return true;
  });
}

/**
 * For each command (by offset), where its stdin comes from: the right side of a pipe, a coprocess, a
 * compound command or the command itself redirected, a shell whose own stdin `exec <…` replaced.
 */
function stdinSources(file: Node): (offset: number) => { stdin?: Stdin; inputs: Node[] } {
  const ranges: { from: number; to: number; stdin: Stdin }[] = [];
  const own = new Map<number, { redirected: boolean; inputs: Node[] }>();
  let execRedirected = false;
  const readsFd0 = (r: Node) => !r.N || (r.N as Node).Value === '0';
  syntax.Walk(file, (node) => {
    if (!node) return true;
    const type = syntax.NodeType(node);
    const range = (n: Node, stdin: Stdin) => ranges.push({ from: n.Pos().Offset(), to: n.End().Offset(), stdin });
    if (type === 'BinaryCmd' && TOKENS.pipes.has(node.Op as number)) range(node.Y as Node, 'pipe');
    if (type === 'CoprocClause') range(node.Stmt as Node, 'coprocess');
    if (type === 'Stmt' && node.Cmd) {
      const redirs = (node.Redirs as Node[]).filter(readsFd0);
      const texts = redirs.filter((r) => TOKENS.texts.has(r.Op as number));
      const files = redirs.filter((r) => TOKENS.inputs.has(r.Op as number));
      const cmd = node.Cmd as Node;
      if (syntax.NodeType(cmd) !== 'CallExpr') {
        if (redirs.length) range(cmd, 'redirected');
      } else if ((cmd.Args as Node[]).length === 1 && ((cmd.Args as Node[])[0]!.Parts as Node[])[0]?.Value === 'exec' && redirs.length) execRedirected = true;
      else if (redirs.length) own.set(cmd.Pos().Offset(), { redirected: files.length > 0, inputs: texts });
    }
    return true;
  });
  return (offset) => {
    const mine = own.get(offset);
    if (mine?.redirected || execRedirected) return { stdin: 'redirected', inputs: [] };
    const around = ranges.find((r) => r.from <= offset && offset < r.to);
    return { ...(around && { stdin: around.stdin }), inputs: mine?.inputs ?? [] };
  };
}

function parseErrorText(e: unknown): string {
  const error = e as { Error?: () => string; message?: string };
  return typeof error?.Error === 'function' ? error.Error() : String(error?.message ?? e);
}

/** Unquoted glob or brace expansion: `/bin/r?` and `{rm,-rf,x}` become other words when they run (`[` alone is test). */
const EXPANDS = /[*?]|\[.*\]|\{[^{}]*(,|\.\.)[^{}]*\}/;

export function wordValue(word: Node, source: string): Word {
  let text = '';
  for (const part of word.Parts as Node[]) {
    const value = partValue(part);
    const expands = syntax.NodeType(part) === 'Lit' && EXPANDS.test(part.Value as string);
    if (value === null || expands) return { text: source.slice(word.Pos().Offset(), word.End().Offset()), fixed: false };
    text += value;
  }
  return { text, fixed: true };
}

function partValue(part: Node): string | null {
  switch (syntax.NodeType(part)) {
    case 'Lit':
      return unescapeBare(part.Value as string);
    case 'SglQuoted':
      return part.Dollar ? unescapeAnsiC(part.Value as string) : (part.Value as string);
    case 'DblQuoted': {
      let text = '';
      for (const inner of part.Parts as Node[]) {
        if (syntax.NodeType(inner) !== 'Lit') return null;
        text += (inner.Value as string).replace(/\\([$`"\\\n])/g, (_, c: string) => (c === '\n' ? '' : c));
      }
      return text;
    }
    default:
      return null;
  }
}

function unescapeBare(value: string): string {
  return value.replace(/\\(.)/gs, (_, c: string) => (c === '\n' ? '' : c));
}

const ANSI_C_SIMPLE: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };

/**
 * `$'…'` as bash reads it: \xHH, \uHHHH, \UHHHHHHHH, octal, \cX and the C escapes; the string ends at
 * the first NUL it makes (`$'rm\0x'` is rm).
 */
export function unescapeAnsiC(value: string): string {
  let out = '';
  for (const m of value.matchAll(/\\(x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|U[0-9A-Fa-f]{1,8}|[0-7]{1,3}|c.|.)|[^\\]+/gs)) {
    const escape = m[1];
    let piece = m[0];
    if (escape !== undefined) {
      if (/^[xuU]./.test(escape)) piece = String.fromCodePoint(Math.min(parseInt(escape.slice(1), 16), 0x10ffff));
      else if (/^[0-7]/.test(escape)) piece = String.fromCharCode(parseInt(escape, 8) & 0xff);
      else if (escape[0] === 'c' && escape.length === 2) piece = String.fromCharCode(escape.charCodeAt(1) & 0x1f);
      else piece = ANSI_C_SIMPLE[escape] ?? m[0];
    }
    const nul = piece.indexOf('\0');
    if (nul >= 0) return out + piece.slice(0, nul);
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
function environment(assign: Node | Word, out: ShellAnalysis): void {
  const name = 'text' in assign ? /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(assign.text as string)?.[1] : ((assign as Node).Name as Node | null)?.Value;
  if (typeof name === 'string' && ENVIRONMENT_HOOKS.test(name)) out.unknown.push(`${name} is set, which makes programs run code from it`);
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Shell builtins that evaluate text or change what names mean; true when `name` is one. */
function examineBuiltin(name: string, args: Word[], ex: Examiner): boolean {
  const text = (w: Word | undefined, what: string) => w && ex.shell(w, what);
  switch (name) {
    case 'eval':
      ex.unknown('eval runs text as code');
      if (args.length) text(joined(args), 'eval');
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
      if (args.some((w) => !w.fixed || w.text === 'expand_aliases')) ex.unknown('shopt expand_aliases makes aliases run as code');
      return true;
    case 'trap':
      if (args.length > 1 && args[0]!.text !== '-' && args[0]!.text !== '') {
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
      if (name === 'fc' || args.some((w) => !w.fixed || /^-[^-]*[pfxC]/.test(w.text))) ex.unknown(`${name} changes or runs what a name or text means`);
      return true;
    default:
      return false;
  }
}

/** Records one simple command and what it runs, and what about it cannot be known in advance. */
function examine(words: Word[], ctx: Context, out: ShellAnalysis, written: boolean): void {
  if (out.commands.length >= MAX_COMMANDS) {
    if (!out.unknown.includes('too many commands to follow')) out.unknown.push('too many commands to follow');
    return;
  }
  const argv = words.map((w) => w.text);
  if (written) out.written.push(argv);
  out.commands.push(argv);
  const [program, ...args] = words as [Word, ...Word[]];
  if (!program.fixed) {
    if (!ctx.candidate) out.unknown.push(`the command name ${program.text} is known only when it runs`);
    return;
  }
  const ex = examiner(ctx, out);
  const name = basename(program.text);
  if (!examineBuiltin(name, args, ex)) examineProgram(name, args, ex, ctx.candidate);
}

function examiner(ctx: Context, out: ShellAnalysis): Examiner {
  return {
    run: (words) => words.length > 0 && examine(words, ctx, out, false),
    mayRun: (words) => words.length > 0 && examine(words, { ...ctx, candidate: true }, out, false),
    shell: (text, what, sameStdin = true) => {
      if (!text.fixed) return void out.unknown.push(`${what} runs command text known only at run time`);
      const stdin = sameStdin && ctx.inputs.length === 0 ? ctx.stdin : 'redirected';
      analyze(text.text, out, { ...ctx, stdin, inputs: [], depth: ctx.depth + 1 });
    },
    unknown: (reason) => void out.unknown.push(reason),
    environment: (assignment) => environment(assignment, out),
    readsProgramFromStdin: (kind, name) => {
      if (ctx.candidate) return;
      for (const input of ctx.inputs) {
        const body = (input.Hdoc ?? input.Word) as Node | null;
        const text = body && wordValue(body, ctx.source);
        if (kind === 'shell' && text?.fixed) analyze(text.text, out, { ...ctx, stdin: 'redirected', inputs: [], depth: ctx.depth + 1 });
        else out.unknown.push(`${name} reads its program from ${input.Hdoc ? 'a here-document' : 'a here-string'}${kind === 'shell' ? ' with expansions' : ''}`);
      }
      if (ctx.inputs.length) return;
      if (ctx.stdin === 'session') {
        if (out.readsStdin !== 'interpreter') out.readsStdin = kind;
      } else out.unknown.push(ctx.stdin === 'pipe' ? `output piped into ${name} runs as code` : `${name} reads its program from a ${ctx.stdin === 'coprocess' ? 'coprocess' : 'redirection'}`);
    },
  };
}
