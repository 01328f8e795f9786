import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MysqlClassifier, splitStatements } from '../../src/adapters/mysql/classify.js';

const classifier = new MysqlClassifier();
const classes = (sql: string) => [...classifier.classify(sql).classes].sort();

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
});
