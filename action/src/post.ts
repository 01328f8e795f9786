// The action's post step (always runs): stop the gateway so it finalizes and signs the bundle, upload
// the bundle, write the job summary, annotate what was blocked or denied, and fail per `fail-on`.
import { DefaultArtifactClient } from '@actions/artifact';
import * as core from '@actions/core';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { failOnReason, parseFailOn } from '../../runner-proxy/src/cli/fail-on.js';
import { controlGateway } from '../../runner-proxy/src/gateway/control.js';
import { ErrorCode, GovernError } from '../../runner-proxy/src/base/errors.js';
import { bundleFiles, type Counts } from '../../runner-proxy/src/recording/bundle.js';
import { jobSummaryHtml } from '../../runner-proxy/src/recording/job-summary.js';
import { EVENTS_FILE, MANIFEST_FILE } from '../../runner-proxy/src/recording/recorder.js';
import { Col, SessionViewBuilder, VERDICTS, type SessionView } from '../../runner-proxy/src/recording/session-view.js';
import { verifyBundle } from '../../runner-proxy/src/recording/verify.js';
import { State } from './state.js';

/** GitHub shows at most 10 error and 10 warning annotations a step; the summary and report have the rest. */
const MAX_ANNOTATIONS = 10;

async function stopGateway(outDir: string): Promise<void> {
  try {
    await controlGateway(outDir, { cmd: 'stop' }, 120_000);
  } catch (e) {
    if (!(e instanceof GovernError) || e.code !== ErrorCode.GatewayNotRunning) throw e;
    if (existsSync(join(outDir, MANIFEST_FILE))) return core.info('govern: the gateway had already stopped and signed its bundle');
    core.warning('govern: the gateway was not running at the end of the job (it stopped early or died); uploading what it recorded');
  }
}

/** Uploads the bundle; returns the artifact's address on the run's page, or nothing without an artifact service. */
async function upload(outDir: string, name: string): Promise<{ name: string; url?: string } | undefined> {
  if (!process.env.ACTIONS_RUNTIME_TOKEN) {
    core.notice(`govern: no artifact service here; the bundle stays in ${outDir}`);
    return undefined;
  }
  const files = [EVENTS_FILE, ...(existsSync(join(outDir, MANIFEST_FILE)) ? [MANIFEST_FILE] : []), ...bundleFiles(outDir), 'gateway.log']
    .filter((f, i, all) => all.indexOf(f) === i && existsSync(join(outDir, f)))
    .map((f) => join(outDir, f));
  const { id, size } = await new DefaultArtifactClient().uploadArtifact(name, files, outDir);
  core.info(`govern: uploaded the session bundle as artifact "${name}" (${size} bytes, id ${id})`);
  core.setOutput('artifact-id', String(id));
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: runId } = process.env;
  return { name, ...(server && repo && runId && id !== undefined && { url: `${server}/${repo}/actions/runs/${runId}/artifacts/${id}` }) };
}

function annotate(view: SessionView): void {
  let errors = 0;
  let warnings = 0;
  view.ops.forEach((op, index) => {
    const verdict = VERDICTS[op[Col.Verdict]!];
    const where = `${view.strings[op[Col.Connection]!]}: ${view.strings[op[Col.Text]!]!.slice(0, 500)}`;
    const rule = op[Col.Rule]! >= 0 ? view.strings[op[Col.Rule]!] : '';
    if (verdict === 'block' && errors++ < MAX_ANNOTATIONS) core.error(where, { title: `govern blocked an operation (rule ${rule})` });
    else if ((verdict === 'denied' || verdict === 'timed out') && warnings++ < MAX_ANNOTATIONS) core.warning(where, { title: `govern: approval ${verdict} (${view.details[index]?.approval?.id ?? rule})` });
  });
}

async function run(): Promise<void> {
  const state = State.load();
  if (!state) return core.info('govern: the gateway never started in this job; nothing to stop');
  const failOn = parseFailOn(core.getInput('fail-on') || 'blocked');
  await stopGateway(state.outDir);

  const result = verifyBundle(state.outDir, { expectedKey: state.publicKey });
  const eventsPath = join(state.outDir, EVENTS_FILE);
  // A gateway that died before recording anything leaves no events: the summary says the bundle does not verify.
  const view = existsSync(eventsPath) ? await SessionViewBuilder.read(eventsPath) : new SessionViewBuilder().view;
  annotate(view);

  const name = core.getInput('artifact-name') || `govern-session-${process.env.GITHUB_JOB ?? 'job'}-${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`;
  const artifact = await upload(state.outDir, name);

  const manifest = result.manifest;
  await core.summary
    .addRaw(
      jobSummaryHtml(view, {
        mode: manifest?.policy.mode ?? view.session?.policy?.mode ?? 'unknown',
        identity: manifest?.identity ?? view.session?.identity,
        session_id: manifest?.session_id ?? view.session?.id ?? 'unknown',
        started_at: manifest?.started_at ?? new Date(view.start_ms).toISOString(),
        ended_at: manifest?.ended_at ?? view.end?.ts ?? new Date().toISOString(),
        public_key: manifest?.public_key ?? state.publicKey,
        bundle_dir: state.outDir,
        ...(!result.ok && { problem: result.problem! }),
        ...(artifact && { artifact }),
        ...(manifest?.job_binding && { job_binding: manifest.job_binding }),
      }),
    )
    .write();

  if (!result.ok) return core.setFailed(`govern: the session bundle does not verify: ${result.problem}`);
  const reason = failOnReason(failOn, result.manifest!.counts as Counts);
  if (reason) core.setFailed(`govern: ${reason}`);
}

run().catch((e: unknown) => core.setFailed(`govern: ${(e as Error).message}`));
