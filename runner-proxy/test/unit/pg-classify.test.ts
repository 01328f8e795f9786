import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { LruCache } from '../../src/base/lru.js';
import { SqlClassifier } from '../../src/adapters/postgres/classify.js';
import { SqlParser } from '../../src/adapters/postgres/parser.js';

describe('PostgreSQL classification defaults', () => {
  let classifier: SqlClassifier;
  before(async () => {
    classifier = new SqlClassifier({ parser: await SqlParser.load(), cache: new LruCache(100) });
  });
  const classes = (sql: string) => [...classifier.classify(sql).classes].sort();

  test('functions that run SQL given as text are unknown', () => {
    for (const sql of [
      "SELECT dblink_exec('dbname=app', 'DROP TABLE users')",
      "SELECT * FROM dblink('dbname=app', 'SELECT ssn FROM users') AS t(ssn text)",
      "SELECT query_to_xml('SELECT ssn FROM users', true, false, '')",
      "SELECT query_to_xml_and_xmlschema('SELECT 1', true, false, '')",
      "SELECT cursor_to_xml('c', 10, true, false, '')",
      "SELECT table_to_xml('users', true, false, '')",
    ]) {
      assert.ok(classes(sql).includes('unknown'), sql);
    }
  });

  test('MERGE carries the class of each action', () => {
    const merge = (tail: string, on = 'u.id = s.id') => classes(`MERGE INTO users u USING src s ON ${on} ${tail}`);
    assert.deepEqual(merge('WHEN MATCHED THEN DELETE'), ['delete', 'merge', 'write']);
    assert.deepEqual(merge("WHEN MATCHED THEN UPDATE SET name = 'x'"), ['merge', 'update', 'write']);
    assert.deepEqual(merge('WHEN NOT MATCHED THEN INSERT VALUES (s.id)'), ['insert', 'merge', 'write']);
    assert.deepEqual(merge('WHEN MATCHED THEN DELETE', 'true'), ['delete', 'delete_without_where', 'merge', 'write']);
    assert.deepEqual(merge("WHEN MATCHED THEN UPDATE SET name = 'x'", '1 = 1'), ['merge', 'update', 'update_without_where', 'write']);
    assert.deepEqual(merge('WHEN MATCHED AND u.id = 7 THEN DELETE', 'true'), ['delete', 'merge', 'write'], 'a condition of its own narrows it');
    assert.deepEqual(merge('WHEN MATCHED AND s.gone THEN DELETE', 'true'), ['delete', 'delete_without_where', 'merge', 'write'], 'a condition on the source alone does not');
    assert.deepEqual(merge('WHEN NOT MATCHED BY SOURCE THEN DELETE'), ['delete', 'delete_without_where', 'merge', 'write']);
  });
});
