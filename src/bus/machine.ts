/**
 * What a device may ask of the machine as a whole: power off, reset, or
 * report a crash. vm/ implements it and turns requests into the exit codes
 * of DESIGN.md; devices only state what the guest did.
 */

/** Why the machine should stop running the guest as it is. */
export type MachineRequest =
  /** The guest powered off (ACPI S5): exit code 0. */
  | { readonly kind: 'poweroff'; readonly source: string }
  /** The guest asked for a reset (ACPI reset register, i8042 0xFE, triple fault when rebooting). */
  | { readonly kind: 'reset'; readonly source: string }
  /** The guest crashed (pvpanic, triple fault): exit code 4. */
  | { readonly kind: 'crash'; readonly source: string; readonly message: string }
  /** A test guest wrote `value` to the debug-exit port: exit code (value << 1) | 1. */
  | { readonly kind: 'debug-exit'; readonly value: number };

/** Receives machine-wide requests from devices. */
export interface MachineControl {
  request(req: MachineRequest): void;
}

/** A MachineControl that records requests (tests). */
export class RecordingMachineControl implements MachineControl {
  readonly requests: MachineRequest[] = [];
  request(req: MachineRequest): void {
    this.requests.push(req);
  }
}
