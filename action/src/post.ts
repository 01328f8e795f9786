// The action's post step (always runs): stop the gateway so it finalizes and signs the bundle, upload
// the bundle, write the job summary, annotate what was blocked or denied, and fail per `fail-on`.
import { DefaultArtifactClient } from '@actions/artifact';
import * as core from '@actions/core';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { failOnReason, parseFailOn } from '../../runner-proxy/src/cli/fail-on.js';
import { controlGateway } from '../../runner-proxy/src/gateway/control.js';
import { ErrorCode, GovernError } from '../../runner-proxy/src/core/errors.js';
import { bundleFiles, type Counts } from '../../runner-proxy/src/recording/bundle.js';
import { sha256Hex } from '../../runner-proxy/src/recording/canonical.js';
import { EVENTS_FILE, MANIFEST_FILE } from '../../runner-proxy/src/recording/recorder.js';
import { verifyBundle } from '../../runner-proxy/src/recording/verify.js';
import { State } from './state.js';
import { outcomes, sessionHtml } from '../../runner-proxy/src/recording/report.js';

/** A job summary is shown on one page; the bundle's report.html has every operation. */
const SUMMARY_ROWS = 100;

async function stopGateway(outDir: string): Promise<void> {
  try {
    await controlGateway(outDir, { cmd: 'stop' }, 120_000);
  } catch (e) {
    if (!(e instanceof GovernError) || e.code !== ErrorCode.GatewayNotRunning) throw e;
    if (existsSync(join(outDir, MANIFEST_FILE))) return core.info('govern: the gateway had already stopped and signed its bundle');
    core.warning('govern: the gateway was not running at the end of the job (it stopped early or died); uploading what it recorded');
  }
}

async function upload(outDir: string, name: string): Promise<void> {
  if (!process.env.ACTIONS_RUNTIME_TOKEN) {
    core.notice(`govern: no artifact service here; the bundle stays in ${outDir}`);
    return;
  }
  const files = [EVENTS_FILE, ...(existsSync(join(outDir, MANIFEST_FILE)) ? [MANIFEST_FILE] : []), ...bundleFiles(outDir), 'gateway.log']
    .filter((f, i, all) => all.indexOf(f) === i && existsSync(join(outDir, f)))
    .map((f) => join(outDir, f));
  const { id, size } = await new DefaultArtifactClient().uploadArtifact(name, files, outDir);
  core.info(`govern: uploaded the session bundle as artifact "${name}" (${size} bytes, id ${id})`);
  core.setOutput('artifact-id', String(id));
}

async function run(): Promise<void> {
  const state = State.load();
  if (!state) return core.info('govern: the gateway never started in this job; nothing to stop');
  const failOn = parseFailOn(core.getInput('fail-on') || 'blocked');
  await stopGateway(state.outDir);

  const result = verifyBundle(state.outDir, { expectedKey: state.publicKey });
  const manifestPath = join(state.outDir, MANIFEST_FILE);
  const digest = existsSync(manifestPath) ? sha256Hex(readFileSync(manifestPath)) : undefined;
  const problem = result.ok ? {} : { problem: result.problem! };
  await core.summary.addRaw(sessionHtml(result.manifest, result.events, { ...problem, ...(digest && { manifestDigest: digest }), maxRows: SUMMARY_ROWS })).write();

  for (const o of outcomes(result.events)) {
    if (o.verdict === 'block') core.error(`${o.connection}: ${o.text}`, { title: `govern blocked an operation (rule ${o.rule})` });
    else if (o.verdict === 'denied' || o.verdict === 'timed out') core.warning(`${o.connection}: ${o.text}`, { title: `govern: approval ${o.verdict} (${o.requestId})` });
  }

  const name = core.getInput('artifact-name') || `govern-session-${process.env.GITHUB_JOB ?? 'job'}-${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`;
  await upload(state.outDir, name);

  if (!result.ok) return core.setFailed(`govern: the session bundle does not verify: ${result.problem}`);
  const reason = failOnReason(failOn, result.manifest!.counts as Counts);
  if (reason) core.setFailed(`govern: ${reason}`);
}

run().catch((e: unknown) => core.setFailed(`govern: ${(e as Error).message}`));
