import type { Server } from 'node:net';

/**
 * Stops a listener as `Listener.close` promises: no new connections, the open sessions given until the
 * deadline to finish, then ended; resolves once the server has closed.
 */
export async function drainListener(server: Server, sessions: ReadonlySet<{ end(): void }>, deadlineMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const deadline = Date.now() + deadlineMs;
  while (sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const session of sessions) session.end();
  await closed;
}
