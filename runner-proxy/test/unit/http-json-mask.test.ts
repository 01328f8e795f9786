import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { JsonMaskError, JsonStreamMasker } from '../../src/adapters/http/json-mask.js';
import { compileSelector } from '../../src/base/json-select.js';
import type { JsonMask } from '../../src/policy/operation.js';
import { Masker } from '../../src/masking/masker.js';
import type { DetectorType, MaskStrategy } from '../../src/policy/types.js';

const masks = (...selectors: string[]): JsonMask[] => selectors.map((s) => ({ selector: compileSelector(s), strategy: 'redact', rule: 'pii' }));
const NO_DETECTORS = new Map<DetectorType, MaskStrategy>();
const CARD_AND_SSN = new Map<DetectorType, MaskStrategy>([
  ['credit_card', 'redact'],
  ['us_ssn', 'redact'],
]);

/** Runs the masker over the input cut at every given size, so every token boundary is crossed. */
function run(input: string, jsonMasks: JsonMask[], detectors = NO_DETECTORS, pieceSize = input.length): { text: string; count: number } {
  const masker = new JsonStreamMasker(jsonMasks, detectors, new Masker());
  const bytes = Buffer.from(input);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += pieceSize) out.push(...masker.push(bytes.subarray(i, i + pieceSize)));
  out.push(...masker.end());
  return { text: Buffer.concat(out).toString(), count: masker.count };
}

function everySplit(input: string, jsonMasks: JsonMask[], detectors = NO_DETECTORS): string {
  const whole = run(input, jsonMasks, detectors).text;
  for (const size of [1, 2, 3, 5, 7, 13]) assert.equal(run(input, jsonMasks, detectors, size).text, whole, `split every ${size} bytes`);
  return whole;
}

describe('JSON masking at the token level', () => {
  test('a sensitive value used as an object key is masked like any string; selectors still name the key as sent', () => {
    const input = '{"536-22-4711":{"card":"4111 1111 1111 1111"},"by\\u0020ssn":{"219-45-0001":1},"plain":"x"}';
    const masked = everySplit(input, masks('$..card'), CARD_AND_SSN);
    assert.doesNotMatch(masked, /536-22-4711|219-45-0001|4111/);
    assert.match(masked, /"plain":"x"/);
    assert.deepEqual(Object.keys(JSON.parse(masked) as object).length, 3);
    assert.equal(run(input, masks('$..card'), CARD_AND_SSN).count, 3);
    // Without detectors, keys pass as they are.
    assert.equal(everySplit('{"536-22-4711":1}', masks('$.x')), '{"536-22-4711":1}');
  });

  test('a selected value is replaced; every other byte stays exactly as it was', () => {
    const input = '{ "id" : 12345678901234567890123, "ssn":"536-22-4711", "z":1, "a":"x\\u0041\\n", "b":1.50e+10 }';
    assert.equal(
      everySplit(input, masks('$.ssn')),
      '{ "id" : 12345678901234567890123, "ssn":"[masked]", "z":1, "a":"x\\u0041\\n", "b":1.50e+10 }',
    );
  });

  test('by field name anywhere: nested, in arrays, duplicate keys, escaped', () => {
    const input = '{"ssn":"1","ssn":"2","people":[{"ssn":"536-22-4711"},{"n":{"ssn":7}}],"\\u0073sn":"escaped key"}';
    const out = everySplit(input, masks('$..ssn'));
    assert.equal(out, '{"ssn":"[masked]","ssn":"[masked]","people":[{"ssn":"[masked]"},{"n":{"ssn":"[masked]"}}],"\\u0073sn":"[masked]"}');
  });

  test('keys beyond ASCII are compared as text, not as byte counts', () => {
    const input = '{"straße":"1","strasse":"2","straß":"3","ключ":{"straße":4},"k":"straße"}';
    assert.equal(everySplit(input, masks("$['straße']", "$['ключ']['straße']")), '{"straße":"[masked]","strasse":"2","straß":"3","ключ":{"straße":"[masked]"},"k":"straße"}');
    assert.equal(everySplit(input, masks("$['ключ']")), '{"straße":"1","strasse":"2","straß":"3","ключ":"[masked]","k":"straße"}');
  });

  test('array selectors, and whole containers', () => {
    const input = '{"items":[{"card":"4111111111111111","price":3},{"card":"5555555555554444","price":4}],"secret":{"a":[1,2,"]"]},"after":true}';
    assert.equal(
      everySplit(input, masks('$.items[*].card', '$.secret')),
      '{"items":[{"card":"[masked]","price":3},{"card":"[masked]","price":4}],"secret":"[masked]","after":true}',
    );
    assert.equal(everySplit('[[1,2],[3,4]]', masks('$[1][0]')), '[[1,2],["[masked]",4]]');
  });

  test('detectors read decoded strings, including \\u escapes', () => {
    const input = '{"note":"card 4111 1111 1111 1111 on file","ssn":"\\u0035\\u00336-22-4711","plain":"nothing here"}';
    const { text, count } = run(input, [], CARD_AND_SSN);
    assert.equal(text, '{"note":"card [masked:credit_card] on file","ssn":"[masked:us_ssn]","plain":"nothing here"}');
    assert.equal(count, 2);
    assert.equal(everySplit(input, [], CARD_AND_SSN), text);
  });

  test('a body with nothing to mask passes byte for byte', () => {
    const input = ' {"a" :[1 , 2,{"b":"c\\"d"}] ,"e":null}\n{"next":"ndjson"}\n';
    assert.equal(everySplit(input, masks('$..ssn'), CARD_AND_SSN), input);
    assert.equal(everySplit('12345678901234567890', masks('$..ssn')), '12345678901234567890');
  });

  test('what is not JSON is an error, never passed half-read', () => {
    assert.throws(() => run('{"a":1,}x', masks('$..ssn')), JsonMaskError);
    assert.throws(() => run('{"a":', masks('$..ssn')), JsonMaskError);
    assert.throws(() => run('<html>', masks('$..ssn')), JsonMaskError);
  });

  test('partial and hash strategies apply to the decoded value', () => {
    const partial: JsonMask[] = [{ selector: compileSelector('$.card'), strategy: 'partial', rule: 'pii' }];
    assert.equal(run('{"card":"4111111111111111"}', partial).text, '{"card":"************1111"}');
  });
});
