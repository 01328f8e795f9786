import { sqlCondition, type ProtocolDeclaration } from '../../policy/protocol.js';

/** PostgreSQL in the policy's words; the adapter (./adapter.ts) is loaded only when a policy names it. */
export const postgresProtocol: ProtocolDeclaration = {
  name: 'postgres',
  settings: {
    type: 'object',
    additionalProperties: false,
    required: ['url'],
    properties: {
      url: { type: 'string', description: 'postgres://user:password@host:port/db?sslmode=…, usually ${VAR}.' },
      ca: { type: 'string', description: "PEM of the CA that signs the target's certificate." },
    },
  },
  conditions: [sqlCondition],
  classes: {
    sql: [
      'read', 'write', 'insert', 'update', 'delete', 'merge',
      'delete_without_where', 'update_without_where',
      'ddl', 'create', 'alter', 'drop', 'truncate',
      'grant', 'set_role', 'integrity_setting', 'alter_system',
      'copy_from', 'copy_to', 'copy_program',
      'dangerous_function', 'function_call', 'startup_options', 'replication',
      'maintenance', 'lock', 'notify', 'transaction', 'session',
      'unknown',
      'masked_copy',
      'masked_predicate',
    ],
  },
  // `unparseable` is no class a rule can name, so nothing allows it: text the parser rejects is refused.
  refusedUnlessAllowed: ['function_call', 'startup_options', 'replication', 'dangerous_function', 'integrity_setting', 'copy_program', 'masked_copy', 'masked_predicate', 'unparseable'],
};
