/**
 * The APIC bus of the emulated machine: routes interrupt messages from the
 * IOAPIC, the LAPICs (IPIs) and MSIs to LAPICs, EOIs back to the IOAPIC,
 * and GSI levels into the IOAPIC and the 8259A pair. It is the machine's
 * `IrqSink` and `MsiTarget` when the emulator models the interrupt
 * controllers (under KVM, the in-kernel irqchip takes its place).
 *
 * DEVNOTE: lowest-priority delivery picks, among the addressed APICs that
 * are enabled, the one with the lowest PPR; ties go round-robin, starting
 * after the APIC chosen last. (Real xAPICs arbitrate on APR and a focus
 * processor; KVM uses PPR-like priority too. Guests must not depend on it.)
 *
 * Build order: createApicBus first, then the LAPICs and IOAPIC with it as
 * their router, then connect() them (and the PIC).
 */
import {
  checkSavedVersion,
  inspect,
  type InspectNode,
  type SavedState,
  type VmmDevice,
} from '../../bus/device.js';
import type { IrqSink, MsiMessage, MsiTarget } from '../../bus/irq.js';
import type { Ioapic } from '../ioapic/ioapic.js';
import type { Lapic } from '../lapic/lapic.js';
import type { Pic } from '../pic/pic.js';
import type { ApicMessage, ApicRouter } from './message.js';
import { decodeMsi } from './msi.js';
import * as M from './regs.js';
import { gsiRoute } from './routing.js';

/** How to build the APIC bus. */
export interface ApicBusConfig {
  /** Device id; default "apic-bus". */
  readonly id?: string;
}

/** The bus needs nothing at build time; see connect(). */
export type ApicBusContext = Record<string, never>;

/** The controllers the bus connects. */
export interface ApicBusParts {
  /** LAPICs indexed by vCPU (index = source of shorthand IPIs). */
  readonly lapics: readonly Lapic[];
  readonly ioapic: Ioapic | null;
  readonly pic: Pic | null;
}

/** Version 1 of the bus's saved state. */
export interface ApicBusSavedState extends SavedState {
  readonly version: 1;
  /** Where the next lowest-priority tie-break starts. */
  readonly lowestPriorityCursor: number;
}

const SAVED_VERSION = 1;

/** Routes interrupt messages and GSI levels between the emulated interrupt controllers. */
export class ApicBus implements VmmDevice, ApicRouter, IrqSink, MsiTarget {
  readonly id: string;
  private lapics: readonly Lapic[] = [];
  private ioapic: Ioapic | null = null;
  private pic: Pic | null = null;
  private cursor = 0;
  /** Messages delivered to at least one LAPIC. */
  delivered = 0;
  /** Messages that addressed no (enabled) LAPIC. */
  noTarget = 0;
  /** MSIs whose address was outside the 0xFEExxxxx window. */
  badMsis = 0;
  /** setIrq calls for lines that reach no controller (2, >= 24). */
  unroutedIrqs = 0;
  /** EOI broadcasts forwarded to the IOAPIC. */
  eoiBroadcasts = 0;

  constructor(config: ApicBusConfig = {}) {
    this.id = config.id ?? 'apic-bus';
  }

  /** Wires the controllers together: PIC INTR -> every LINT0, LAPICs' ExtINT -> the PIC. */
  connect(parts: ApicBusParts): void {
    this.lapics = parts.lapics;
    this.ioapic = parts.ioapic;
    this.pic = parts.pic;
    const pic = parts.pic;
    for (const l of parts.lapics) l.connectExtInt(pic);
    if (pic !== null) {
      pic.onIntr = (level) => {
        for (const l of this.lapics) l.setLint(0, level);
      };
      if (pic.intr) for (const l of this.lapics) l.setLint(0, true);
    }
  }

  // ---- IrqSink / MsiTarget ----

  /** Drives line `gsi` into the PIC and IOAPIC per routing.ts (0 -> PIC 0 + IOAPIC 2). */
  setIrq(gsi: number, level: boolean): void {
    const r = gsiRoute(gsi);
    if (r.picIrq < 0 && r.ioapicPin < 0) {
      this.unroutedIrqs++;
      return;
    }
    if (r.picIrq >= 0) this.pic?.setIrq(r.picIrq, level);
    if (r.ioapicPin >= 0) this.ioapic?.setPin(r.ioapicPin, level);
  }

  /** Delivers one MSI (MsiTarget). */
  signal(msg: MsiMessage): void {
    this.deliverMsi(msg);
  }

  /** Decodes and delivers one MSI; returns false (and counts) if it was not an interrupt message. */
  deliverMsi(msg: MsiMessage): boolean {
    const m = decodeMsi(msg);
    if (m === null) {
      this.badMsis++;
      return false;
    }
    this.deliver(m);
    return true;
  }

  // ---- ApicRouter ----

  /** Delivers `msg` to every LAPIC it addresses (one, for lowest priority). */
  deliver(msg: ApicMessage): void {
    const lapics = this.lapics;
    const n = lapics.length;
    if (msg.deliveryMode === M.DM_LOWEST_PRIORITY || msg.redirectionHint === true) {
      const chosen = this.pickLowestPriority(msg);
      if (chosen === null) this.noTarget++;
      else {
        this.delivered++;
        chosen.receive(msg);
      }
      return;
    }
    let hit = false;
    for (let i = 0; i < n; i++) {
      const l = lapics[i]!;
      if (this.addresses(msg, l)) {
        hit = true;
        l.receive(msg);
      }
    }
    if (hit) this.delivered++;
    else this.noTarget++;
  }

  /** Forwards a LAPIC's EOI of a level-triggered vector to the IOAPIC. */
  broadcastEoi(vector: number): void {
    this.eoiBroadcasts++;
    this.ioapic?.eoi(vector);
  }

  /** Whether `msg` addresses `l` (shorthand, physical ID with 0xFF broadcast, or logical). */
  addresses(msg: ApicMessage, l: Lapic): boolean {
    switch (msg.shorthand ?? M.SH_NONE) {
      case M.SH_SELF:
        return l.index === msg.source;
      case M.SH_ALL_INCLUDING_SELF:
        return true;
      case M.SH_ALL_EXCLUDING_SELF:
        return l.index !== msg.source;
    }
    if (msg.destMode === 'logical') return l.matchesLogical(msg.dest);
    return msg.dest === M.APIC_BROADCAST || msg.dest === l.apicId;
  }

  // Among the addressed, enabled APICs: lowest PPR, ties round-robin from the cursor.
  private pickLowestPriority(msg: ApicMessage): Lapic | null {
    const lapics = this.lapics;
    const n = lapics.length;
    let best: Lapic | null = null;
    let bestIndex = -1;
    for (let k = 0; k < n; k++) {
      const i = (this.cursor + k) % n;
      const l = lapics[i]!;
      if (!l.hardwareEnabled || !l.softwareEnabled || !this.addresses(msg, l)) continue;
      if (best === null || l.ppr < best.ppr) {
        best = l;
        bestIndex = i;
      }
    }
    if (best !== null) this.cursor = (bestIndex + 1) % n;
    return best;
  }

  // ---- device ----

  /** Restarts the lowest-priority rotation. */
  reset(): void {
    this.cursor = 0;
  }

  /** The lowest-priority cursor (the controllers save their own state). */
  save(): ApicBusSavedState {
    return { version: SAVED_VERSION, lowestPriorityCursor: this.cursor };
  }

  /** Loads a saved state. */
  restore(saved: SavedState): void {
    const s = checkSavedVersion<ApicBusSavedState>(this.id, saved, SAVED_VERSION);
    const c = s.lowestPriorityCursor;
    this.cursor = typeof c === 'number' && Number.isInteger(c) && c >= 0 ? c : 0;
  }

  /** Counters and what is connected. */
  inspect(): InspectNode {
    return inspect.tree({
      lapics: this.lapics.length,
      ioapic: this.ioapic?.id ?? null,
      pic: this.pic?.id ?? null,
      lowestPriorityCursor: this.cursor,
      delivered: inspect.counter(this.delivered),
      noTarget: inspect.counter(this.noTarget),
      badMsis: inspect.counter(this.badMsis),
      unroutedIrqs: inspect.counter(this.unroutedIrqs),
      eoiBroadcasts: inspect.counter(this.eoiBroadcasts),
    });
  }
}

/** Builds the APIC bus, fresh or from its SavedState; call connect() once the controllers exist. */
export function createApicBus(config: ApicBusConfig = {}, _ctx: ApicBusContext = {}, saved?: SavedState): ApicBus {
  const bus = new ApicBus(config);
  if (saved !== undefined) bus.restore(saved);
  return bus;
}
