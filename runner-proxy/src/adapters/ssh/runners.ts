import { parseOptions, valuesOf, type Word } from './options.js';
import { joined, type Examiner } from './wrappers.js';

/**
 * Programs that run command text they are given in some of their options (git's aliases and
 * transports, tar's actions, rsync's remote shell, ssh's ProxyCommand, make's --eval), each read
 * enough to find those options: their text is checked as shell, or the command is `unknown`.
 */

/** Whether `given` (a long option without its dashes) is `name` or an abbreviation of it, as getopt_long and git accept. */
function abbreviates(given: string, name: string): boolean {
  return given.length >= 2 && name.startsWith(given);
}

/** `--name[=value]`: the name and the value, from the word or the next one. */
function longOption(args: readonly Word[], i: number): { name: string; value: Word | undefined; next: number } {
  const t = args[i]!.text;
  const eq = t.indexOf('=');
  if (eq >= 0) return { name: t.slice(2, eq), value: { text: t.slice(eq + 1), fixed: true }, next: i };
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
const GIT_TEXT_LETTERS: Readonly<Record<string, string>> = { rebase: 'x', difftool: 'x', clone: 'u', grep: 'O', 'fetch-pack': '', archive: '' };
const GIT_GLOBAL_VALUED = new Set(['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--config-env', '--super-prefix', '--attr-source', '--exec-path', '--list-cmds']);

function gitConfig(key: string, value: string | undefined, ex: Examiner): void {
  if (GIT_INERT_KEYS.test(key)) return;
  ex.unknown(`git configuration ${key} may name a program git runs`);
  if (/^alias\./i.test(key) && value?.startsWith('!')) ex.shell({ text: value.slice(1), fixed: true }, `git ${key}`, false);
}

export function examineGit(args: Word[], ex: Examiner): void {
  let i = 0;
  for (; i < args.length && args[i]!.text.startsWith('-'); i++) {
    const w = args[i]!;
    if (!w.fixed) return ex.unknown(`git is given an option known only at run time (${w.text})`);
    const name = w.text.split('=')[0]!;
    if (name === '-c') {
      const setting = args[++i];
      if (!setting?.fixed) return ex.unknown('git -c with a setting known only at run time');
      const eq = setting.text.indexOf('=');
      gitConfig(eq < 0 ? setting.text : setting.text.slice(0, eq), eq < 0 ? undefined : setting.text.slice(eq + 1), ex);
    } else if (name === '--config-env' || name === '--exec-path') ex.unknown(`git ${name} may name a program git runs`);
    else if (GIT_GLOBAL_VALUED.has(name) && !w.text.includes('=')) i++;
  }
  const sub = args[i];
  if (!sub) return;
  if (!sub.fixed) return ex.unknown('git runs a subcommand known only at run time');
  const rest = args.slice(i + 1);
  for (const w of args) if (/^(ext|fd)::/.test(w.text)) ex.unknown(`git ${w.text.slice(0, 5)} transports run a command`);
  if (sub.text === 'submodule' && rest.some((w) => w.text === 'foreach')) {
    const command = rest.slice(rest.findIndex((w) => w.text === 'foreach') + 1).filter((w) => !w.text.startsWith('--'));
    return ex.shell(joined(command), 'git submodule foreach', false);
  }
  if (sub.text === 'bisect' && rest[0]?.text === 'run') return ex.run(rest.slice(1));
  if (sub.text === 'config') {
    const operands = rest.filter((w) => !w.text.startsWith('-'));
    const [first, second, third] = operands.map((w) => w.text);
    const key = first === 'set' ? second : first;
    const value = first === 'set' ? third : second;
    if (key && value !== undefined) gitConfig(key, value, ex);
  }
  const letters = GIT_TEXT_LETTERS[sub.text] ?? '';
  for (let j = 0; j < rest.length; j++) {
    const w = rest[j]!;
    if (w.text === '--') break;
    if (w.text.startsWith('--')) {
      const option = longOption(rest, j);
      if ((sub.text === 'clone' && option.name === 'config') || GIT_TEXT_OPTIONS.some((n) => abbreviates(option.name, n))) {
        if (option.next > j) j = option.next;
        if (!option.value) continue;
        if (option.name === 'config') gitConfig(option.value.text.split('=')[0]!, option.value.text.split('=').slice(1).join('='), ex);
        else ex.shell(option.value, `git ${sub.text} --${option.name}`, false);
      }
    } else if (w.text.startsWith('-') && letters && [...w.text.slice(1)].some((l) => letters.includes(l))) {
      const letter = [...w.text.slice(1)].find((l) => letters.includes(l))!;
      const attached = w.text.slice(w.text.indexOf(letter) + 1);
      const value = attached ? { text: attached, fixed: true } : rest[++j];
      if (value) ex.shell(value, `git ${sub.text} -${letter}`, false);
    } else if (sub.text === 'clone' && w.text === '-c') {
      const setting = rest[++j];
      if (setting?.fixed) gitConfig(setting.text.split('=')[0]!, setting.text.split('=').slice(1).join('='), ex);
    }
  }
}

/** tar options that run a program: their value is checked as shell text. */
const TAR_PROGRAM_OPTIONS = ['to-command', 'use-compress-program', 'rsh-command', 'info-script', 'new-volume-script', 'rmt-command', 'checkpoint-action'];
const TAR_VALUED_LETTERS = 'bCfFgHIKLNTVX';

export function examineTar(args: Word[], ex: Examiner): void {
  const program = (value: Word | undefined, what: string) => value && ex.shell(value, `tar ${what}`, false);
  const letters = (group: string, at: number): number => {
    let next = at;
    for (const letter of group) {
      if (!TAR_VALUED_LETTERS.includes(letter)) continue;
      const value = args[++next];
      if (letter === 'I' || letter === 'F') program(value, `-${letter}`);
      if (letter === 'f' && value && /^[^/]*:/.test(value.text)) ex.unknown('tar reaches a remote archive through a remote shell');
    }
    return next;
  };
  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    if (!w.fixed) continue;
    if (i === 0 && !w.text.startsWith('-')) {
      i = letters(w.text, i);
      continue;
    }
    if (w.text === '--') break;
    if (w.text.startsWith('--')) {
      const option = longOption(args, i);
      if (option.name === 'checkpoint') continue;
      const name = TAR_PROGRAM_OPTIONS.find((n) => abbreviates(option.name, n));
      if (!name) continue;
      if (!w.text.includes('=')) i = option.next;
      if (name === 'checkpoint-action') {
        const exec = /^exec=(.*)$/s.exec(option.value?.text ?? '');
        if (exec) program({ text: exec[1]!, fixed: option.value!.fixed }, '--checkpoint-action=exec');
      } else program(option.value, `--${name}`);
    } else if (w.text.startsWith('-')) {
      const group = w.text.slice(1);
      const valued = [...group].findIndex((l) => TAR_VALUED_LETTERS.includes(l));
      if (valued >= 0 && valued < group.length - 1) {
        const letter = group[valued]!;
        if (letter === 'I' || letter === 'F') program({ text: group.slice(valued + 1), fixed: true }, `-${letter}`);
      } else i = letters(group, i);
    }
  }
}

/** rsync: -e/--rsh is the remote shell it runs, --rsync-path the command run on the other side. */
export function examineRsync(args: Word[], ex: Examiner): void {
  // The server side gets the client's options as protocol flags (`-e.iLsfxC`): nothing there runs.
  if (args.some((w) => w.text === '--server')) return;
  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    if (w.text === '--') break;
    if (w.text.startsWith('--')) {
      const option = longOption(args, i);
      const name = ['rsh', 'rsync-path', 'remote-option'].find((n) => abbreviates(option.name, n));
      if (!name) continue;
      if (!w.text.includes('=')) i = option.next;
      if (name === 'remote-option') ex.unknown('rsync --remote-option passes options to the other side');
      else if (option.value) ex.shell(option.value, `rsync --${name}`, false);
    } else if (/^-[^-]/.test(w.text)) {
      const group = w.text.slice(1);
      const at = [...group].findIndex((l) => 'eBfMT@'.includes(l));
      if (at < 0) continue;
      const value = at < group.length - 1 ? { text: group.slice(at + 1), fixed: w.fixed } : args[++i];
      if (group[at] === 'e' && value) ex.shell(value, 'rsync -e', false);
      if (group[at] === 'M') ex.unknown('rsync -M passes options to the other side');
    }
  }
}

/** ssh options (-o) that make it run a local command, or a command on the other side. */
const SSH_COMMAND_OPTIONS = /^(proxycommand|localcommand|knownhostscommand|remotecommand|permitlocalcommand|match)$/i;

/** ssh, scp, sftp run on the host: -o settings that run commands; ssh's remote command, checked as shell text. */
export function examineSsh(args: Word[], ex: Examiner, name: string): void {
  if (name === 'sftp') return ex.unknown('sftp runs local commands (!) from its input');
  const short = name === 'ssh' ? '46AaCfGgKkMNnqsTtVvXxYyB:b:c:D:E:e:F:I:i:J:L:l:m:O:o:p:Q:R:S:W:w:' : '346ABCOpqRrsTtfdvc:D:F:i:J:l:o:P:S:X:';
  const parsed = parseOptions(name, args, { short, permute: name === 'scp' });
  if (parsed.problem) ex.unknown(parsed.problem);
  for (const setting of valuesOf(parsed, '-o')) {
    const key = /^\s*([A-Za-z]+)/.exec(setting.text)?.[1] ?? '';
    if (!setting.fixed || SSH_COMMAND_OPTIONS.test(key)) ex.unknown(`${name} -o ${key || setting.text} runs a command`);
  }
  if (name === 'scp' && valuesOf(parsed, '-S').length) ex.unknown('scp -S names the program it runs');
  // What follows the destination is a command for the other host's shell: rules see it too.
  if (name === 'ssh' && parsed.operands.length > 1) ex.shell(joined(parsed.operands.slice(1)), 'ssh', false);
}

/** make: --eval text, a makefile read from stdin, and assignments that change the shell or inject code. */
export function examineMake(args: Word[], ex: Examiner): void {
  for (let i = 0; i < args.length; i++) {
    const t = args[i]!.text;
    const value = (prefix: string) => (t.length > prefix.length ? t.slice(prefix.length) : args[++i]?.text);
    if (/^--eval(=|$)|^-E/.test(t)) return ex.unknown('make --eval runs make code given as text');
    if (/^--(file|makefile)(=|$)|^-f/.test(t)) {
      const file = t.startsWith('--') ? (t.includes('=') ? t.split('=').slice(1).join('=') : args[++i]?.text) : value('-f');
      if (file === '-' || /^\/(dev|proc)\//.test(file ?? '')) return ex.unknown('make reads its makefile from a descriptor');
    }
    const assignment = /^([^=\s]+?)[:+?!]*=(.*)$/s.exec(t);
    if (assignment && !t.startsWith('-') && (/^(SHELL|\.SHELLFLAGS|MAKEFLAGS|MAKEFILES|MAKESHELL|MFLAGS)$/.test(assignment[1]!) || /\$[({]|`/.test(assignment[2]!))) {
      return ex.unknown(`make ${assignment[1]}= changes what its recipes run`);
    }
  }
}

/** Editors run commands read from their arguments (-c, +cmd, --cmd) and from their input (`:!cmd`). */
export const EDITORS: ReadonlySet<string> = new Set(['vi', 'vim', 'nvim', 'ex', 'view', 'rvim', 'rview', 'vimdiff', 'gvim', 'evim', 'ed', 'red', 'emacs', 'emacsclient', 'nano', 'pico', 'joe', 'mcedit']);
export const PAGERS: ReadonlySet<string> = new Set(['less', 'more', 'most', 'pg']);

export function examineEditor(name: string, args: Word[], ex: Examiner, candidate: boolean): void {
  if (args.length === 1 && /^--?(version|help)$/.test(args[0]!.text)) return;
  if (!candidate || args.some((w) => /^(\+|-c$|--cmd$|-S$|-s$|--eval|-l$|--load|-x$|-e)/.test(w.text))) ex.unknown(`${name} runs editor commands, which can run programs`);
}

/** Pagers run a command given as `+cmd` (`less '+!cmd'`); their input filters come from LESSOPEN, an environment hook. */
export function examinePager(name: string, args: Word[], ex: Examiner): void {
  if (args.some((w) => w.text.startsWith('+') || /^--?(lesskey|k$)/.test(w.text))) ex.unknown(`${name} runs pager commands given as arguments`);
}

/** man: the pager (-P) and browser (-H) it runs. */
export function examineMan(args: Word[], ex: Examiner): void {
  const parsed = parseOptions('man', args, { short: 'C:dDfkKwWaiIlL:m:M:p:P:r:S:s:e:uE:R:tTH::Z7X::hV', long: ['pager:', 'html::', 'config-file:', 'locale:', 'manpath:', 'sections:', 'preprocessor:', 'prompt:', 'encoding:', 'recode:', 'extension:', 'systems:'], permute: true });
  if (parsed.problem) return;
  for (const text of valuesOf(parsed, '-P', '--pager', '-H', '--html')) ex.shell(text, 'man -P', false);
}

/** `find … -exec CMD … ;` runs CMD: it is a command of its own. */
export function examineFind(args: Word[], ex: Examiner): void {
  for (let i = 0; i < args.length; i++) {
    if (!['-exec', '-execdir', '-ok', '-okdir'].includes(args[i]!.text)) continue;
    const end = args.findIndex((a, j) => j > i && (a.text === ';' || a.text === '+'));
    const inner = args.slice(i + 1, end < 0 ? undefined : end);
    if (inner.length) ex.run(inner);
    if (end < 0) break;
    i = end;
  }
}

/** crontab, at and batch keep commands to run later, from a file or their stdin. */
export function examineScheduler(args: Word[], ex: Examiner, name: string): void {
  const listing = name === 'crontab' ? /^-[lr]$/ : /^-[ldrcV]/;
  if (!args.some((w) => listing.test(w.text))) ex.unknown(`${name} schedules commands that run later`);
}
