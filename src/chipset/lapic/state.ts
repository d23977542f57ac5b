/**
 * A LAPIC's SavedState and inspect tree, kept apart from the runtime model
 * in lapic.ts (the SavedState is a stable format, the class is not).
 */
import { checkSavedVersion, inspect, type InspectNode, type SavedState } from '../../bus/device.js';
import { highestVector, loadVectorSet } from './bitmap.js';
import type { Lapic } from './lapic.js';
import * as R from './regs.js';
import type { LapicTimerState } from './timer.js';

/** Version 1 of a LAPIC's saved state. */
export interface LapicSavedState extends SavedState {
  readonly version: 1;
  readonly apicId: number;
  /** IA32_APIC_BASE. */
  readonly apicBase: number;
  readonly tpr: number;
  readonly ldr: number;
  readonly dfr: number;
  readonly svr: number;
  /** The ESR as last latched, and errors logged since. */
  readonly esr: number;
  readonly esrPending: number;
  readonly icrLo: number;
  readonly icrHi: number;
  /** 256-bit registers as eight dwords, register order. */
  readonly irr: readonly number[];
  readonly isr: readonly number[];
  readonly tmr: readonly number[];
  /** LVT timer, thermal, perf, LINT0, LINT1, error. */
  readonly lvt: readonly number[];
  readonly timer: LapicTimerState;
  readonly nmiPending: boolean;
  readonly initPending: boolean;
  /** A received SIPI's vector not yet taken, or -1. */
  readonly sipiVector: number;
  readonly waitingForSipi: boolean;
  readonly extIntRequested: boolean;
  readonly lint0: boolean;
  readonly lint1: boolean;
}

const SAVED_VERSION = 1;

/** Builds the SavedState of `l`. */
export function saveLapic(l: Lapic): LapicSavedState {
  return {
    version: SAVED_VERSION,
    apicId: l.apicId,
    apicBase: l.apicBase,
    tpr: l.tpr,
    ldr: l.ldr,
    dfr: l.dfr,
    svr: l.svr,
    esr: l.esr,
    esrPending: l.esrPending,
    icrLo: l.icrLo,
    icrHi: l.icrHi,
    irr: Array.from(l.irr),
    isr: Array.from(l.isr),
    tmr: Array.from(l.tmr),
    lvt: Array.from(l.lvt),
    timer: l.timer.save(),
    nmiPending: l.nmiPending,
    initPending: l.initPending,
    sipiVector: l.sipiVector,
    waitingForSipi: l.waitingForSipi,
    extIntRequested: l.extIntRequested,
    lint0: l.lint0,
    lint1: l.lint1,
  };
}

/** Loads register and signal state into `l` (the timer is restored by the caller, after the LVT). */
export function restoreLapic(l: Lapic, saved: SavedState): void {
  const s = checkSavedVersion<LapicSavedState>(l.id, saved, SAVED_VERSION);
  l.apicId = u32(s.apicId) & 0xff;
  l.apicBase = u32(s.apicBase);
  l.tpr = u32(s.tpr) & 0xff;
  l.ldr = (u32(s.ldr) & 0xff000000) >>> 0;
  l.dfr = (u32(s.dfr) | ~R.DFR_MODEL_MASK) >>> 0;
  l.svr = u32(s.svr) & R.SVR_WRITABLE;
  l.esr = u32(s.esr) & 0xff;
  l.esrPending = u32(s.esrPending) & 0xff;
  l.icrLo = u32(s.icrLo) & R.ICR_LO_WRITABLE;
  l.icrHi = (u32(s.icrHi) & R.ICR_HI_WRITABLE) >>> 0;
  loadVectorSet(l.irr, s.irr);
  loadVectorSet(l.isr, s.isr);
  loadVectorSet(l.tmr, s.tmr);
  for (let i = 0; i < R.LVT_COUNT; i++) {
    const writable = R.LVT_WRITABLE[i]! | (i === R.LVT_TIMER ? R.LVT_TIMER_TSC_BIT : R.LVT_REMOTE_IRR);
    l.lvt[i] = Array.isArray(s.lvt) ? u32(s.lvt[i]) & writable : R.LVT_RESET;
  }
  l.nmiPending = s.nmiPending === true;
  l.initPending = s.initPending === true;
  l.sipiVector = typeof s.sipiVector === 'number' && s.sipiVector >= 0 ? s.sipiVector & 0xff : -1;
  l.waitingForSipi = s.waitingForSipi === true;
  l.extIntRequested = s.extIntRequested === true;
  l.lint0 = s.lint0 === true;
  l.lint1 = s.lint1 === true;
}

/** The inspect tree of `l`; `best` is its currently deliverable vector. */
export function inspectLapic(l: Lapic, best: number): InspectNode {
  const words = (set: Uint32Array): InspectNode => ({ value: Array.from(set, (w) => w.toString(16).padStart(8, '0')).reverse().join(' ') });
  const names = ['timer', 'thermal', 'perf', 'lint0', 'lint1', 'error'];
  const lvt: Record<string, InspectNode> = {};
  names.forEach((n, i) => (lvt[n] = inspect.hex(l.lvt[i]!)));
  const c = l.counters;
  return inspect.tree({
    apicId: l.apicId,
    apicBase: inspect.hex(l.apicBase),
    softwareEnabled: l.softwareEnabled,
    tpr: inspect.hex(l.tpr),
    ppr: inspect.hex(l.ppr),
    ldr: inspect.hex(l.ldr),
    dfr: inspect.hex(l.dfr),
    svr: inspect.hex(l.svr),
    esr: inspect.hex(l.esr),
    icr: inspect.hex(l.icrHi * 2 ** 32 + l.icrLo),
    irr: words(l.irr),
    isr: words(l.isr),
    tmr: words(l.tmr),
    highestIrr: highestVector(l.irr),
    highestIsr: highestVector(l.isr),
    deliverable: best,
    lvt: { children: lvt },
    timer: inspect.tree({
      initialCount: l.timer.initialCount,
      currentCount: l.timer.currentCount(),
      divideConfig: inspect.hex(l.timer.divideConfig),
      tscDeadline: l.timer.tscDeadline,
      deadlineNs: Number.isFinite(l.timer.deadlineNs) ? l.timer.deadlineNs : null,
      fired: inspect.counter(l.timer.fired),
    }),
    nmiPending: l.nmiPending,
    initPending: l.initPending,
    sipiVector: l.sipiVector,
    waitingForSipi: l.waitingForSipi,
    lint0: l.lint0,
    lint1: l.lint1,
    counters: inspect.tree(Object.fromEntries(Object.entries(c).map(([k, v]) => [k, inspect.counter(v)]))),
  });
}

function u32(v: unknown): number {
  return typeof v === 'number' && Number.isInteger(v) ? v >>> 0 : 0;
}
