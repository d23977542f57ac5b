/**
 * The PC's 8254 PIT (ports 0x40-0x43) and system control port B (0x61).
 *
 * Counter 0 drives GSI 0: each rising edge of its OUT pulses the IrqLine.
 * Counter 2's gate and output are port B bits 0 and 5, which is how Linux
 * calibrates the TSC; counter 1 (DRAM refresh on old PCs) is present but
 * drives nothing.
 *
 * DEVNOTE: the input clock is derived from the machine Clock exactly (integer
 * arithmetic split at whole seconds, so no rounding drift however long the
 * machine runs), and counters are evaluated lazily from it. Only counter 0
 * arms a Timer, only while its OUT has a rising edge ahead, and not at all
 * while the integrator reports GSI 0 masked (setIrqMasked). Edges missed
 * because the machine was late are coalesced into one pulse and counted.
 */
import { Timer, type TimerQueue } from '../../bus/clock.js';
import {
  checkSavedVersion,
  inspect,
  type AccessSize,
  type DeviceFactory,
  type InspectNode,
  type IoPart,
  RestoreError,
  type SavedState,
  type VmmDevice,
} from '../../bus/device.js';
import type { IrqLine } from '../../bus/irq.js';
import { PitChannel, type SavedChannel } from './channel.js';
import {
  CW_BCD,
  CW_M_SHIFT,
  CW_RW_SHIFT,
  CW_SC_READBACK,
  CW_SC_SHIFT,
  PIT_BASE,
  PIT_CONTROL,
  PIT_HZ,
  PORT_B,
  PORTB_GATE2,
  PORTB_OUT2,
  PORTB_REFRESH,
  PORTB_WRITABLE,
  RB_CNT0,
  RB_NOT_COUNT,
  RB_NOT_STATUS,
  RW_LATCH,
} from './regs.js';

/** Where the PIT sits; defaults are the PC's. */
export interface PitConfig {
  readonly id?: string;
  /** First of the four PIT ports (default 0x40). */
  readonly base?: number;
  /** System control port B (default 0x61); null leaves it out. */
  readonly portB?: number | null;
}

/** What the PIT needs from the machine. */
export interface PitContext {
  /** The machine's timers; their clock is the PIT's time base. */
  readonly timers: TimerQueue;
  /** Counter 0's output: GSI 0, pulsed on each rising edge. */
  readonly irq: IrqLine;
}

/** Saved PIT state, version 1. */
export interface PitSavedState extends SavedState {
  readonly version: 1;
  readonly channels: readonly SavedChannel[];
  readonly portB: number;
  readonly refresh: boolean;
}

/** Input-clock ticks elapsed at machine time `ns`: floor(ns * PIT_HZ / 1e9), exact. */
export function ticksAt(ns: number): number {
  const s = Math.floor(ns / 1e9);
  const r = ns - s * 1e9;
  return s * PIT_HZ + Math.floor((r * PIT_HZ) / 1e9);
}

/** The first machine time (ns) at which ticksAt() reaches `tick`. */
export function nsAtTick(tick: number): number {
  const s = Math.floor(tick / PIT_HZ);
  const b = tick - s * PIT_HZ;
  let ns = s * 1e9 + Math.ceil((b * 1e9) / PIT_HZ);
  // Guards the float division; never taken for integer ticks (see tests).
  while (ticksAt(ns) < tick) ns++;
  return ns;
}

const SAVE_VERSION = 1;

/** The 8254 PIT plus port B. */
export class Pit implements VmmDevice {
  readonly id: string;
  readonly pio: IoPart;
  readonly channels: PitChannel[] = [new PitChannel(), new PitChannel(), new PitChannel()];
  private readonly base: number;
  private readonly portB: number | null;
  private readonly timers: TimerQueue;
  private readonly irq: IrqLine;
  private readonly timer: Timer;
  private portBValue = 0;
  private refresh = false;
  private irqMasked = false;
  /** Tick of the last edge delivered on GSI 0. */
  private lastEdge = 0;
  private pulses = 0;
  private coalesced = 0;
  private badAccesses = 0;

  constructor(config: PitConfig, ctx: PitContext, saved?: SavedState) {
    this.id = config.id ?? 'pit';
    this.base = config.base ?? PIT_BASE;
    this.portB = config.portB === undefined ? PORT_B : config.portB;
    this.timers = ctx.timers;
    this.irq = ctx.irq;
    this.timer = new Timer(`${this.id}-ch0`, (now) => this.fire(now));
    const regions = [{ name: 'pit', base: this.base, size: 4 }];
    if (this.portB !== null) regions.push({ name: 'port-b', base: this.portB, size: 1 });
    this.pio = {
      regions,
      read: (addr, size) => this.read(addr, size),
      write: (addr, size, value) => this.write(addr, size, value),
    };
    if (saved) this.restore(saved);
    this.channels[2]!.gate = (this.portBValue & PORTB_GATE2) !== 0;
    this.lastEdge = this.tick();
    this.rearm();
  }

  private tick(): number {
    return ticksAt(this.timers.clock.nowNs());
  }

  // An ISA device sees a wide access as consecutive byte accesses.
  private read(addr: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(addr + i) << (8 * i);
    return v >>> 0;
  }

  private write(addr: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) this.writeByte(addr + i, (value >>> (8 * i)) & 0xff);
  }

  private readByte(port: number): number {
    const off = port - this.base;
    if (off >= 0 && off < PIT_CONTROL) {
      return this.channels[off]!.readByte(this.tick());
    }
    if (port === this.portB) {
      // Real hardware toggles REFRESH every 15 us; toggling per read keeps polling loops moving.
      this.refresh = !this.refresh;
      const out2 = this.channels[2]!.out(this.tick());
      return (this.portBValue & PORTB_WRITABLE) | (this.refresh ? PORTB_REFRESH : 0) | (out2 ? PORTB_OUT2 : 0);
    }
    // The control word register is write-only; other bytes belong to nobody.
    this.badAccesses++;
    return 0xff;
  }

  private writeByte(port: number, v: number): void {
    const off = port - this.base;
    if (off >= 0 && off < PIT_CONTROL) {
      if (off === 0) this.deliverDue();
      this.channels[off]!.writeByte(this.tick(), v);
      if (off === 0) this.rearm();
    } else if (off === PIT_CONTROL) {
      this.writeControl(v);
    } else if (port === this.portB) {
      this.portBValue = v & PORTB_WRITABLE;
      this.channels[2]!.setGate(this.tick(), (v & PORTB_GATE2) !== 0);
    } else {
      this.badAccesses++;
    }
  }

  private writeControl(v: number): void {
    const t = this.tick();
    const sc = v >> CW_SC_SHIFT;
    if (sc === CW_SC_READBACK) {
      for (let i = 0; i < 3; i++) {
        if ((v & (RB_CNT0 << i)) === 0) continue;
        const c = this.channels[i]!;
        // Status is latched first so that a combined command reads status, then count.
        if ((v & RB_NOT_STATUS) === 0) c.latchStatus(t);
        if ((v & RB_NOT_COUNT) === 0) c.latch(t);
      }
      return;
    }
    const c = this.channels[sc]!;
    const rw = (v >> CW_RW_SHIFT) & 3;
    if (rw === RW_LATCH) {
      c.latch(t);
      return;
    }
    if (sc === 0) this.deliverDue();
    c.control(t, (v >> CW_M_SHIFT) & 7, rw, (v & CW_BCD) !== 0);
    if (sc === 0) this.rearm();
  }

  /** Delivers an edge whose time has come before the guest changes counter 0. */
  private deliverDue(): void {
    const now = this.timers.clock.nowNs();
    if (this.timer.armed && this.timer.deadline <= now) {
      this.timers.disarm(this.timer);
      this.fire(now);
    }
  }

  private fire(now: number): void {
    const t = ticksAt(now);
    const ch = this.channels[0]!;
    const rises = ch.risesBetween(this.lastEdge, t);
    if (rises > 0) {
      this.irq.pulse();
      this.pulses++;
      this.coalesced += rises - 1;
    }
    this.lastEdge = t;
    ch.settle(t);
    this.rearm();
  }

  private rearm(): void {
    const t = this.tick();
    const next = this.irqMasked ? Infinity : this.channels[0]!.nextRise(t);
    if (next === Infinity) {
      this.timers.disarm(this.timer);
      this.lastEdge = t;
    } else {
      const deadline = nsAtTick(next);
      // TimerQueue.arm only lowers its cached earliest deadline: moving later needs a disarm first.
      if (this.timer.armed && deadline > this.timer.deadline) this.timers.disarm(this.timer);
      this.timers.arm(this.timer, deadline);
    }
  }

  /**
   * Tells the PIT whether its GSI 0 input is masked at the interrupt
   * controller, so that a masked counter 0 arms no timer. Optional: without
   * it the PIT simply pulses a masked line.
   */
  setIrqMasked(masked: boolean): void {
    if (masked === this.irqMasked) return;
    this.irqMasked = masked;
    if (!masked) this.lastEdge = this.tick();
    this.rearm();
  }

  /** OUT of counter `channel` at machine time `ns` (tests, inspect). */
  outAt(channel: number, ns: number): boolean {
    return this.channels[channel]!.out(ticksAt(ns));
  }

  /** The counting element of `channel` at machine time `ns`, as a read would return it. */
  countAt(channel: number, ns: number): number {
    return this.channels[channel]!.value(ticksAt(ns));
  }

  /** Whether counter 0's timer is armed, and for when (tests). */
  get nextEdgeNs(): number {
    return this.timer.deadline;
  }

  reset(): void {
    const t = this.tick();
    for (let i = 0; i < 3; i++) {
      const c = new PitChannel();
      c.start = t;
      this.channels[i] = c;
    }
    this.portBValue = 0;
    this.channels[2]!.gate = false;
    this.refresh = false;
    this.lastEdge = t;
    this.rearm();
  }

  save(): PitSavedState {
    const t = this.tick();
    return {
      version: SAVE_VERSION,
      channels: this.channels.map((c) => c.save(t)),
      portB: this.portBValue,
      refresh: this.refresh,
    };
  }

  private restore(saved: SavedState): void {
    const s = checkSavedVersion<PitSavedState>(this.id, saved, SAVE_VERSION);
    const t = this.tick();
    if (!Array.isArray(s.channels) || s.channels.length !== 3) {
      throw new RestoreError(this.id, 'saved state needs three channels');
    }
    for (let i = 0; i < 3; i++) {
      const c: unknown = s.channels[i];
      // Fields are checked one by one in PitChannel.restore; the channel itself must be an object.
      if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new RestoreError(this.id, `saved channel ${i} is not an object`);
      this.channels[i] = PitChannel.restore(c as SavedChannel, t);
    }
    this.portBValue = typeof s.portB === 'number' ? s.portB & PORTB_WRITABLE : 0;
    this.refresh = s.refresh === true;
  }

  inspect(): InspectNode {
    const t = this.tick();
    const chans: Record<string, InspectNode> = {};
    this.channels.forEach((c, i) => {
      chans[`ch${i}`] = inspect.tree({
        mode: c.mode,
        phase: c.phase,
        bcd: c.bcd,
        reload: inspect.hex(c.reload),
        count: inspect.hex(c.value(t)),
        out: c.out(t),
        gate: c.gate,
        illegalCounts: inspect.counter(c.illegalCounts),
      });
    });
    return inspect.tree({
      ...chans,
      portB: inspect.hex(this.portBValue),
      irqMasked: this.irqMasked,
      nextEdgeNs: this.timer.armed ? this.timer.deadline : null,
      pulses: inspect.counter(this.pulses),
      coalescedEdges: inspect.counter(this.coalesced),
      badAccesses: inspect.counter(this.badAccesses),
    });
  }
}

/** Builds the PIT, fresh or from a SavedState. */
export const createPit: DeviceFactory<PitConfig, PitContext, Pit> = (config, ctx, saved) => new Pit(config, ctx, saved);
