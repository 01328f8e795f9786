/** Runs `task` every `intervalMs` until stopped, one run at a time; a failed run is reported, not fatal. */
export class Poller {
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (e: Error) => void,
  ) {}

  start(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.task()
        .catch(this.onError)
        .finally(() => this.start());
    }, this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
