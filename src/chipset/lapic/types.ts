/**
 * The LAPIC's configuration, context and counters, shared by core.ts and
 * lapic.ts.
 */
import type { TimerQueue } from '../../bus/clock.js';
import type { ApicRouter } from '../apic-bus/message.js';
/** How to build one LAPIC. */
export interface LapicConfig {
  /** vCPU index; also the power-on APIC ID and the source of its IPIs. */
  readonly index: number;
  /** TSC frequency in Hz (TSC-deadline mode; TSC = floor(nowNs * tscHz / 1e9)). */
  readonly tscHz: number;
  /** Timer input clock before the divider, in Hz; default 1e9 (a tick is `divisor` ns). */
  readonly busHz?: number;
  /** Bootstrap processor (IA32_APIC_BASE.BSP; APs start waiting for SIPI). Default: index === 0. */
  readonly bsp?: boolean;
  /** Power on with LINT0 = ExtINT, unmasked (virtual wire). Default: bsp. */
  readonly virtualWire?: boolean;
  /** Whether TSC-deadline mode exists (CPUID.01H:ECX[24] must agree). Default true. */
  readonly tscDeadline?: boolean;
}

/** What a LAPIC needs from the machine. */
export interface LapicContext {
  /** The machine's timers (and through them its clock). */
  readonly timers: TimerQueue;
  /** The APIC bus: IPIs and EOI broadcasts go there. */
  readonly router: ApicRouter;
}

/** Counters shown by inspect. */
export interface LapicCounters {
  illegalRegisters: number;
  readOnlyWrites: number;
  spuriousEois: number;
  spuriousAcks: number;
  badAcks: number;
  droppedDisabled: number;
  ignoredSipis: number;
  unsupportedDelivery: number;
  ipisSent: number;
  initDeasserts: number;
  apicBaseMoves: number;
  x2apicRequests: number;
  badMsrValues: number;
}
