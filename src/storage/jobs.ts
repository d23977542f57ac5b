/**
 * Waiting for the I/O a request started: a request must not settle while
 * parts of it still run (the next request on its range would overlap them).
 */

/** Waits for every promise, then rethrows the first failure (so nothing is left running). */
export async function settle(jobs: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(jobs);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/**
 * Runs `plan`, which starts I/O jobs while it walks a request; whether it
 * finishes or throws (a corrupt table halfway), every job started is waited
 * for before the request settles.
 */
export async function planAndSettle(plan: (jobs: Promise<unknown>[]) => Promise<void>): Promise<void> {
  const jobs: Promise<unknown>[] = [];
  try {
    await plan(jobs);
  } catch (err) {
    await Promise.allSettled(jobs);
    throw err;
  }
  await settle(jobs);
}
