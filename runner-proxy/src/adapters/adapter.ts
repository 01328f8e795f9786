import type { AdapterGovernor } from '../core/governor.js';
import type { Logger } from '../base/logger.js';
import type { ConnectionSpec, Protocol, ProxySpec } from '../policy/types.js';

/** What an adapter is given for one connection of the policy. */
export interface AdapterContext {
  connection: ConnectionSpec;
  governor: AdapterGovernor;
  log: Logger;
}

/** A connection's loopback listener, as the job sees it. */
export interface Listener {
  /** Variables the job gets: the connection's export, plus protocol extras (an ssh config, CA paths). */
  exports: Readonly<Record<string, string>>;
  /** Job-scoped secrets inside those exports, for the CI log masks. */
  secrets: readonly string[];
  /** The target, for the manifest: host, port and database, never credentials. */
  target: string;
  /** Stops accepting, lets open sessions finish within the deadline, then ends them. */
  close(deadlineMs: number): Promise<void>;
}

/**
 * A protocol adapter translates its protocol's bytes into operations for the governor and its verdicts
 * back into the protocol's own errors. Adding a protocol means writing one of these. Every adapter
 * accepts its connections through `guardConnection` (./guard.ts), so an error it did not foresee costs
 * one connection, and calls `governor.commit()` before it forwards what it decided, so nothing reaches
 * a target unrecorded.
 */
export interface Adapter {
  readonly protocol: Protocol;
  listen(context: AdapterContext): Promise<Listener>;
  /** The HTTP adapter also serves the forward proxy, started after every connection's listener. */
  listenProxy?(context: ProxyContext): Promise<Listener>;
}

/** What the forward proxy is given: the policy's proxy section, for the whole run. */
export interface ProxyContext {
  proxy: ProxySpec;
  governor: AdapterGovernor;
  log: Logger;
  /** Names the run's CA, so a job's trust store tells runs apart. */
  label: string;
}

/**
 * The adapters a build serves, each loaded when a policy first names its protocol: the SSH adapter's
 * shell parser and the HTTP adapter's certificate code weigh megabytes a PostgreSQL-only run need not hold.
 */
export type AdapterRegistry = ReadonlyMap<Protocol, () => Promise<Adapter>>;
