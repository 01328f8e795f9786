// The action with `policy-test: FILE`, on a pull request that changes the policy: instead of starting
// the gateway, the bundled CLI tests FILE against the session artifacts of the default branch's last
// runs, posts the result as one pull-request comment and the job summary, and fails the check per
// `policy-test-fail-on`.
import * as core from '@actions/core';
import { spawn } from 'node:child_process';

export async function testPolicyOnPullRequest(cli: string, policy: string): Promise<void> {
  const args = ['policy', 'test', policy, '--runs', core.getInput('policy-test-runs') || '5', '--comment', '--fail-on', core.getInput('policy-test-fail-on') || 'blocked,held,identity'];
  const token = core.getInput('github-token');
  const status = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...(token && { GOVERN_GITHUB_TOKEN: token }) }, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  if (status !== 0) core.setFailed(`govern: the policy test of ${policy} ${status === 1 ? 'found operations that ran and would now be refused (see the comment and the job summary)' : `failed with status ${status}`}`);
}
