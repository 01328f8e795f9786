import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AmbiguousRequest, bodyOverride, overridingMethod, parseReading, readRequest, readTarget, STRICT_READING } from '../../src/adapters/http/target-reading.js';

const read = (raw: string, reads?: Record<string, string>) => readTarget(raw, parseReading(reads)).path;
const refused = (raw: string, reads?: Record<string, string>) => assert.throws(() => readTarget(raw, parseReading(reads)), AmbiguousRequest, raw);

describe('request targets as the target reads them', () => {
  test('what every server reads alike is resolved: dot segments, unreserved escapes, other escapes upper-cased', () => {
    assert.equal(read('/v1/customers/1'), '/v1/customers/1');
    assert.equal(read('/'), '/');
    assert.equal(read('/v1/'), '/v1/');
    assert.equal(read('/v1/./x/../customers'), '/v1/customers');
    assert.equal(read('/v1/%2e%2E/admin'), '/admin');
    assert.equal(read('/%76%31/a%20b/%c3%a9'), '/v1/a%20b/%C3%A9');
    assert.equal(read('/a/..'), '/');
    assert.equal(read('/a/b/.'), '/a/b/');
    assert.equal(readTarget('/x?b=1&a=%zz', STRICT_READING).search, '?b=1&a=%zz');
    refused('/a/%zz');
    refused('v1/x');
  });

  test('by default what servers read differently is refused', () => {
    for (const raw of ['//v1', '/v1//x', '/v1%2Fx', '/v1%2fx', '/v1%5Cx', '/v1\\x', '/v1;x/y', '/v1/..;/x', '/v1/.;/x', '/v1;']) refused(raw);
  });

  test('declared, each habit is read as the target reads it', () => {
    assert.equal(read('//v1//x/', { empty_segments: 'merge' }), '/v1/x/');
    assert.equal(read('//v1', { empty_segments: 'keep' }), '//v1');
    assert.equal(read('/v1%2Fx%5Cy\\z', { encoded_slashes: 'decode' }), '/v1/x/y/z');
    assert.equal(read('/v1/x%2F..%2Fadmin', { encoded_slashes: 'decode' }), '/v1/admin');
    assert.equal(read('/projects/group%2fapp\\x', { encoded_slashes: 'keep' }), '/projects/group%2Fapp%5Cx');
    assert.equal(read('/v1;a=1/x;b/..;/y', { path_parameters: 'strip' }), '/v1/y');
    assert.equal(read('/v1;a=1/x', { path_parameters: 'keep' }), '/v1;a=1/x');
    refused('/v1/..;/x', { path_parameters: 'keep' });
    refused('/v1//x', { encoded_slashes: 'decode' });
    refused('/v1%2F%2Fx', { encoded_slashes: 'decode' });
  });

  test('methods: lower case refused unless declared; overrides refused, honoured or ignored', () => {
    const strict = parseReading(undefined);
    assert.throws(() => readRequest('delete', '/x', [], strict), AmbiguousRequest);
    assert.equal(readRequest('delete', '/x', [], parseReading({ method_case: 'insensitive' })).method, 'DELETE');
    for (const [headers, query] of [[['X-HTTP-Method-Override', 'DELETE'], ''], [['x-http-method', 'delete'], ''], [['X-Method-Override', 'PUT'], ''], [[], '?_method=DELETE'], [[], '?%5Fmethod=DELETE']] as const) {
      assert.throws(() => overridingMethod(headers, query, strict), AmbiguousRequest, `${headers.join(':')}${query}`);
      assert.notEqual(overridingMethod(headers, query, parseReading({ method_override: 'honour' })), undefined);
      assert.equal(overridingMethod(headers, query, parseReading({ method_override: 'ignore' })), undefined);
    }
    const honour = parseReading({ method_override: 'honour' });
    assert.equal(readRequest('POST', '/x', ['X-HTTP-Method-Override', 'delete'], honour).judgedMethod, 'DELETE');
    assert.equal(readRequest('POST', '/x', ['X-HTTP-Method-Override', 'delete'], honour).method, 'POST');
    assert.throws(() => overridingMethod(['X-HTTP-Method-Override', 'GET'], '?_method=DELETE', honour), AmbiguousRequest, 'two that disagree');
    assert.throws(() => overridingMethod(['X-HTTP-Method', 'GET', 'X-HTTP-Method', 'DELETE'], '', honour), AmbiguousRequest, 'a repeated header');
    assert.throws(() => overridingMethod(['X-HTTP-Method', 'GET /x'], '', honour), AmbiguousRequest, 'not a method');
    assert.equal(overridingMethod([], '', honour), undefined);
  });

  test('a form body’s _method, urlencoded or multipart', () => {
    assert.equal(bodyOverride(Buffer.from('a=1&%5Fmethod=DELETE'), 'application/x-www-form-urlencoded'), 'DELETE');
    const multipart = '--B\r\nContent-Disposition: form-data; name=_method\r\n\r\nPUT\r\n--B--\r\n';
    assert.equal(bodyOverride(Buffer.from(multipart), 'multipart/form-data; boundary=B'), 'PUT');
    const quoted = '--B\r\nContent-Disposition: form-data; name="_method"\r\nContent-Type: text/plain\r\n\r\nDELETE\r\n--B--\r\n';
    assert.equal(bodyOverride(Buffer.from(quoted), 'multipart/form-data; boundary=B'), 'DELETE');
    const file = '--B\r\nContent-Disposition: form-data; name="f"; filename="_method"\r\n\r\nDELETE\r\n--B--\r\n';
    assert.equal(bodyOverride(Buffer.from(file), 'multipart/form-data; boundary=B'), undefined);
    assert.equal(bodyOverride(Buffer.from('a=1'), 'application/x-www-form-urlencoded'), undefined);
  });
});
