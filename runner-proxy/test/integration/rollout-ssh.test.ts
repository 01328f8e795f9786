import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parsePolicy } from '../../src/policy/load.js';
import { loadSessions } from '../../src/rollout/sessions.js';
import { suggestPolicy } from '../../src/rollout/suggest.js';
import { client, governSsh, startSshd, type GovernedSsh, type TestSshd } from '../fixtures/sshd.js';
import { builtInProtocols } from '../../src/adapters/index.js';

// Discovery over SSH: in observe mode each line of a command's output is counted under its connection.
describe('from observe to enforce over SSH', () => {
  let sshd: TestSshd;
  let gov: GovernedSsh;
  const root = mkdtempSync(join(tmpdir(), 'govern-rollout-ssh-'));

  before(async () => {
    sshd = await startSshd();
    gov = await governSsh({ deploy: sshd }, '  - name: reads\n    allow: { shell: [cat] }', 'mode: observe', '', join(root, 'session'));
  });
  after(async () => {
    await sshd?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('the programs run are allowed, the destructive ones blocked, and the output detector types masked', async () => {
    assert.equal((await client('ssh', [...gov.F, 'deploy', 'echo customer 536-22-4711; echo plain line'], gov.env)).code, 0);
    assert.equal((await client('ssh', [...gov.F, 'deploy', 'printf "%s\\n" one two | sort'], gov.env)).code, 0);
    await gov.stop();
    const text = suggestPolicy(loadSessions([gov.out]).sessions);
    const policy = parsePolicy('suggested.yml', Buffer.from(text), { env: {}, resolveVariables: false, protocols: builtInProtocols() });
    const rule = (name: string) => policy.rules.find((r) => r.name === name);
    assert.deepEqual(rule('deploy-pii')?.mask?.types, ['us_ssn']);
    assert.deepEqual(rule('deploy-pii')?.when?.connection, ['deploy']);
    assert.match(text, /# {3}output: us_ssn 1 of 4 values \(25%\)/);
    assert.deepEqual(rule('deploy-seen')?.condition?.shell, ['echo', 'printf', 'sort']);
    assert.ok((rule('deploy-never-seen')?.condition?.shell as string[] | undefined)?.includes('rm -rf'));
    // The bundle carries the policy in force: its connection comes back as written, its ${VAR}s unexpanded.
    assert.match(text, /ssh: \{"host":"127\.0\.0\.1",.*"private_key":"\$\{KEY_0\}".*# as the policy in force has it/);
  });
});
