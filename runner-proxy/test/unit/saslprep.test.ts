import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { saslPrep } from '../../src/adapters/postgres/scram.js';

describe('SASLprep (RFC 4013)', () => {
  test('the RFC examples', () => {
    assert.equal(saslPrep('I\u00ADX'), 'IX', 'SOFT HYPHEN mapped to nothing');
    assert.equal(saslPrep('user'), 'user');
    assert.equal(saslPrep('USER'), 'USER');
    assert.equal(saslPrep('\u00AA'), 'a', 'output is NFKC');
    assert.equal(saslPrep('\u2168'), 'IX', 'output is NFKC');
  });

  test('non-ASCII spaces become spaces; composed and decomposed forms agree', () => {
    assert.equal(saslPrep('a\u00A0b\u3000c'), 'a b c');
    assert.equal(saslPrep('cafe\u0301'), saslPrep('caf\u00E9'));
  });

  test('prohibited or badly mixed bidirectional text is used as it is, as PostgreSQL does', () => {
    assert.equal(saslPrep('a\u0007b\u00E9'), 'a\u0007b\u00E9');
    assert.equal(saslPrep('\u0627\u0031'), '\u0627\u0031', 'RandALCat must also end the string');
    assert.equal(saslPrep('\u0627x\u0628'), '\u0627x\u0628', 'RandALCat and LCat do not mix');
    assert.equal(saslPrep('\u0627\u0628'), '\u0627\u0628');
  });
});
