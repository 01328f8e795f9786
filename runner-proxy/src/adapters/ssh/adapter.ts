import { timingSafeEqual } from 'node:crypto';
import ssh2, { type AuthContext, type Client, type ClientChannel, type Connection, type ServerChannel, type TcpipRequestInfo } from 'ssh2';
import type { Governor } from '../../core/governor.js';
import type { Adapter, AdapterContext, Listener } from '../adapter.js';
import { CIPHERS, removeJobSshFiles, UserSshConfigInclude, writeJobSshFiles, type JobSshFiles } from './job-config.js';
import { SessionChannel, type ConnectionContext } from './session.js';
import { parseSshSettings, SshSettingsError, type SshTarget } from './settings.js';
import { connectUpstream } from './upstream.js';

const { Server, utils } = ssh2;

/** A job that opens a connection and never logs in is dropped after this long. */
const LOGIN_TIMEOUT_MS = 30_000;

interface ListenerState {
  name: string;
  target: SshTarget;
  governor: Governor;
  log: AdapterContext['log'];
  clientKey: ReturnType<typeof utils.parseKey>;
  clientKeyBlob: Buffer;
  connections: Set<Connection>;
  /** Recordings still being written, which the bundle waits for. */
  pending: Set<Promise<void>>;
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
    const state: Omit<ListenerState, 'clientKey' | 'clientKeyBlob'> = { name: connection.name, target, governor, log, connections: new Set(), pending: new Set() };
    let files: JobSshFiles | undefined;
    let include: UserSshConfigInclude | undefined;
    const hostKey = utils.generateKeyPairSync('ed25519');
    const server = new Server({ hostKeys: [hostKey.private], algorithms: { cipher: CIPHERS as ssh2.CipherAlgorithm[] } });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
      });
      files = writeJobSshFiles({ alias: connection.name, port, user: target.user, hostPublicKey: hostKey.public });
      const clientKey = utils.parseKey(files.clientPublicKey);
      const full: ListenerState = { ...state, clientKey, clientKeyBlob: files.clientPublicKey };
      server.on('connection', (client) => accept(client, full));
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

function accept(client: Connection, state: ListenerState): void {
  const timer = setTimeout(() => client.end(), LOGIN_TIMEOUT_MS);
  state.connections.add(client);
  // Request/response protocols (sftp, git) must not wait for Nagle's delayed small packets.
  (client as Connection & { setNoDelay(on: boolean): void }).setNoDelay(true);
  let openSeq: number | undefined;
  let upstream: Promise<Client> | undefined;
  client.on('error', () => undefined);
  client.on('authentication', (ctx) => authenticate(ctx, state));
  client.on('ready', () => {
    clearTimeout(timer);
    openSeq = state.governor.connectionOpened(state.name, 'ssh');
    upstream = connectUpstream(state.name, state.target);
    // A failure is reported on each channel; a target that goes away later ends the job's connection.
    upstream.then((target) => target.once('close', () => client.end()), () => undefined);
    const ctx: ConnectionContext = {
      name: state.name,
      target: state.target,
      governor: state.governor,
      upstream,
      log: state.log,
      track: (done) => {
        state.pending.add(done);
        void done.then(() => state.pending.delete(done));
      },
    };
    client.on('session', (acceptSession) => {
      try {
        new SessionChannel(ctx, acceptSession());
      } catch (e) {
        state.log.warn(`${state.name}: session failed: ${(e as Error).message}`);
      }
    });
    client.on('tcpip', (acceptTunnel, reject, info) => void forwardLocal(state, upstream!, acceptTunnel, reject, info));
    client.on('request', (_accept, reject, name) => {
      refuseForwarding(state, name);
      reject?.();
    });
    client.on('openssh.streamlocal', (_accept, reject) => {
      refuseForwarding(state, 'unix socket forwarding');
      reject();
    });
  });
  client.on('close', () => {
    clearTimeout(timer);
    state.connections.delete(client);
    if (openSeq !== undefined) state.governor.connectionClosed(state.name, openSeq, 'client');
    void upstream?.then((c) => c.end(), () => undefined);
  });
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
    const stream = await new Promise<ClientChannel>((resolve, fail) => target.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, (e, s) => (e ? fail(e) : resolve(s))));
    const tunnel = acceptTunnel();
    tunnel.on('error', () => undefined);
    stream.on('error', () => undefined);
    tunnel.pipe(stream).pipe(tunnel);
  } catch {
    refuse();
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
