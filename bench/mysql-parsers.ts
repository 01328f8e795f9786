/**
 * Scores MySQL parsers on the statement corpus (runner-proxy/test/fixtures/mysql-corpus.sql): how many
 * valid entries each parses, how many of the invalid ones it rejects, and how many get their expected
 * worst class. Alternatives are loaded only when installed (`npm install --no-save sql-parser-cst
 * dt-sql-parser`); they are not dependencies.
 *
 *   npx tsc -p tsconfig.json && node build/bench/mysql-parsers.js
 */
import { createRequire } from 'node:module';
import { MysqlClassifier, splitStatements } from '../runner-proxy/src/adapters/mysql/classify.js';
import { readCorpus, worstOf } from '../runner-proxy/test/fixtures/mysql-corpus.js';

interface Candidate {
  name: string;
  /** Only whether it parses is scored: no classes are derived from it. */
  parseOnly?: boolean;
  /** The classes of each statement of a text; throws when it does not parse. */
  classes(sql: string): string[];
}

const require = createRequire(import.meta.url);
const corpus = readCorpus();

/** Classes from a CST statement type alone: what a classifier built on that parser would start from. */
function classesOfCst(node: { type: string; where?: unknown }): string[] {
  const type = node.type.replace(/_stmt$/, '');
  if (/^(compound_)?select$|^explain$|^show/.test(type)) return ['read'];
  if (type === 'insert') return ['insert'];
  if (type === 'update' || type === 'delete') return node.where ? [type] : [type, `${type}_without_where`];
  if (type.startsWith('drop_')) return ['drop'];
  if (type.startsWith('create_')) return ['create'];
  if (type.startsWith('alter_') || type === 'rename_table') return ['alter'];
  if (type === 'truncate') return ['truncate'];
  if (/transaction|savepoint/.test(type)) return ['transaction'];
  if (type === 'set') return ['session'];
  if (type === 'analyze') return ['maintenance'];
  return ['unknown'];
}

function candidates(): { ok: Candidate[]; missing: string[] } {
  const classifier = new MysqlClassifier();
  const ok: Candidate[] = [
    {
      name: 'node-sql-parser (MariaDB grammar), as the adapter uses it',
      classes: (sql) => {
        const found = classifier.classify(sql);
        if (found.classes.has('unparseable')) throw new Error(found.syntaxError);
        return [...found.classes];
      },
    },
  ];
  const { Parser } = require('node-sql-parser/build/mariadb.js') as { Parser: new () => { parse(sql: string, o: { database: string }): unknown } };
  const grammar = new Parser();
  ok.push({
    name: 'node-sql-parser (MariaDB grammar) alone',
    parseOnly: true,
    classes: (sql) => {
      for (const s of splitStatements(sql)) grammar.parse(s, { database: 'MariaDB' });
      return ['unknown'];
    },
  });
  const missing: string[] = [];
  try {
    const { parse } = require('sql-parser-cst') as { parse(sql: string, o: { dialect: string }): { statements: { type: string; where?: unknown }[] } };
    for (const dialect of ['mysql', 'mariadb']) {
      ok.push({ name: `sql-parser-cst (${dialect}), by statement type`, classes: (sql) => splitStatements(sql).flatMap((s) => parse(s, { dialect }).statements.flatMap(classesOfCst)) });
    }
  } catch (e) {
    missing.push(`sql-parser-cst: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    const { MySQL } = require('dt-sql-parser') as { MySQL: new () => { validate(sql: string): unknown[] } };
    const parser = new MySQL();
    ok.push({
      name: 'dt-sql-parser (ANTLR4 MySQL grammar)',
      parseOnly: true,
      classes: (sql) => {
        for (const s of splitStatements(sql)) if (parser.validate(s).length) throw new Error('syntax error');
        return ['unknown'];
      },
    });
  } catch (e) {
    missing.push(`dt-sql-parser: ${(e as Error).message.split('\n')[0]}`);
  }
  return { ok, missing };
}

const { ok, missing } = candidates();
const valid = corpus.filter((e) => e.expected !== 'unparseable');
const invalid = corpus.length - valid.length;
console.log(`${corpus.length} statements (${valid.length} valid, ${invalid} invalid)\n`);
console.log('| parser | valid parsed | invalid rejected | worst class right | ms for the corpus |');
console.log('| --- | --- | --- | --- | --- |');
for (const c of ok) {
  let parsed = 0;
  let rejected = 0;
  let right = 0;
  const started = performance.now();
  for (const e of corpus) {
    let worst: string;
    try {
      worst = worstOf(c.classes(e.sql));
      if (e.expected !== 'unparseable') parsed++;
    } catch {
      worst = 'unparseable';
      if (e.expected === 'unparseable') rejected++;
    }
    if (worst === e.expected) right++;
  }
  console.log(`| ${c.name} | ${parsed}/${valid.length} | ${rejected}/${invalid} | ${c.parseOnly ? '—' : `${right}/${corpus.length}`} | ${(performance.now() - started).toFixed(0)} |`);
}
for (const m of missing) console.log(`\nnot loaded: ${m}`);
