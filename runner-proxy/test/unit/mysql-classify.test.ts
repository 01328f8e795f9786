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

  test('PREPARE in SQL takes the classes of the text it prepares, EXECUTE those the session holds', () => {
    assert.deepEqual(classes("PREPARE s FROM 'DROP TABLE t'"), ['ddl', 'drop']);
    assert.deepEqual(classes('PREPARE s FROM "DELETE FROM t WHERE note = \\"x\\""'), ['delete']);
    assert.deepEqual(classes("PREPARE s FROM 'SELECT 1\\'; DROP TABLE t; -- '"), ['unparseable']);
    assert.deepEqual(classes("EXECUTE IMMEDIATE 'DELETE FROM t' USING 1"), ['delete', 'delete_without_where']);
    // From a variable or an expression the text cannot be read: unknown, and the name is forgotten.
    assert.deepEqual(classes('PREPARE s FROM @v'), ['unknown']);
    assert.deepEqual(classes("PREPARE s FROM concat('DROP ', 'TABLE t')"), ['unknown']);
    assert.deepEqual(classes('EXECUTE IMMEDIATE @v'), ['unknown']);
    assert.deepEqual([...classifier.classify('PREPARE s FROM @v').prepares], [['s', undefined]]);

    const prepared = classifier.classify("PREPARE `Del` FROM 'DELETE FROM t'").prepares;
    const held = new Map([...prepared].map(([name, p]) => [name, p!]));
    assert.deepEqual([...held.keys()], ['del']);
    const inSession = (sql: string) => [...classifier.classify(sql, held).classes].sort();
    assert.deepEqual(inSession('EXECUTE del'), ['delete', 'delete_without_where']);
    assert.deepEqual(inSession('EXECUTE DEL USING @a, @b'), ['delete', 'delete_without_where']);
    assert.deepEqual(inSession('EXECUTE other'), ['unknown']);
    assert.deepEqual(classes('EXECUTE del'), ['unknown']);
    // One text: a statement it prepares counts over the held one, and one it deallocates is forgotten.
    assert.deepEqual(inSession("PREPARE del FROM 'SELECT 1'; EXECUTE del"), ['read']);
    assert.deepEqual(inSession('DEALLOCATE PREPARE del; EXECUTE del'), ['session', 'unknown']);
    assert.deepEqual([...classifier.classify('DROP PREPARE del', held).prepares], [['del', undefined]]);
    assert.deepEqual(classes('DEALLOCATE PREPARE'), ['unknown']);
  });

  test('a PREPARE of a refused text is refused; one whose text cannot be read is held as unknown', () => {
    const rules = engine('  - name: no-drop\n    block: { sql: [drop] }\n');
    assert.equal(verdict(rules, "PREPARE s FROM 'DROP TABLE people'").rule, 'no-drop');
    assert.equal(verdict(rules, "PREPARE s FROM 'SELECT * FROM people INTO OUTFILE \\'/tmp/x\\''").rule, 'default-outfile');
    assert.equal(verdict(rules, 'PREPARE s FROM @v').verdict, 'approve');
    assert.equal(verdict(rules, "PREPARE s FROM 'SELECT id FROM people WHERE id = ?'").verdict, 'allow');
  });
});
