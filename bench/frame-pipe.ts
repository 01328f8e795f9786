import type { Socket } from 'node:net';
import { FrameReader, OutputBatch, type FrameSink } from '../runner-proxy/src/adapters/postgres/codec/frames.js';
import { serveRelays } from './relay-server.js';

/**
 * The gateway's framing alone: every message read with the gateway's own frame reader and written on
 * with its output batch (one write per read), and nothing decided, masked or recorded. Between the bare
 * pipe and the gateway, it tells what reading the protocol costs and what governing it does.
 * `node frame-pipe.js PORT` listens on a free loopback port, prints it, and relays every connection to
 * 127.0.0.1:PORT. Clients connect with `sslmode=disable`: the startup message is relayed as it is, and
 * every message after it is framed.
 */
const MAX_FRAME = 1024 * 1024;

/** Reads frames from `from` and writes each read's frames to `to` in one batch. */
function relay(from: Socket, to: Socket): (chunk: Buffer) => void {
  const out = new OutputBatch();
  const sink: FrameSink = {
    frame: (_code, frame) => {
      out.pass(frame);
      return true;
    },
    mayStream: () => true,
    streamed: (piece) => out.pass(piece),
    dataRow: (chunk, start, end) => {
      out.passRange(chunk, start, end);
      return true;
    },
  };
  const reader = new FrameReader(sink, { maxFrame: MAX_FRAME });
  to.on('drain', () => from.resume());
  return (chunk) => {
    reader.push(chunk);
    if (!out.flushTo(to)) from.pause();
  };
}

serveRelays((client, upstream) => {
  const toTarget = relay(client, upstream);
  let startup: Buffer | undefined = Buffer.alloc(0);
  client.on('data', (chunk: Buffer) => {
    if (!startup) return toTarget(chunk);
    // The startup message has no type byte: its length comes first. It goes on whole, the rest framed.
    startup = Buffer.concat([startup, chunk]);
    if (startup.length < 4 || startup.length < startup.readInt32BE(0)) return;
    const length = startup.readInt32BE(0);
    upstream.write(startup.subarray(0, length));
    const rest = startup.subarray(length);
    startup = undefined;
    if (rest.length) toTarget(rest);
  });
  upstream.on('data', relay(upstream, client));
});
