/**
 * The modern virtio-pci transport (virtio 1.2, 4.1): a PCI function with
 * vendor 0x1AF4, device 0x1040 + type, and one 64-bit memory BAR holding
 * every structure (common config, ISR, device config, notify registers,
 * MSI-X table and PBA), each located by a vendor-specific capability, plus
 * the PCI configuration access capability. Interrupts are MSI-X: one
 * vector for config changes and one per queue, as the driver assigns them.
 *
 * DEVNOTE: no INTx. A driver that does not enable MSI-X gets no
 * interrupts; Linux always enables it when the platform has MSI (the root
 * bridge has no _PRT, see src/pci/root-aml.ts).
 */
import {
  type AccessSize,
  type InspectNode,
  type SavedState,
  type VmmDevice,
  checkSavedVersion,
  inspect,
  RestoreError,
} from '../../bus/device.js';
import type { MsiTarget } from '../../bus/irq.js';
import { type LogSink, stderrSink } from '../../bus/log.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import type { PciFunctionSaved } from '../../pci/function.js';
import { NO_VECTOR, VirtioCore, type VirtioCoreSaved } from '../core.js';
import type { Interrupt, VirtioDeviceModel } from '../device.js';
import type { RegisterBlock } from '../register-block.js';
import { VirtioPciFunction } from './caps.js';
import { commonConfig } from './common-cfg.js';
import { BAR_LAYOUT as L, BAR_PAGE, ISR_CONFIG, ISR_QUEUE, NOTIFY_OFF_MULTIPLIER } from './regs.js';

/** What the transport needs from the machine. */
export interface VirtioPciContext {
  readonly memory: GuestMemory;
  readonly msi: MsiTarget;
  readonly log?: LogSink;
  /** Offer packed virtqueues (default true). */
  readonly packedRings?: boolean;
}

/** Saved state, version 1. */
export interface VirtioPciSaved extends SavedState {
  readonly version: 1;
  readonly fn: PciFunctionSaved;
  readonly isr: number;
  readonly virtio: VirtioCoreSaved;
}

const SAVED_VERSION = 1;

/** A virtio device on the PCI bus. */
export class VirtioPci implements VmmDevice {
  /** The PCI function (config space, BAR, MSI-X); plug `pci` into the host bridge. */
  readonly fn: VirtioPciFunction;
  readonly core: VirtioCore;
  private isr = 0;
  private readonly common: RegisterBlock;
  private badBarAccesses = 0;
  private interruptsSent = 0;
  private interruptsLost = 0;

  constructor(
    readonly id: string,
    readonly model: VirtioDeviceModel,
    ctx: VirtioPciContext,
    saved?: SavedState,
  ) {
    const vectors = model.queueMaxSizes.length + 1;
    this.fn = new VirtioPciFunction(this, model, vectors, (off, size) => this.barRead(off, size), (off, size, v) => this.barWrite(off, size, v), ctx.msi, ctx.log ?? stderrSink);
    this.core = new VirtioCore(id, model, ctx.memory, {
      queueInterrupt: (q) => this.queueInterrupt(q),
      configInterrupt: { trigger: () => this.signal(this.core.configVector, ISR_CONFIG) },
    }, ctx.log ?? stderrSink, ctx.packedRings ?? true);
    this.common = commonConfig(this.core, vectors);
    if (saved) {
      const s = checkSavedVersion<VirtioPciSaved>(id, saved, SAVED_VERSION);
      const err = this.fn.restoreFunction(s.fn) ?? this.core.restore(s.virtio);
      if (err) throw new RestoreError(id, err);
      this.isr = Number(s.isr) & 3;
    }
  }

  /** PciPart for the host bridge's slot table. */
  get pci(): VirtioPciFunction {
    return this.fn;
  }

  /** An interrupt for a queue or config change; `vector` is read when it fires. */
  private signal(vector: number, isrBit: number): void {
    this.isr |= isrBit;
    if (vector !== NO_VECTOR && this.fn.msix!.notify(vector)) this.interruptsSent++;
    else this.interruptsLost++;
  }

  /** The interrupt for queue `q` (for an irqfd-backed path later). */
  queueInterrupt(q: number): Interrupt {
    return { trigger: () => this.signal(this.core.queues[q]?.vector ?? NO_VECTOR, ISR_QUEUE) };
  }

  /** Entry point for a queue kick (the notify register, or an ioeventfd). */
  notify(q: number): void {
    this.core.notify(q);
  }

  private barRead(off: number, size: AccessSize): number {
    const page = off - (off % BAR_PAGE);
    const rel = off - page;
    if (rel + size > BAR_PAGE) return this.bad(size);
    switch (page) {
      case L.common:
        return rel < this.common.size ? this.common.read(rel, size) : this.bad(size);
      case L.isr: {
        // Reading the ISR acknowledges it (4.1.4.5).
        const v = rel === 0 ? this.isr : 0;
        this.isr = 0;
        return v;
      }
      case L.device:
        return rel < this.model.configSize ? this.model.readConfig(rel, size) >>> 0 : this.bad(size);
      case L.notify:
        return 0;
      case L.msixTable:
        return this.fn.msix!.tableRead(rel, size);
      case L.msixPba:
        return this.fn.msix!.pbaRead(rel, size);
    }
    return this.bad(size);
  }

  private barWrite(off: number, size: AccessSize, value: number): void {
    const page = off - (off % BAR_PAGE);
    const rel = off - page;
    if (rel + size > BAR_PAGE) {
      this.badBarAccesses++;
      return;
    }
    switch (page) {
      case L.common:
        if (rel < this.common.size) this.common.write(rel, size, value);
        else this.badBarAccesses++;
        return;
      case L.device:
        if (rel < this.model.configSize) this.model.writeConfig(rel, size, value);
        else this.badBarAccesses++;
        return;
      case L.notify: {
        // Without VIRTIO_F_NOTIFICATION_DATA the value is the queue index; the address already says which.
        const q = Math.floor(rel / NOTIFY_OFF_MULTIPLIER);
        if (rel % NOTIFY_OFF_MULTIPLIER === 0 && q < this.core.queues.length) this.core.notify(q);
        else this.badBarAccesses++;
        return;
      }
      case L.msixTable:
        this.fn.msix!.tableWrite(rel, size, value);
        return;
    }
    this.badBarAccesses++;
  }

  private bad(size: AccessSize): number {
    this.badBarAccesses++;
    return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
  }

  reset(): void {
    this.core.reset();
    this.fn.resetFunction();
    this.isr = 0;
  }

  save(): VirtioPciSaved {
    return { version: SAVED_VERSION, fn: this.fn.saveFunction(), isr: this.isr, virtio: this.core.save() };
  }

  inspect(): InspectNode {
    return inspect.tree({
      pci: this.fn.inspectFunction(),
      isr: inspect.hex(this.isr),
      interruptsSent: inspect.counter(this.interruptsSent),
      interruptsLost: inspect.counter(this.interruptsLost),
      badBarAccesses: inspect.counter(this.badBarAccesses + this.common.ignoredWrites),
      virtio: this.core.inspect(),
    });
  }
}
