import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TextMaskStream } from '../../src/adapters/http/text-mask.js';
import { encodeFrame, FrameReader } from '../../src/adapters/http/websocket.js';
import { Masker } from '../../src/masking/masker.js';
import type { DetectorType, MaskStrategy } from '../../src/policy/types.js';

const SSN_AND_KEY = new Map<DetectorType, MaskStrategy>([
  ['us_ssn', 'redact'],
  ['private_key', 'redact'],
]);
const keyLine = (edge: 'BEGIN' | 'END') => `-----${edge} RSA PRIVATE` + ' KEY-----';

async function maskText(pieces: string[], contentType = 'text/plain'): Promise<string> {
  const stream = new TextMaskStream(new Masker(), SSN_AND_KEY, contentType);
  const out: string[] = [];
  stream.on('data', (c: Buffer | string) => out.push(c.toString()));
  for (const p of pieces) stream.write(Buffer.from(p));
  stream.end();
  await new Promise((resolve) => stream.on('end', resolve));
  return out.join('');
}

describe('text masking across chunk boundaries', () => {
  test('a value cut between chunks is still found, lines stream as they complete', async () => {
    assert.equal(await maskText(['id 536-2', '2-4711 ok\nnext 219-45-', '0001\n']), 'id [masked:us_ssn] ok\nnext [masked:us_ssn]\n');
  });

  test('a private key block spanning lines and chunks is one finding', async () => {
    const key = `${keyLine('BEGIN')}\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n${keyLine('END')}`;
    const text = `before\n${key}\nafter\n`;
    const pieces = [text.slice(0, 20), text.slice(20, 60), text.slice(60)];
    assert.equal(await maskText(pieces), 'before\n[masked:private_key]\nafter\n');
  });

  test('form values are decoded, masked and encoded again; others stay as sent', async () => {
    assert.equal(await maskText(['a=1&ssn=536-22-4711&b=x%20y'], 'application/x-www-form-urlencoded'), 'a=1&ssn=%5Bmasked%3Aus_ssn%5D&b=x%20y');
  });
});

describe('WebSocket frames', () => {
  test('masked client frames split anywhere are read and unmasked; long lengths are decoded', () => {
    const key = Buffer.from([1, 2, 3, 4]);
    const payload = Buffer.from('x'.repeat(300));
    const masked = Buffer.from(payload.map((b, i) => b ^ key[i & 3]!));
    const frame = Buffer.concat([Buffer.from([0x81, 0x80 | 126, 0x01, 0x2c]), key, masked]);
    const reader = new FrameReader();
    const frames = [...reader.push(frame.subarray(0, 3)), ...reader.push(frame.subarray(3, 9)), ...reader.push(frame.subarray(9))];
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.payload.toString(), payload.toString());
    assert.deepEqual(frames[0]!.raw, frame);
  });

  test('encoded frames read back the same, at every length class', () => {
    for (const n of [0, 125, 126, 65535, 65536]) {
      const [frame] = new FrameReader().push(encodeFrame(1, Buffer.alloc(n, 0x61)));
      assert.equal(frame!.payload.length, n);
      assert.ok(frame!.fin);
    }
  });

  test('frames toward the target are masked with a key and read back the same', () => {
    for (const n of [0, 5, 126, 65536]) {
      const payload = Buffer.alloc(n, 0x61);
      const encoded = encodeFrame(1, payload, true);
      assert.ok(encoded[1]! & 0x80, 'the mask bit is set');
      const [frame] = new FrameReader().push(encoded);
      assert.deepEqual(frame!.payload, payload);
    }
  });
});
