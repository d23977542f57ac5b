/**
 * Issue-order semantics for requests in flight at the same time.
 *
 * DEVNOTE: virtio lets a driver have many requests in flight and real disks
 * do not order them, but a backend that runs overlapping requests on a thread
 * pool would make the result depend on scheduling. tsvmm promises more, for
 * every backend: overlapping requests take effect in the order they were
 * issued (called), as if run one at a time; reads may overlap reads, and
 * requests on disjoint ranges run in parallel. A later write therefore wins
 * over an earlier one, and a read issued after a write sees it even if the
 * write had not resolved yet. qcow2 widens ranges to whole clusters so two
 * requests never touch one cluster's mapping at once.
 */

interface InFlight {
  readonly start: number;
  readonly end: number;
  readonly write: boolean;
  /** Settles (never rejects) when the request has finished. */
  done: Promise<void>;
}

const ignore = (): void => {};

/** Tracks requests in flight and makes each wait for the earlier ones it conflicts with. */
export class RequestOrder {
  private readonly inflight = new Set<InFlight>();

  /** `granularity`: conflicts are found on ranges widened to multiples of it. */
  constructor(private readonly granularity = 1) {}

  /** Number of requests still in flight (for inspect). */
  get pending(): number {
    return this.inflight.size;
  }

  /**
   * Runs `fn` once every earlier, overlapping request it conflicts with has
   * settled (a write conflicts with everything, a read only with writes).
   * The request counts as issued when run() is called.
   */
  run<T>(offset: number, length: number, write: boolean, fn: () => Promise<T>): Promise<T> {
    const g = this.granularity;
    const start = Math.floor(offset / g) * g;
    const end = Math.ceil((offset + Math.max(length, 1)) / g) * g;
    let deps: Promise<void>[] | undefined;
    for (const e of this.inflight) {
      if (e.start < end && start < e.end && (write || e.write)) (deps ??= []).push(e.done);
    }
    const result = deps === undefined ? call(fn) : Promise.all(deps).then(fn);
    const entry: InFlight = { start, end, write, done: result.then(ignore, ignore) };
    this.inflight.add(entry);
    entry.done = entry.done.then(() => {
      this.inflight.delete(entry);
    });
    return result;
  }

  /** Resolves once every request issued before this call has settled (close). */
  idle(): Promise<void> {
    const deps = [...this.inflight].map((e) => e.done);
    return deps.length === 0 ? Promise.resolve() : Promise.all(deps).then(ignore);
  }

  /** Resolves once every write issued before this call has settled (flush's barrier). */
  writesSettled(): Promise<void> {
    const deps: Promise<void>[] = [];
    for (const e of this.inflight) if (e.write) deps.push(e.done);
    return deps.length === 0 ? Promise.resolve() : Promise.all(deps).then(ignore);
  }
}

/** Calls fn so that a synchronous throw becomes a rejection like an async one. */
function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}
