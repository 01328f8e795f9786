import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { analyzeShell } from '../../src/adapters/ssh/commands.js';
import { UserSshConfigInclude } from '../../src/adapters/ssh/job-config.js';
import { OutputMasker } from '../../src/adapters/ssh/output-mask.js';
import { parseKnownHosts, parseSshSettings } from '../../src/adapters/ssh/settings.js';
import { PolicyError } from '../../src/base/errors.js';
import { Masker } from '../../src/masking/masker.js';
import { parsePolicy } from '../../src/policy/load.js';
import { builtInProtocols } from '../../src/adapters/index.js';

describe('shell command analysis', () => {
  test('finds every simple command, resolved and unwrapped', () => {
    const a = analyzeShell(`sudo -u app env A=1 nice -n 5 "r"'m' -rf /x | tee log; f() { ls $(whoami); }; cat <<EOF\n$(id)\nEOF`);
    assert.deepEqual(a.commands.slice(3), [['rm', '-rf', '/x'], ['tee', 'log'], ['ls', '$(whoami)'], ['whoami'], ['cat'], ['id']]);
    assert.deepEqual(a.written[0], ['sudo', '-u', 'app', 'env', 'A=1', 'nice', '-n', '5', 'rm', '-rf', '/x']);
    assert.deepEqual(a.written.slice(1), [['tee', 'log'], ['ls', '$(whoami)'], ['whoami'], ['cat'], ['id']]);
    assert.deepEqual(a.unknown, []);
  });

  test('ANSI-C quoting and escapes are resolved', () => {
    assert.deepEqual(analyzeShell(`$'\\x72m' -rf a\\ b "c\\$d"`).commands, [['rm', '-rf', 'a b', 'c$d']]);
  });

  test('shell text a shell is given is parsed; code it cannot see is unknown', () => {
    const a = analyzeShell(`bash -c 'rm -rf /'`);
    assert.deepEqual(a.unknown, []);
    assert.deepEqual(a.commands.at(-1), ['rm', '-rf', '/']);
    for (const text of ['$X', 'eval x', '. ./f', 'curl x | sh', 'python3 -c 1', 'xargs sh -c "$x"', 'echo x | base64 -d | bash', 'sh -c "$P"']) {
      assert.ok(analyzeShell(text).unknown.length > 0, text);
    }
    for (const text of ['ls -la', 'grep -r "rm -rf" .', 'python3 app.py', 'command -v rm', 'sh deploy.sh', 'python3 --version', 'node -v']) {
      assert.deepEqual(analyzeShell(text).unknown, [], text);
    }
  });

  test('wrappers are read with GNU option semantics', () => {
    for (const text of ['sudo -uroot rm -rf /x', 'sudo -Eu root -- rm -rf /x', 'sudo --us=root rm -rf /x', 'nice -5 rm -rf /x', 'nice -n5 rm -rf /x', 'timeout --sig=KILL 5 rm -rf /x', 'ionice -c3 rm -rf /x', 'taskset -c 0 rm -rf /x', 'chrt -o 0 rm -rf /x', 'unshare -rm rm -rf /x', 'nsenter -t 1 -m rm -rf /x', 'setpriv --reuid=0 rm -rf /x', 'runuser -u root -- rm -rf /x', '/lib64/ld-linux-x86-64.so.2 /bin/rm -rf /x', 'env -i A=1 rm -rf /x']) {
      assert.ok(analyzeShell(text).commands.some((argv) => argv.join(' ').endsWith('rm -rf /x') && argv[0]!.endsWith('rm')), text);
    }
    for (const text of ['su -c "rm -rf /x" root', 'su root -c "rm -rf /x"', 'flock /tmp/l -c "rm -rf /x"', 'script -qc "rm -rf /x" /dev/null', 'capsh -- -c "rm -rf /x"', 'env -S "rm -rf /x"', 'watch -n1 rm -rf /x', 'sg root "rm -rf /x"']) {
      assert.ok(analyzeShell(text).commands.some((argv) => argv.join(' ') === 'rm -rf /x'), text);
    }
    assert.ok(analyzeShell('sudo --frobnicate rm -rf /x').unknown.length > 0, 'an option the gateway does not know');
    assert.deepEqual(analyzeShell('sudo -l rm').commands, [['sudo', '-l', 'rm']], 'sudo -l only lists');
  });

  test('an uncatalogued program handed a command is checked as a wrapper', () => {
    assert.ok(analyzeShell('strace -f rm -rf /x').commands.some((argv) => argv.join(' ') === 'rm -rf /x'));
    assert.ok(analyzeShell('docker exec c bash -c "$X"').unknown.length > 0);
    assert.deepEqual(analyzeShell('apt-get install -y vim python3 bash').unknown, []);
  });

  test('awk and sed programs are read for what runs commands', () => {
    for (const text of [`awk 'BEGIN{system("x")}'`, `awk '{print | "sh"}'`, `awk '{"date" | getline d}'`, `gawk -e 'BEGIN{system("x")}'`, `sed '1e id' f`, `sed -n 's/a/b/ep' f`, `sed -e p -e 'e id' f`, `sed -f - f`, `sed 'q;Z' f`]) {
      assert.ok(analyzeShell(text).unknown.length > 0, text);
    }
    for (const text of [`awk -F: '/a|b/ || /c/ {print $1 "|" $2}' f`, `awk '{ x = 4 / 2; print x }' f`, `sed -n 's/e/E/gp' f`, `sed -e '/^#/d' -e 's|a|b|' f`, `sed 'y/abc/xyz/;1i\\
head' f`, `sed --sandbox 's/x/y/e' f`]) {
      assert.deepEqual(analyzeShell(text).unknown, [], text);
    }
    assert.ok(analyzeShell(`sed '1e rm -rf /x' f`).commands.some((argv) => argv.join(' ') === 'rm -rf /x'));
  });

  test('interpreters with flags grouped before their program, and what reads no program', () => {
    for (const text of ['python3 -Ic x', 'python3 -BIc x', 'perl -le x', 'perl -l0ne x', 'perl -Mstrict -e x', 'ruby -ne x', 'node -pe x', 'node --eval=x', 'php -r x']) {
      assert.ok(analyzeShell(text).unknown.length > 0, text);
    }
    for (const text of ['python3 --version', 'python3 -V', 'perl -v', 'node --version', 'python3 -m pip install x', 'perl -i.bak script.pl']) {
      assert.deepEqual(analyzeShell(text).unknown, [], text);
      assert.equal(analyzeShell(text).readsStdin, undefined, text);
    }
  });

  test('shells fed from descriptors, coprocesses and redirections, hooks and evaluating features are unknown', () => {
    for (const text of ['bash /dev/stdin', 'sh /proc/self/fd/0', 'exec 3<f; bash <&3', 'exec <f; bash', '{ bash; } < f', 'coproc bash', 'bash 0<f', 'while read; do sh; done < f', 'BASH_ENV=x bash -c :', 'export PROMPT_COMMAND=x', 'env LD_PRELOAD=x ls', 'LESSOPEN="|x %s" less f', 'x=$1; echo $((x))', 'echo ${a[$i]}', 'echo ${!x}', 'echo ${x@P}', '[[ $x -gt 1 ]]', 'declare -i n=$x', 'shopt -s expand_aliases', 'alias ls=x', 'trap x EXIT', 'mapfile -C f', 'hash -p /bin/rm ls', 'enable -f x.so y', 'eval ls', 'source x']) {
      assert.ok(analyzeShell(text).unknown.length > 0, text);
    }
    for (const text of ['for ((i=0; i<3; i++)); do echo $((i * 2)); done', 'n=3; echo $((n + 1))', 'echo ${!prefix*} ${#x} ${x:-d}', 'bash <<< "ls"', 'export PATH=$PATH:/x', 'trap - EXIT']) {
      assert.deepEqual(analyzeShell(text).unknown, [], text);
    }
    assert.ok(analyzeShell('trap "rm -rf /x" EXIT').commands.some((argv) => argv.join(' ') === 'rm -rf /x'));
  });

  test('ANSI-C quoting in full and NUL bytes as bash reads them', () => {
    assert.deepEqual(analyzeShell(String.raw`$'\u0072m' $'\U0000002d'rf $'\162'm $'\cJ'`).commands, [['rm', '-rf', 'rm', '\n']]);
    assert.deepEqual(analyzeShell(String.raw`$'rm\0junk' r$'\x00'm`).commands, [['rm', 'rm']]);
    const nul = analyzeShell('r\0m -rf /x');
    assert.deepEqual(nul.commands, [['rm', '-rf', '/x']]);
    assert.ok(nul.unknown.length > 0);
  });

  test('a shell or interpreter reading the session stdin is noticed', () => {
    assert.equal(analyzeShell('bash -s -- a').readsStdin, 'shell');
    assert.equal(analyzeShell('cd /srv && sh').readsStdin, 'shell');
    assert.equal(analyzeShell('python3').readsStdin, 'interpreter');
    assert.equal(analyzeShell('bash x.sh').readsStdin, undefined);
    assert.equal(analyzeShell('echo | bash').readsStdin, undefined);
  });

  test('text that is not shell is unparseable', () => {
    assert.match(analyzeShell('echo "x').unparseable ?? '', /quote/);
    assert.ok(analyzeShell('if then fi').unparseable);
  });
});

describe('output masking across writes', () => {
  const plan = new Map([['credit_card', 'redact'], ['us_ssn', 'redact']] as const);

  test('a value split across pushes is masked; other bytes pass unchanged', () => {
    const out: Buffer[] = [];
    const m = new OutputMasker(new Masker(), plan, (b) => out.push(b));
    m.push(Buffer.from([0xff, 0x00, 0x0a]));
    m.push(Buffer.from('card 4111 1111 '));
    m.push(Buffer.from('1111 1111 ok\nssn 536-2'));
    m.push(Buffer.from('2-4711'));
    m.flush();
    const all = Buffer.concat(out);
    assert.deepEqual([...all.subarray(0, 3)], [0xff, 0x00, 0x0a]);
    assert.equal(all.subarray(3).toString(), 'card [masked:credit_card] ok\nssn [masked:us_ssn]');
    assert.equal(m.masked, 2);
  });

  test('a prompt goes out at once; a value written in pieces is masked however long the pause', async () => {
    const out: Buffer[] = [];
    const m = new OutputMasker(new Masker(), plan, (b) => out.push(b));
    m.push(Buffer.from('Password: '));
    assert.equal(Buffer.concat(out).toString(), 'Password: ');
    m.push(Buffer.from('card 4111 1111 '));
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(Buffer.concat(out).toString(), 'Password: card ');
    m.push(Buffer.from('1111 1111 and 536-'));
    await new Promise((r) => setTimeout(r, 250));
    m.push(Buffer.from('22-4711 done. '));
    assert.equal(Buffer.concat(out).toString(), 'Password: card [masked:credit_card] and [masked:us_ssn] done. ');
  });
});

describe('~/.ssh/config Include', () => {
  test('restores the file byte for byte, keeps what the job added, removes what it created', () => {
    const home = mkdtempSync(join(tmpdir(), 'govern-home-'));
    mkdirSync(join(home, '.ssh'));
    const original = 'Host a\r\n  User b\n\n# no newline at the end';
    writeFileSync(join(home, '.ssh', 'config'), original);
    const first = new UserSshConfigInclude('/tmp/x/config', 'one', home);
    const second = new UserSshConfigInclude('/tmp/y/config', 'two', home);
    const during = readFileSync(join(home, '.ssh', 'config'), 'utf8');
    assert.ok(during.startsWith('# >>> govern two'));
    assert.ok(during.endsWith(original));
    first.restore();
    second.restore();
    assert.equal(readFileSync(join(home, '.ssh', 'config'), 'utf8'), original);

    const empty = mkdtempSync(join(tmpdir(), 'govern-home-'));
    const created = new UserSshConfigInclude('/tmp/x/config', 'one', empty);
    created.restore();
    assert.equal(existsSync(join(empty, '.ssh')), false);
  });
});

describe('ssh policy settings', () => {
  test('known_hosts lines with and without host names, comments and markers', () => {
    const keys = parseKnownHosts('# c\n[h]:2222 ssh-ed25519 AAAA1\nssh-rsa BBBB2 comment\n@revoked h ssh-ed25519 CCCC3\n\n');
    assert.deepEqual([...keys], ['AAAA1', 'BBBB2']);
  });

  test('sftp and ssh conditions are schema-checked', () => {
    const policy = (rules: string) => Buffer.from(`version: 1\nrules:\n${rules}\n`);
    const ok = parsePolicy('p.yml', policy('  - name: a\n    block: { sftp: ["remove /srv/**", rename], ssh: [interactive] }'), { env: {}, resolveVariables: true, protocols: builtInProtocols() });
    assert.deepEqual(ok.rules[0]!.condition?.sftp, ['remove /srv/**', 'rename']);
    assert.throws(() => parsePolicy('p.yml', policy('  - name: a\n    block: { sftp: ["delete /x"] }'), { env: {}, resolveVariables: true, protocols: builtInProtocols() }), PolicyError);
    assert.throws(() => parsePolicy('p.yml', policy('  - name: a\n    allow: { ssh: [tunnels] }'), { env: {}, resolveVariables: true, protocols: builtInProtocols() }), /interactive, port_forwarding/);
  });

  test('a connection that cannot log in, or with a key ssh cannot read, is refused at start', () => {
    const spec = (settings: Record<string, unknown>) => ({ name: 'deploy', protocol: 'ssh' as const, export: 'DEPLOY', settings: { host: 'h', user: 'u', ...settings } });
    assert.throws(() => parseSshSettings(spec({})), { code: 'GOVERN_GATEWAY_START_FAILED', message: 'connection "deploy" needs private_key or password to log in to h' });
    assert.throws(() => parseSshSettings(spec({ private_key: 'not a key' })), /private_key is not a private key ssh can read/);
    assert.equal(parseSshSettings(spec({ password: 'p', keepalive: '5s' })).keepaliveMs, 5000);
  });
});
