/**
 * struct kvm_run, the page KVM and the VMM share per vCPU (mmap of the vCPU
 * fd). It is read after every KVM_RUN, so it is described as byte offsets
 * and read through one DataView: no koffi, no decoding, no allocation.
 *
 * Offsets are x86-64's (<linux/kvm.h> of Linux 6.1); abi.test.ts holds each
 * entry of KVM_RUN_LAYOUT against offsetof/sizeof from the C compiler.
 */
import { exitReasonName, KVM_EXIT_FAIL_ENTRY, KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_IO, KVM_EXIT_MMIO, KVM_EXIT_SYSTEM_EVENT } from './exits.js';

/** Where a member of struct kvm_run lives. */
export interface RunField {
  readonly offset: number;
  readonly size: number;
}

const f = (offset: number, size: number): RunField => ({ offset, size });

/**
 * Members of struct kvm_run by C path (offsetof(struct kvm_run, <path>)).
 * "padding" is the anonymous exit union itself (its char padding[256]).
 */
export const KVM_RUN_LAYOUT = Object.freeze({
  request_interrupt_window: f(0, 1),
  immediate_exit: f(1, 1),
  exit_reason: f(8, 4),
  ready_for_interrupt_injection: f(12, 1),
  if_flag: f(13, 1),
  flags: f(14, 2),
  cr8: f(16, 8),
  apic_base: f(24, 8),
  padding: f(32, 256),
  'hw.hardware_exit_reason': f(32, 8),
  'fail_entry.hardware_entry_failure_reason': f(32, 8),
  'fail_entry.cpu': f(40, 4),
  'ex.exception': f(32, 4),
  'ex.error_code': f(36, 4),
  'io.direction': f(32, 1),
  'io.size': f(33, 1),
  'io.port': f(34, 2),
  'io.count': f(36, 4),
  'io.data_offset': f(40, 8),
  'debug.arch.exception': f(32, 4),
  'debug.arch.pc': f(40, 8),
  'debug.arch.dr6': f(48, 8),
  'debug.arch.dr7': f(56, 8),
  'mmio.phys_addr': f(32, 8),
  'mmio.data': f(40, 8),
  'mmio.len': f(48, 4),
  'mmio.is_write': f(52, 1),
  'hypercall.nr': f(32, 8),
  'hypercall.args': f(40, 48),
  'hypercall.ret': f(88, 8),
  'hypercall.longmode': f(96, 4),
  'tpr_access.rip': f(32, 8),
  'tpr_access.is_write': f(40, 4),
  'internal.suberror': f(32, 4),
  'internal.ndata': f(36, 4),
  'internal.data': f(40, 128),
  'emulation_failure.flags': f(40, 8),
  'emulation_failure.insn_size': f(48, 1),
  'emulation_failure.insn_bytes': f(49, 15),
  'system_event.type': f(32, 4),
  'system_event.ndata': f(36, 4),
  'system_event.flags': f(40, 8),
  'system_event.data': f(40, 128),
  'eoi.vector': f(32, 1),
  'msr.error': f(32, 1),
  'msr.reason': f(40, 4),
  'msr.index': f(44, 4),
  'msr.data': f(48, 8),
  'notify.flags': f(32, 4),
  kvm_valid_regs: f(288, 8),
  kvm_dirty_regs: f(296, 8),
  s: f(304, 2048),
  's.regs': f(304, 520),
  's.regs.regs': f(304, 144),
  's.regs.sregs': f(448, 312),
  's.regs.events': f(760, 64),
} satisfies Record<string, RunField>);

/** sizeof(struct kvm_run); the vCPU mapping (KVM_GET_VCPU_MMAP_SIZE) is larger and holds PIO data too. */
export const KVM_RUN_SIZE = 2352;

const L = KVM_RUN_LAYOUT;
const IMMEDIATE_EXIT = L.immediate_exit.offset;
const REQUEST_IRQ_WINDOW = L.request_interrupt_window.offset;
const EXIT_REASON = L.exit_reason.offset;
const READY_FOR_INJECTION = L.ready_for_interrupt_injection.offset;
const IF_FLAG = L.if_flag.offset;
const IO_DIRECTION = L['io.direction'].offset;
const IO_SIZE = L['io.size'].offset;
const IO_PORT = L['io.port'].offset;
const IO_COUNT = L['io.count'].offset;
const IO_DATA_OFFSET = L['io.data_offset'].offset;
const MMIO_PHYS_ADDR = L['mmio.phys_addr'].offset;
const MMIO_DATA = L['mmio.data'].offset;
const MMIO_LEN = L['mmio.len'].offset;
const MMIO_IS_WRITE = L['mmio.is_write'].offset;
const TWO32 = 0x1_0000_0000;

/**
 * A typed window on one vCPU's kvm_run mapping. Getters read the live
 * page, so values are only meaningful between KVM_RUN calls and for the
 * current exit reason. 64-bit fields come in two flavours: numbers (exact
 * below 2^53, which guest physical addresses and ports are) and, for
 * the rare fields that need all 64 bits, BigInts.
 */
export class KvmRun {
  /** The mapping as bytes (PIO data lies past struct kvm_run, at io.data_offset). */
  readonly bytes: Uint8Array;
  /** The mapping as a DataView, little-endian reads only. */
  readonly dv: DataView;

  /** Wraps a view of the vCPU mapping (libc.viewOf(mmap(vcpu fd), KVM_GET_VCPU_MMAP_SIZE)). */
  constructor(buffer: ArrayBuffer | SharedArrayBuffer, byteOffset = 0, byteLength = buffer.byteLength - byteOffset) {
    if (byteLength < KVM_RUN_SIZE) throw new RangeError(`kvm_run needs ${KVM_RUN_SIZE} bytes, got ${byteLength}`);
    this.bytes = new Uint8Array(buffer, byteOffset, byteLength);
    this.dv = new DataView(buffer, byteOffset, byteLength);
  }

  /** An unsigned 64-bit field as a number (exact below 2^53). */
  u64(offset: number): number {
    return this.dv.getUint32(offset, true) + this.dv.getUint32(offset + 4, true) * TWO32;
  }
  /** An unsigned 64-bit field as a BigInt. */
  u64n(offset: number): bigint {
    return this.dv.getBigUint64(offset, true);
  }

  /** KVM_EXIT_* of the last KVM_RUN. */
  get exitReason(): number {
    return this.dv.getUint32(EXIT_REASON, true);
  }
  /** Non-zero makes the next KVM_RUN return at once with EINTR (a kick that cannot be lost). */
  get immediateExit(): number {
    return this.bytes[IMMEDIATE_EXIT]!;
  }
  set immediateExit(v: number) {
    this.bytes[IMMEDIATE_EXIT] = v;
  }
  /** Ask for KVM_EXIT_IRQ_WINDOW_OPEN when the guest can take an interrupt (userspace irqchip). */
  get requestInterruptWindow(): number {
    return this.bytes[REQUEST_IRQ_WINDOW]!;
  }
  set requestInterruptWindow(v: number) {
    this.bytes[REQUEST_IRQ_WINDOW] = v;
  }
  /** Whether KVM_INTERRUPT would be accepted now. */
  get readyForInterruptInjection(): number {
    return this.bytes[READY_FOR_INJECTION]!;
  }
  /** The guest's RFLAGS.IF at exit. */
  get ifFlag(): number {
    return this.bytes[IF_FLAG]!;
  }
  /** KVM_RUN_X86_* flags. */
  get flags(): number {
    return this.dv.getUint16(L.flags.offset, true);
  }
  /** CR8 (task priority) at exit. */
  get cr8(): number {
    return this.u64(L.cr8.offset);
  }
  /** The APIC base MSR at exit. */
  get apicBase(): number {
    return this.u64(L.apic_base.offset);
  }

  /** io.direction: KVM_EXIT_IO_IN or KVM_EXIT_IO_OUT. */
  get ioDirection(): number {
    return this.bytes[IO_DIRECTION]!;
  }
  /** io.size: bytes per access (1, 2 or 4). */
  get ioSize(): number {
    return this.bytes[IO_SIZE]!;
  }
  /** io.port. */
  get ioPort(): number {
    return this.dv.getUint16(IO_PORT, true);
  }
  /** io.count: accesses (more than 1 for REP INS/OUTS). */
  get ioCount(): number {
    return this.dv.getUint32(IO_COUNT, true);
  }
  /** io.data_offset: where in the mapping the data lies. */
  get ioDataOffset(): number {
    return this.u64(IO_DATA_OFFSET);
  }
  /** The i-th value of an OUT (or what an IN will return). */
  ioRead(i = 0): number {
    const size = this.ioSize;
    const at = this.ioDataOffset + i * size;
    return size === 1 ? this.dv.getUint8(at) : size === 2 ? this.dv.getUint16(at, true) : this.dv.getUint32(at, true);
  }
  /** Supplies the i-th value of an IN. */
  ioWrite(i: number, value: number): void {
    const size = this.ioSize;
    const at = this.ioDataOffset + i * size;
    if (size === 1) this.dv.setUint8(at, value);
    else if (size === 2) this.dv.setUint16(at, value, true);
    else this.dv.setUint32(at, value >>> 0, true);
  }

  /** mmio.phys_addr. */
  get mmioPhysAddr(): number {
    return this.u64(MMIO_PHYS_ADDR);
  }
  /** mmio.len: 1, 2, 4 or 8. */
  get mmioLen(): number {
    return this.dv.getUint32(MMIO_LEN, true);
  }
  /** mmio.is_write. */
  get mmioIsWrite(): boolean {
    return this.bytes[MMIO_IS_WRITE] !== 0;
  }
  /** The low `min(len, 4)` bytes of mmio.data as a number (8-byte accesses: also mmioDword(1)). */
  mmioRead(): number {
    const len = this.mmioLen;
    return len === 1 ? this.bytes[MMIO_DATA]! : len === 2 ? this.dv.getUint16(MMIO_DATA, true) : this.dv.getUint32(MMIO_DATA, true);
  }
  /** Sets the result of an MMIO read of mmio.len bytes (up to 4; use setMmioDword for 8). */
  mmioWrite(value: number): void {
    const len = this.mmioLen;
    if (len === 1) this.bytes[MMIO_DATA] = value;
    else if (len === 2) this.dv.setUint16(MMIO_DATA, value, true);
    else this.dv.setUint32(MMIO_DATA, value >>> 0, true);
  }
  /** Dword i (0 or 1) of mmio.data. */
  mmioDword(i: number): number {
    return this.dv.getUint32(MMIO_DATA + 4 * i, true);
  }
  /** Sets dword i (0 or 1) of mmio.data. */
  setMmioDword(i: number, value: number): void {
    this.dv.setUint32(MMIO_DATA + 4 * i, value >>> 0, true);
  }

  /** fail_entry.hardware_entry_failure_reason. */
  get failEntryReason(): bigint {
    return this.u64n(L['fail_entry.hardware_entry_failure_reason'].offset);
  }
  /** fail_entry.cpu. */
  get failEntryCpu(): number {
    return this.dv.getUint32(L['fail_entry.cpu'].offset, true);
  }
  /** ex.exception. */
  get exException(): number {
    return this.dv.getUint32(L['ex.exception'].offset, true);
  }
  /** ex.error_code. */
  get exErrorCode(): number {
    return this.dv.getUint32(L['ex.error_code'].offset, true);
  }
  /** internal.suberror (KVM_INTERNAL_ERROR_*). */
  get internalSuberror(): number {
    return this.dv.getUint32(L['internal.suberror'].offset, true);
  }
  /** internal.ndata: valid entries of internal.data (at most 16). */
  get internalNdata(): number {
    return this.dv.getUint32(L['internal.ndata'].offset, true);
  }
  /** internal.data[i]. */
  internalData(i: number): bigint {
    return this.u64n(L['internal.data'].offset + 8 * i);
  }
  /** system_event.type (KVM_SYSTEM_EVENT_*). */
  get systemEventType(): number {
    return this.dv.getUint32(L['system_event.type'].offset, true);
  }
  /** system_event.ndata: valid entries of system_event.data. */
  get systemEventNdata(): number {
    return this.dv.getUint32(L['system_event.ndata'].offset, true);
  }
  /** system_event.data[i] (data[0] is the old flags field). */
  systemEventData(i: number): bigint {
    return this.u64n(L['system_event.data'].offset + 8 * i);
  }
  /** hypercall.nr. */
  get hypercallNr(): bigint {
    return this.u64n(L['hypercall.nr'].offset);
  }
  /** hypercall.args[i]. */
  hypercallArg(i: number): bigint {
    return this.u64n(L['hypercall.args'].offset + 8 * i);
  }
  /** Sets hypercall.ret (what the guest gets back in RAX). */
  setHypercallRet(v: bigint): void {
    this.dv.setBigUint64(L['hypercall.ret'].offset, v, true);
  }
  /** debug.arch.exception (1 for #DB, 3 for #BP). */
  get debugException(): number {
    return this.dv.getUint32(L['debug.arch.exception'].offset, true);
  }
  /** debug.arch.pc. */
  get debugPc(): bigint {
    return this.u64n(L['debug.arch.pc'].offset);
  }

  /** A one-line description of the current exit, for logs and errors. */
  describe(): string {
    const r = this.exitReason;
    const name = exitReasonName(r);
    switch (r) {
      case KVM_EXIT_IO:
        return `${name} ${this.ioDirection ? 'out' : 'in'} port=0x${this.ioPort.toString(16)} size=${this.ioSize} count=${this.ioCount}`;
      case KVM_EXIT_MMIO:
        return `${name} ${this.mmioIsWrite ? 'write' : 'read'} gpa=0x${this.mmioPhysAddr.toString(16)} len=${this.mmioLen}`;
      case KVM_EXIT_FAIL_ENTRY:
        return `${name} reason=0x${this.failEntryReason.toString(16)} cpu=${this.failEntryCpu}`;
      case KVM_EXIT_INTERNAL_ERROR: {
        const n = Math.min(this.internalNdata, 16);
        const data = Array.from({ length: n }, (_, i) => '0x' + this.internalData(i).toString(16));
        return `${name} suberror=${this.internalSuberror} data=[${data.join(', ')}]`;
      }
      case KVM_EXIT_SYSTEM_EVENT:
        return `${name} type=${this.systemEventType} ndata=${this.systemEventNdata}`;
      default:
        return name;
    }
  }
}
