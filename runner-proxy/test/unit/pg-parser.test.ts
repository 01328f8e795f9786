import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { LruCache } from '../../src/base/lru.js';
import { SqlClassifier, type SqlClassification } from '../../src/adapters/postgres/classify.js';
import { statementShape } from '../../src/adapters/postgres/shape.js';
import { SqlParser } from '../../src/adapters/postgres/parser.js';

const classes = (c: SqlClassification) => [...c.classes].sort().join(' ');

describe('SQL parser instance', () => {
  test('a recycled parser classifies as before', async () => {
    const parser = await SqlParser.load();
    const classify = (sql: string) => new SqlClassifier({ parser, cache: new LruCache(10) }).classify(sql);
    const before = ['DELETE FROM t', 'WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', 'SELECT 1', 'SELEC 1'].map((s) => classify(s));
    await parser.recycle();
    assert.equal(parser.recycled, 1);
    const after = ['DELETE FROM t', 'WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', 'SELECT 1', 'SELEC 1'].map((s) => classify(s));
    assert.deepEqual(after.map(classes), before.map(classes));
    assert.deepEqual(after.map(classes), ['delete delete_without_where write', 'delete delete_without_where read write', 'read', 'unparseable']);
    assert.match(after[3]!.syntaxError!, /syntax error at or near "SELEC"/);
  });

  test('a heap past its bound is replaced, and parsing goes on meanwhile', async () => {
    const parser = await SqlParser.load({ maxHeapBytes: 1 });
    assert.equal(parser.normalize('SELECT 1 FROM t WHERE a = 2'), 'SELECT $1 FROM t WHERE a = $2');
    // The replacement is under way; the old instance still answers until it is ready.
    assert.equal(parser.normalize('SELECT 3'), 'SELECT $1');
    await parser.recycle();
    assert.ok(parser.recycled >= 1);
    assert.equal(parser.normalize('SELECT 4'), 'SELECT $1');
    assert.equal(parser.scan('SELECT 1').tokens.length, 2);
  });

  test('an instance that normalized its share of statements is replaced (their memory is never given back)', async () => {
    const parser = await SqlParser.load({ maxNormalizations: 3 });
    for (const n of [1, 2, 3]) assert.equal(parser.normalize(`SELECT ${n}`), 'SELECT $1');
    await parser.recycle();
    assert.equal(parser.recycled, 1);
    for (const n of [4, 5]) assert.equal(parser.normalize(`SELECT ${n}`), 'SELECT $1');
    assert.equal(parser.recycled, 1);
  });
});

describe('statement shapes', () => {
  let parser: SqlParser;
  before(async () => {
    parser = await SqlParser.load();
  });

  test('constants are taken out by the scan; anything it could misread gives no shape', () => {
    const key = statementShape;
    assert.equal(key('SELECT abalance FROM pgbench_accounts WHERE aid = 12345;'), '\u0000SELECT abalance FROM pgbench_accounts WHERE aid = \u0001;');
    assert.equal(key("select a1 from t2 where x = 1.5 and y = 1e5 and z = .5 and s = 'it''s' and e = E'\\'' and d = $q$a'b$q$ and p = $1"), "\u0000select a1 from t2 where x = \u0003 and y = \u0003 and z = \u0003 and s = '\u0002' and e = E'\u0002' and d = $q$\u0002$q$ and p = $1");
    assert.equal(key("SELECT 1 /* a /* nested */ 'b' */ -- 'c'\n, '1'::int"), "\u0000SELECT \u0001 /* a /* nested */ 'b' */ -- 'c'\n, '\u0002'::int");
    for (const sql of ["SELECT 'a\\'", "SELECT U&'a'", 'SELECT U&"a"', "SELECT X'1F'", "SELECT B'1'", "SELECT N'a'", 'SELECT 0x1F', 'SELECT 1_000', 'SELECT 1abc', 'SELECT 1..2', 'SELECT 1e', 'SELECT $1a', "SELECT 'a", 'SELECT "a', 'SELECT $a$b', 'SELECT 1 /* a /* b */', 'SELECT \\x', 'SELECT 1; DROP TABLE t', "SELECT 1; SET role = 'x'", 'SELECT 1 \u0001', 'DROP TABLE t1', 'COPY t FROM STDIN'])
      assert.equal(key(sql), undefined, sql);
  });

  test('statements of one shape share a classification; other shapes and session-bound ones do not', () => {
    const cache = new LruCache<string, SqlClassification>(100);
    const classifier = new SqlClassifier({ parser, cache });
    const first = classifier.classify('DELETE FROM t WHERE id = 1');
    assert.equal(classifier.classify('DELETE FROM t WHERE id = 2'), first);
    assert.equal(classes(classifier.classify('DELETE FROM t WHERE 1 = 1')), 'delete delete_without_where write');
    assert.equal(classes(classifier.classify('DELETE FROM t')), 'delete delete_without_where write');
    // Two statements: one holds a COPY whose options may be numbers, so the shape is not kept.
    classifier.classify('SELECT 1; COPY t FROM STDIN WITH (FORMAT csv, HEADER 1)');
    assert.equal(cache.get(parser.normalize('SELECT 1; COPY t FROM STDIN WITH (FORMAT csv, HEADER 0)')), undefined);
    // set_config's class depends on its first argument's value: the text is its own shape.
    assert.equal(classifier.classify('SELECT set_config(1, 2)').shape, '=SELECT set_config(1, 2)');
  });

  test('the cache keeps the most recently used entries and stays within its size', () => {
    const cache = new LruCache<string, number>(4);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.get('a');
    cache.set('c', 3);
    assert.deepEqual([cache.get('a'), cache.get('b'), cache.get('c')], [1, undefined, 3]);
    for (let i = 0; i < 100; i++) cache.set(`k${i}`, i);
    assert.ok(cache.size <= 4);
    assert.equal(cache.get('k99'), 99);
  });
});
