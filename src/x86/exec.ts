/**
 * The executor: decodes straight-line blocks of instructions once, caches
 * them by linear address and mode (validated against the physical page on
 * every entry), runs them, takes interrupts between blocks, and turns
 * faults into exception delivery.
 *
 * DEVNOTE: a block ends at an instruction that may change control flow or
 * CPU mode (its handler sets RIP), at a page boundary, or after
 * MAX_BLOCK instructions; the other instructions never touch RIP. A write
 * to a page holding decoded code drops that page's blocks; if the running
 * block is hit, it stops after the writing instruction (`count` = 0).
 */
import type { InterruptSource } from '../bus/irq.js';
import { noInterrupts } from '../bus/irq.js';
import { type Cpu, CS } from './cpu.js';
import { decode, type ByteSource, type DecodeMode } from './decoder.js';
import { CpuFault, Vec } from './fault.js';
import { IF } from './flags.js';
import { Instr } from './instr.js';
import { deliver, deliverException, Source, TripleFault } from './interrupts.js';
import { ACC_EXEC, translate } from './mmu.js';
import { invalidOpcode } from './ops-misc.js';
import { EA } from './ea.js';

/** Longest block. */
const MAX_BLOCK = 32;
/** Cached blocks before the cache is dropped wholesale. */
const MAX_BLOCKS = 200_000;
/**
 * Cached instructions before the cache is dropped wholesale, as QEMU
 * flushes its translation buffer when full. A decoded Instr costs ~300
 * bytes of heap; Linux's boot decodes ~400k distinct instructions, so this
 * bounds the cache near 180 MiB where 200k blocks allowed ~700 MiB. A
 * bound of 128k instructions, below the boot's working set, made the boot
 * to init 1-3 s slower (re-decoding after each flush).
 */
const MAX_CACHED_INSTRS = 1 << 19;

/** A decoded run of instructions. */
export class Block {
  /** Live instruction count; set to 0 when the block is invalidated. */
  count: number;
  // Two cached successors (e.g. both ways of a conditional branch), valid within one TLB epoch.
  nextKeyA = NaN;
  nextA: Block | null = null;
  epochA = -1;
  nextKeyB = NaN;
  nextB: Block | null = null;
  epochB = -1;
  constructor(
    /** Cache key (linear address * 4 + mode). */
    readonly key: number,
    readonly instrs: Instr[],
    /** Backing offsets of the code page(s) (second is -1 unless the last instruction crosses a page). */
    readonly page: number,
    readonly page2: number,
    /** Guest-physical address of the first byte (validates the linear mapping). */
    readonly phys: number,
    /** The last instruction sets RIP itself. */
    readonly term: boolean,
  ) {
    this.count = instrs.length;
  }
}

/** Where decoding continues after a direct branch that may stay in the block, or null. */
function followAfter(i: Instr): number | null {
  const op = i.op;
  if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f) || (op >= 0xe0 && op <= 0xe3)) return i.next;
  if (op === 0xe8 || op === 0xe9 || op === 0xeb) return i.target;
  return null;
}

/** Why run() returned. */
export const enum RunResult {
  /** The instruction budget was used up (or a stop was requested). */
  Budget = 0,
  /** HLT with no interrupt to take. */
  Halted = 1,
  /** Triple fault: the CPU shut down. */
  Shutdown = 2,
}

/** Fetches instruction bytes through the MMU (execute permission), one page at a time. */
class Fetcher implements ByteSource {
  private pageLin = -1;
  private pageOff = -1;
  private pagePhys = 0;
  private ram = false;
  /** Backing offsets of the pages read while decoding the current block. */
  pages: number[] = [];
  physFirst = -1;

  constructor(private readonly cpu: Cpu) {}

  reset(): void {
    this.pageLin = -1;
    this.pages = [];
    this.physFirst = -1;
  }

  byte(lin: number): number {
    const low = lin & 0xfff;
    const page = lin - low;
    if (page !== this.pageLin) {
      const cpu = this.cpu;
      const phys = translate(cpu, lin, ACC_EXEC, cpu.cpl === 3);
      this.pagePhys = phys - low;
      this.ram = cpu.isRam(this.pagePhys);
      this.pageOff = this.ram ? cpu.ramOffset(this.pagePhys) : -1;
      this.pageLin = page;
      if (this.physFirst < 0) this.physFirst = phys;
      if (this.ram && !this.pages.includes(this.pageOff)) this.pages.push(this.pageOff);
    }
    if (this.ram) return this.cpu.u8[this.pageOff + low]!;
    return this.cpu.physRead(this.pagePhys + low, 1);
  }
}

/** Runs one Cpu. */
/** Entries in the direct-mapped block lookup cache in front of the Map. */
const LOOKUP_SIZE = 1 << 14;

export class Executor {
  private readonly blocks = new Map<number, Block>();
  // Direct-mapped on the key's low bits: most lookups skip the Map (and
  // its hashing of a non-Smi key). Entries are checked, never trusted:
  // a dropped block has count 0.
  private readonly lookupKeys = new Float64Array(LOOKUP_SIZE).fill(-1);
  private readonly lookupBlocks: (Block | null)[] = new Array<Block | null>(LOOKUP_SIZE).fill(null);
  private readonly pageBlocks = new Map<number, Block[]>();
  /** Instructions in live cached blocks (bounded by MAX_CACHED_INSTRS). */
  private cachedInstrs = 0;
  private readonly fetcher: Fetcher;
  private current: Block | null = null;
  /** Instructions retired so far. */
  retired = 0;
  /** Why the last shutdown happened. */
  shutdownReason = '';
  interrupts: InterruptSource = noInterrupts;

  constructor(readonly cpu: Cpu) {
    this.fetcher = new Fetcher(cpu);
    cpu.code.attach(cpu.tlb, (pageOff) => this.invalidatePage(pageOff));
    // Devices writing guest memory (DMA) may overwrite code this CPU decoded.
    cpu.memory.observeWrites((gpa, length) => this.deviceWrote(gpa, length));
  }

  private deviceWrote(gpa: number, length: number): void {
    const cpu = this.cpu;
    const end = gpa + length;
    for (let page = gpa - (gpa % 4096); page < end; page += 4096) {
      if (!cpu.memory.isRam(page, 1)) continue;
      const off = cpu.memory.translate(page, 1);
      if (cpu.isCodePage(off)) cpu.code.written(off);
    }
  }

  /**
   * Drops every cached block (mode switches that change decoding, tests).
   * Page marks stay: other CPUs may still hold code there, and a stale
   * mark only costs a slow-path write until the next write clears it.
   */
  flush(): void {
    for (const b of this.blocks.values()) b.count = 0;
    this.blocks.clear();
    this.pageBlocks.clear();
    // Dropped blocks must not stay reachable from the lookup cache, or their Instrs are never collected.
    this.lookupBlocks.fill(null);
    this.lookupKeys.fill(-1);
    this.cachedInstrs = 0;
  }

  /** Marks a block dead (its count is what every cached reference checks). */
  private drop(b: Block): void {
    if (b.count === 0) return;
    b.count = 0;
    this.cachedInstrs -= b.instrs.length;
  }

  private invalidatePage(pageOff: number): void {
    const list = this.pageBlocks.get(pageOff);
    if (!list) return;
    this.pageBlocks.delete(pageOff);
    for (const b of list) {
      this.drop(b);
      if (this.blocks.get(b.key) === b) this.blocks.delete(b.key);
    }
  }

  /** Cache key: linear address, decode mode and user/supervisor (exec permission differs). */
  private key(): number {
    const cpu = this.cpu;
    const lin = cpu.mode64 ? cpu.rip : cpu.segBase[CS]! + cpu.rip;
    const mode = cpu.mode64 ? 2 : cpu.code32 ? 1 : 0;
    return (lin * 4 + mode) * 2 + (cpu.cpl === 3 ? 1 : 0);
  }

  /** The block to run next: a chained successor of `prev` when still valid, else a lookup. */
  private nextBlock(prev: Block | null): Block {
    const key = this.key();
    const epoch = this.cpu.tlb.epoch;
    if (prev !== null) {
      const a = prev.nextA;
      if (prev.nextKeyA === key && a !== null && a.count > 0 && prev.epochA === epoch) return a;
      const b = prev.nextB;
      if (prev.nextKeyB === key && b !== null && b.count > 0 && prev.epochB === epoch) return b;
    }
    const blk = this.block(key);
    if (prev !== null && prev.count > 0) {
      // Keep the most recent successor in A, the previous one in B.
      prev.nextKeyB = prev.nextKeyA;
      prev.nextB = prev.nextA;
      prev.epochB = prev.epochA;
      prev.nextKeyA = key;
      prev.nextA = blk;
      prev.epochA = epoch;
    }
    return blk;
  }

  /** The block at the current RIP, decoding it if needed. Throws CpuFault on fetch faults. */
  private block(key: number): Block {
    const cpu = this.cpu;
    const lin = cpu.mode64 ? cpu.rip : cpu.segBase[CS]! + cpu.rip;
    const slot = ((key >>> 1) ^ (key >>> 15)) & (LOOKUP_SIZE - 1);
    let b: Block | null | undefined = null;
    if (this.lookupKeys[slot] === key) b = this.lookupBlocks[slot];
    if (b === null || b === undefined || b.count === 0) {
      b = this.blocks.get(key);
      if (b !== undefined) {
        this.lookupKeys[slot] = key;
        this.lookupBlocks[slot] = b;
      }
    }
    if (b !== undefined && b !== null && b.count > 0) {
      // The linear page must still map to the block's physical code (CR3 switches, remaps).
      if (translate(cpu, lin, ACC_EXEC, cpu.cpl === 3) === b.phys) return b;
      this.blocks.delete(key);
      this.drop(b);
    }
    return this.build(key);
  }

  private build(key: number): Block {
    const cpu = this.cpu;
    if (this.blocks.size >= MAX_BLOCKS || this.cachedInstrs >= MAX_CACHED_INSTRS) this.flush();
    const mode: DecodeMode = { mode64: cpu.mode64, code32: cpu.code32, csBase: cpu.mode64 ? 0 : cpu.segBase[CS]! };
    const f = this.fetcher;
    f.reset();
    const instrs: Instr[] = [];
    let rip = cpu.rip;
    let term = false;
    const startLin = mode.csBase + rip;
    const startPage = startLin - (startLin & 0xfff);
    const seen = new Set<number>();
    for (;;) {
      const i = new Instr(invalidOpcode, EA.abs!);
      try {
        decode(f, mode, rip, i);
      } catch (e) {
        // A fault on the first instruction is the guest's; later ones end the block early.
        if (instrs.length === 0) throw e;
        break;
      }
      if (instrs.length > 0) instrs[instrs.length - 1]!.cont = rip;
      instrs.push(i);
      seen.add(rip);
      rip = i.next;
      if (i.ends) {
        // Direct branches do not end the block: it goes on with the target
        // (JMP, CALL) or the fall-through (Jcc, LOOP) while that stays in
        // the page, and the run loop leaves it when the branch goes the other way.
        const follow = followAfter(i);
        if (follow === null) {
          term = true;
          break;
        }
        rip = follow;
      }
      const nextLin = mode.csBase + rip;
      if (instrs.length >= MAX_BLOCK || nextLin - (nextLin & 0xfff) !== startPage || seen.has(rip)) break;
    }
    const pages = f.pages;
    const b = new Block(key, instrs, pages[0] ?? -1, pages[1] ?? -1, f.physFirst, term);
    this.blocks.set(key, b);
    this.cachedInstrs += instrs.length;
    const slot = ((key >>> 1) ^ (key >>> 15)) & (LOOKUP_SIZE - 1);
    this.lookupKeys[slot] = key;
    this.lookupBlocks[slot] = b;
    for (const p of pages) {
      let list = this.pageBlocks.get(p);
      if (!list) this.pageBlocks.set(p, (list = []));
      list.push(b);
      cpu.markCodePage(p, this.physOfOffset(p));
    }
    return b;
  }

  private physOfOffset(off: number): number {
    // Backing offsets map back to GPAs through the RAM regions.
    for (const r of this.cpu.memory.regions) {
      if (off >= r.offset && off < r.offset + r.size) return r.gpa + (off - r.offset);
    }
    return off;
  }

  /**
   * Runs up to `budget` instructions (block granularity). Returns why it
   * stopped; `cpu.stop` set by a handler or device also ends the run.
   */
  run(budget: number): RunResult {
    const cpu = this.cpu;
    let done = 0;
    // Faults taken while fetching retire nothing but must still use up the
    // slice: a guest whose fault handler faults on fetch again (real mode
    // has no double fault) would otherwise keep run() from ever returning.
    let fetchFaults = 0;
    cpu.stop = 0;
    let prev: Block | null = null;
    while (done + fetchFaults < budget) {
      if (cpu.shadow) cpu.shadow = false;
      else if (this.interrupts.pending || cpu.halted) {
        const r = this.checkInterrupts();
        if (r !== null) return r;
        prev = null;
      }
      let b: Block;
      try {
        b = this.nextBlock(prev);
      } catch (e) {
        prev = null;
        fetchFaults++;
        if (!this.fault(e, cpu.rip)) return RunResult.Shutdown;
        continue;
      }
      prev = b;
      this.current = b;
      const instrs = b.instrs;
      let k = 0;
      try {
        // RIP is set to the next instruction before each handler runs: branches
        // overwrite it, everything else needs nothing more, and a fault puts
        // it back to the faulting instruction. A block invalidated by its own
        // write stops with RIP after the writing instruction.
        for (; k < b.count; k++) {
          const i = instrs[k]!;
          cpu.rip = i.next;
          i.fn(cpu, i);
          if (cpu.rip !== i.cont) {
            k++;
            break;
          }
        }
        done += k;
      } catch (e) {
        done += k + 1;
        prev = null;
        if (!this.fault(e, instrs[k]!.rip)) return RunResult.Shutdown;
      }
      if (cpu.stop !== 0) {
        if (cpu.stop === 1) {
          cpu.stop = 0;
          continue;
        }
        break;
      }
    }
    this.retired += done;
    return RunResult.Budget;
  }

  /** Handles an exception thrown by an instruction; false on triple fault. */
  private fault(e: unknown, rip: number): boolean {
    const cpu = this.cpu;
    if (e instanceof CpuFault) {
      cpu.rip = rip;
      try {
        deliverException(cpu, e, rip);
        cpu.halted = false;
        return true;
      } catch (e2) {
        if (e2 instanceof TripleFault) {
          this.shutdownReason = e2.message;
          return false;
        }
        throw e2;
      }
    }
    if (e instanceof TripleFault) {
      this.shutdownReason = e.message;
      return false;
    }
    throw e;
  }

  /** Takes a pending NMI or interrupt; returns Halted when HLT continues. */
  private checkInterrupts(): RunResult | null {
    const cpu = this.cpu;
    const src = this.interrupts;
    if (src.pending) {
      if (src.takeNmi()) {
        cpu.halted = false;
        return this.deliverExternal(Vec.NMI) ? null : RunResult.Shutdown;
      }
      if ((cpu.flags & IF) !== 0) {
        const v = src.peekInterrupt();
        if (v >= 0) {
          src.acknowledgeInterrupt(v);
          cpu.halted = false;
          return this.deliverExternal(v) ? null : RunResult.Shutdown;
        }
      }
    }
    return cpu.halted ? RunResult.Halted : null;
  }

  private deliverExternal(vector: number): boolean {
    try {
      deliver(this.cpu, vector, -1, Source.External, this.cpu.rip);
      return true;
    } catch (e) {
      return this.fault(e, this.cpu.rip);
    }
  }
}
