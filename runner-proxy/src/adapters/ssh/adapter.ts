import { timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:net';
import ssh2, { type AuthContext, type Client, type ClientChannel, type Connection, type ServerChannel, type TcpipRequestInfo } from 'ssh2';
import { ErrorCode, GovernError } from '../../base/errors.js';
import type { AdapterGovernor } from '../../core/governor.js';
import type { Adapter, AdapterContext, Listener } from '../adapter.js';
import { faultSink, guardConnection, guarded, type FaultSink } from '../guard.js';
import { CIPHERS, ed25519KeyPair, removeJobSshFiles, UserSshConfigInclude, writeJobSshFiles, type JobSshFiles } from './job-config.js';
import { SessionChannel, type ConnectionContext } from './session.js';
import { parseSshSettings, SshSettingsError, type SshTarget } from './settings.js';
import { connectUpstream, UpstreamError } from './upstream.js';

const { Server, utils } = ssh2;

/** A job that opens a connection and never logs in is dropped after this long. */
const LOGIN_TIMEOUT_MS = 30_000;

interface ListenerState {
  name: string;
  target: SshTarget;
  governor: AdapterGovernor;
  log: AdapterContext['log'];
  clientKey: ReturnType<typeof utils.parseKey>;
  clientKeyBlob: Buffer;
  connections: Set<Connection>;
  /** Recordings still being written, which the bundle waits for. */
  pending: Set<Promise<void>>;
  fault: FaultSink;
}

/**
 * The SSH adapter: a loopback SSH server per connection. The job logs in with a per-run key that an
 * ssh config names (the alias is the connection's name); the gateway logs in to the target with the
 * policy's key or password, and every exec, script, terminal and sftp operation goes through the
 * governor first.
 */
export class SshAdapter implements Adapter {
  readonly protocol = 'ssh' as const;

  async listen({ connection, governor, log }: AdapterContext): Promise<Listener> {
    let target: SshTarget;
    try {
      target = parseSshSettings(connection);
    } catch (e) {
      throw e instanceof SshSettingsError ? e : new SshSettingsError(`connection "${connection.name}": ${(e as Error).message}`);
    }
    await checkTarget(connection.name, target);
    const state: Omit<ListenerState, 'clientKey' | 'clientKeyBlob'> = {
      name: connection.name,
      target,
      governor,
      log,
      connections: new Set(),
      pending: new Set(),
      fault: faultSink(governor, log),
    };
    let files: JobSshFiles | undefined;
    let include: UserSshConfigInclude | undefined;
    const hostKey = ed25519KeyPair();
    const sshServer = new Server({ hostKeys: [hostKey.private], algorithms: { cipher: CIPHERS as ssh2.CipherAlgorithm[] } });
    // The job's sockets are accepted here, so each goes through the guard before ssh2 reads a byte of it.
    const escapes = new Map<string, (e: unknown) => void>();
    const server = createServer((socket) => {
      const peer = `${socket.remoteAddress}:${socket.remotePort}`;
      escapes.set(peer, guardConnection(socket, `${connection.name} connection`, state.fault, () => sshServer.injectSocket(socket)));
      socket.once('close', () => escapes.delete(peer));
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
      });
      files = writeJobSshFiles({ alias: connection.name, port, user: target.user, hostPublicKey: hostKey.public });
      const clientKey = utils.parseKey(files.clientPublicKey);
      const full: ListenerState = { ...state, clientKey, clientKeyBlob: files.clientPublicKey };
      sshServer.on('connection', (client, info) => {
        const escaped = escapes.get(`${info.ip}:${info.port}`);
        if (escaped) accept(client, full, escaped);
        else client.end();
      });
      server.on('error', (e: Error) => log.warn(`${connection.name}: listener error: ${e.message}`));
      if (target.userSshConfig) include = new UserSshConfigInclude(files.config, connection.name);
    } catch (e) {
      server.close();
      if (files) removeJobSshFiles(files);
      throw e;
    }
    const jobFiles = files;
    return {
      exports: {
        [connection.export]: connection.name,
        GIT_SSH_COMMAND: `ssh -F '${jobFiles.config}'`,
        [`${connection.export}_SSH_CONFIG`]: jobFiles.config,
      },
      secrets: [],
      target: `${target.user}@${target.host}:${target.port}`,
      close: async (deadlineMs) => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        const deadline = Date.now() + deadlineMs;
        while (state.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        for (const client of state.connections) client.end();
        await Promise.all(state.pending);
        include?.restore();
        removeJobSshFiles(jobFiles);
        await closed;
      },
    };
  }
}

/** One job connection; each handler goes through `guarded`, so what escapes it reaches the connection's guard. */
function accept(client: Connection, state: ListenerState, escaped: (e: unknown) => void): void {
  const timer = setTimeout(() => client.end(), LOGIN_TIMEOUT_MS);
  state.connections.add(client);
  // Request/response protocols (sftp, git) must not wait for Nagle's delayed small packets.
  (client as Connection & { setNoDelay(on: boolean): void }).setNoDelay(true);
  let openSeq: number | undefined;
  let upstream: Promise<Client> | undefined;
  // Malformed bytes and resets from the job: ssh2 ends the connection.
  client.on('error', () => undefined);
  client.on('authentication', (ctx) => guarded(escaped, () => authenticate(ctx, state)));
  client.on('ready', () =>
    guarded(escaped, () => {
      clearTimeout(timer);
      openSeq = state.governor.connectionOpened(state.name, 'ssh');
      const target = connectUpstream(state.name, state.target);
      upstream = target;
      // The job hears of a failure on each channel; a target that goes away later ends the job's connection.
      target.then(
        (c) => c.once('close', () => client.end()),
        (e: Error) => state.governor.note(e instanceof UpstreamError && e.authentication ? 'auth.failed' : 'connection.failed', { connection: state.name, message: e.message }),
      );
      const ctx: ConnectionContext = {
        name: state.name,
        target: state.target,
        governor: state.governor,
        upstream: target,
        log: state.log,
        escaped,
        track: (done) => {
          state.pending.add(done);
          void done.then(() => state.pending.delete(done));
        },
      };
      client.on('session', (acceptSession) => guarded(escaped, () => new SessionChannel(ctx, acceptSession())));
      client.on('tcpip', (acceptTunnel, reject, info) => guarded(escaped, () => forwardLocal(state, target, acceptTunnel, reject, info)));
      client.on('request', (_accept, reject, name) =>
        guarded(escaped, () => {
          refuseForwarding(state, name);
          reject?.();
        }),
      );
      client.on('openssh.streamlocal', (_accept, reject) =>
        guarded(escaped, () => {
          refuseForwarding(state, 'unix socket forwarding');
          reject();
        }),
      );
    }),
  );
  client.on('close', () =>
    guarded(escaped, () => {
      clearTimeout(timer);
      state.connections.delete(client);
      if (openSeq !== undefined) state.governor.connectionClosed(state.name, openSeq, 'client');
      void upstream?.then((c) => c.end(), () => undefined);
    }),
  );
}

/** Remote and socket forwarding are recorded and refused: the gateway relays no tunnels toward the job. */
function refuseForwarding(state: ListenerState, what: string): void {
  const decided = state.governor.decide({ connection: state.name, protocol: 'ssh', text: what, classes: new Set(['port_forwarding']), writes: true });
  void Promise.resolve(decided).then((ruling) => {
    if (ruling.allowed) state.governor.note('ssh.unsupported', { connection: state.name, op: ruling.seq, feature: what });
  });
}

/** `ssh -L` and `ssh -W`: a tunnel from the target onward, only when a rule allows port_forwarding. */
async function forwardLocal(
  state: ListenerState,
  upstream: Promise<Client>,
  acceptTunnel: () => ServerChannel,
  reject: () => void,
  info: TcpipRequestInfo,
): Promise<void> {
  const refuse = () => {
    try {
      reject();
    } catch {
      // The job's connection is already gone.
    }
  };
  try {
    const destination = `${info.destIP}:${info.destPort}`;
    const ruling = await state.governor.decide({ connection: state.name, protocol: 'ssh', text: `direct-tcpip to ${destination}`, classes: new Set(['port_forwarding']), writes: true });
    if (!ruling.allowed) return refuse();
    const target = await upstream;
    try {
      state.governor.commit();
    } catch (e) {
      state.log.warn(`${state.name}: ${(e as Error).message}`);
      return refuse();
    }
    const stream = await new Promise<ClientChannel>((resolve, fail) => target.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, (e, s) => (e ? fail(e) : resolve(s))));
    const tunnel = acceptTunnel();
    tunnel.on('error', () => undefined);
    stream.on('error', () => undefined);
    tunnel.pipe(stream).pipe(tunnel);
  } catch {
    refuse();
  }
}

/**
 * Logs in to the target once when the gateway starts, then hangs up: a wrong key or password, a host
 * key the policy does not pin or an unreachable host is a start error naming the connection.
 */
async function checkTarget(name: string, target: SshTarget): Promise<void> {
  try {
    const probe = await connectUpstream(name, target);
    probe.end();
  } catch (e) {
    throw new GovernError(ErrorCode.GatewayStartFailed, `${(e as Error).message}; fix its host, port, known_hosts or credentials in the policy`, { cause: e });
  }
}

/** Only the per-run key logs in, as the target's user. */
function authenticate(ctx: AuthContext, state: ListenerState): void {
  if (ctx.username !== state.target.user || ctx.method !== 'publickey') return ctx.reject(['publickey']);
  const offered = ctx.key.data;
  if (offered.length !== state.clientKeyBlob.length || !timingSafeEqual(offered, state.clientKeyBlob)) return ctx.reject(['publickey']);
  // A probe, before the client signs: the key is the right one.
  if (!ctx.signature) return ctx.accept();
  const key = state.clientKey;
  if (key instanceof Error || !key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo)) return ctx.reject(['publickey']);
  ctx.accept();
}
