import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { framePacket, MalformedPacketError, PacketReader } from '../../src/adapters/mysql/packets.js';

describe('MySQL packet codec', () => {
  test('a payload of 16 MiB or more travels in continuation packets and reads back whole', () => {
    const payload = Buffer.alloc(0xffffff + 10, 7);
    const { bytes, next } = framePacket(3, payload);
    assert.equal(next, 5);
    const reader = new PacketReader(64 << 20);
    reader.push(bytes.subarray(0, 1000));
    assert.equal(reader.next(), undefined);
    reader.push(bytes.subarray(1000));
    const packet = reader.next()!;
    assert.equal(packet.payload.length, payload.length);
    assert.equal(packet.seq, 4);
  });

  test('a packet over the bound is refused before it is buffered', () => {
    const reader = new PacketReader(100);
    reader.push(framePacket(0, Buffer.alloc(101)).bytes.subarray(0, 4));
    assert.throws(() => reader.next(), MalformedPacketError);
  });
});
