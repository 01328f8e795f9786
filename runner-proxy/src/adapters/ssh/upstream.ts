import ssh2, { type Client } from 'ssh2';
import { CIPHERS } from './job-config.js';
import { fingerprint, type SshTarget } from './settings.js';

const READY_TIMEOUT_MS = 20_000;
const KEEPALIVE_COUNT_MAX = 3;

/** Why the target could not be used, in one sentence for the job's stderr. */
export class UpstreamError extends Error {
  constructor(
    message: string,
    /** The target was reached and refused the policy's key or password. */
    readonly authentication = false,
  ) {
    super(message);
  }
}

/**
 * Logs in to the target with the policy's key or password. The host key must be one of the policy's
 * known_hosts; anything else refuses, naming the fingerprint seen so the policy can be fixed.
 */
export function connectUpstream(connection: string, target: SshTarget): Promise<Client> {
  const client = new ssh2.Client();
  let seen: Buffer | undefined;
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => {
      client.end();
      const where = `${target.host}:${target.port}`;
      if (seen && !target.hostKeys.has(seen.toString('base64'))) {
        const listed = target.hostKeys.size ? 'is not the one known_hosts pins' : 'cannot be checked: known_hosts is empty';
        return reject(new UpstreamError(`the host key of ${where} (${fingerprint(seen)}) ${listed} for connection "${connection}"; refusing to connect`));
      }
      if ((e as Error & { level?: string }).level === 'client-authentication') {
        const credential = target.privateKey ? 'private_key' : 'password';
        return reject(new UpstreamError(`${where} refused the login of user "${target.user}" with the ${credential} of connection "${connection}"`, true));
      }
      reject(new UpstreamError(`cannot reach ${where} for connection "${connection}": ${e.message}`));
    };
    client.once('ready', () => {
      client.off('error', fail);
      client.setNoDelay(true);
      // Later failures end the connection; each channel reports its own.
      client.on('error', () => undefined);
      resolve(client);
    });
    client.once('error', fail);
    try {
      client.connect({
        host: target.host,
        port: target.port,
        username: target.user,
        ...(target.privateKey && { privateKey: target.privateKey }),
        ...(target.password && { password: target.password }),
        hostVerifier: (key: Buffer) => {
          seen = key;
          return target.hostKeys.has(key.toString('base64'));
        },
        keepaliveInterval: target.keepaliveMs,
        keepaliveCountMax: KEEPALIVE_COUNT_MAX,
        readyTimeout: READY_TIMEOUT_MS,
        algorithms: { cipher: CIPHERS as ssh2.CipherAlgorithm[] },
      });
    } catch (e) {
      fail(e as Error);
    }
  });
}
