import { randomUUID } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdapterRegistry, Listener } from '../adapters/adapter.js';
import { Approvals, type ApprovalProvider } from '../core/approvals.js';
import { ErrorCode, GovernError } from '../core/errors.js';
import { Governor } from '../core/governor.js';
import { principalRecord, type Principal } from '../identity/principal.js';
import { Masker } from '../masking/masker.js';
import type { Policy } from '../policy/types.js';
import { SessionSigner, writeManifest, type Manifest } from '../recording/bundle.js';
import { EVENTS_FILE, Recorder, type RecordedEvent } from '../recording/recorder.js';
import { terminalCasts } from '../recording/cast-player.js';
import { terminalSectionsHtml } from '../recording/cast-html.js';
import { reportPage } from '../recording/report.js';
import type { Logger } from './logger.js';

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
}

/** The bundle's self-contained viewer. */
export const REPORT_FILE = 'report.html';
const REPORT_MAX_EVENTS_BYTES = 32 * 1024 * 1024;

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
  #stopping: Promise<Manifest> | undefined;
  #markStopped!: (manifest: Manifest) => void;
  /** Settles once the bundle is finalized, whoever asked for the stop. */
  readonly stopped = new Promise<Manifest>((resolve) => (this.#markStopped = resolve));

  private constructor(options: GatewayOptions, recorder: Recorder) {
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
    recorder.append('session.start', {
      session_id: gateway.sessionId,
      identity: principalRecord(principal),
      policy: { file: policy.file, sha256: policy.sha256, mode: policy.mode },
      public_key: gateway.signer.publicKey,
      pid: process.pid,
    });
    await recorder.durable();
    try {
      for (const connection of policy.connections) {
        const adapter = options.adapters.get(connection.protocol);
        if (!adapter) {
          throw new GovernError(ErrorCode.AdapterUnavailable, `connection "${connection.name}" uses ${connection.protocol}, which this build of govern cannot serve yet`);
        }
        const listener = await adapter.listen({ connection, governor: gateway.governor, log: options.log });
        gateway.#connections.push({ name: connection.name, protocol: connection.protocol, export: connection.export, target: listener.target, listener });
        recorder.append('listener.ready', { connection: connection.name, protocol: connection.protocol, target: listener.target, exports: Object.keys(listener.exports) });
      }
    } catch (e) {
      // The bundle still tells what happened: it ends, signed, with the reason the gateway did not start.
      await gateway.stop(`failed to start: ${(e as Error).message}`).catch(() => undefined);
      throw e;
    }
    return gateway;
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
    };
  }

  /** Drains, denies what still waits for approval, and writes the signed manifest. Idempotent. */
  stop(reason: string): Promise<Manifest> {
    this.#stopping ??= this.#finalize(reason).then((manifest) => {
      this.#markStopped(manifest);
      return manifest;
    });
    return this.#stopping;
  }

  async #finalize(reason: string): Promise<Manifest> {
    const { policy, principal, outDir } = this.#options;
    this.governor.approvals.denyAll('the gateway stopped');
    const drainMs = this.#options.drainMs ?? 10_000;
    await Promise.all(this.#connections.map((c) => c.listener.close(drainMs)));
    const recorder = this.governor.recorder;
    const counts = { ...this.governor.counts };
    if (!recorder.failure) recorder.append('session.end', { reason, counts });
    await recorder.close().catch(() => undefined);
    if (recorder.failure) this.#options.log.warn(recorder.failure.message);
    const body = {
      session_id: this.sessionId,
      started_at: this.#startedAt,
      ended_at: new Date((this.#options.now ?? Date.now)()).toISOString(),
      end_reason: reason,
      identity: principalRecord(principal),
      policy: { file: policy.file, sha256: policy.sha256, mode: policy.mode },
      connections: this.#connections.map(({ name, protocol, export: exp, target }) => ({ name, protocol, export: exp, target })),
      counts,
      events: { count: recorder.head.count, head: recorder.head.hash },
    };
    // The report is written before the manifest, so the signature covers it too. A very long session's
    // report keeps the facts only: its operations are for `govern replay`, not for one page.
    const eventsPath = join(outDir, EVENTS_FILE);
    const events = statSync(eventsPath).size <= REPORT_MAX_EVENTS_BYTES ? readFileSync(eventsPath, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as RecordedEvent) : [];
    const page = reportPage({ ...body, public_key: this.signer.publicKey }, events);
    // Terminal recordings play inside the page (their own module, so the page's layout can change freely).
    const terminals = terminalSectionsHtml(terminalCasts(outDir, events));
    writeFileSync(join(outDir, REPORT_FILE), terminals ? page.replace(/<\/body>/i, `${terminals}</body>`) : page);
    return writeManifest(outDir, body, this.signer);
  }
}
