import { ProtocolRegistry, type ProtocolDeclaration } from '../policy/protocol.js';
import type { Adapter, AdapterRegistry } from './adapter.js';
import { httpProtocol } from './http/protocol.js';
import { mysqlProtocol } from './mysql/protocol.js';
import { postgresProtocol } from './postgres/protocol.js';
import { sshProtocol } from './ssh/protocol.js';

/**
 * The protocols this build serves, one line each: the folder's declaration (./X/protocol.ts, what the
 * policy may say about it) and its adapter, loaded when a policy first names the protocol.
 */
const PROTOCOLS: readonly (readonly [ProtocolDeclaration, () => Promise<Adapter>])[] = [
  [postgresProtocol, async () => new (await import('./postgres/adapter.js')).PostgresAdapter()],
  [mysqlProtocol, async () => new (await import('./mysql/adapter.js')).MysqlAdapter()],
  [sshProtocol, async () => new (await import('./ssh/adapter.js')).SshAdapter()],
  [httpProtocol, async () => new (await import('./http/adapter.js')).HttpAdapter()],
];

const protocols = new ProtocolRegistry(PROTOCOLS.map(([declaration]) => declaration));

/** What policies may say in this build: the loader, the JSON Schema and the rule engine read it. */
export function builtInProtocols(): ProtocolRegistry {
  return protocols;
}

/** The protocol adapters this build serves. */
export function builtInAdapters(): AdapterRegistry {
  return new Map(PROTOCOLS.map(([declaration, load]) => [declaration.name, once(load)]));
}

/** One adapter per registry: the HTTP adapter's connections and its forward proxy share what it knows. */
function once(load: () => Promise<Adapter>): () => Promise<Adapter> {
  let adapter: Promise<Adapter> | undefined;
  return () => (adapter ??= load());
}
