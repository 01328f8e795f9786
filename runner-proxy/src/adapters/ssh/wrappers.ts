import { has, parseOptions, valuesOf, type OptionSyntax, type ParsedArgs, type Word } from './options.js';

/** What a program found on a command line makes run, reported back to the command analysis. */
export interface Examiner {
  /** A command that runs, with the examined command's stdin. */
  run(words: Word[]): void;
  /** Words that may be a command the program runs: rules see them, nothing is inferred from their stdin. */
  mayRun(words: Word[]): void;
  /**
   * Shell command text the program runs (parsed when it is fixed, `unknown` when not); with
   * `sameStdin` false its stdin is not the examined command's (tar's --to-command reads the archive).
   */
  shell(text: Word, what: string, sameStdin?: boolean): void;
  unknown(reason: string): void;
  /** An environment variable set for the command (`env NAME=value`, `NAME=value cmd`): hooks are `unknown`. */
  environment(assignment: Word): void;
  /** The program reads the program it runs from its stdin: a shell's script can be checked, an interpreter's cannot. */
  readsProgramFromStdin(kind: 'shell' | 'interpreter', name: string): void;
}

/**
 * A program that runs another program given by its argv: how its own options are read (GNU
 * getopt_long, options ending at the first operand), how many operands are its own (timeout's
 * duration), options after which nothing runs, options whose value is shell command text, and what it
 * runs when given no command.
 */
interface Wrapper {
  options: OptionSyntax;
  leadingOperands?: number;
  noCommand?: readonly string[];
  textOptions?: readonly string[];
  /** Options whose meaning the gateway cannot settle from the words alone: `unknown`. */
  unsettled?: readonly string[];
  /** With no command: a shell reading its stdin (`sudo -s`, `unshare`, `script`) or nothing. */
  bare?: 'shell' | ((parsed: ParsedArgs) => 'shell' | 'nothing');
  /** The command words are joined and run as shell text (`watch`, unless -x). */
  joinsText?: (parsed: ParsedArgs) => boolean;
}

const VERSION = ['help', 'version'];
/** `NAME=value`, as env takes it. */
export const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** Words run as one line of shell text (`watch`, `sg`): fixed only when every word is. */
export function joined(words: readonly Word[]): Word {
  return { text: words.map((w) => w.text).join(' '), fixed: words.every((w) => w.fixed) };
}

const SU_OPTIONS: OptionSyntax = {
  short: 'c:fg:G:lmpPs:hVw:',
  long: ['command:', 'session-command:', 'fast', 'group:', 'supp-group:', 'login', 'preserve-environment', 'pty', 'shell:', 'whitelist-environment:', ...VERSION],
  permute: true,
};

export const WRAPPERS: Readonly<Record<string, Wrapper>> = {
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
export function examineWrapper(name: string, args: Word[], ex: Examiner): void {
  const special = SPECIAL_WRAPPERS[name];
  if (special) return special(args, ex);
  const wrapper = WRAPPERS[name]!;
  const parsed = parseOptions(name, args, wrapper.options);
  if (parsed.problem) ex.unknown(parsed.problem);
  for (const o of parsed.options) if (wrapper.unsettled?.includes(o.name) && !o.value) ex.unknown(`${name} ${o.name} may or may not take the next word as its value`);
  if (parsed.options.some((o) => wrapper.noCommand?.includes(o.name))) return;
  for (const text of valuesOf(parsed, ...(wrapper.textOptions ?? []))) ex.shell(text, `${name} ${text.text}`);
  let operands = parsed.operands;
  if (name === 'env') {
    const first = operands.findIndex((w) => !(w.fixed && (w.text === '-' || ASSIGNMENT.test(w.text))));
    operands.slice(0, first < 0 ? undefined : first).forEach((w) => ex.environment(w));
    operands = first < 0 ? [] : operands.slice(first);
  }
  if (name === 'flock') {
    // `flock FILE -c TEXT` (its own -c after the lock file), `flock FD` locks and runs nothing.
    if (/^\d+$/.test(operands[0]?.text ?? '')) return;
    if (operands[1] && ['-c', '--command'].includes(operands[1].text)) return operands[2] ? ex.shell(operands[2], 'flock -c') : undefined;
  }
  const command = operands.slice(wrapper.leadingOperands ?? 0);
  if (parsed.problem) {
    // The options could not be read as the wrapper reads them: every word it is given may start the command.
    command.forEach((w, i) => w.fixed && !w.text.startsWith('-') && ex.mayRun(command.slice(i)));
    return;
  }
  if (command.length === 0) {
    const bare = typeof wrapper.bare === 'function' ? wrapper.bare(parsed) : wrapper.bare;
    if (bare === 'shell') ex.run([{ text: 'sh', fixed: true }]);
    return;
  }
  if (wrapper.joinsText?.(parsed)) {
    return ex.shell(joined(command), `${name} runs its arguments as shell text`);
  }
  ex.run(command);
}

/** su and runuser: the rest after the user goes to a shell (-s's, else sh), with -c's text; runuser -u runs a command. */
function examineSu(name: string, args: Word[], ex: Examiner): void {
  const parsed = parseOptions(name, args, name === 'runuser' ? { ...SU_OPTIONS, short: `${SU_OPTIONS.short}u:` } : SU_OPTIONS);
  if (parsed.problem) ex.unknown(parsed.problem);
  if (has(parsed, '-h', '--help', '-V', '--version')) return;
  const operands = parsed.operands.filter((w, i) => !(i === 0 && w.text === '-'));
  if (has(parsed, '-u')) return ex.run(operands);
  const shell = valuesOf(parsed, '-s', '--shell').at(-1) ?? { text: 'sh', fixed: true };
  const text = valuesOf(parsed, '-c', '--command', '--session-command').at(-1);
  ex.run([shell, ...(text ? [{ text: '-c', fixed: true }, text] : []), ...operands.slice(1)]);
}

/** capsh: its own `--name=value` options; after `--` the rest goes to its shell (bash unless --shell=), after `==` to capsh again. */
function examineCapsh(args: Word[], ex: Examiner): void {
  let shell: Word = { text: '/bin/bash', fixed: true };
  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    if (!w.fixed) return ex.unknown(`capsh: an option known only at run time (${w.text})`);
    if (w.text === '--') return ex.run([shell, ...args.slice(i + 1)]);
    if (w.text === '==') return ex.run([{ text: 'capsh', fixed: true }, ...args.slice(i + 1)]);
    if (w.text.startsWith('--shell=')) shell = { text: w.text.slice('--shell='.length), fixed: true };
  }
}

/** sg: `sg group [-c] command…`, the command run as text by /bin/sh. */
function examineSg(args: Word[], ex: Examiner): void {
  const rest = args.filter((w, i) => !(i === 0 && w.text === '-')).slice(1);
  const command = rest[0]?.text === '-c' ? rest.slice(1) : rest;
  if (command.length === 0) return ex.run([{ text: 'sh', fixed: true }]);
  ex.shell(joined(command), 'sg runs its arguments as shell text');
}

/** GNU parallel: its command (up to `:::`) is shell text it completes with each input; that completion is not known. */
function examineParallel(args: Word[], ex: Examiner): void {
  ex.unknown('parallel builds the commands it runs from its input');
  const end = args.findIndex((w) => /^:{3,4}\+?$/.test(w.text));
  const command = (end < 0 ? args : args.slice(0, end)).filter((w) => !w.text.startsWith('-'));
  if (command.length) ex.shell(joined(command), 'parallel');
}

const SPECIAL_WRAPPERS: Readonly<Record<string, (args: Word[], ex: Examiner) => void>> = {
  su: (args, ex) => examineSu('su', args, ex),
  runuser: (args, ex) => examineSu('runuser', args, ex),
  capsh: examineCapsh,
  sg: examineSg,
  parallel: examineParallel,
};

export const WRAPPER_NAMES: ReadonlySet<string> = new Set([...Object.keys(WRAPPERS), ...Object.keys(SPECIAL_WRAPPERS)]);
