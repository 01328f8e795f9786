import { parseOptions, valuesOf, has, type Word } from './options.js';
import type { Examiner } from './wrappers.js';

/**
 * How an interpreter reads its options: grouped single letters (`python3 -Ic`, `perl -lne`, `bash
 * -xc`), letters that take the program text, letters that take a value (attached or the next word),
 * letters that take only an attached one, and the words after which it reads no program at all.
 */
interface Interpreter {
  program: string;
  valued: string;
  attached?: string;
  /** Letters that take only attached digits (`perl -l0e`: -l0, then -e). */
  digits?: string;
  longProgram?: readonly string[];
  longValued?: readonly string[];
  noProgram: readonly string[];
  /** Letters that end its options and make the next word a module, not a program (python -m). */
  module?: string;
}

const VERSION_WORDS = ['--version', '--help', '-h', '-V'];

/** Shells: `-c` makes the first operand the command text, whatever options follow it. */
export const SHELLS: ReadonlySet<string> = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ksh93', 'mksh', 'lksh', 'pdksh', 'ash', 'yash', 'posh', 'fish', 'rbash']);
const SHELL: Interpreter = { program: '', valued: 'oO', longValued: ['--rcfile', '--init-file'], noProgram: ['--version', '--help'] };

export const INTERPRETERS: Readonly<Record<string, Interpreter>> = {
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
export function interpreterFamily(name: string): string | undefined {
  if (INTERPRETERS[name] || SHELLS.has(name)) return name;
  const family = /^(python|pypy|perl|ruby|node|php|lua|luajit|tclsh|wish)[\d.]*$/.exec(name)?.[1];
  if (family) return family;
  if (name === 'nodejs') return 'node';
  if (name === 'powershell') return 'pwsh';
  return undefined;
}

/** Files that are a descriptor rather than a script: a shell given one reads what another process writes. */
const DESCRIPTOR = /^\/(?:dev\/(?:stdin|fd\/\d+)|proc\/[^/]+\/fd\/\d+)$/;

/** A shell or interpreter: its inline program (parsed for shells), its script, or its stdin. */
export function examineInterpreter(name: string, args: Word[], ex: Examiner): void {
  const shell = SHELLS.has(name);
  const syntax = shell ? SHELL : INTERPRETERS[name]!;
  let commandText = false;
  let stdin = false;
  let i = 0;
  for (; i < args.length; i++) {
    const w = args[i]!;
    if (!w.fixed) return ex.unknown(`${name} is given an option or program known only at run time (${w.text})`);
    const t = w.text;
    if (t === '--' || t === '-') break;
    if (syntax.noProgram.includes(t) && args.length === 1) return;
    if (!/^[-+]./.test(t) || (t.startsWith('+') && !shell)) break;
    const long = t.split('=')[0]!;
    if (syntax.longProgram?.includes(long)) return ex.unknown(`${name} ${long} runs a program given as text`);
    if (syntax.longValued?.includes(long)) {
      if (!t.includes('=')) i++;
      continue;
    }
    if (t.startsWith('--')) continue;
    for (let j = 1; j < t.length; j++) {
      const letter = t[j]!;
      if (shell && letter === 'c') commandText = true;
      else if (shell && (letter === 's' || letter === 'i')) stdin = true;
      else if (syntax.program.includes(letter)) return ex.unknown(`${name} ${t} runs a program given as text`);
      else if (syntax.module?.includes(letter)) return;
      else if (syntax.valued.includes(letter)) {
        if (j === t.length - 1) i++;
        break;
      } else if (syntax.attached?.includes(letter)) break;
      else if (syntax.digits?.includes(letter)) while (/[0-9a-fA-Fx]/.test(t[j + 1] ?? '') && !syntax.program.includes(t[j + 1]!)) j++;
    }
  }
  if (args[i]?.text === '--') i++;
  const operand = args[i];
  if (commandText) {
    if (!operand) return ex.unknown(`${name} -c without its command text`);
    return ex.shell(operand, `${name} -c`);
  }
  if (operand && operand.text !== '-' && !stdin) {
    if (!operand.fixed) return ex.unknown(`${name} runs a program whose name is known only when it runs`);
    if (DESCRIPTOR.test(operand.text)) return ex.unknown(`${name} reads its program from ${operand.text}`);
    if (name === 'sqlite3') return examineSqlite(args.slice(i + 1), ex);
    if (name === 'deno' && /^(eval|repl)$/.test(operand.text)) return ex.unknown(`deno ${operand.text} runs a program given as text`);
    return;
  }
  ex.readsProgramFromStdin(shell ? 'shell' : 'interpreter', name);
}

/** Dot commands that only show or format: any other (.shell, .system, .output |cmd, .load, .import) is `unknown`. */
const SQLITE_SHOWING = /^\.(?:tables|schema|headers?|mode|dump|quit|exit|databases|indexes|indices|timeout|bail|echo|separator|nullvalue|width|show|stats|changes|fullschema|dbinfo|print)\b/;

/** sqlite3 DB [SQL…]: SQL and dot commands given as arguments; without them it reads its stdin. */
function examineSqlite(texts: Word[], ex: Examiner): void {
  if (texts.length === 0) return ex.readsProgramFromStdin('interpreter', 'sqlite3');
  for (const text of texts) {
    if (!text.fixed) return ex.unknown('sqlite3 is given SQL known only at run time');
    const lines = text.text.split(/[\n;]/).map((l) => l.trim());
    if (lines.some((l) => (l.startsWith('.') && !SQLITE_SHOWING.test(l)) || /load_extension|\bedit\s*\(/i.test(l))) {
      return ex.unknown('sqlite3 is given a dot command or function that runs programs or loads code');
    }
  }
}

/** awk and its variants: options, then the program (unless -f gave a file). */
export function examineAwk(args: Word[], ex: Examiner, name: string): void {
  const parsed = parseOptions(name, args, {
    short: 'F:f:v:bcCd::D::e:E:hi:l:L::nNo::Op::MPrSstVYZ:W:',
    long: ['field-separator:', 'file:', 'assign:', 'characters-as-bytes', 'traditional', 'copyright', 'dump-variables::', 'debug::', 'source:', 'exec:', 'gen-pot', 'help', 'include:', 'load:', 'lint::', 'bignum', 'use-lc-numeric', 'non-decimal-data', 'pretty-print::', 'optimize', 'profile::', 'posix', 're-interval', 'no-optimize', 'sandbox', 'lint-old', 'version', 'csv'],
    permute: true,
  });
  if (parsed.problem) return ex.unknown(parsed.problem);
  if (has(parsed, '--sandbox', '-S', '--version', '-V', '--help', '-h')) return;
  if (has(parsed, '-l', '--load')) ex.unknown(`${name} -l loads an extension`);
  const files = valuesOf(parsed, '-f', '--file', '-E', '--exec');
  if (files.some((f) => f.text === '-' || DESCRIPTOR.test(f.text))) ex.unknown(`${name} reads its program from its stdin`);
  const texts = [...valuesOf(parsed, '-e', '--source'), ...(files.length || has(parsed, '-e', '--source') ? [] : parsed.operands.slice(0, 1))];
  for (const text of texts) {
    if (!text.fixed) ex.unknown(`${name} runs a program known only at run time`);
    else examineAwkProgram(name, text.text, ex);
  }
}

/**
 * An awk program runs commands through system(), pipes (`print | "cmd"`, `"cmd" | getline`, gawk's
 * `|&`) and extensions (@load). Strings and regular expressions are taken out first, so `/a|b/` and
 * "x|y" do not count; a literal command given to system() is checked as shell text too.
 */
function examineAwkProgram(name: string, program: string, ex: Examiner): void {
  let code = '';
  for (let i = 0; i < program.length; i++) {
    const c = program[i]!;
    const before = code.trimEnd().at(-1) ?? '';
    if (c === '"' || (c === '/' && !/[\w)\]$.]/.test(before))) {
      let j = i + 1;
      for (let bracket = false; j < program.length && (program[j] !== c || bracket); j++) {
        if (program[j] === '\\') j++;
        else if (c === '/' && program[j] === '[') bracket = true;
        else if (program[j] === ']') bracket = false;
      }
      code += c === '"' ? '""' : '//';
      i = j;
    } else if (c === '#') {
      while (i < program.length && program[i] !== '\n') i++;
    } else code += c;
  }
  if (/\bsystem\s*\(|@load|(?<!\|)\|(?!\|)/.test(code)) {
    ex.unknown(`${name} runs a command from its program (system or a pipe)`);
    for (const m of program.matchAll(/\bsystem\s*\(\s*"((?:[^"\\]|\\.)*)"\s*\)/g)) ex.shell({ text: m[1]!.replace(/\\(.)/g, '$1'), fixed: true }, `${name} system()`);
  }
}

/** sed: its script from -e/--expression or its first operand, read for the `e` command and the `e` flag of `s`. */
export function examineSed(args: Word[], ex: Examiner): void {
  const parsed = parseOptions('sed', args, {
    short: 'nrsEuzi::l:e:f:',
    long: ['quiet', 'silent', 'regexp-extended', 'separate', 'unbuffered', 'null-data', 'zero-terminated', 'in-place::', 'line-length:', 'expression:', 'file:', 'posix', 'sandbox', 'debug', 'follow-symlinks', 'binary', 'help', 'version'],
    permute: true,
  });
  if (parsed.problem) return ex.unknown(parsed.problem);
  if (has(parsed, '--sandbox', '--help', '--version')) return;
  const files = valuesOf(parsed, '-f', '--file');
  if (files.some((f) => f.text === '-' || DESCRIPTOR.test(f.text))) ex.unknown('sed reads its script from its stdin');
  const expressions = valuesOf(parsed, '-e', '--expression');
  const scripts = expressions.length || files.length ? expressions : parsed.operands.slice(0, 1);
  for (const script of scripts) {
    if (!script.fixed) ex.unknown('sed runs a script known only at run time');
    else {
      const commands = sedExecutes(script.text);
      if (commands === null) ex.unknown('sed is given a script the gateway cannot read');
      else if (commands.length) ex.unknown('sed runs a command from its script (e, or the e flag of s)');
      for (const command of commands ?? []) if (command) ex.shell({ text: command, fixed: true }, 'sed e');
    }
  }
}

/**
 * The commands a sed script executes (`e command`, an empty string for `e` alone or `s///e`, which run
 * the pattern space), or null when the script is not one GNU sed would read.
 */
export function sedExecutes(script: string): string[] | null {
  const run: string[] = [];
  let i = 0;
  const restOfLine = () => {
    const end = script.indexOf('\n', i);
    const text = script.slice(i, end < 0 ? undefined : end);
    i = end < 0 ? script.length : end;
    return text;
  };
  const delimited = (delim: string) => {
    for (i++; i < script.length && script[i] !== delim; i++) {
      if (script[i] === '\\') i++;
      if (script[i] === '\n' && delim !== '\n') return false;
    }
    return i < script.length;
  };
  const address = () => {
    if (/\d/.test(script[i] ?? '')) while (/[\d~+]/.test(script[i] ?? '')) i++;
    else if (script[i] === '$') i++;
    else if (script[i] === '/' || script[i] === '\\') {
      if (script[i] === '\\') i++;
      if (!delimited(script[i]!)) return false;
      i++;
      while (/[IM]/.test(script[i] ?? '')) i++;
    }
    return true;
  };
  while (i < script.length) {
    while (/[\s;]/.test(script[i] ?? '')) i++;
    if (i >= script.length) break;
    if (!address()) return null;
    if (script[i] === ',') {
      i++;
      if (!address()) return null;
    }
    while (/[\s!]/.test(script[i] ?? '')) i++;
    const command = script[i++];
    switch (command) {
      case undefined:
        return null;
      case '{': case '}': case '=': case 'd': case 'D': case 'g': case 'G': case 'h': case 'H': case 'n': case 'N': case 'p': case 'P': case 'x': case 'z': case 'F':
        break;
      case '#': case 'a': case 'i': case 'c': case 'r': case 'R': case 'w': case 'W':
        while (script[i] !== undefined && script[i] !== '\n') if (script[i++] === '\\') i++;
        break;
      case ':': case 'b': case 't': case 'T': case 'v': case 'l': case 'L': case 'q': case 'Q':
        while (script[i] !== undefined && !/[;\n}]/.test(script[i]!)) i++;
        break;
      case 'e':
        run.push(restOfLine().trim());
        break;
      case 'y':
      case 's': {
        const delim = script[i];
        if (delim === undefined || delim === '\n' || delim === '\\') return null;
        if (!delimited(delim) || !delimited(delim)) return null;
        i++;
        if (command === 'y') break;
        let flags = '';
        while (script[i] !== undefined && /[gpiImMe\d]/.test(script[i]!)) flags += script[i++];
        if (script[i] === 'w') restOfLine();
        if (flags.includes('e')) run.push('');
        break;
      }
      default:
        return null;
    }
  }
  return run;
}
