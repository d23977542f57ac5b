/**
 * One local APIC in xAPIC mode (one per vCPU, APIC ID = vCPU index): the
 * register file, IPIs through the ICR, the MSRs IA32_APIC_BASE and
 * IA32_TSC_DEADLINE, save and inspect, over the interrupt logic of
 * core.ts. It is the emulator vCPU's `InterruptSource`. LapicBank
 * (bank.ts) maps the shared MMIO page.
 */
import type { InspectNode, SavedState, VmmDevice } from '../../bus/device.js';
import * as M from '../apic-bus/regs.js';
import { LapicCore } from './core.js';
import * as R from './regs.js';
import { inspectLapic, type LapicSavedState, restoreLapic, saveLapic } from './state.js';
import type { LapicConfig, LapicContext } from './types.js';

/** Re-exported so users of Lapic need one import. */
export type { LapicConfig, LapicContext, LapicCounters } from './types.js';

/** One xAPIC-mode local APIC: a VmmDevice without bus parts (LapicBank maps its page). */
export class Lapic extends LapicCore implements VmmDevice {
  // ---- registers ----

  /** Reads the register at `offset` in the LAPIC page (a 32-bit aligned access). */
  readRegister(offset: number): number {
    switch (offset) {
      case R.APIC_ID:
        return (this.apicId << 24) >>> 0;
      case R.APIC_VERSION:
        return R.LAPIC_VERSION;
      case R.APIC_TPR:
        return this.tpr;
      case R.APIC_APR:
        return this.apr;
      case R.APIC_PPR:
        return this.ppr;
      case R.APIC_EOI:
      case R.APIC_RRD:
        return 0;
      case R.APIC_LDR:
        return this.ldr;
      case R.APIC_DFR:
        return (this.dfr | ~R.DFR_MODEL_MASK) >>> 0;
      case R.APIC_SVR:
        return this.svr;
      case R.APIC_ESR:
        return this.esr;
      case R.APIC_ICR_LO:
        return this.icrLo;
      case R.APIC_ICR_HI:
        return this.icrHi;
      case R.APIC_TIMER_ICR:
        return this.timer.initialCount;
      case R.APIC_TIMER_CCR:
        return this.timer.currentCount();
      case R.APIC_TIMER_DCR:
        return this.timer.divideConfig;
    }
    if (offset >= R.APIC_LVT_TIMER && offset <= R.APIC_LVT_ERROR && (offset & 0xf) === 0) {
      return this.lvt[(offset - R.APIC_LVT_TIMER) >>> 4]!;
    }
    if (offset >= R.APIC_ISR && offset < R.APIC_ESR && (offset & 0xf) === 0) {
      const set = offset < R.APIC_TMR ? this.isr : offset < R.APIC_IRR ? this.tmr : this.irr;
      return set[((offset - R.APIC_ISR) >>> 4) & 7]!;
    }
    this.illegalRegister();
    return 0;
  }

  /** Writes the register at `offset` in the LAPIC page (a 32-bit aligned access). */
  writeRegister(offset: number, value: number): void {
    value >>>= 0;
    switch (offset) {
      case R.APIC_ID:
        this.apicId = value >>> 24;
        return;
      case R.APIC_TPR:
        this.tpr = value & 0xff;
        this.update();
        this.notify();
        return;
      case R.APIC_EOI:
        this.eoi();
        return;
      case R.APIC_LDR:
        this.ldr = (value & 0xff000000) >>> 0;
        return;
      case R.APIC_DFR:
        this.dfr = (value | ~R.DFR_MODEL_MASK) >>> 0;
        return;
      case R.APIC_SVR:
        this.svr = value & R.SVR_WRITABLE;
        // SDM 11.4.7.2: software disable sets every LVT mask bit.
        if (!this.softwareEnabled) for (let i = 0; i < R.LVT_COUNT; i++) this.lvt[i]! |= R.LVT_MASKED;
        this.notify();
        return;
      case R.APIC_ESR:
        // Write-to-latch: the ESR shows what was logged since the last write.
        this.esr = this.esrPending;
        this.esrPending = 0;
        return;
      case R.APIC_ICR_LO:
        this.icrLo = value & R.ICR_LO_WRITABLE;
        this.sendIpi();
        return;
      case R.APIC_ICR_HI:
        this.icrHi = (value & R.ICR_HI_WRITABLE) >>> 0;
        return;
      case R.APIC_TIMER_ICR:
        this.timer.writeInitialCount(value);
        return;
      case R.APIC_TIMER_DCR:
        this.timer.writeDivide(value & R.DCR_WRITABLE);
        return;
      case R.APIC_VERSION:
      case R.APIC_APR:
      case R.APIC_PPR:
      case R.APIC_RRD:
      case R.APIC_TIMER_CCR:
        this.counters.readOnlyWrites++;
        return;
    }
    if (offset >= R.APIC_LVT_TIMER && offset <= R.APIC_LVT_ERROR && (offset & 0xf) === 0) {
      this.writeLvt((offset - R.APIC_LVT_TIMER) >>> 4, value);
    } else if (offset >= R.APIC_ISR && offset < R.APIC_ESR && (offset & 0xf) === 0) {
      this.counters.readOnlyWrites++;
    } else {
      this.illegalRegister();
    }
  }

  private illegalRegister(): void {
    this.counters.illegalRegisters++;
    this.error(R.ESR_ILLEGAL_REGISTER);
  }

  private writeLvt(i: number, value: number): void {
    let writable = R.LVT_WRITABLE[i]!;
    if (i === R.LVT_TIMER && this.tscDeadlineSupported) writable |= R.LVT_TIMER_TSC_BIT;
    const old = this.lvt[i]!;
    let v = value & writable;
    if (!this.softwareEnabled) v |= R.LVT_MASKED;
    if (i === R.LVT_LINT0 || i === R.LVT_LINT1) {
      // Remote IRR is the pin's, not software's; an edge entry has none.
      if (v & R.LVT_TRIGGER_LEVEL) v |= old & R.LVT_REMOTE_IRR;
    }
    this.lvt[i] = v >>> 0;
    if (i === R.LVT_TIMER) this.timer.setMode((v >>> R.LVT_TIMER_MODE_SHIFT) & 3);
    if (i === R.LVT_LINT0 || i === R.LVT_LINT1) this.serviceLint(i, false);
    this.notify();
  }

  // A write to ICR low sends the IPI it describes (SDM 11.6.1).
  private sendIpi(): void {
    const lo = this.icrLo;
    const mode = (lo >>> R.ICR_DELIVERY_SHIFT) & 7;
    const vector = lo & R.ICR_VECTOR;
    const levelTriggered = (lo & R.ICR_TRIGGER_LEVEL) !== 0;
    const assert = (lo & R.ICR_LEVEL_ASSERT) !== 0;
    if (mode === M.DM_INIT && levelTriggered && !assert) {
      // INIT level de-assert only synchronises arbitration IDs.
      this.counters.initDeasserts++;
      return;
    }
    if ((mode === M.DM_FIXED || mode === M.DM_LOWEST_PRIORITY) && vector < 16) {
      this.error(R.ESR_SEND_ILLEGAL_VECTOR);
      return;
    }
    this.counters.ipisSent++;
    this.ctx.router.deliver({
      vector,
      deliveryMode: mode,
      destMode: lo & R.ICR_DEST_LOGICAL ? 'logical' : 'physical',
      dest: this.icrHi >>> 24,
      trigger: levelTriggered ? 'level' : 'edge',
      level: assert || !levelTriggered,
      shorthand: (lo >>> R.ICR_SHORTHAND_SHIFT) & 3,
      source: this.index,
    });
  }

  // ---- MSRs ----

  /**
   * RDMSR of an MSR this LAPIC owns: IA32_APIC_BASE or IA32_TSC_DEADLINE;
   * undefined for others (the CPU raises #GP or looks elsewhere). Values
   * are numbers: exact below 2^53.
   */
  readMsr(index: number): number | undefined {
    if (index === R.MSR_IA32_APIC_BASE) return this.apicBase;
    if (index === R.MSR_IA32_TSC_DEADLINE && this.tscDeadlineSupported) return this.timer.readDeadline();
    return undefined;
  }

  /** WRMSR of an MSR this LAPIC owns; returns false for others. Unsupported bits are counted and ignored. */
  writeMsr(index: number, value: number): boolean {
    if (!Number.isFinite(value) || value < 0) {
      // Not an EDX:EAX pair: a caller's bug, not the guest's.
      this.counters.badMsrValues++;
      return index === R.MSR_IA32_APIC_BASE || (index === R.MSR_IA32_TSC_DEADLINE && this.tscDeadlineSupported);
    }
    if (index === R.MSR_IA32_TSC_DEADLINE && this.tscDeadlineSupported) {
      this.timer.writeDeadline(value);
      return true;
    }
    if (index !== R.MSR_IA32_APIC_BASE) return false;
    const lo = value >>> 0;
    if (value >= 2 ** 32 || (lo & R.APIC_BASE_ADDR_MASK) >>> 0 !== R.LAPIC_BASE) this.counters.apicBaseMoves++;
    if (lo & R.APIC_BASE_EXTD) this.counters.x2apicRequests++;
    const enable = (lo & R.APIC_BASE_ENABLE) !== 0;
    if (enable !== this.hardwareEnabled) {
      this.apicBase = (enable ? this.apicBase | R.APIC_BASE_ENABLE : this.apicBase & ~R.APIC_BASE_ENABLE) >>> 0;
      // Globally disabled, the APIC loses its state; re-enabled, it is as after power-up.
      this.resetRegisters();
    }
    this.notify();
    return true;
  }

  // ---- save / inspect ----

  /** The LAPIC's registers, timer and pending signals. */
  save(): LapicSavedState {
    return saveLapic(this);
  }

  /** Loads a saved state (the factory's restore path). */
  restore(saved: SavedState): void {
    restoreLapic(this, saved);
    this.timer.restore(
      (saved as LapicSavedState).timer ?? ({} as LapicSavedState['timer']),
      (this.lvt[R.LVT_TIMER]! >>> R.LVT_TIMER_MODE_SHIFT) & 3,
    );
    this.update();
  }

  /** Registers, pending signals, timer and counters. */
  inspect(): InspectNode {
    return inspectLapic(this, this.best);
  }
}

/** Builds one LAPIC, fresh or from its SavedState (one path for boot and restore). */
export function createLapic(config: LapicConfig, ctx: LapicContext, saved?: SavedState): Lapic {
  const lapic = new Lapic(config, ctx);
  if (saved !== undefined) lapic.restore(saved);
  return lapic;
}