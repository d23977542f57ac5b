/**
 * What travels between the interrupt controllers: one message type for the
 * IOAPIC's redirections, the LAPICs' IPIs and decoded MSIs, and the small
 * interfaces each side needs of the other.
 *
 * DEVNOTE: these types live apart from apic-bus.ts so the LAPIC and IOAPIC
 * can depend on them without importing the bus (which imports them).
 */

/** One interrupt message on the (virtual) APIC bus. */
export interface ApicMessage {
  /** Vector 0-255 (the start page for a SIPI). */
  readonly vector: number;
  /** One of the DM_* delivery modes in regs.ts. */
  readonly deliveryMode: number;
  /** How `dest` is matched: an APIC ID, or a logical mask against LDR/DFR. */
  readonly destMode: 'physical' | 'logical';
  /** Destination (8 bits); 0xFF is broadcast. Ignored with a shorthand. */
  readonly dest: number;
  /** Trigger mode; level-triggered fixed interrupts set the target's TMR bit. */
  readonly trigger: 'edge' | 'level';
  /** Assert (true) or de-assert; a level de-assert carries no interrupt. */
  readonly level: boolean;
  /** ICR destination shorthand (SH_*); absent means SH_NONE. */
  readonly shorthand?: number;
  /** Sending vCPU index, for the self / all-excluding-self shorthands. */
  readonly source?: number;
  /** MSI redirection hint: deliver to one of the destinations (lowest priority). */
  readonly redirectionHint?: boolean;
}

/** Where the IOAPIC and the LAPICs send messages (the APIC bus). */
export interface ApicRouter {
  /** Delivers one message to the APICs it addresses. */
  deliver(msg: ApicMessage): void;
  /** A LAPIC's EOI for a level-triggered vector, broadcast to the IOAPIC(s). */
  broadcastEoi(vector: number): void;
}

/** The 8259A as a LAPIC sees it through LINT0 (virtual-wire / ExtINT mode). */
export interface ExtIntController {
  /** The INTR output level. */
  readonly intr: boolean;
  /** The vector an INTA cycle would return now, without side effects; -1 if INTR is low. */
  peekVector(): number;
  /** The INTA cycle: marks the interrupt in service and returns its vector. */
  acknowledge(): number;
}
