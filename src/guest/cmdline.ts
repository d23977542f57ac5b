/**
 * The kernel command line the default guest boots with. Each option is
 * there for a reason given beside it; add none without one.
 */

const OPTIONS: readonly string[] = [
  // Kernel messages and /dev/console on COM1, which --serial connects to the user.
  "console=ttyS0",
  // Messages from before the serial driver is up, so a boot that dies early says where.
  "earlyprintk=ttyS0",
  // Reboot through the keyboard controller's reset line (as Firecracker does): the one
  // reset path every tsvmm machine has, whatever its ACPI tables offer.
  "reboot=k",
  // Reboot at once on a panic, so a crashed guest ends the VM (tsvmm reports it) instead of hanging.
  "panic=-1",
  // No XSAVE: the software CPU does not implement it, and with it off both backends
  // show the guest the same FPU state layout, so they can be run against each other.
  "noxsave",
  // The machine's i8042 exists for the reset line and has no aux (mouse) port; without
  // this the driver probes for one and waits out its command timeouts.
  "i8042.noaux",
  // Skip the crypto API's boot-time self-tests of every algorithm: they verify the
  // host's CPU, not the guest, and cost about five seconds on the software CPU.
  "cryptomgr.notests",
];

/**
 * The default guest's kernel command line.
 *
 * Considered and left out for now: "quiet" (the boot log over the emulated
 * UART costs a few exits per character, but it is what users debug with),
 * "tsc=reliable" (KVM guests use kvm-clock, and the TSC watchdog only matters
 * when the TSC is the clocksource). The software CPU may later want
 * "no_timer_check", "tsc_early_khz=" or "lpj=": a KVM guest gets the TSC
 * frequency and skips the IO-APIC timer check through kvm-clock, and a guest
 * that sees no KVM signature calibrates against the PIT instead.
 */
export const DEFAULT_CMDLINE: string = OPTIONS.join(" ");
