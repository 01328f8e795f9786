/**
 * What the job is told instead of its request's answer: a refusal (by the policy, an approval that timed
 * out, a record that cannot be written) or a request the gateway cannot read, in HTTP's own terms.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { AdapterGovernor, Ruling } from '../../core/governor.js';
import type { ListenerState } from './listener-state.js';

/** The rule a refusal names when the record cannot be written. */
const RECORDING_FAILED = 'recording-failed';

/** A refusal's status: an approval that timed out, a record that cannot be written, or the policy. */
export function refusalStatus(ruling: Pick<Ruling, 'timedOut' | 'rule'>): number {
  if (ruling.timedOut) return 504;
  return ruling.rule === RECORDING_FAILED ? 503 : 403;
}

export function refusalBody(ruling: Pick<Ruling, 'message' | 'rule' | 'requestId'>, detail = ''): Record<string, unknown> {
  return { error: `${ruling.message ?? 'refused'}${detail}`, rule: ruling.rule, ...(ruling.requestId && { request_id: ruling.requestId }) };
}

/**
 * Writes what the governor decided so far to the record before anything is forwarded; when that
 * fails, the refusal to give instead (the operation must not reach the target unrecorded).
 */
export function commitOrRefusal(governor: AdapterGovernor): { status: number; body: Record<string, unknown> } | undefined {
  try {
    governor.commit();
    return undefined;
  } catch (e) {
    return recordingRefusal(e);
  }
}

/** The refusal of a request whose event cannot be written to the record. */
export function recordingRefusal(failure: unknown): { status: number; body: Record<string, unknown> } {
  const ruling = { rule: RECORDING_FAILED, message: (failure as Error).message };
  return { status: refusalStatus(ruling), body: refusalBody(ruling) };
}

/** Answers what the parser refused (two lengths, bare CR/LF, oversized head…) and ends the connection. */
export function refuseMalformed(socket: Socket, state: ListenerState, problem: string): void {
  if (problem !== 'ECONNRESET') state.governor.note('http.malformed', { connection: state.name, problem });
  if (!socket.writable || problem === 'ECONNRESET') return void socket.destroy();
  socket.end(rawResponse(400, { error: `malformed request (${problem}); the connection is closed` }));
  socket.destroySoon();
}

/** A JSON answer written straight to a socket the HTTP server no longer frames (an upgrade, a CONNECT), then the close; `extraLines` end in CRLF. */
export function rawResponse(status: number, body: Record<string, unknown>, extraLines = ''): string {
  const text = JSON.stringify(body);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${extraLines}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`;
}
