/**
 * A FIFO async mutex: qcow2 metadata changes (allocation, L2 updates,
 * flushing tables) run one at a time while data I/O stays parallel.
 */

const ignore = (): void => {};

/** Runs async critical sections one after another, in call order. Not re-entrant. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `fn` after every section queued before it has finished; resolves with its result. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(ignore, ignore);
    return result;
  }
}
