/**
 * Case generation for the differential tests: a seeded picker, operand
 * values from fast-check mixed with edge values, and a builder that puts
 * operands in registers or memory in every addressing form while keeping
 * every register an address depends on out of the operands' way.
 */
import fc from 'fast-check';
import { BUF, type DiffCase, STACK_TOP } from './layout.js';
import type { MemOp, RegOp } from './encode.js';
import { le } from './encode.js';

const M64 = (1n << 64n) - 1n;

/** Mask of an operand size in bytes. */
export function sizeMask(size: number): bigint {
  return (1n << BigInt(size * 8)) - 1n;
}

/** A seeded pseudo-random picker (mulberry32). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** One element of `xs`. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}

let pool: bigint[] | null = null;

/** Random 64-bit values drawn once from fast-check (deterministic seed). */
function randomPool(): bigint[] {
  pool ??= fc.sample(fc.bigInt({ min: 0n, max: M64 }), { seed: 0x5eed, numRuns: 4096 });
  return pool;
}

/** Edge values of an operand size: 0, 1, -1, the sign boundaries, powers of two and their neighbours. */
export function edges(size: number): bigint[] {
  const m = sizeMask(size);
  const bits = BigInt(size * 8);
  const top = 1n << (bits - 1n);
  const out = [0n, 1n, 2n, m, m - 1n, top, top - 1n, top + 1n, 0x80n, 0x7fn, 0xffn, 0x100n, 0x8000n, 0x7fffn, 0xffffn];
  for (let k = 0n; k < bits; k += 1n + BigInt(Math.floor(Number(bits) / 16))) out.push(1n << k, (1n << k) - 1n);
  return [...new Set(out.map((v) => v & m))];
}

/** An operand value of `size` bytes: an edge value 40% of the time, else random. */
export function value(rng: Rng, size: number): bigint {
  if (rng.chance(0.4)) return rng.pick(edges(size));
  return rng.pick(randomPool()) & sizeMask(size);
}

/** A random full 64-bit register value. */
export function random64(rng: Rng): bigint {
  return rng.pick(randomPool());
}

/** Builds one case: registers, memory patches, operands. */
export class Builder {
  readonly regs: bigint[] = [];
  readonly patches: { addr: number; bytes: Uint8Array }[] = [];
  private readonly free: number[];

  constructor(
    readonly rng: Rng,
    /** Legacy 8-bit register naming only: no REX anywhere (AH..BH usable). */
    readonly noRex = false,
    /** Keep RSP pointing at the test stack (stack instructions). */
    readonly keepRsp = false,
  ) {
    for (let r = 0; r < 16; r++) this.regs.push(random64(rng));
    this.regs[4] = BigInt(STACK_TOP);
    this.free = [];
    for (let r = 0; r < (noRex ? 8 : 16); r++) if (!(keepRsp && r === 4)) this.free.push(r);
  }

  /** Reserves a specific register (an implicit operand). */
  reserve(r: number): void {
    const k = this.free.indexOf(r);
    if (k >= 0) this.free.splice(k, 1);
  }

  /** Takes a free register (one satisfying `ok`, when given). */
  takeReg(ok: (r: number) => boolean = () => true): number {
    const cands = this.free.filter(ok);
    if (cands.length === 0) throw new Error('out of registers');
    const r = this.rng.pick(cands);
    this.free.splice(this.free.indexOf(r), 1);
    return r;
  }

  /** Sets the low `size` bytes of register r (bits 8-15 when hi) to v, keeping the rest random. */
  setReg(r: number, size: number, v: bigint, hi = false): void {
    const shift = hi ? 8n : 0n;
    const m = sizeMask(size) << shift;
    this.regs[r] = (this.regs[r]! & ~m & M64) | ((v << shift) & m);
    // RSP stays canonical: a fault with a non-canonical RSP cannot be returned from on the
    // host, and the emulator's exception frame holds RSP as a double (exact only below 2^53).
    if (r === 4) this.regs[4] = BigInt.asUintN(64, BigInt.asIntN(48, this.regs[4]!));
  }

  /** A register operand of `size` holding v (AH..BH possible in legacy mode, SPL..DIL/R8B.. otherwise). */
  regOperand(size: number, v: bigint): RegOp {
    // Without REX, byte registers 4-7 mean AH..BH: take RAX..RBX and pick low or high byte.
    const r = size === 1 && this.noRex ? this.takeReg((x) => x < 4) : this.takeReg();
    if (size === 1 && this.noRex && this.rng.chance(0.5)) {
      this.setReg(r, 1, v, true);
      return { kind: 'reg', r, hi: true };
    }
    this.setReg(r, size, v);
    return { kind: 'reg', r };
  }

  /** Writes `bytes` at `addr` before the run. */
  poke(addr: number, bytes: readonly number[] | Uint8Array): void {
    this.patches.push({ addr, bytes: Uint8Array.from(bytes) });
  }

  /**
   * A memory operand whose address is `ea` (default: a random spot in the
   * buffer), in a random addressing form; stores `v` there when given.
   */
  memOperand(size: number, v?: bigint, ea = BUF + 16 + this.rng.int(4096 - 48)): MemOp {
    if (v !== undefined) this.poke(ea, le(v, size));
    const rng = this.rng;
    const form = rng.int(this.noRex ? 6 : 7);
    const disp = rng.pick([0, rng.int(256) - 128, rng.int(0x10000) - 0x8000, -0x40000000]);
    switch (form) {
      case 0: { // [base + disp]
        const base = this.takeReg();
        this.regs[base] = BigInt.asUintN(64, BigInt(ea - disp));
        return { kind: 'mem', base, disp, dispSize: rng.pick([undefined, 4] as const) };
      }
      case 1: case 2: { // [base + index*scale + disp], index value possibly huge or negative
        // Not RSP: a huge index makes the base non-canonical, and RSP must stay canonical (see setReg).
        const base = this.takeReg((x) => x !== 4);
        const index = this.takeIndex();
        const scale = rng.int(4);
        const iv = rng.pick([BigInt(rng.int(64)), -BigInt(rng.int(64)), random64(rng) >> 8n, 0n]);
        this.regs[index] = BigInt.asUintN(64, iv);
        this.regs[base] = BigInt.asUintN(64, BigInt(ea - disp) - (iv << BigInt(scale)));
        return { kind: 'mem', base, index, scale, disp };
      }
      case 3: { // [index*scale + disp32], no base
        const index = this.takeIndex();
        const d = rng.pick([0, 0x1000, -0x100000]);
        const rest = BigInt(ea - d);
        let scale = rng.int(4);
        if (rest % (1n << BigInt(scale)) !== 0n) scale = 0;
        this.regs[index] = BigInt.asUintN(64, rest >> BigInt(scale));
        return { kind: 'mem', index, scale, disp: d };
      }
      case 4: // [disp32] absolute (SIB without base or index)
        return { kind: 'mem', disp: ea };
      case 5: { // 32-bit address size: the high halves of base/index must be ignored
        const base = this.takeReg((x) => x !== 4);
        const hiGarbage = random64(rng) & 0xffffffff00000000n;
        this.regs[base] = hiGarbage | BigInt((ea - disp) >>> 0);
        return { kind: 'mem', base, disp, a32: true };
      }
      default: // RIP-relative
        return { kind: 'mem', disp: 0, ripTarget: ea };
    }
  }

  /** A free register usable as an index (anything but RSP). */
  private takeIndex(): number {
    return this.takeReg((x) => x !== 4);
  }

  /** The finished case (flags 0; the runner adds the all-ones twin). */
  build(name: string, code: Uint8Array, flagMask: number, extra: { target?: number; undefRegs?: number[] } = {}): DiffCase {
    return { name, code, flags: 0, regs: [...this.regs], patches: this.patches, flagMask, ...extra };
  }
}
