/**
 * Makes sure the default guest is built before a guest-booting test runs;
 * returns a skip reason when it cannot be built on this machine.
 */
import { ensureDefaultGuest } from '../../src/guest/index.js';

let result: Promise<string | null> | null = null;

/** null when the default guest is ready, else why not. */
export function guestReady(): Promise<string | null> {
  result ??= ensureDefaultGuest().then(
    () => null,
    (e: Error) => `the default guest could not be built here: ${e.message}`,
  );
  return result;
}
