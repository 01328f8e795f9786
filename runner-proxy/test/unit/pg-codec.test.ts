import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FrameReader, MalformedFrameError, OutputBatch } from '../../src/adapters/postgres/codec/frames.js';
import { readBind, readDataRow, readParse, readRowDescription, readStartup, writeBind, writeParse, writeQuery, Writer } from '../../src/adapters/postgres/codec/messages.js';
import { makeVerifier, ScramClient, ScramServer } from '../../src/adapters/postgres/scram.js';
import { CopyRowCodec } from '../../src/adapters/postgres/copy-mask.js';

function frames(chunks: Buffer[]): string[] {
  const seen: string[] = [];
  const reader = new FrameReader({ frame: (code, frame) => (seen.push(`${String.fromCharCode(code)}:${frame.toString('hex')}`), true), mayStream: () => false, streamed: () => undefined }, { maxFrame: 1 << 20 });
  for (const c of chunks) reader.push(c);
  assert.equal(reader.buffered, 0);
  return seen;
}

describe('PostgreSQL codec', () => {
  const stream = Buffer.concat([
    writeParse({ statement: 's1', query: 'SELECT $1::text', paramTypes: [25] }),
    writeBind({ portal: '', statement: 's1', paramFormats: [0], params: [Buffer.from('héllo'), null], resultFormats: [1] }),
    writeQuery('SELECT 1'),
    new Writer().finish(0x53),
  ]);

  test('frames come out the same however the stream is split', () => {
    const whole = frames([stream]);
    assert.equal(whole.length, 4);
    for (let at = 1; at < stream.length; at++) assert.deepEqual(frames([stream.subarray(0, at), stream.subarray(at)]), whole, `split at ${at}`);
    assert.deepEqual(frames([...stream].map((b) => Buffer.of(b))), whole, 'one byte at a time');
  });

  test('messages round-trip', () => {
    const parse = readParse(writeParse({ statement: 'n', query: 'SELECT 1', paramTypes: [23, 25] }));
    assert.deepEqual(parse, { statement: 'n', query: 'SELECT 1', paramTypes: [23, 25] });
    const bind = readBind(writeBind({ portal: 'p', statement: 's', paramFormats: [1], params: [Buffer.from([1, 2]), null], resultFormats: [0, 1] }));
    assert.deepEqual(bind.params.map((p) => p && [...p]), [[1, 2], null]);
    assert.deepEqual(bind.resultFormats, [0, 1]);
    const row = readDataRow(new Writer().int16(3).int32(1).bytes(Buffer.from('a')).int32(-1).int32(0).finish(0x44));
    assert.deepEqual(row.map((c) => c?.toString()), ['a', undefined, '']);
    const desc = new Writer().int16(1).cstring('ssn').int32(16384).int16(3).int32(25).int16(-1).int32(-1).int16(0).finish(0x54);
    assert.deepEqual(readRowDescription(desc), [{ name: 'ssn', tableOid: 16384, column: 3, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0 }]);
    const startup = new Writer().int32(196608).cstring('user').cstring('app').byte(0).finish();
    assert.deepEqual(readStartup(startup.subarray(4)).startup?.parameters, { user: 'app' });
  });

  test('impossible lengths and truncated fields are errors, not crashes', () => {
    const reader = new FrameReader({ frame: () => true, mayStream: () => false, streamed: () => undefined }, { maxFrame: 1 << 20 });
    assert.throws(() => reader.push(Buffer.from([0x51, 0, 0, 0, 1])), MalformedFrameError);
    assert.throws(() => readBind(new Writer().cstring('').cstring('').int16(0).int16(3).finish(0x42)), MalformedFrameError);
    assert.throws(() => readParse(new Writer().bytes(Buffer.from('no terminator')).finish(0x50)), MalformedFrameError);
  });

  test('an output batch joins neighbouring views into one write', () => {
    const batch = new OutputBatch();
    batch.pass(stream.subarray(0, 10));
    batch.pass(stream.subarray(10, 30));
    batch.push(Buffer.from('new'));
    batch.pass(stream.subarray(30));
    const parts = batch.take();
    assert.equal(parts.length, 3);
    assert.deepEqual(Buffer.concat(parts), Buffer.concat([stream.subarray(0, 30), Buffer.from('new'), stream.subarray(30)]));
    assert.ok(batch.empty);
  });

  test('SCRAM-SHA-256: our client and server agree, and a wrong password fails', () => {
    const verifier = makeVerifier('job-secret');
    const exchange = (password: string) => {
      const client = new ScramClient(password);
      const server = new ScramServer(verifier);
      const final = server.finish(client.respond(server.start(client.first())));
      client.verify(final);
    };
    exchange('job-secret');
    assert.throws(() => exchange('wrong'), /password authentication failed/);
  });

  test('COPY rows: text escapes and CSV quotes survive a round trip', () => {
    const text = new CopyRowCodec({ format: 'text' });
    const fields = text.parse('1\\ta\\\\b\\N\t\\N\tline\\nbreak');
    assert.deepEqual(fields, ['1\ta\\bN', null, 'line\nbreak']);
    assert.deepEqual(text.parse(text.format(fields)), fields);
    const csv = new CopyRowCodec({ format: 'csv' });
    const row = csv.parse('1,"a ""quoted"", value",,"multi\nline"');
    assert.deepEqual(row, ['1', 'a "quoted", value', null, 'multi\nline']);
    assert.deepEqual(csv.parse(csv.format(row)), row);
    assert.equal(csv.rowEnd('1,"a\nb"\n2,c\n', 0), 7);
  });
});
