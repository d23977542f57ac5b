/**
 * The UART's register state as a plain object, and its saved form: what
 * survives a snapshot, kept apart from the runtime device.
 */
import type { SavedState } from '../../bus/device.js';
import { fromBase64, toBase64 } from './byte-ring.js';
import * as R from './regs.js';

/** Saved-state version this build writes and reads. */
export const SAVE_VERSION = 1;

/** A console with nothing attached still shows carrier, DSR and CTS (as QEMU's chardev). */
export const DEFAULT_HOST_MODEM = R.MSR_DCD | R.MSR_DSR | R.MSR_CTS;

/** Register and interrupt state of one UART. */
export interface UartRegisters {
  ier: number;
  lcr: number;
  mcr: number;
  scr: number;
  dll: number;
  dlm: number;
  /** FCR bits kept: DMA mode and the trigger level (bits 3, 7:6). */
  fcr: number;
  fifoEnabled: boolean;
  /** LSR error bits not yet read. */
  lsrErrors: number;
  /** MSR's upper nibble as last seen (looped back or from the host). */
  msrInputs: number;
  /** MSR's delta bits not yet read. */
  msrDeltas: number;
  /** What the host presents on CTS/DSR/RI/DCD. */
  hostModem: number;
  threPending: boolean;
  timeoutPending: boolean;
  /** What RBR reads when the receiver is empty. */
  lastRbr: number;
}

/** Saved UART state, version 1. */
export interface UartSavedState extends SavedState {
  readonly version: 1;
  readonly regs: { ier: number; lcr: number; mcr: number; scr: number; dll: number; dlm: number; fcr: number };
  readonly fifoEnabled: boolean;
  readonly lsrErrors: number;
  readonly msrInputs: number;
  readonly msrDeltas: number;
  readonly hostModem: number;
  readonly threPending: boolean;
  readonly timeoutPending: boolean;
  /** ns until the character timeout fires, or null. */
  readonly timeoutIn: number | null;
  readonly lastRbr: number;
  /** Receive FIFO contents, base64. */
  readonly rx: string;
  /** Host input not yet in the FIFO, base64. */
  readonly backlog: string;
}

/** Registers at power-on; the divisor is 12 (9600 baud, as a BIOS leaves it). */
export function powerOnRegisters(): UartRegisters {
  return {
    ier: 0,
    lcr: 0,
    mcr: 0,
    scr: 0,
    dll: 0x0c,
    dlm: 0,
    fcr: 0,
    fifoEnabled: false,
    lsrErrors: 0,
    msrInputs: DEFAULT_HOST_MODEM,
    msrDeltas: 0,
    hostModem: DEFAULT_HOST_MODEM,
    threPending: false,
    timeoutPending: false,
    lastRbr: 0,
  };
}

/** What the device holds besides its registers. */
export interface UartQueues {
  readonly timeoutIn: number | null;
  readonly rx: Uint8Array;
  readonly backlog: Uint8Array;
}

/** The saved form of registers plus queues. */
export function saveRegisters(r: UartRegisters, q: UartQueues): UartSavedState {
  return {
    version: SAVE_VERSION,
    regs: { ier: r.ier, lcr: r.lcr, mcr: r.mcr, scr: r.scr, dll: r.dll, dlm: r.dlm, fcr: r.fcr },
    fifoEnabled: r.fifoEnabled,
    lsrErrors: r.lsrErrors,
    msrInputs: r.msrInputs,
    msrDeltas: r.msrDeltas,
    hostModem: r.hostModem,
    threPending: r.threPending,
    timeoutPending: r.timeoutPending,
    timeoutIn: q.timeoutIn,
    lastRbr: r.lastRbr,
    rx: toBase64(q.rx),
    backlog: toBase64(q.backlog),
  };
}

/** Registers and queues from a saved state whose version was checked; bad fields fall back safely. */
export function restoreRegisters(s: UartSavedState): { reg: UartRegisters } & UartQueues {
  const byte = (v: unknown): number => (typeof v === 'number' ? v & 0xff : 0);
  const r = (typeof s.regs === 'object' && s.regs !== null ? s.regs : {}) as Partial<UartSavedState['regs']>;
  const timeoutIn = typeof s.timeoutIn === 'number' && Number.isFinite(s.timeoutIn) ? Math.max(0, s.timeoutIn) : null;
  return {
    reg: {
      ier: byte(r.ier) & R.IER_MASK,
      lcr: byte(r.lcr),
      mcr: byte(r.mcr) & R.MCR_MASK,
      scr: byte(r.scr),
      dll: byte(r.dll),
      dlm: byte(r.dlm),
      fcr: byte(r.fcr) & (R.FCR_DMA | (3 << R.FCR_TRIGGER_SHIFT)),
      fifoEnabled: s.fifoEnabled === true,
      lsrErrors: byte(s.lsrErrors) & R.LSR_ERRORS,
      msrInputs: byte(s.msrInputs) & 0xf0,
      msrDeltas: byte(s.msrDeltas) & R.MSR_DELTAS,
      hostModem: byte(s.hostModem) & 0xf0,
      threPending: s.threPending === true,
      timeoutPending: s.timeoutPending === true,
      lastRbr: byte(s.lastRbr),
    },
    timeoutIn,
    rx: fromBase64(s.rx),
    backlog: fromBase64(s.backlog),
  };
}
