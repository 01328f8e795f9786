import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { AdapterRegistry, Listener } from '../adapters/adapter.js';
import { Approvals, type ApprovalProvider } from '../core/approvals.js';
import { ErrorCode, GovernError } from '../base/errors.js';
import { Governor } from '../core/governor.js';
import type { JobBinding } from '../identity/binding.js';
import { principalRecord, type Principal } from '../identity/principal.js';
import { Masker } from '../masking/masker.js';
import type { Policy, ProxySpec } from '../policy/types.js';
import { POLICY_FILE, SessionSigner, writeManifest, writePolicyCopy, type Manifest } from '../recording/bundle.js';
import { GENESIS } from '../recording/canonical.js';
import { EVENTS_FILE, recordedTail, Recorder } from '../recording/recorder.js';
import { writeReport } from '../recording/report.js';
import { SessionViewBuilder, type SessionView } from '../recording/session-view.js';
import { recordedCasts } from '../recording/cast-player.js';
import { terminalSectionsHtml } from '../recording/cast-html.js';
import type { Logger } from '../base/logger.js';

export interface GatewayOptions {
  policy: Policy;
  principal: Principal;
  outDir: string;
  adapters: AdapterRegistry;
  /** Where approvers answer besides `govern approve`: a pull or merge request. */
  approvalProvider?: ApprovalProvider;
  log: Logger;
  now?: () => number;
  /** How long open sessions may take to finish when the gateway stops. */
  drainMs?: number;
  /** Asks the forge to bind the run's signing key to the job; without it the bundle says it is unbound. */
  bindKey?: (publicKey: string) => Promise<JobBinding>;
}

const UNBOUND: JobBinding = { kind: 'absent', reason: 'the gateway was started without a forge to ask' };

/** Why a connection cannot start: `policy check` says the same, from the same registry. */
export function cannotServe(connection: Pick<Policy['connections'][number], 'name' | 'protocol'>, adapters: AdapterRegistry): string {
  return `connection "${connection.name}" uses ${connection.protocol}, which this build of govern cannot serve (it serves ${[...adapters.keys()].join(', ')})`;
}
/** The forward proxy's name in the manifest and status: no connection can be called this. */
const PROXY_NAME = '(proxy)';

/** The bundle's self-contained viewer. */
export const REPORT_FILE = 'report.html';

interface OpenConnection {
  name: string;
  protocol: string;
  export: string;
  target: string;
  listener: Listener;
}

export interface GatewayStatus {
  session_id: string;
  pid: number;
  out_dir: string;
  public_key: string;
  identity: Principal;
  mode: Policy['mode'];
  connections: { name: string; protocol: string; export: string; target: string }[];
  counts: Governor['counts'];
  pending: ReturnType<Approvals['pending']>;
  /** How long an operation may wait for approval, so `status` can say how long each has left. */
  approval_timeout_ms: number;
}

/**
 * One run of the gateway: the recording, the governor, and a loopback listener per connection.
 * `start` returns once every listener is ready; `stop` drains, then finalizes and signs the bundle.
 */
export class Gateway {
  readonly sessionId = randomUUID();
  readonly governor: Governor;
  readonly signer = new SessionSigner();
  readonly #options: GatewayOptions;
  readonly #connections: OpenConnection[] = [];
  readonly #startedAt: string;
  #jobBinding: JobBinding = UNBOUND;
  #stopping: Promise<Manifest> | undefined;
  #view: SessionView | undefined;
  #markStopped!: (manifest: Manifest) => void;
  #failStopped!: (e: unknown) => void;
  /** Settles once the bundle is finalized (or finalizing failed), whoever asked for the stop. */
  readonly stopped = new Promise<Manifest>((resolve, reject) => {
    this.#markStopped = resolve;
    this.#failStopped = reject;
  });

  private constructor(options: GatewayOptions, recorder: Recorder) {
    // Whoever waits on `stopped` sees a failed stop; nobody waiting is no unhandled rejection.
    this.stopped.catch(() => undefined);
    this.#options = options;
    this.#startedAt = new Date((options.now ?? Date.now)()).toISOString();
    this.governor = new Governor({
      policy: options.policy,
      principal: options.principal,
      recorder,
      masker: new Masker(),
      approvals: new Approvals({
        spec: options.policy.approvals,
        recorder,
        warn: (m) => options.log.warn(m),
        ...(options.approvalProvider && { provider: options.approvalProvider }),
        ...(options.now && { now: options.now }),
      }),
    });
  }

  static async start(options: GatewayOptions): Promise<Gateway> {
    const recorder = await Recorder.create(options.outDir, options.now ? { now: options.now } : {});
    const gateway = new Gateway(options, recorder);
    const { policy, principal } = options;
    writePolicyCopy(options.outDir, policy.source);
    if (options.bindKey) gateway.#jobBinding = await options.bindKey(gateway.signer.publicKey);
    recorder.append('session.start', {
      session_id: gateway.sessionId,
      identity: principalRecord(principal),
      policy: policyRecord(policy),
      public_key: gateway.signer.publicKey,
      job_binding: gateway.#jobBinding,
      pid: process.pid,
    });
    await recorder.durable();
    try {
      for (const connection of policy.connections) {
        const load = options.adapters.get(connection.protocol);
        if (!load) throw new GovernError(ErrorCode.AdapterUnavailable, cannotServe(connection, options.adapters));
        const listener = await (await load()).listen({ connection, governor: gateway.governor, log: options.log });
        gateway.#connections.push({ name: connection.name, protocol: connection.protocol, export: connection.export, target: listener.target, listener });
        recorder.append('listener.ready', { connection: connection.name, protocol: connection.protocol, target: listener.target, exports: Object.keys(listener.exports) });
      }
      if (policy.proxy) await gateway.#startProxy(policy.proxy);
    } catch (e) {
      // The bundle still tells what happened: it ends, signed, with the reason the gateway did not start.
      await gateway.stop(`failed to start: ${(e as Error).message}`).catch(() => undefined);
      throw e;
    }
    return gateway;
  }

  /** The session as the report shows it, once the gateway has stopped. */
  get view(): SessionView | undefined {
    return this.#view;
  }

  /** The forward proxy: a listener of its own, served by the HTTP adapter. */
  async #startProxy(proxy: ProxySpec): Promise<void> {
    const adapter = await this.#options.adapters.get('http')?.();
    if (!adapter?.listenProxy) throw new GovernError(ErrorCode.AdapterUnavailable, 'the policy has a proxy section, which this build of govern cannot serve');
    const listener = await adapter.listenProxy({ proxy, governor: this.governor, log: this.#options.log, label: this.sessionId.slice(0, 8) });
    this.#connections.push({ name: PROXY_NAME, protocol: 'http', export: 'HTTPS_PROXY', target: listener.target, listener });
    this.governor.recorder.append('listener.ready', { connection: PROXY_NAME, protocol: 'http', target: listener.target, exports: Object.keys(listener.exports) });
  }

  get outDir(): string {
    return this.#options.outDir;
  }

  /** The variables the job gets: one loopback address per connection. */
  exports(): Record<string, string> {
    return Object.assign({}, ...this.#connections.map((c) => c.listener.exports)) as Record<string, string>;
  }

  /** The job-scoped secrets inside the exports, for `::add-mask::` and the like. */
  secrets(): string[] {
    return this.#connections.flatMap((c) => c.listener.secrets);
  }

  status(): GatewayStatus {
    return {
      session_id: this.sessionId,
      pid: process.pid,
      out_dir: this.#options.outDir,
      public_key: this.signer.publicKey,
      identity: this.#options.principal,
      mode: this.#options.policy.mode,
      connections: this.#connections.map(({ name, protocol, export: exp, target }) => ({ name, protocol, export: exp, target })),
      counts: { ...this.governor.counts },
      pending: this.governor.approvals.pending(),
      approval_timeout_ms: this.#options.policy.approvals.timeoutMs,
    };
  }

  /**
   * Drains, denies what still waits for approval, and writes the signed manifest. Idempotent. `stopped`
   * settles either way, so a gateway that cannot finalize (its disk is gone) still ends.
   */
  stop(reason: string): Promise<Manifest> {
    this.#stopping ??= this.#finalize(reason).then(
      (manifest) => {
        this.#markStopped(manifest);
        return manifest;
      },
      (e: unknown) => {
        this.#failStopped(e);
        throw e;
      },
    );
    return this.#stopping;
  }

  /**
   * The last resort of the gateway's process: an error that escaped every connection's guard is
   * logged and recorded, and the gateway keeps serving the other connections. Returns the undo.
   */
  guardProcess(): () => void {
    const onFault = (e: unknown) => {
      this.#options.log.warn(`unexpected error, the gateway serves on: ${(e as Error)?.message ?? String(e)}`);
      this.governor.fault('process', e);
    };
    process.on('uncaughtException', onFault);
    process.on('unhandledRejection', onFault);
    return () => {
      process.off('uncaughtException', onFault);
      process.off('unhandledRejection', onFault);
    };
  }

  async #finalize(reason: string): Promise<Manifest> {
    const { policy, principal, outDir } = this.#options;
    this.governor.approvals.denyAll('the gateway stopped');
    const drainMs = this.#options.drainMs ?? 10_000;
    await Promise.all(this.#connections.map((c) => c.listener.close(drainMs)));
    await this.governor.approvals.outcomesShown(drainMs);
    const recorder = this.governor.recorder;
    this.governor.settle();
    const counts = { ...this.governor.counts };
    if (!recorder.failure) recorder.append('session.end', { reason, counts });
    await recorder.close().catch(() => undefined);
    recorder.releaseReserve();
    const eventsPath = join(outDir, EVENTS_FILE);
    let events: Manifest['events'] = { count: recorder.head.count, head: recorder.head.hash };
    if (recorder.failure) {
      events = writtenEvents(readFileSync(eventsPath), recorder.head.count, recorder.failure.message);
      this.#options.log.warn(`${EVENTS_FILE}: ${events.failure}`);
    }
    const body = {
      session_id: this.sessionId,
      started_at: this.#startedAt,
      ended_at: new Date((this.#options.now ?? Date.now)()).toISOString(),
      end_reason: reason,
      identity: principalRecord(principal),
      policy: policyRecord(policy),
      connections: this.#connections.map(({ name, protocol, export: exp, target }) => ({ name, protocol, export: exp, target })),
      counts,
      events,
      job_binding: this.#jobBinding,
    };
    // The report is written before the manifest, so the signature covers it too; events.jsonl is read
    // one line at a time, however long the session (a line cut off by a full disk is left out).
    const view = (this.#view = await SessionViewBuilder.read(eventsPath));
    try {
      // Terminal recordings play inside the page (their own module, so the page's layout can change freely).
      const terminals = terminalSectionsHtml(recordedCasts(outDir));
      // The artifact unzips into a directory of the bundle's name: the page's verify command names that.
      const facts = { ...body, public_key: this.signer.publicKey, bundle_dir: basename(outDir), policy_text: policy.source.toString('utf8') };
      await writeReport(join(outDir, REPORT_FILE), facts, view, terminals);
    } catch (e) {
      // A full disk: the manifest matters more than the page, which `govern replay` can stand in for.
      rmSync(join(outDir, REPORT_FILE), { force: true });
      this.#options.log.warn(`cannot write ${REPORT_FILE}: ${(e as Error).message}`);
    }
    return writeManifest(outDir, body, this.signer);
  }
}

/** The policy as the record and the manifest name it: where it was read, its digest, and its copy in the bundle. */
function policyRecord(policy: Policy): Manifest['policy'] {
  return { file: policy.file, sha256: policy.sha256, mode: policy.mode, bundled: POLICY_FILE };
}

/**
 * After a recording failure the chain is what reached the file: up to its last whole event. The
 * sentence says where the record stops and what was lost after it. No operation among the lost events
 * reached a target (an operation whose event cannot be written is refused); results and notes may be.
 */
function writtenEvents(content: Buffer, appended: number, cause: string): { count: number; head: string; failure: string } {
  const { last, cutBytes } = recordedTail(content);
  const count = last?.seq ?? 0;
  const cut = cutBytes ? `event ${count + 1} is cut off after ${cutBytes} bytes` : '';
  const lost = appended - count - (cutBytes ? 1 : 0);
  const unwritten = lost > 0 ? `${lost} later event${lost === 1 ? ' was' : 's were'} never written` : '';
  const what = [cut, unwritten].filter(Boolean).join(' and ') || 'nothing after it was lost';
  return { count, head: last?.hash ?? GENESIS, failure: `the record stops after event ${count}: ${what} (${cause})` };
}
