import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { builtInAdapters, builtInProtocols } from '../../src/adapters/index.js';
import { PolicyError } from '../../src/base/errors.js';
import type { Operation } from '../../src/policy/operation.js';
import { RuleEngine } from '../../src/core/rules.js';
import { NO_IDENTITY } from '../../src/identity/principal.js';
import { parsePolicy } from '../../src/policy/load.js';
import { classCondition, ProtocolRegistry, sqlCondition, type ProtocolDeclaration } from '../../src/policy/protocol.js';
import { policySchemaText } from '../../src/policy/schema.js';

const SCHEMA_FILE = fileURLToPath(new URL('../../../../runner-proxy/src/policy/policy.schema.json', import.meta.url));

const load = (yaml: string, protocols = builtInProtocols()) => parsePolicy('p.yml', Buffer.from(yaml), { env: {}, resolveVariables: true, protocols });
const problems = (yaml: string, protocols = builtInProtocols()): string[] => {
  try {
    load(yaml, protocols);
  } catch (e) {
    if (e instanceof PolicyError) return e.message.split('\n');
    throw e;
  }
  return [];
};

/** A protocol no adapter folder has: what one more folder's declaration brings, and nothing else. */
const redis: ProtocolDeclaration = {
  name: 'redis',
  settings: { type: 'object', additionalProperties: false, required: ['url'], properties: { url: { type: 'string' } } },
  conditions: [classCondition('redis', () => 'Redis command classes.')],
  classes: { redis: ['read', 'write', 'flush', 'unknown'] },
  refusedUnlessAllowed: ['flush'],
};
/** A third SQL protocol: `sql:` reaches it because its declaration says its operations are SQL. */
const sqlite: ProtocolDeclaration = { name: 'sqlite', settings: { type: 'object', properties: { path: { type: 'string' } } }, conditions: [sqlCondition], classes: { sql: ['read', 'drop'] } };

const op = (connection: string, protocol: string, classes: string[]): Operation => ({ connection, protocol, text: 'x', classes: new Set(classes), writes: true });

describe('protocol registry', () => {
  test('policy.schema.json is the schema the registry builds (npm run schema rewrites it)', () => {
    assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), policySchemaText(builtInProtocols()), 'policy.schema.json is stale: run npm run schema');
  });

  test('the registry-built loader accepts a connection of each registered protocol, and serves an adapter for each', () => {
    const settings: Record<string, string> = { postgres: '{ url: x }', mysql: '{ url: x }', ssh: '{ host: h, user: u }', http: '{ url: x }' };
    const names = builtInProtocols().names;
    assert.deepEqual([...names].sort(), Object.keys(settings).sort());
    const connections = names.map((p, i) => `  c${i}: { ${p}: ${settings[p]}, export: C${i} }\n`).join('');
    const policy = load(`version: 1\nconnections:\n${connections}`);
    assert.deepEqual(policy.connections.map((c) => c.protocol), names);
    assert.deepEqual([...builtInAdapters().keys()], names);
  });

  test('a connection names one of the registered protocols, listed from the registry', () => {
    assert.deepEqual(problems('version: 1\nconnections:\n  c: { export: C }\n'), ['p.yml:3:6: connection "c" needs one of postgres, mysql, ssh or http']);
    const registry = new ProtocolRegistry([...builtInProtocols().declarations, redis]);
    assert.deepEqual(problems('version: 1\nconnections:\n  c: { export: C }\n', registry), ['p.yml:3:6: connection "c" needs one of postgres, mysql, ssh, http or redis']);
  });

  test('a class the protocol of a rule\'s connection does not know is an error naming the protocol', () => {
    const policy = (classes: string) =>
      `version: 1\nconnections:\n  shop: { mysql: { url: x }, export: SHOP }\n  db: { postgres: { url: x }, export: DB }\nrules:\n  - name: r\n    when: { connection: shop }\n    block: { sql: [${classes}] }\n`;
    assert.deepEqual(problems(policy('drop, copy_program')), ['p.yml:8:26: rules[0].block.sql[1] "copy_program" is not a class mysql knows (rule "r" is for "shop")']);
    assert.deepEqual(problems(policy('load_local, outfile')), []);
    // For every connection, a class some SQL protocol knows is one the rule may name.
    assert.deepEqual(problems(policy('copy_program').replace('    when: { connection: shop }\n', '')), []);
    // Two connections: a class either protocol knows.
    assert.deepEqual(problems(policy('copy_program, load_local').replace('connection: shop', 'connection: [shop, db]')), []);
    assert.deepEqual(problems(policy('copy_to').replace('connection: shop', 'connection: [shop, shop2]').replace('rules:', '  shop2: { mysql: { url: x }, export: SHOP2 }\nrules:')), [
      'p.yml:9:20: rules[0].block.sql[0] "copy_to" is not a class mysql knows (rule "r" is for "shop", "shop2")',
    ]);
  });

  test('a protocol is its declaration: its settings, condition key, classes and safe defaults come from the registry', () => {
    const registry = new ProtocolRegistry([...builtInProtocols().declarations, redis, sqlite]);
    const yaml =
      'version: 1\nconnections:\n  cache: { redis: { url: x }, export: CACHE }\n  local: { sqlite: { path: x }, export: LOCAL }\nrules:\n  - name: no-writes\n    block: { redis: [write] }\n  - name: no-drop\n    block: { sql: [drop] }\n';
    assert.match(problems(yaml).join('\n'), /unknown key "redis"/);
    const policy = load(yaml, registry);
    const engine = new RuleEngine(policy);
    assert.equal(engine.evaluate(op('cache', 'redis', ['write']), NO_IDENTITY).rule, 'no-writes');
    assert.equal(engine.evaluate(op('cache', 'redis', ['read']), NO_IDENTITY).verdict, 'allow');
    assert.equal(engine.evaluate(op('cache', 'redis', ['flush']), NO_IDENTITY).rule, 'default-flush');
    assert.equal(engine.evaluate(op('local', 'sqlite', ['drop']), NO_IDENTITY).rule, 'no-drop');
    // The classes a key names are its protocols' own: redis has no drop, and sql reaches no redis operation.
    assert.equal(engine.evaluate(op('cache', 'redis', ['drop']), NO_IDENTITY).verdict, 'allow');
    assert.match(problems(yaml.replace('[write]', '[drop]'), registry).join('\n'), /rules\[0\]\.block\.redis\[0\] is "drop", which is not one of read, write, flush, unknown/);
  });

  test('two protocols cannot give one condition key different meanings', () => {
    const other: ProtocolDeclaration = { ...redis, name: 'memcached', conditions: [classCondition('redis', () => '')] };
    assert.throws(() => new ProtocolRegistry([redis, other]), /declare condition key redis differently/);
  });

  test('the registry, the loader and the rule engine import no adapter code', () => {
    // Static imports only: an adapter is a dynamic import() in adapters/index.ts, made when a policy names it.
    const seen = new Set<string>();
    const visit = (url: URL): void => {
      if (seen.has(url.href)) return;
      seen.add(url.href);
      for (const [, spec] of readFileSync(url, 'utf8').matchAll(/^(?:import|export)\s[^;]*?\bfrom\s+'([^']+)';/gms)) {
        if (spec!.startsWith('.')) visit(new URL(spec!, url));
        else seen.add(spec!);
      }
    };
    for (const module of ['adapters/index.js', 'policy/load.js', 'core/rules.js']) visit(new URL(`../../src/${module}`, import.meta.url));
    const adapterCode = [...seen].filter((m) => /\/adapters\/[^/]+\/(?!protocol\.js$)/.test(m) || /^(ssh2|libpg-query|mvdan-sh|node-sql-parser|node-forge|mysql2|pg)(\/|$)/.test(m));
    assert.deepEqual(adapterCode, []);
    assert.ok([...seen].some((m) => m.endsWith('/adapters/ssh/protocol.js')));
  });
});
