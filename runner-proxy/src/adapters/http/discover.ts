import type { AdapterGovernor } from '../../core/governor.js';
import { isJsonType } from './message.js';

/** The most of one response body kept for discovery; a larger body is not counted. */
const MAX_DISCOVERED_BODY = 1024 * 1024;

/**
 * Observe mode: a JSON response body, as it goes to the job, given whole to the run's Discovery when it
 * ends, so that the values of each JSON path are counted (never kept). Bodies the gateway does not
 * decode (a content coding with nothing to mask) and bodies over 1 MiB are not counted.
 */
export class BodyDiscovery {
  readonly #governor: AdapterGovernor;
  readonly #connection: string;
  #pieces: Buffer[] = [];
  #length = 0;

  private constructor(governor: AdapterGovernor, connection: string) {
    this.#governor = governor;
    this.#connection = connection;
  }

  static for(governor: AdapterGovernor, connection: string, contentType: string | undefined, decoded: boolean): BodyDiscovery | undefined {
    return governor.discovery.countsValues && decoded && isJsonType(contentType) ? new BodyDiscovery(governor, connection) : undefined;
  }

  add(piece: Buffer): void {
    this.#length += piece.length;
    if (this.#length <= MAX_DISCOVERED_BODY) this.#pieces.push(piece);
  }

  done(): void {
    if (this.#length <= MAX_DISCOVERED_BODY) this.#governor.discovery.json(this.#connection, Buffer.concat(this.#pieces).toString('utf8'));
    this.#pieces = [];
  }
}
