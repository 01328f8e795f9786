import { sqlCondition, type ProtocolDeclaration } from '../../policy/protocol.js';

/** MySQL and MariaDB in the policy's words; the adapter (./adapter.ts) is loaded only when a policy names it. */
export const mysqlProtocol: ProtocolDeclaration = {
  name: 'mysql',
  settings: {
    type: 'object',
    additionalProperties: false,
    required: ['url'],
    properties: {
      url: { type: 'string', description: 'mysql://user:password@host:port/db?ssl-mode=DISABLED|VERIFY_CA|VERIFY_IDENTITY, usually ${VAR}.' },
      ca: { type: 'string', description: "PEM of the CA that signs the target's certificate." },
      auth: {
        enum: ['caching_sha2_password', 'mysql_native_password'],
        description: 'The plugin the job is asked to log in with first (default caching_sha2_password); either is accepted.',
      },
    },
  },
  conditions: [sqlCondition],
  classes: {
    sql: [
      'read', 'write', 'insert', 'update', 'delete',
      'delete_without_where', 'update_without_where',
      'ddl', 'create', 'alter', 'drop', 'truncate',
      'grant', 'set_role', 'alter_system',
      'dangerous_function',
      'maintenance', 'lock', 'transaction', 'session',
      'unknown',
      // The target asks the job's client for one of its files; the server writes a file on its own host
      // (SELECT … INTO OUTFILE or DUMPFILE). Both are refused unless a rule allows them.
      'load_local', 'outfile',
    ],
  },
  refusedUnlessAllowed: ['dangerous_function', 'load_local', 'outfile', 'unparseable'],
};
