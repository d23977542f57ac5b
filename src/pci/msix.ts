/**
 * MSI-X (PCI 3.0 6.8.2, PCIe 7.7.2): a capability in config space whose
 * Message Control holds the enable and function-mask bits, and a vector
 * table plus pending-bit array (PBA) in a memory BAR. A device asks for
 * vector N; the message goes out if MSI-X is enabled, the function and
 * the vector are unmasked and the function may master the bus; while
 * masked it is remembered in the PBA and sent when unmasked.
 *
 * DEVNOTE: the message is handed to an MsiTarget as written (x86 format:
 * address 0xFEExxxxx with the destination, data with vector and delivery
 * mode). The emulator's APIC bus decodes it; KVM will take the same
 * address/data as an MSI route for irqfd. The device never decodes it.
 */
import type { AccessSize, InspectNode } from '../bus/device.js';
import { inspect } from '../bus/device.js';
import type { MsiTarget } from '../bus/irq.js';
import type { ConfigSpace } from './config-space.js';
import {
  CAP_ID_MSIX,
  MSIX_CAP_SIZE,
  MSIX_CTRL_ENABLE,
  MSIX_CTRL_MASKALL,
  MSIX_ENTRY_CTRL_MASKBIT,
  MSIX_ENTRY_SIZE,
  MSIX_ENTRY_VECTOR_CTRL,
  MSIX_MAX_VECTORS,
  MSIX_MSG_CTRL,
  MSIX_PBA,
  MSIX_TABLE,
} from './regs.js';

/** Where the table and PBA live and how many vectors there are. */
export interface MsixLayout {
  /** Number of vectors (1..2048). */
  readonly vectors: number;
  /** BAR index and byte offset (8-byte aligned) of the table. */
  readonly tableBar: number;
  readonly tableOffset: number;
  /** BAR index and byte offset (8-byte aligned) of the PBA. */
  readonly pbaBar: number;
  readonly pbaOffset: number;
}

/** Saved MSI-X state (the capability's bytes are saved with config space). */
export interface MsixSaved {
  /** Table as hex, 16 bytes per vector. */
  readonly table: string;
  /** Pending bits as hex, one byte per vector. */
  readonly pending: string;
}

/** The MSI-X capability, table and PBA of one function. */
export class Msix {
  /** Offset of the capability in config space. */
  readonly capOffset: number;
  private readonly table: Uint8Array;
  private readonly pending: Uint8Array;
  /** Messages sent, held as pending, and dropped (bus mastering off). */
  sent = 0;
  held = 0;
  dropped = 0;

  constructor(
    private readonly config: ConfigSpace,
    readonly layout: MsixLayout,
    private readonly target: MsiTarget,
    /** Whether the function may master the bus now (Command.BME). */
    private readonly busMaster: () => boolean,
  ) {
    const n = layout.vectors;
    if (!Number.isInteger(n) || n < 1 || n > MSIX_MAX_VECTORS) throw new RangeError(`MSI-X needs 1..2048 vectors, got ${n}`);
    this.capOffset = config.addCapability(CAP_ID_MSIX, MSIX_CAP_SIZE);
    config.set(this.capOffset + MSIX_MSG_CTRL, 2, n - 1);
    config.setWritable(this.capOffset + MSIX_MSG_CTRL, 2, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
    config.set(this.capOffset + MSIX_TABLE, 4, (layout.tableOffset | layout.tableBar) >>> 0);
    config.set(this.capOffset + MSIX_PBA, 4, (layout.pbaOffset | layout.pbaBar) >>> 0);
    this.table = new Uint8Array(n * MSIX_ENTRY_SIZE);
    this.pending = new Uint8Array(n);
    this.resetTable();
  }

  /** Bytes the table occupies in its BAR. */
  get tableSize(): number {
    return this.layout.vectors * MSIX_ENTRY_SIZE;
  }

  /** Bytes the PBA occupies in its BAR (whole qwords). */
  get pbaSize(): number {
    return Math.ceil(this.layout.vectors / 64) * 8;
  }

  private get control(): number {
    return this.config.get(this.capOffset + MSIX_MSG_CTRL, 2);
  }

  /** MSI-X Enable is set. */
  get enabled(): boolean {
    return (this.control & MSIX_CTRL_ENABLE) !== 0;
  }

  /** Function Mask is set. */
  get functionMasked(): boolean {
    return (this.control & MSIX_CTRL_MASKALL) !== 0;
  }

  /** Whether vector `v`'s own mask bit is set. */
  vectorMasked(v: number): boolean {
    return (this.table[v * MSIX_ENTRY_SIZE + MSIX_ENTRY_VECTOR_CTRL]! & MSIX_ENTRY_CTRL_MASKBIT) !== 0;
  }

  /** Whether vector `v` has a message waiting for unmasking. */
  isPending(v: number): boolean {
    return this.pending[v] === 1;
  }

  /**
   * Signals vector `v`. Returns false when MSI-X is disabled (the caller
   * may fall back to INTx) or `v` is not a vector of this table.
   */
  notify(v: number): boolean {
    if (!this.enabled || !(v >= 0 && v < this.layout.vectors)) return false;
    if (this.functionMasked || this.vectorMasked(v)) {
      this.pending[v] = 1;
      this.held++;
      return true;
    }
    this.send(v);
    return true;
  }

  private send(v: number): void {
    if (!this.busMaster()) {
      this.dropped++;
      return;
    }
    const e = v * MSIX_ENTRY_SIZE;
    const t = this.table;
    const lo = (t[e]! | (t[e + 1]! << 8) | (t[e + 2]! << 16) | (t[e + 3]! << 24)) >>> 0;
    const hi = (t[e + 4]! | (t[e + 5]! << 8) | (t[e + 6]! << 16) | (t[e + 7]! << 24)) >>> 0;
    const data = (t[e + 8]! | (t[e + 9]! << 8) | (t[e + 10]! << 16) | (t[e + 11]! << 24)) >>> 0;
    this.sent++;
    this.target.signal({ addressLo: lo, addressHi: hi, data });
  }

  /** Sends every pending vector that is no longer masked. */
  private flushPending(): void {
    if (!this.enabled || this.functionMasked) return;
    for (let v = 0; v < this.layout.vectors; v++) {
      if (this.pending[v] === 1 && !this.vectorMasked(v)) {
        this.pending[v] = 0;
        this.send(v);
      }
    }
  }

  /** The function calls this after any guest write to config space overlapping the capability. */
  controlWritten(): void {
    this.flushPending();
  }

  /** A read of the table at `offset` (relative to the table start). */
  tableRead(offset: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      v |= (o >= 0 && o < this.table.length ? this.table[o]! : 0xff) << (8 * i);
    }
    return v >>> 0;
  }

  /** A write to the table: address, data and the vector-control mask bit are writable. */
  tableWrite(offset: number, size: AccessSize, value: number): void {
    let touchedControl = false;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      if (o < 0 || o >= this.table.length) continue;
      const field = o % MSIX_ENTRY_SIZE;
      let b = (value >>> (8 * i)) & 0xff;
      // The message address is dword aligned: its two low bits are reserved.
      if (field === 0) b &= 0xfc;
      if (field >= MSIX_ENTRY_VECTOR_CTRL) {
        // Only the mask bit of Vector Control is defined; the rest reads as zero.
        b = field === MSIX_ENTRY_VECTOR_CTRL ? b & MSIX_ENTRY_CTRL_MASKBIT : 0;
        touchedControl = true;
      }
      this.table[o] = b;
    }
    if (touchedControl) this.flushPending();
  }

  /** A read of the PBA at `offset` (relative to the PBA start); writes to it are ignored. */
  pbaRead(offset: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      let byte = 0;
      if (o < 0 || o >= this.pbaSize) byte = 0xff;
      else for (let bit = 0; bit < 8; bit++) if (this.pending[o * 8 + bit] === 1) byte |= 1 << bit;
      v |= byte << (8 * i);
    }
    return v >>> 0;
  }

  private resetTable(): void {
    this.table.fill(0);
    this.pending.fill(0);
    // Every vector comes out of reset masked (PCI 3.0 6.8.2.9).
    for (let v = 0; v < this.layout.vectors; v++) this.table[v * MSIX_ENTRY_SIZE + MSIX_ENTRY_VECTOR_CTRL] = MSIX_ENTRY_CTRL_MASKBIT;
  }

  /** Back to power-on: table masked, nothing pending (the capability bytes are reset with config space). */
  reset(): void {
    this.resetTable();
  }

  /** Table and pending bits for saved state. */
  save(): MsixSaved {
    return { table: Buffer.from(this.table).toString('hex'), pending: Buffer.from(this.pending).toString('hex') };
  }

  /** Applies save() output; returns an error message or null. */
  restore(s: MsixSaved): string | null {
    if (typeof s?.table !== 'string' || s.table.length !== this.table.length * 2) return 'MSI-X table has the wrong size';
    if (typeof s.pending !== 'string' || s.pending.length !== this.pending.length * 2) return 'MSI-X pending bits have the wrong size';
    this.table.set(Buffer.from(s.table, 'hex'));
    this.pending.set(Buffer.from(s.pending, 'hex'));
    return null;
  }

  /** Enable/mask state, per-vector entries, counters. */
  inspect(): InspectNode {
    const vectors: Record<string, InspectNode> = {};
    for (let v = 0; v < this.layout.vectors; v++) {
      vectors[String(v)] = inspect.tree({
        address: inspect.hex(this.tableRead(v * 16, 4) + this.tableRead(v * 16 + 4, 4) * 2 ** 32),
        data: inspect.hex(this.tableRead(v * 16 + 8, 4)),
        masked: this.vectorMasked(v),
        pending: this.isPending(v),
      });
    }
    return inspect.tree({
      enabled: this.enabled,
      functionMasked: this.functionMasked,
      sent: inspect.counter(this.sent),
      held: inspect.counter(this.held),
      dropped: inspect.counter(this.dropped),
      vectors: { children: vectors },
    });
  }
}
