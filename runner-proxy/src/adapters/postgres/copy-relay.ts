/**
 * COPY data through a PostgreSQL session: a COPY FROM STDIN's rows masked on their way to the target
 * where write rules say, a COPY TO's on their way back to the client.
 */
import type { MaskPlan } from '../../policy/operation.js';
import type { Masker } from '../../masking/masker.js';
import type { Catalog } from './catalog.js';
import type { OutputBatch } from './codec/frames.js';
import { readCopyResponse } from './codec/messages.js';
import { CopyOutMasker } from './copy-mask.js';
import type { Pending } from './statements.js';
import { WriteMasker, type CopyPlan } from './write-mask.js';

export class CopyRelay {
  readonly #catalog: Catalog;
  readonly #masker: Masker;
  /** A COPY FROM STDIN under way, and what must be masked in its data. */
  #copyIn: WriteMasker | undefined;
  /** The COPY FROMs the statement sent last will start, in order, with how to mask each. */
  #copyInPlans: readonly (CopyPlan | undefined)[] = [];
  #copyOut: CopyOutMasker | undefined;

  constructor(catalog: Catalog, masker: Masker) {
    this.#catalog = catalog;
    this.#masker = masker;
  }

  /** Whether the COPY FROM under way masks its data (then no piece of it streams past unread). */
  get masksIn(): boolean {
    return this.#copyIn !== undefined;
  }

  /** Whether the COPY TO under way masks its data. */
  get masksOut(): boolean {
    return this.#copyOut !== undefined;
  }

  /** The statement just sent: the COPY FROMs it will start, with how to mask each. */
  planned(copies: readonly (CopyPlan | undefined)[] | undefined): void {
    this.#copyInPlans = copies ?? [];
  }

  /** A CopyData message from the client. */
  clientData(frame: Buffer, out: OutputBatch): void {
    if (this.#copyIn) this.#copyIn.data(frame, out);
    else out.pass(frame);
  }

  /** The client's CopyDone or CopyFail: the COPY FROM is over. */
  clientEnded(out: OutputBatch): void {
    this.#copyIn?.end(out);
    this.#copyIn = undefined;
  }

  /** The target's CopyInResponse: the next planned COPY FROM starts. */
  inStarted(): void {
    const [plan, ...later] = this.#copyInPlans;
    if (plan) this.#copyIn = new WriteMasker(plan, this.#masker);
    this.#copyInPlans = later;
  }

  /** The target's CopyOutResponse: undefined when nothing is masked, else ready once its masker is. */
  outStarting(frame: Buffer, head: Pending | undefined, masks: MaskPlan): Promise<void> | undefined {
    const sql = head?.kind === 'query' ? head.sql : head?.kind === 'execute' ? head.portal.statement?.sql : undefined;
    // The n-th COPY TO of a query answers with the n-th CopyOutResponse.
    const index = head?.kind === 'query' ? (head.copiesOut = (head.copiesOut ?? 0) + 1) - 1 : 0;
    const spec = sql?.copies?.filter((c) => !c.from)[index];
    if (masks.columns.length === 0 && masks.detectors.size === 0) return undefined;
    const { format } = readCopyResponse(frame);
    return CopyOutMasker.create(spec, format, masks, this.#catalog, this.#masker).then((masker) => {
      this.#copyOut = masker;
    });
  }

  /** A row of COPY TO output, masked; undefined when the COPY under way masks nothing. */
  outRow(frame: Buffer): { frame: Buffer; masked: number } | undefined {
    return this.#copyOut?.row(frame);
  }

  /** The COPY TO is over (or the statement failed). */
  outEnded(): void {
    this.#copyOut = undefined;
  }
}
