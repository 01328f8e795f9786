import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { builtInProtocols } from '../../src/adapters/index.js';
import { MysqlClassifier, splitStatements } from '../../src/adapters/mysql/classify.js';
import { RuleEngine } from '../../src/core/rules.js';
import { NO_IDENTITY } from '../../src/identity/principal.js';
import { parsePolicy } from '../../src/policy/load.js';

const classifier = new MysqlClassifier();
const classes = (sql: string) => [...classifier.classify(sql).classes].sort();

/** The rule engine of a policy with one MySQL connection and these rules. */
function engine(rules = ''): RuleEngine {
  const yaml = `version: 1\nconnections:\n  shop: { mysql: { url: x }, export: SHOP }\n${rules && `rules:\n${rules}`}`;
  return new RuleEngine(parsePolicy('p.yml', Buffer.from(yaml), { env: {}, resolveVariables: true, protocols: builtInProtocols() }));
}
const verdict = (rules: RuleEngine, sql: string) => {
  const found = classifier.classify(sql);
  return rules.evaluate({ connection: 'shop', protocol: 'mysql', text: sql, classes: found.classes, writes: found.writes }, NO_IDENTITY);
};

describe('MySQL classification', () => {
  test('worst effects by statement', () => {
    assert.deepEqual(classes('SELECT id, email FROM users WHERE id = 1'), ['read']);
    assert.deepEqual(classes('DELETE FROM users'), ['delete', 'delete_without_where']);
    assert.deepEqual(classes('UPDATE users SET a = 1'), ['update', 'update_without_where']);
    assert.deepEqual(classes('DROP TABLE users'), ['ddl', 'drop']);
    assert.deepEqual(classes("LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE t"), ['insert', 'load_local']);
    assert.deepEqual(classes('SHOW FULL TABLES'), ['read']);
    assert.deepEqual(classes('SET GLOBAL max_connections = 1'), ['alter_system']);
  });

  test('every statement of a multi-statement text counts, executable comments included', () => {
    assert.deepEqual(classes('SELECT 1; DROP TABLE t'), ['ddl', 'drop', 'read']);
    assert.deepEqual(classes('SELECT 1 /*!50000 ; DROP TABLE t */'), ['ddl', 'drop', 'read']);
    assert.deepEqual(splitStatements("SELECT ';' -- x;\n; SELECT `a;b`"), ["SELECT ';'", 'SELECT `a;b`']);
  });

  test('text the grammar rejects is unparseable, and quoting-unsafe character sets too', () => {
    assert.deepEqual(classes('SELEC * FROM t'), ['unparseable']);
    assert.deepEqual(classes("SELECT 'unterminated"), ['unparseable']);
    assert.deepEqual(classes('SET NAMES gbk'), ['unparseable']);
  });

  test('SELECT … INTO OUTFILE or DUMPFILE writes a file on the target host: refused unless a rule allows outfile', () => {
    const writes = ["SELECT * FROM users INTO OUTFILE '/tmp/u.csv'", "SELECT email INTO DUMPFILE '/tmp/e' FROM users LIMIT 1", "SELECT 1;\nSELECT * /* x */ INTO\nOUTFILE '/tmp/u' FROM users"];
    const defaults = engine();
    const allowing = engine('  - name: exports\n    allow: { sql: [outfile] }\n');
    for (const sql of writes) {
      assert.ok(classifier.classify(sql).classes.has('outfile'), sql);
      const d = verdict(defaults, sql);
      assert.equal(d.verdict, 'block', sql);
      assert.equal(d.rule, 'default-outfile');
      assert.equal(d.reason, 'blocked: outfile is refused unless a rule allows it');
      assert.equal(verdict(allowing, sql).verdict, 'allow', sql);
    }
    assert.equal(verdict(engine('  - name: reads\n    allow: { sql: [read] }\n'), writes[0]!).verdict, 'block', 'allowing reads does not allow outfile');
    // Into user variables, or the words inside a string or a quoted name: a read.
    for (const sql of ['SELECT id INTO @id FROM users LIMIT 1', 'SELECT id, email FROM users LIMIT 1 INTO @id, @outfile', "SELECT 'INTO OUTFILE /tmp/x' AS s", 'SELECT `into outfile` FROM t']) {
      assert.deepEqual(classes(sql), ['read'], sql);
      assert.equal(verdict(defaults, sql).verdict, 'allow', sql);
    }
  });
});
