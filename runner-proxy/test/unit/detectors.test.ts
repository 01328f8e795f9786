import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detect, DETECTOR_TYPES } from '../../src/masking/detectors.js';
import { Masker, REDACT_ALL } from '../../src/masking/masker.js';
import type { DetectorType } from '../../src/policy/types.js';

const ALL = new Set(DETECTOR_TYPES);
// Secret-shaped fixtures are assembled from parts so the source holds no string that looks like a live key.
const keyHeader = (edge: 'BEGIN' | 'END') => `-----${edge} RSA PRIVATE` + ' KEY-----';

/** Synthetic sensitive values, each of which must be found as exactly its type. */
const SENSITIVE: [DetectorType, string][] = [
  ['credit_card', '4111 1111 1111 1111'],
  ['credit_card', '4012-8888-8888-1881'],
  ['credit_card', '5555555555554444'],
  ['credit_card', '2223003122003222'],
  ['credit_card', '378282246310005'],
  ['credit_card', '6011111111111117'],
  ['credit_card', '3530111333300000'],
  ['us_ssn', '536-22-4711'],
  ['us_ssn', '219-45-0001'],
  ['iban', 'DE89 3704 0044 0532 0130 00'],
  ['iban', 'GB82WEST12345698765432'],
  ['iban', 'FR1420041010050500013M02606'],
  ['iban', 'NL91ABNA0417164300'],
  ['email', 'jane.doe+ci@example.com'],
  ['email', 'ops@payments.acme.co.uk'],
  ['phone', '+1 415 555 0132'],
  ['phone', '+44 20 7946 0958'],
  ['phone', '(415) 555-0132'],
  ['phone', '415-555-0132'],
  ['aws_key', 'AKIA' + 'IOSFODNN7EXAMPLE'],
  ['bearer_token', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ'],
  ['bearer_token', 'gh' + 'p_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'],
  ['private_key', `${keyHeader('BEGIN')}\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n${keyHeader('END')}`],
];

/** Values that look alike but are not sensitive: checksum-invalid numbers, dates, times, ids, versions. */
const HARMLESS = [
  '4111 1111 1111 1112', // Luhn fails
  '1234567890123456', // no card network, Luhn fails
  '1732550400000', // epoch milliseconds
  '1468245237683695616', // snowflake id
  '100000023',
  'order 20241125-000317',
  '2024-11-25',
  '2024-11-25T10:00:00.000Z',
  '25/11/2024 10:00',
  '12:30:45',
  'v1.2.3',
  '192.168.100.200',
  '3fa85f64-5717-4562-b3fc-2c963f66afa6',
  '5368b417-4058-4712-84e3-528e24db56bc', // digits 417-4058-4712-84 form a Luhn-valid Visa-like run
  '000-12-3456', // SSN area 000
  '666-12-3456', // area 666
  '912-12-3456', // area 9xx
  '123-00-4567', // group 00
  '123-45-0000', // serial 0000
  '078-05-1120', // the wallet card
  'DE89 3704 0044 0532 0130 01', // mod-97 fails
  'XX12 3456 7890 1234', // no such country
  'user@localhost',
  '@handle',
  'price 1,299.00 EUR',
  'invoice INV-2024-000123',
  'Bearer', // the word alone
  'line 415 col 55',
  '+5 points',
  'UTC+01:00',
  'sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
];

describe('detectors', () => {
  for (const [type, value] of SENSITIVE) {
    test(`finds ${type}: ${value.split('\n')[0]}`, () => {
      const text = `before ${value} after`;
      const found = detect(text, ALL);
      assert.equal(found.length, 1, `expected one finding in ${JSON.stringify(text)}, got ${JSON.stringify(found)}`);
      assert.equal(found[0]!.type, type);
      assert.equal(text.slice(found[0]!.start, found[0]!.end), value);
    });
  }

  test('leaves the look-alike corpus alone', () => {
    for (const value of HARMLESS) assert.deepEqual(detect(`value: ${value};`, ALL), [], value);
  });

  test('finds values inside JSON, CSV and error messages', () => {
    const text = '{"ssn":"536-22-4711","card":"5555555555554444"},jane@example.com,DETAIL: Key (email)=(bob@example.org) already exists.';
    assert.deepEqual(detect(text, ALL).map((f) => f.type), ['us_ssn', 'credit_card', 'email', 'email']);
  });

  test('the bearer detector masks the token, not the word', () => {
    const text = 'Authorization: Bearer abc123.def456-ghi789';
    const [f] = detect(text, ALL);
    assert.equal(text.slice(f!.start, f!.end), 'abc123.def456-ghi789');
  });

  test('an AWS secret key is found after its name', () => {
    const text = 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const [f] = detect(text, ALL);
    assert.equal(f!.type, 'aws_key');
    assert.equal(text.slice(f!.start, f!.end), 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
  });

  test('a private key cut off mid-block is masked to the end of the text', () => {
    const text = `key:\n${keyHeader('BEGIN')}\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0t`;
    const [f] = detect(text, ALL);
    assert.equal(f!.type, 'private_key');
    assert.equal(f!.end, text.length);
  });

  // Runs of characters that a backtracking pattern would retry from every position: a quadratic scan
  // of these megabytes takes minutes, far past the test's timeout; a linear one, milliseconds.
  test('adversarial text does not make a pattern retry from every position', { timeout: 20_000 }, async () => {
    const inputs = [
      'eyJ-'.repeat(250_000),
      'eyJ'.repeat(300_000),
      `Bearer${' '.repeat(1_000_000)}`,
      'ghp_'.repeat(250_000),
      `${keyHeader('BEGIN')}\n`.repeat(30_000),
      '1-'.repeat(500_000),
      'a@'.repeat(500_000),
      'DE89 '.repeat(200_000),
    ];
    for (const text of inputs) {
      await new Promise((r) => setImmediate(r));
      assert.ok(Array.isArray(detect(text, ALL)));
    }
  });

  test('only the requested types are looked for', () => {
    assert.deepEqual(detect('jane@example.com 536-22-4711', new Set<DetectorType>(['us_ssn'])).map((f) => f.type), ['us_ssn']);
  });
});

describe('masking strategies', () => {
  const masker = new Masker(Buffer.alloc(32, 7));

  test('redact names the type', () => {
    assert.deepEqual(masker.maskText('ssn 536-22-4711, mail jane@example.com', REDACT_ALL), {
      text: 'ssn [masked:us_ssn], mail [masked:email]',
      count: 2,
      byType: { us_ssn: 1, email: 1 },
    });
  });

  test('partial keeps the last four and the separators', () => {
    const plan = new Map<DetectorType, 'partial'>([['credit_card', 'partial'], ['us_ssn', 'partial'], ['email', 'partial'], ['aws_key', 'partial']]);
    assert.equal(masker.maskText('4111 1111 1111 1111', plan).text, '**** **** **** 1111');
    assert.equal(masker.maskText('536-22-4711', plan).text, '***-**-4711');
    assert.equal(masker.maskText('jane@example.com', plan).text, 'j***@example.com');
    assert.equal(masker.maskText('AKIA' + 'IOSFODNN7EXAMPLE', plan).text, '[masked:aws_key]');
  });

  test('hash is stable within a run and differs across runs', () => {
    const plan = new Map<DetectorType, 'hash'>([['us_ssn', 'hash']]);
    const a = masker.maskText('536-22-4711', plan).text;
    assert.match(a, /^hash:[0-9a-f]{16}$/);
    assert.equal(masker.maskText('536-22-4711', plan).text, a);
    assert.notEqual(new Masker().maskText('536-22-4711', plan).text, a);
  });

  test('whole values: redact, partial of short values, hash', () => {
    assert.equal(masker.maskValue('536-22-4711', 'redact'), '[masked]');
    assert.equal(masker.maskValue('abc', 'partial'), '***');
    assert.equal(masker.maskValue('x', 'hash'), masker.maskValue('x', 'hash'));
  });

  test('text without findings is returned as it is', () => {
    const text = 'nothing to see 2024-11-25';
    assert.equal(masker.maskText(text, REDACT_ALL).text, text);
  });
});
