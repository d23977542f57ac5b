/**
 * The emulator side of the differential tests: one Cpu on a small guest
 * memory in 64-bit mode at CPL 0 with the boot identity map, the same
 * layout as the native harness, HLTs as landing pads. Exceptions go
 * through an IDT whose gates (all IST 1, so the test stack is untouched)
 * point at one HLT per vector; the vector is read back from where the CPU
 * halted and the interrupted RSP/RFLAGS from the exception frame.
 */
import { GuestMemory } from '../../memory/guest-memory.js';
import { longModeEntry } from '../../loader/cpu-state.js';
import { setCpuSpecialRegisters } from '../../hv/emu/registers.js';
import { Cpu } from '../cpu.js';
import { Executor, RunResult } from '../exec.js';
import { hasErrorCode } from '../fault.js';
import {
  CODE_IP, CODE_PAGE, DATA_BASE, DATA_SEED, DATA_SIZE, type DiffCase, type DiffResult, pattern, STACK_BASE, STACK_SEED,
  STACK_SIZE, vectorSignal,
} from './layout.js';

const RAM = 0x200000;
const IDT = 0x140000;
const STUBS = 0x141000;
const IST_TOP = 0x143000;
const HLT = 0xf4;

/** A reusable emulated CPU set up for running single test instructions. */
export class EmuRunner {
  readonly memory = GuestMemory.create(RAM, { backing: 'shared' });
  readonly cpu: Cpu;
  readonly exec: Executor;
  private readonly ram: Uint8Array;
  private readonly data0 = pattern(DATA_SIZE, DATA_SEED);
  private readonly stack0 = pattern(STACK_SIZE, STACK_SEED);

  constructor() {
    const none = { read: (_a: number, size: number) => (size === 4 ? -1 : (1 << (8 * size)) - 1), write: () => {} };
    this.cpu = new Cpu(this.memory, none, none, { tscHz: 1e9, nowNs: () => 0, bootWallNs: 0 });
    this.exec = new Executor(this.cpu);
    this.ram = this.memory.flat();
    const entry = longModeEntry(this.memory, CODE_IP);
    setCpuSpecialRegisters(this.cpu, entry.sregs);
    // 32 interrupt gates: selector 0x08, present, DPL 0, IST 1, handler = STUBS + vector.
    for (let v = 0; v < 32; v++) {
      const off = STUBS + v;
      const g = IDT + v * 16;
      this.memory.writeU64(g, BigInt((off & 0xffff) | (0x08 << 16)) | (BigInt(1 | (0x8e << 8) | (off & 0xffff0000)) << 32n));
      this.memory.writeU64(g + 8, 0n);
      this.ram[STUBS + v] = HLT;
    }
    this.cpu.idtBase = IDT;
    this.cpu.idtLimit = 32 * 16 - 1;
    // The boot TSS is at linear 0: IST1 lives at offset 0x24.
    this.memory.writeU64(0x24, BigInt(IST_TOP));
  }

  /** Runs one case and reports what the emulator did. */
  run(c: DiffCase): DiffResult {
    const ram = this.ram;
    const cpu = this.cpu;
    ram.set(this.data0, DATA_BASE);
    ram.set(this.stack0, STACK_BASE);
    for (const p of c.patches ?? []) ram.set(p.bytes, p.addr);
    const dinit = ram.slice(DATA_BASE, DATA_BASE + DATA_SIZE);
    const sinit = ram.slice(STACK_BASE, STACK_BASE + STACK_SIZE);
    ram.fill(0xcc, CODE_PAGE, CODE_PAGE + 0x1000);
    ram.set(c.code, CODE_IP);
    ram[CODE_IP + c.code.length] = HLT;
    if (c.target !== undefined) ram[CODE_IP + c.target] = HLT;
    this.exec.flush();
    for (let r = 0; r < 16; r++) {
      const v = BigInt.asUintN(64, c.regs[r]!);
      cpu.R[r] = Number(v & 0xffffffffn) | 0;
      cpu.H[r] = Number(v >> 32n) | 0;
    }
    cpu.fOp = 0;
    cpu.flags = (c.flags | 2) & ~0x8028;
    cpu.rip = CODE_IP;
    cpu.halted = false;
    const rr = this.exec.run(100);
    const res: DiffResult = { regs: [], flags: 0, land: 'lost', sig: 0, faultRip: 0, mem: [] };
    const hltAt = cpu.rip - 1;
    for (let r = 0; r < 16; r++) res.regs.push((BigInt(cpu.H[r]! >>> 0) << 32n) | BigInt(cpu.R[r]! >>> 0));
    res.flags = cpu.getFlags();
    if (rr === RunResult.Halted && hltAt >= STUBS && hltAt < STUBS + 32) {
      const vec = hltAt - STUBS;
      let sp = cpu.reg64(4);
      if (hasErrorCode(vec)) sp += 8;
      const q = (k: number) => this.memory.readU64(sp + 8 * k);
      res.land = 'fault';
      res.sig = vectorSignal(vec);
      res.faultRip = Number(q(0));
      res.flags = Number(q(2) & 0xffffffffn);
      res.regs[4] = q(3);
    } else if (rr === RunResult.Halted && hltAt === CODE_IP + c.code.length) res.land = 'next';
    else if (rr === RunResult.Halted && c.target !== undefined && hltAt === CODE_IP + c.target) res.land = 'target';
    diff(ram, dinit, DATA_BASE, res.mem);
    diff(ram, sinit, STACK_BASE, res.mem);
    return res;
  }
}

function diff(ram: Uint8Array, was: Uint8Array, base: number, out: string[]): void {
  for (let i = 0; i < was.length; i++) {
    const v = ram[base + i]!;
    if (v !== was[i]) out.push(`${(base + i).toString(16)}=${v.toString(16)}`);
  }
}
