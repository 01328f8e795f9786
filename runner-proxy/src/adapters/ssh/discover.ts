import type { AdapterGovernor } from '../../core/governor.js';

/** A line longer than this is counted in pieces. */
const MAX_LINE = 16 * 1024;

/**
 * Observe mode: a command's output as it goes to the job, counted line by line under the connection
 * (`deploy output`) by the run's Discovery, for `govern policy suggest` to propose the detector types
 * that connection's output needs masked. Lines are counted, never kept.
 */
export class OutputDiscovery {
  readonly #governor: AdapterGovernor;
  readonly #source: string;
  #partial = '';

  private constructor(governor: AdapterGovernor, connection: string) {
    this.#governor = governor;
    this.#source = `${connection} output`;
  }

  static for(governor: AdapterGovernor, connection: string): OutputDiscovery | undefined {
    return governor.discovery.countsValues ? new OutputDiscovery(governor, connection) : undefined;
  }

  add(chunk: Buffer): void {
    const lines = (this.#partial + chunk.toString('utf8')).split('\n');
    this.#partial = lines.pop()!;
    for (const line of lines) if (line) this.#governor.discovery.value(this.#source, line);
    if (this.#partial.length > MAX_LINE) this.done();
  }

  done(): void {
    if (this.#partial) this.#governor.discovery.value(this.#source, this.#partial);
    this.#partial = '';
  }
}
