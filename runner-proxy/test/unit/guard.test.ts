import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { guardConnection, guarded } from '../../src/adapters/guard.js';

describe('the last-resort connection guard', () => {
  let server: Server;
  let port: number;
  const faults: string[] = [];
  let handler: () => void | Promise<void> = () => undefined;

  before(async () => {
    server = createServer((socket) => guardConnection(socket, 'test connection', (where, e) => faults.push(`${where}: ${(e as Error).message}`), handler));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(() => server.close());

  const closedAfter = async () => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume();
    await once(socket, 'close');
  };

  test('an error thrown or rejected by a handler ends that connection and is reported, not thrown', async () => {
    faults.length = 0;
    handler = () => {
      throw new Error('thrown');
    };
    await closedAfter();
    handler = async () => {
      await new Promise((r) => setImmediate(r));
      throw new Error('rejected');
    };
    await closedAfter();
    assert.deepEqual(faults, ['test connection: thrown', 'test connection: rejected']);
  });
});

describe('a guarded step of a connection (a request, an event handler)', () => {
  test('what it throws or rejects with goes to its escape, once; what succeeds goes nowhere', async () => {
    const escaped: string[] = [];
    const escape = (e: unknown) => escaped.push((e as Error).message);
    guarded(escape, () => {
      throw new Error('thrown');
    });
    guarded(escape, () => Promise.reject(new Error('rejected')));
    guarded(escape, () => undefined);
    guarded(escape, () => Promise.resolve());
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(escaped, ['thrown', 'rejected']);
  });
});
