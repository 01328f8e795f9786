import sh, { type Node } from 'mvdan-sh';

const { syntax } = sh;

/** What the gateway knows of a command line before it runs. */
export interface ShellAnalysis {
  /** Every simple command, wrappers taken off, words with quoting and escapes resolved. */
  commands: string[][];
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
  const binaryOp = (src: string) => firstOf(parser.Parse(src, ''), 'BinaryCmd')!.Op as number;
  const redirectOp = (src: string) => (firstOf(parser.Parse(src, ''), 'Stmt')!.Redirs as Node[])[0]!.Op as number;
  return {
    pipes: new Set([binaryOp('a | b'), binaryOp('a |& b')]),
    stdin: new Set([redirectOp('a < f'), redirectOp('a <<< s')]),
    heredocs: new Set([redirectOp('a <<X\nX'), redirectOp('a <<-X\nX')]),
  };
})();

function firstOf(root: Node, type: string): Node | undefined {
  let found: Node | undefined;
  syntax.Walk(root, (node) => {
    if (found || !node) return false;
    if (syntax.NodeType(node) === type) found = node;
    return !found;
  });
  return found;
}

/** Parses a command line (or a script) and finds every simple command in it, however nested. */
export function analyzeShell(text: string): ShellAnalysis {
  const analysis: ShellAnalysis = { commands: [], unknown: [] };
  analyze(text, analysis, 0);
  return analysis;
}

function analyze(text: string, out: ShellAnalysis, depth: number): void {
  if (depth > MAX_DEPTH) {
    out.unknown.push('shell code nested too deep to follow');
    return;
  }
  let file: Node;
  try {
    file = syntax.NewParser().Parse(text, '');
  } catch (e) {
    out.unparseable ??= parseErrorText(e);
    return;
  }
  // Where each command's stdin comes from, by the command's offset: a pipe, a file or a here-document.
  const piped = new Set<number>();
  const fedBy = new Map<number, Node[]>();
  syntax.Walk(file, (node) => {
    if (!node) return true;
    const type = syntax.NodeType(node);
    if (type === 'BinaryCmd' && TOKENS.pipes.has(node.Op as number)) piped.add(((node.Y as Node).Cmd as Node).Pos().Offset());
    if (type === 'Stmt' && node.Cmd) {
      const inputs = (node.Redirs as Node[]).filter((r) => TOKENS.stdin.has(r.Op as number) || TOKENS.heredocs.has(r.Op as number));
      if (inputs.length) fedBy.set((node.Cmd as Node).Pos().Offset(), inputs);
    }
    if (type === 'CallExpr') {
      const words = (node.Args as Node[]).map((w) => wordValue(w, text));
      if (words.length === 0) return true;
      const offset = node.Pos().Offset();
      examine(words, { piped: piped.has(offset), inputs: fedBy.get(offset) ?? [], source: text }, out, depth);
    }
    return true;
  });
}

function parseErrorText(e: unknown): string {
  const error = e as { Error?: () => string; message?: string };
  return typeof error?.Error === 'function' ? error.Error() : String(error?.message ?? e);
}

/** A word's value when it is fixed text; null when an expansion makes it known only at run time. */
type Word = { text: string; fixed: boolean };

/** Unquoted glob or brace expansion: `/bin/r?` and `{rm,-rf,x}` become other words when they run (`[` alone is test). */
const EXPANDS = /[*?]|\[.*\]|\{[^{}]*(,|\.\.)[^{}]*\}/;

function wordValue(word: Node, source: string): Word {
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

function unescapeAnsiC(value: string): string {
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };
  return value.replace(/\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)/gs, (whole, c: string) => {
    if (c[0] === 'x') return String.fromCharCode(parseInt(c.slice(1), 16));
    if (/^[0-7]/.test(c)) return String.fromCharCode(parseInt(c, 8));
    return simple[c] ?? whole;
  });
}

interface Context {
  piped: boolean;
  inputs: Node[];
  source: string;
}

/** Records one simple command after unwrapping it, and what about it cannot be known in advance. */
function examine(words: Word[], ctx: Context, out: ShellAnalysis, depth: number): void {
  const unwrapped = unwrap(words, out);
  if (!unwrapped || unwrapped.length === 0) return;
  const [program, ...args] = unwrapped;
  if (!program!.fixed) {
    out.unknown.push(`the command name ${program!.text} is known only when it runs`);
    out.commands.push(unwrapped.map((w) => w.text));
    return;
  }
  const argv = unwrapped.map((w) => w.text);
  out.commands.push(argv);
  const name = basename(program!.text);
  if (SOURCES.has(name)) out.unknown.push(`${name} runs code the gateway cannot see`);
  if (name === 'find') examineFindExec(args, ctx, out, depth);
  if (SHELLS.has(name) || INTERPRETERS.has(name)) examineInterpreter(name, args, ctx, out, depth);
}

function examineInterpreter(name: string, args: Word[], ctx: Context, out: ShellAnalysis, depth: number): void {
  const shell = SHELLS.has(name);
  const inline = args.findIndex((a) => a.fixed && (INLINE_PROGRAM_FLAGS.has(a.text) || (shell && /^-[a-zA-Z]*c[a-zA-Z]*$/.test(a.text))));
  if (inline >= 0) {
    out.unknown.push(`${name} ${args[inline]!.text} runs code given as text`);
    const program = args[inline + 1];
    if (shell && program?.fixed) analyze(program.text, out, depth + 1);
    return;
  }
  const operands = args.filter((a) => !a.fixed || !a.text.startsWith('-'));
  if (operands.some((a) => !a.fixed)) out.unknown.push(`${name} runs a program whose name is known only when it runs`);
  const readsStdin = operands.length === 0 || args.some((a) => a.text === '-s' || a.text === '-');
  if (!readsStdin) return;
  if (ctx.piped) out.unknown.push(`output piped into ${name} runs as code`);
  if (!ctx.piped && ctx.inputs.length === 0 && depth === 0 && out.readsStdin !== 'interpreter') out.readsStdin = shell ? 'shell' : 'interpreter';
  for (const input of ctx.inputs) {
    const body = input.Hdoc as Node | null;
    const text = body && wordValue(body, ctx.source);
    if (shell && text?.fixed) analyze(text.text, out, depth + 1);
    else out.unknown.push(`${name} reads its program from ${body ? 'a here-document with expansions' : 'a redirection'}`);
  }
}

/** `find … -exec CMD … ;` runs CMD: it is a command of its own. */
function examineFindExec(args: Word[], ctx: Context, out: ShellAnalysis, depth: number): void {
  for (let i = 0; i < args.length; i++) {
    if (!['-exec', '-execdir', '-ok', '-okdir'].includes(args[i]!.text)) continue;
    const end = args.findIndex((a, j) => j > i && (a.text === ';' || a.text === '+'));
    const inner = args.slice(i + 1, end < 0 ? undefined : end);
    if (inner.length) examine(inner, { ...ctx, piped: false, inputs: [] }, out, depth);
    if (end < 0) break;
    i = end;
  }
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * How each wrapper's own options are read: those that take a value, and whether a leading operand is
 * the wrapper's own (timeout's duration, nice's adjustment).
 */
interface WrapperSyntax {
  valued: readonly string[];
  leadingOperands?: number;
  /** Options after which there is no command to run (`command -v rm` only looks rm up). */
  noCommand?: readonly string[];
}

const WRAPPERS: Readonly<Record<string, WrapperSyntax>> = {
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
function unwrap(words: Word[], out: ShellAnalysis): Word[] | null {
  let rest = words;
  for (let guard = 0; guard < 32 && rest.length; guard++) {
    const head = rest[0]!;
    const wrapper = head.fixed ? WRAPPERS[basename(head.text)] : undefined;
    if (!wrapper) return rest;
    const name = basename(head.text);
    let i = 1;
    let operands = wrapper.leadingOperands ?? 0;
    for (; i < rest.length; i++) {
      const word = rest[i]!;
      if (!word.fixed) break;
      const t = word.text;
      if (t === '--') {
        i++;
        break;
      }
      if (wrapper.noCommand?.includes(t)) return null;
      if (name === 'env' && (t === '-S' || t.startsWith('--split-string'))) out.unknown.push('env -S splits a string into a command at run time');
      if (name === 'env' && /^[A-Za-z_][A-Za-z0-9_]*=/.test(t)) continue;
      if (t.startsWith('-') && t.length > 1) {
        const flag = t.startsWith('--') ? t.split('=')[0]! : t.slice(0, 2);
        if (wrapper.valued.includes(flag) && t === flag) i++;
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
