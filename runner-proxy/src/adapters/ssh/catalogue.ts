import { examineAwk, examineInterpreter, examineSed, interpreterFamily } from './interpreters.js';
import type { Word } from './options.js';
import { EDITORS, PAGERS, examineEditor, examineFind, examineGit, examineMake, examineMan, examinePager, examineRsync, examineScheduler, examineSsh, examineTar } from './runners.js';
import { WRAPPER_NAMES, examineWrapper, type Examiner } from './wrappers.js';

/**
 * Programs known to run neither their arguments nor text given to them: their argv is all there is to
 * judge. Every program is one of these, a catalogued one (a wrapper, an interpreter, a program that
 * runs command text from some of its options), or unknown to the gateway: then each of its words that
 * could name a program is checked as the command it may run (`strace -f rm -rf x` is also `rm -rf x`),
 * so a program the catalogue misses cannot carry a command past the rules.
 */
const INERT: ReadonlySet<string> = new Set([
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
export function catalogueName(base: string): string {
  if (/^ld(-linux[\w.-]*|-musl[\w.-]*)?\.so(\.\d+)*$/.test(base)) return 'ld.so';
  if (/^(g|m|n|original-|busybox-)?awk$/.test(base)) return 'awk';
  if (base === 'gsed') return 'sed';
  return interpreterFamily(base) ?? base;
}

/** Programs that run command text from some of their arguments, by the name they were called as. */
const RUNNERS: Readonly<Record<string, (args: Word[], ex: Examiner, name: string) => void>> = {
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
export function examineProgram(base: string, args: Word[], ex: Examiner, candidate: boolean): void {
  const name = catalogueName(base);
  if (INERT.has(name)) return;
  if (WRAPPER_NAMES.has(name)) return examineWrapper(name, args, ex);
  const runner = RUNNERS[name];
  if (runner) return runner(args, ex, base);
  if (interpreterFamily(name)) return examineInterpreter(name, args, ex);
  if (EDITORS.has(name)) return examineEditor(name, args, ex, candidate);
  if (PAGERS.has(name)) return examinePager(name, args, ex);
  if (candidate) return;
  args.forEach((w, i) => w.fixed && /^[\w./+-]+$/.test(w.text) && !w.text.startsWith('-') && ex.mayRun(args.slice(i)));
}
