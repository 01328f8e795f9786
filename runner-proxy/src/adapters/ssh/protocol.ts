import { globMatcher } from '../../base/glob.js';
import { classCondition, type ConditionKey, type Matcher, type ProtocolDeclaration } from '../../policy/protocol.js';

const SSH = 'ssh';
const UNKNOWN = 'unknown';

/**
 * Long and alternative spellings of single-letter flags, per program (or git subcommand), so "rm -rf"
 * also matches `rm --recursive --force`, `rm -R -f` and the abbreviation `rm --recu --f`, and "git push
 * --force" every way of forcing a push (`-f`, `--force-with-lease`, `--mirror`, a `+refspec`).
 */
const FLAG_SPELLINGS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  rm: { '--recursive': 'r', '-R': 'r', '--force': 'f', '--dir': 'd', '--verbose': 'v', '--interactive': 'i', '--one-file-system': 'x', '--no-preserve-root': 'N', '--preserve-root': 'P' },
  chmod: { '--recursive': 'R', '--changes': 'c', '--silent': 'f', '--quiet': 'f', '--verbose': 'v', '--reference': '-', '--no-preserve-root': 'N', '--preserve-root': 'P' },
  chown: { '--recursive': 'R', '--changes': 'c', '--silent': 'f', '--quiet': 'f', '--verbose': 'v', '--reference': '-', '--dereference': '-', '--no-dereference': 'h', '--from': '-' },
  chgrp: { '--recursive': 'R', '--changes': 'c', '--silent': 'f', '--quiet': 'f', '--verbose': 'v', '--reference': '-', '--dereference': '-', '--no-dereference': 'h' },
  cp: { '--recursive': 'r', '-R': 'r', '--force': 'f', '--archive': 'a', '--target-directory': 't', '--suffix': 'S', '--verbose': 'v' },
  mv: { '--force': 'f', '--target-directory': 't', '--suffix': 'S', '--verbose': 'v', '--no-clobber': 'n' },
  shred: { '--remove': 'u', '--zero': 'z', '--force': 'f', '--iterations': 'n', '--size': 's', '--verbose': 'v', '--exact': 'x' },
  'git push': { '--force': 'f', '--force-with-lease': 'f', '--mirror': 'f', '--delete': 'd', '--all': '-', '--tags': '-', '--set-upstream': 'u', '--verbose': 'v', '--quiet': 'q', '--dry-run': 'n', '--push-option': 'o', '--repo': '-', '--atomic': '-', '--prune': '-', '--no-verify': '-', '--follow-tags': '-' },
};
/** Short flags that take a value, attached or the next word, so letters in it are not flags. */
const FLAG_VALUES: Readonly<Record<string, string>> = { cp: 'tS', mv: 'tS', shred: 'ns', 'git push': 'o' };
/** Programs whose options are whole words (`find -delete`): a pattern's option matches the same word, not its letters. */
const WORD_OPTIONS: Readonly<Record<string, ReadonlySet<string>>> = {
  // find's tests and actions that take a value: `find -name -delete` names a file, it deletes nothing.
  find: new Set(['-name', '-iname', '-path', '-ipath', '-wholename', '-iwholename', '-regex', '-iregex', '-lname', '-ilname', '-type', '-xtype', '-user', '-group', '-uid', '-gid', '-perm', '-size', '-newer', '-anewer', '-cnewer', '-mtime', '-atime', '-ctime', '-mmin', '-amin', '-cmin', '-used', '-links', '-inum', '-samefile', '-fstype', '-maxdepth', '-mindepth', '-printf', '-fprint', '-fprint0', '-fls', '-context', '-regextype', '-files0-from']),
};
/** git's options before its subcommand that take the next word. */
const GIT_GLOBAL_VALUED = new Set(['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--config-env', '--super-prefix', '--exec-path', '--attr-source', '--list-cmds']);

/** The long spelling a word names, abbreviations resolved (GNU and git accept any unambiguous prefix); every letter it could be when ambiguous. */
function spelledFlags(given: string, spellings: Readonly<Record<string, string>>): string[] {
  if (spellings[given]) return [spellings[given]!];
  const matches = Object.keys(spellings).filter((s) => s.startsWith('--') && given.length > 2 && s.startsWith(given));
  return [...new Set(matches.map((m) => spellings[m]!))];
}

/** The single-letter flags an argv carries, in any grouping, spelling or abbreviation, up to `--`. */
function flagsOf(program: string, args: readonly string[]): { flags: Set<string>; words: string[] } {
  const spellings = FLAG_SPELLINGS[program] ?? {};
  const valued = FLAG_VALUES[program] ?? '';
  const flags = new Set<string>();
  const words: string[] = [];
  let options = true;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (options && arg === '--') {
      options = false;
      continue;
    }
    const spelled = options && arg.startsWith('-') ? spelledFlags(arg.split('=')[0]!, spellings) : [];
    if (spelled.length) spelled.forEach((f) => flags.add(f));
    else if (options && /^-[^-]/.test(arg)) {
      for (let j = 1; j < arg.length; j++) {
        const f = arg[j]!;
        flags.add(spellings[`-${f}`] ?? f);
        if (!valued.includes(f)) continue;
        if (j === arg.length - 1) i++;
        break;
      }
    } else words.push(arg);
  }
  if (program === 'git push' && words.some((w) => w.startsWith('+'))) flags.add('f');
  return { flags, words };
}

/** A pattern's program names its family: `mkfs` is also mkfs.ext4, `python3` also python3.11, `rm` never rmdir. */
function inFamily(program: string, name: string): boolean {
  return name === program || (name.startsWith(program) && /^(\.[\w.-]+|[\d.]+)$/.test(name.slice(program.length)));
}

/** For git, the subcommand and what follows it, past git's own options (`git -C dir push -f`). */
function gitSubcommand(args: readonly string[]): { sub: string | undefined; rest: readonly string[] } {
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) i += GIT_GLOBAL_VALUED.has(args[i]!) ? 2 : 1;
  return { sub: args[i], rest: args.slice(i + 1) };
}

/**
 * A deny pattern "program flags… words…": a command of the program's family carrying every flag (in
 * any spelling) and every word. For git the first word is the subcommand. Options of programs that
 * spell them as words (find) match as words.
 */
function shellMatcher(pattern: string): Matcher {
  if (pattern === UNKNOWN) return (op) => op.protocol === SSH && op.classes.has(UNKNOWN);
  const [program, ...required] = pattern.split(/\s+/) as [string, ...string[]];
  const sub = program === 'git' && required[0] && !required[0].startsWith('-') ? required.shift() : undefined;
  const key = sub ? `git ${sub}` : program;
  const wordOptions = WORD_OPTIONS[program];
  const needed = wordOptions ? { flags: new Set<string>(), words: required } : flagsOf(key, required);
  const matchesArgs = (args: readonly string[]): boolean => {
    if (wordOptions) return required.every((w) => args.some((a, i) => a === w && !wordOptions.has(args[i - 1] ?? '')));
    const { flags, words } = flagsOf(key, args);
    return [...needed.flags].every((f) => flags.has(f)) && needed.words.every((w) => words.includes(w) || args.includes(w));
  };
  return (op) =>
    op.commands?.some((argv) => {
      if (argv.length === 0 || !inFamily(program, argv[0]!.split('/').pop()!)) return false;
      if (!sub) return matchesArgs(argv.slice(1));
      const git = gitSubcommand(argv.slice(1));
      return git.sub === sub && matchesArgs(git.rest);
    }) ?? false;
}

/**
 * An allow-list entry for one simple command: the program (by base name unless the pattern gives a path)
 * and then each argument as a glob, in order; a last `**` takes any further arguments. Nothing else
 * passes: an allow-list says exactly what may run, so `git pull` does not admit `git -c x=y pull`. As
 * elsewhere, `*` stays within one path segment of an argument and `**` crosses them.
 */
function allowedCommand(pattern: string): (argv: readonly string[]) => boolean {
  const [program, ...words] = pattern.trim().split(/\s+/) as [string, ...string[]];
  const rest = words.at(-1) === '**' ? words.slice(0, -1) : undefined;
  const globs = (rest ?? words).map((w) => globMatcher(w, { separator: '/' }));
  const byPath = program.includes('/');
  return (argv) =>
    argv.length > 0 &&
    (byPath ? argv[0] === program : argv[0]!.split('/').pop() === program) &&
    (rest ? argv.length - 1 >= globs.length : argv.length - 1 === globs.length) &&
    globs.every((g, i) => g(argv[i + 1]!));
}

/** `shell:` command patterns; an allow rule's list is an allow-list with `others:` (see allowedCommand). */
const shellCondition: ConditionKey = {
  key: 'shell',
  schema: () => ({
    type: 'array',
    minItems: 1,
    items: { type: 'string', minLength: 1 },
    description: 'Commands, as a program name and the arguments it must carry ("rm -rf"), or unknown.',
  }),
  matcher: (value) => anyOf((value as readonly string[]).map(shellMatcher)),
  /**
   * A command line is listed when every simple command in it is, as written (`sudo systemctl restart
   * app` needs an entry that starts with sudo; the shell text a listed `bash -c` runs needs its own), and
   * it has nothing the gateway cannot resolve, unless `unknown` is listed.
   */
  allowList: {
    noun: 'shell commands',
    compile: (value) => {
      const patterns = value as readonly string[];
      const listed = patterns.filter((p) => p !== UNKNOWN).map(allowedCommand);
      const listsUnknown = patterns.includes(UNKNOWN);
      return {
        covers: (op) => op.protocol === SSH && op.commands !== undefined,
        lists: (op) => (listsUnknown || !op.classes.has(UNKNOWN)) && (op.written ?? op.commands!).every((argv) => listed.some((allowed) => allowed(argv))),
      };
    },
  },
};

const SFTP_CLASSES = ['read', 'write', 'remove', 'rename', 'mkdir', 'rmdir', 'setstat', 'symlink', 'list', 'unknown'];

/** `sftp:` "CLASS" or "CLASS /path/glob": an sftp (or scp) operation of that class on a matching path. */
const sftpCondition: ConditionKey = {
  key: 'sftp',
  schema: () => ({
    type: 'array',
    minItems: 1,
    items: { type: 'string', pattern: `^(${SFTP_CLASSES.join('|')})(\\s+\\S+)?$` },
    description: `sftp (and scp) operations as "CLASS" or "CLASS /path/glob": ${SFTP_CLASSES.join(', ')}.`,
  }),
  check: (value, path, checks) => {
    (value as readonly string[]).forEach((pattern, i) => {
      const glob = pattern.split(/\s+/)[1];
      if (glob) checks.glob(glob, '/', [...path, i]);
    });
    return value;
  },
  matcher: (value) =>
    anyOf(
      (value as readonly string[]).map((pattern) => {
        const [kind, path] = pattern.split(/\s+/, 2) as [string, string | undefined];
        const pathMatches = path ? globMatcher(path, { separator: '/' }) : () => true;
        return (op) => op.protocol === SSH && op.classes.has('sftp') && op.classes.has(kind) && pathMatches(op.path ?? '');
      }),
    ),
};

/** `ssh:` channel classes. */
const sshCondition = classCondition(
  'ssh',
  () => 'SSH channels beyond one command, each refused unless a rule allows it: a terminal (pty shell), tunnels (-L, -R, -D, -W), agent forwarding (-A), X11 (-X).',
);
const CHANNELS = ['interactive', 'port_forwarding', 'agent_forwarding', 'x11_forwarding'];

const anyOf = (matchers: Matcher[]): Matcher => (op) => matchers.some((m) => m(op));

/** SSH (and sftp, scp, git over SSH) in the policy's words; the adapter (./adapter.ts) is loaded only when a policy names it. */
export const sshProtocol: ProtocolDeclaration = {
  name: SSH,
  settings: {
    type: 'object',
    additionalProperties: false,
    required: ['host', 'user'],
    properties: {
      host: { type: 'string' },
      port: { type: 'integer', minimum: 1, maximum: 65535 },
      user: { type: 'string' },
      private_key: { type: 'string' },
      password: { type: 'string' },
      known_hosts: { type: 'string', description: "The target's host key line(s); the gateway pins it." },
      keepalive: {
        type: 'string',
        pattern: '^[0-9]+(ms|s|m|h)$',
        description: 'How often the gateway checks the target is alive (default 15s); three unanswered checks end the connection.',
      },
      user_ssh_config: {
        type: 'boolean',
        description: "Whether ~/.ssh/config includes the gateway's ssh config for the job's lifetime (default true); false leaves it untouched and the job uses GIT_SSH_COMMAND or ssh -F.",
      },
      env: {
        type: 'array',
        items: { type: 'string', minLength: 1 },
        description: 'Names (globs) of the variables the job may send with SendEnv/SetEnv; any other is refused.',
      },
      max_script: {
        type: 'integer',
        minimum: 1,
        description: 'The largest script, in bytes, a shell may receive on stdin (default 1048576); it is checked whole before it runs.',
      },
    },
  },
  conditions: [shellCondition, sshCondition, sftpCondition],
  classes: { ssh: CHANNELS },
  // Channels that reach beyond one command: a terminal, tunnels, the job's agent, X11.
  refusedUnlessAllowed: CHANNELS,
};
