import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { client, governSsh, startSshd, type GovernedSsh, type TestSshd } from '../fixtures/sshd.js';

/**
 * Destructive commands of every class the gateway must see through, each aimed at a throwaway
 * sandbox directory. Every one is first run on a real sshd directly, to show it does its damage there,
 * then through the gateway on a fresh sandbox, where it must be refused before anything runs.
 */
const RULES = `
  - name: no-destruction
    block: { shell: ["rm -rf", "chmod -R", "mkfs", "find -delete", "git push --force"] }
  - name: no-blind-code
    block: { shell: [unknown] }
`;

interface Case {
  command: (s: string) => string;
  /** What the command gets on stdin. */
  input?: (s: string) => string | Buffer;
  git?: true;
}

const V = (s: string) => `${s}/victim`;
const rmV = (s: string) => `rm -rf ${V(s)}`;

const CORPUS: Readonly<Record<string, readonly Case[]>> = {
  'quoting: ANSI-C escapes, NUL bytes, GNU option spellings': [
    { command: (s) => `$'\\x72\\x6d' -rf ${V(s)}` },
    { command: (s) => `$'\\u0072m' -rf ${V(s)}` },
    { command: (s) => `$'\\U00000072\\U0000006d' -rf ${V(s)}` },
    { command: (s) => `$'\\162m' -rf ${V(s)}` },
    { command: (s) => `r$'\\0'm -rf ${V(s)}` },
    { command: (s) => `$'rm\\0junk' -rf ${V(s)}` },
    { command: () => 'bash -s', input: (s) => Buffer.from(`r\0m -rf ${V(s)}\n`) },
    { command: (s) => `rm --recu --forc ${V(s)}` },
    { command: (s) => `rm -r --force ${V(s)}` },
    { command: (s) => `chmod --recu 000 ${V(s)}` },
    { command: (s) => `env --sp='${rmV(s)}'` },
    { command: (s) => `timeout --sig=KILL 9 ${rmV(s)}` },
    { command: (s) => `nice -5 ${rmV(s)}` },
    { command: (s) => `nice -n5 stdbuf -oL ${rmV(s)}` },
    { command: (s) => `ionice -c3 ${rmV(s)}` },
    { command: (s) => `echo ${V(s)} | xargs -I{} rm -rf {}` },
    { command: (s) => `echo ${V(s)} | xargs -r rm -rf` },
  ],
  'wrappers: CPU, namespace and privilege tools, the dynamic loader, unknown programs': [
    { command: (s) => `taskset -c 0 ${rmV(s)}` },
    { command: (s) => `chrt -o 0 ${rmV(s)}` },
    { command: (s) => `unshare -r ${rmV(s)}` },
    { command: (s) => `setsid -w ${rmV(s)}` },
    { command: (s) => `flock ${s}/lock ${rmV(s)}` },
    { command: (s) => `flock ${s}/lock -c '${rmV(s)}'` },
    { command: (s) => `su -c '${rmV(s)}' root` },
    { command: (s) => `su -s /bin/sh root -c '${rmV(s)}'` },
    { command: (s) => `runuser -u root -- ${rmV(s)}` },
    { command: (s) => `setpriv --reuid=0 ${rmV(s)}` },
    { command: (s) => `capsh -- -c '${rmV(s)}'` },
    { command: (s) => `script -qc '${rmV(s)}' /dev/null` },
    { command: (s) => `/lib64/ld-linux-x86-64.so.2 /bin/rm -rf ${V(s)}` },
    { command: (s) => `strace -f -o /dev/null ${rmV(s)}` },
    { command: (s) => `find ${s} -maxdepth 1 -name victim -exec rm -rf {} +` },
  ],
  'programs that run command text: awk, sed, tar, git, rsync, make, editors, pagers, sqlite, ssh, interpreters': [
    { command: (s) => `awk 'BEGIN{system("${rmV(s)}")}'` },
    { command: (s) => `awk 'BEGIN{print "${rmV(s)}" | "sh"}'` },
    { command: (s) => `awk 'BEGIN{while (("${rmV(s)}" | getline x) > 0) {}}'` },
    { command: (s) => `sed -n '1e ${rmV(s)}' /etc/hostname` },
    { command: (s) => `echo '${rmV(s)}' | sed 's/.*/&/e'` },
    { command: (s) => `tar -cf /dev/null /etc/hostname --checkpoint=1 --checkpoint-action=exec='${rmV(s)}'` },
    { command: (s) => `tar -cf ${s}/a.tar -C /etc hostname && tar -xf ${s}/a.tar --to-command='${rmV(s)}'` },
    { command: (s) => `tar -cf /dev/null -I '${rmV(s)}; cat' /etc/hostname` },
    { command: (s) => `git -c alias.x='!${rmV(s)}' x` },
    { command: (s) => `git -c core.sshCommand='${rmV(s)};' ls-remote ssh://h/x` },
    { command: (s) => `rsync -e 'sh -c "${rmV(s)}"' /etc/hostname x:/tmp/y` },
    { command: (s) => `make -f /dev/null --eval='x:;${rmV(s)}' x` },
    { command: (s) => `vim -es -c '!${rmV(s)}' -c 'q!'` },
    { command: (s) => `LESSOPEN='|${rmV(s)}; cat %s' less /etc/hostname` },
    { command: (s) => `sqlite3 :memory: '.shell ${rmV(s)}'` },
    { command: (s) => `ssh -o ProxyCommand='${rmV(s)}' -o BatchMode=yes x` },
    { command: (s) => `python3 -Ic 'import shutil; shutil.rmtree("${V(s)}")'` },
    { command: (s) => `perl -le 'system "${rmV(s)}"'` },
    { command: (s) => `node -pe 'require("fs").rmSync("${V(s)}", { recursive: true })'` },
    { command: (s) => `bash -xc '${rmV(s)}'` },
  ],
  'shells fed from stdin, descriptors, coprocesses and hooks; evaluating features': [
    { command: () => 'bash /dev/stdin', input: (s) => `${rmV(s)}\n` },
    { command: (s) => `exec 3<<<'${rmV(s)}'; bash <&3` },
    { command: (s) => `bash 3<<<'${rmV(s)}' /dev/fd/3` },
    { command: (s) => `coproc bash; echo '${rmV(s)}' >&\${COPROC[1]}; exec {COPROC[1]}>&-; wait` },
    { command: (s) => `bash <<< '${rmV(s)}'` },
    { command: (s) => `echo '${rmV(s)}' > ${s}/e.sh; BASH_ENV=${s}/e.sh bash -c true` },
    { command: (s) => `PROMPT_COMMAND='${rmV(s)}' bash -i </dev/null` },
    { command: (s) => `echo '${rmV(s)}' > ${s}/e.sh; ENV=${s}/e.sh sh -i </dev/null` },
    { command: (s) => `shopt -s expand_aliases; alias ls='${rmV(s)}'\nls` },
    { command: (s) => `x='a[$(${rmV(s)})]'; echo $((x))` },
    { command: (s) => `a=1; x='a[$(${rmV(s)})]'; echo \${!x}` },
    { command: (s) => `x='a[$(${rmV(s)})]'; [[ $x -eq 1 ]]` },
    { command: (s) => `x='$(${rmV(s)})'; echo "\${x@P}"` },
    { command: (s) => `trap '${rmV(s)}' EXIT` },
    { command: (s) => `mapfile -C '${rmV(s)} #' -c 1 <<< x` },
    { command: (s) => `hash -p /bin/rm ls; ls -rf ${V(s)}` },
  ],
  'rules by meaning: program families, force-push in every spelling, find -delete': [
    { command: (s) => `mkfs.ext4 -q -F ${s}/disk.img` },
    { command: (s) => `find ${V(s)} -delete` },
    { command: (s) => `cd ${s}/work && git push -q origin +main`, git: true },
    { command: (s) => `cd ${s}/work && git push -qf origin main`, git: true },
    { command: (s) => `cd ${s}/work && git push -q --force-w origin main`, git: true },
    { command: (s) => `git -C ${s}/work push -q --mirror`, git: true },
  ],
};

/** Commands a pipeline runs every day: none may be refused. */
const HARMLESS = (s: string) => [
  'echo hello',
  `ls -la ${s}`,
  'cat /etc/hostname',
  'grep -c root /etc/passwd',
  `git -C ${s}/work status --short`,
  `git -C ${s}/work log --oneline -1`,
  `git -C ${s}/work fetch -q`,
  `cd ${s}/clean && git pull -q --ff-only`,
  `cd ${s}/pkg && npm ci --offline --no-audit --no-fund --loglevel=error`,
  'python3 --version',
  `find ${s} -name '*.txt'`,
  `find ${s} -depth -links 1 -type d -newer /etc/hostname`,
  "awk -F: '/root|daemon/ {print $1}' /etc/passwd",
  "sed -n 's/^root:.*/found/p' /etc/passwd",
  `tar -cf ${s}/b.tar -C /etc hostname && tar -tf ${s}/b.tar`,
  'rsync --version',
  'sqlite3 :memory: "select 1"',
  'node --version',
  'perl -v',
  'nice -n 5 ls /',
  'timeout 5 echo ok',
  'sh -c "echo from sh"',
  'for ((i=0; i<3; i++)); do echo $i; done',
  'apt-get --version',
];

function snapshot(dir: string): string {
  const lines: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      lines.push(`${p} ${st.mode.toString(8)} ${st.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : ''}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return lines.join('\n');
}

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, stdio: 'ignore' });

/** A sandbox: a victim directory, a disk image, and for git cases a bare remote with a clone whose history was rewritten. */
function sandbox(root: string, index: number, withGit: boolean): string {
  const s = join(root, `case-${index}`);
  mkdirSync(join(s, 'victim', 'sub'), { recursive: true });
  writeFileSync(join(s, 'victim', 'data.txt'), 'keep me\n');
  writeFileSync(join(s, 'victim', 'sub', 'more.txt'), 'and me\n');
  writeFileSync(join(s, 'disk.img'), Buffer.alloc(1 << 20, 0x61));
  if (withGit) {
    git(s, 'init', '-q', '--bare', '-b', 'main', 'remote.git');
    git(s, 'clone', '-q', 'remote.git', 'work');
    writeFileSync(join(s, 'work', 'a.txt'), 'a\n');
    git(join(s, 'work'), 'add', 'a.txt');
    git(join(s, 'work'), 'commit', '-qm', 'a');
    git(join(s, 'work'), 'push', '-q', 'origin', 'HEAD:main');
    git(join(s, 'work'), 'commit', '-q', '--amend', '-m', 'rewritten');
  }
  return s;
}

describe('SSH shell corpus: each command does damage on the host without the gateway, and is refused through it', () => {
  let sshd: TestSshd;
  let gov: GovernedSsh;
  let root: string;

  before(async () => {
    sshd = await startSshd();
    gov = await governSsh({ deploy: sshd }, RULES);
    root = mkdtempSync(join(tmpdir(), 'govern-corpus-'));
  });
  after(async () => {
    await gov?.stop();
    await sshd?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const direct = (command: string, input?: string | Buffer) =>
    client('ssh', ['-i', join(sshd.dir, 'client_ed25519'), '-p', String(sshd.port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', 'root@127.0.0.1', command], { PATH: process.env.PATH ?? '/usr/bin:/bin' }, input);
  const governed = (command: string, input?: string | Buffer) => client('ssh', [...gov.F, 'deploy', command], gov.env, input);

  let index = 0;
  for (const [kind, cases] of Object.entries(CORPUS)) {
    test(kind, async () => {
      for (const c of cases) {
        const bare = sandbox(root, index++, c.git ?? false);
        const before = snapshot(bare);
        const command = c.command(bare);
        await direct(command, c.input?.(bare));
        assert.notEqual(snapshot(bare), before, `without the gateway, this does no damage: ${command}`);

        const guarded = sandbox(root, index++, c.git ?? false);
        const intact = snapshot(guarded);
        const r = await governed(c.command(guarded), c.input?.(guarded));
        assert.equal(r.code, 126, `${c.command(guarded)}: ${r.stderr}`);
        assert.match(r.stderr, /^govern: blocked by rule "no-(destruction|blind-code)"/, c.command(guarded));
        assert.equal(snapshot(guarded), intact, `through the gateway it changed the sandbox: ${c.command(guarded)}`);
      }
    });
  }

  test('the everyday commands of a pipeline pass', async () => {
    const s = sandbox(root, index++, true);
    git(s, 'clone', '-q', 'remote.git', 'clean');
    mkdirSync(join(s, 'pkg'));
    writeFileSync(join(s, 'pkg', 'package.json'), JSON.stringify({ name: 'pkg', version: '1.0.0' }));
    writeFileSync(join(s, 'pkg', 'package-lock.json'), JSON.stringify({ name: 'pkg', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'pkg', version: '1.0.0' } } }));
    for (const command of HARMLESS(s)) {
      const r = await governed(command);
      assert.doesNotMatch(r.stderr, /govern:/, command);
      assert.equal(r.code, 0, `${command}: ${r.stderr}`);
    }
    const status = await governed('systemctl status app');
    assert.doesNotMatch(status.stderr, /govern:/, 'systemctl status is not refused (it fails here only for want of systemd)');
  });
});
