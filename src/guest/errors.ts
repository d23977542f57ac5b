/** The default guest could not be built; the message is one line that says what to do. */
export class GuestBuildError extends Error {
  override name = "GuestBuildError";
}
