/**
 * The decoder checked against iced-x86 (an independent decoder): random
 * prefix soup (66 67 F0 F2 F3, segment overrides, REX) in front of every
 * integer opcode we implement, followed by random ModRM/SIB/displacement/
 * immediate bytes. For every encoding iced decodes as a valid 64-bit
 * instruction of our integer subset: ours must not raise #UD, and must
 * agree on length, operand size, memory operand (base, index, scale,
 * displacement, RIP-relative target, segment), immediate and branch target.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Code, Decoder, MemorySize, Mnemonic, OpKind, Register, type Instruction } from 'iced-x86';
import { decode } from './decoder.js';
import { EA } from './ea.js';
import { Instr } from './instr.js';
import { invalidOpcode } from './ops-misc.js';
import { Rng } from './test-support/gen.js';

/** Mnemonics of the integer subset the emulator implements (iced names). */
const SUBSET = new Set([
  'Add', 'Or', 'Adc', 'Sbb', 'And', 'Sub', 'Xor', 'Cmp', 'Test', 'Inc', 'Dec', 'Neg', 'Not',
  'Rol', 'Ror', 'Rcl', 'Rcr', 'Shl', 'Sal', 'Shr', 'Sar', 'Shld', 'Shrd', 'Mul', 'Imul', 'Div', 'Idiv',
  'Bt', 'Bts', 'Btr', 'Btc', 'Bsf', 'Bsr', 'Popcnt', 'Bswap', 'Mov', 'Movzx', 'Movsx', 'Movsxd', 'Lea',
  'Xchg', 'Cmpxchg', 'Xadd', 'Cmpxchg8b', 'Cmpxchg16b', 'Cbw', 'Cwde', 'Cdqe', 'Cwd', 'Cdq', 'Cqo',
  'Lahf', 'Sahf', 'Clc', 'Stc', 'Cmc', 'Cld', 'Std', 'Push', 'Pop', 'Pushf', 'Pushfq', 'Popf', 'Popfq',
  'Movsb', 'Movsw', 'Movsd', 'Movsq', 'Stosb', 'Stosw', 'Stosd', 'Stosq', 'Lodsb', 'Lodsw', 'Lodsd', 'Lodsq',
  'Cmpsb', 'Cmpsw', 'Cmpsd', 'Cmpsq', 'Scasb', 'Scasw', 'Scasd', 'Scasq', 'Loop', 'Loope', 'Loopne',
  'Jrcxz', 'Jecxz', 'Jmp', 'Call', 'Ret', 'Nop', 'Pause', 'Leave', 'Enter', 'Xlatb',
  ...['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'].flatMap((c) => [`J${c}`, `Set${c}`, `Cmov${c}`]),
]);

/** One-byte and 0F opcodes of the integer subset, to put behind the prefixes. */
const OPCODES: number[][] = [];
for (let b = 0; b < 0x40; b++) if ((b & 7) < 6) OPCODES.push([b]);
for (const b of [0x50, 0x58, 0x63, 0x68, 0x69, 0x6a, 0x6b, 0x70, 0x7f, 0x80, 0x81, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8d, 0x8f,
  0x90, 0x91, 0x97, 0x98, 0x99, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
  0xb0, 0xb4, 0xb8, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc6, 0xc7, 0xc8, 0xc9, 0xd0, 0xd1, 0xd2, 0xd3, 0xd7, 0xe0, 0xe1, 0xe2, 0xe3, 0xe8, 0xe9, 0xeb,
  0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfc, 0xfd, 0xfe, 0xff]) OPCODES.push([b]);
for (let b = 0x40; b < 0x50; b++) OPCODES.push([0x0f, b]);
for (let b = 0x80; b < 0xa0; b++) OPCODES.push([0x0f, b]);
for (const b of [0x1f, 0xa3, 0xa4, 0xa5, 0xab, 0xac, 0xad, 0xaf, 0xb0, 0xb1, 0xb3, 0xb6, 0xb7, 0xb8, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc7, 0xc8, 0xcb, 0xcf]) {
  OPCODES.push([0x0f, b]);
}

const PREFIXES = [0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];
const RIP = 0x7fff_0000_1000n;

/** Our register number of an iced GPR (any width), -1 for none, 16 for RIP/EIP. */
function gprNumber(r: Register): number {
  if (r === Register.None) return -1;
  if (r === Register.RIP || r === Register.EIP) return 16;
  const name = Register[r];
  const order = ['AX', 'CX', 'DX', 'BX', 'SP', 'BP', 'SI', 'DI'];
  const m = /^[RE]?([A-Z]{2})$/.exec(name);
  if (m && order.includes(m[1]!)) return order.indexOf(m[1]!);
  const n = /^R(\d+)[DWL]?$/.exec(name);
  if (n) return Number(n[1]);
  throw new Error(`unexpected register ${name}`);
}

/** Width in bytes of an iced general-purpose register (0 if not one). */
function gprSize(r: Register): number {
  const name = Register[r];
  if (/^(AL|CL|DL|BL|AH|CH|DH|BH|SPL|BPL|SIL|DIL|R\d+L)$/.test(name)) return 1;
  if (/^(AX|CX|DX|BX|SP|BP|SI|DI|R\d+W)$/.test(name)) return 2;
  if (/^(E[A-Z]{2}|R\d+D)$/.test(name)) return 4;
  if (/^(R[A-Z]{2}|R\d+)$/.test(name)) return 8;
  return 0;
}

const MEM_SIZES: Record<string, number> = { UInt8: 1, Int8: 1, UInt16: 2, Int16: 2, WordOffset: 2, UInt32: 4, Int32: 4, DwordOffset: 4, UInt64: 8, Int64: 8, QwordOffset: 8 };

/** The operand size iced implies (first GPR or memory operand), or 0 when it has none or it is not comparable. */
function icedOsize(x: Instruction, mnemonic: string): number {
  if (/^(Push|Pop|Call|Jmp|Ret|Enter|Leave|Cmpxchg8b|Cmpxchg16b|Xlatb|Lea|Nop|Bswap)/.test(mnemonic) || mnemonic.startsWith('J') || mnemonic.startsWith('Loop')) return 0;
  for (let k = 0; k < x.opCount; k++) {
    const kind = x.opKind(k);
    if (kind === OpKind.Register) return gprSize(x.opRegister(k));
    if (kind === OpKind.Memory || (kind >= OpKind.MemorySegSI && kind <= OpKind.MemoryESRDI)) return MEM_SIZES[MemorySize[x.memorySize]] ?? 0;
  }
  return 0;
}

test('decoder agrees with iced-x86 on lengths and operands', (t) => {
  const rng = new Rng(10);
  let checked = 0;
  const problems: string[] = [];
  const seenMnemonics = new Set<string>();
  for (let n = 0; n < 150000 && problems.length < 30; n++) {
    const bytes: number[] = [];
    const np = rng.pick([0, 0, 1, 1, 2, 3]);
    for (let k = 0; k < np; k++) bytes.push(rng.pick(PREFIXES));
    if (rng.chance(0.6)) bytes.push(0x40 | rng.int(16));
    bytes.push(...rng.pick(OPCODES));
    for (let k = 0; k < 12; k++) bytes.push(rng.int(256));
    const data = Uint8Array.from(bytes);
    const d = new Decoder(64, data, 0);
    d.ip = RIP;
    const x = d.decode();
    const mnemonic = Mnemonic[x.mnemonic];
    const valid = x.code !== Code.INVALID && SUBSET.has(mnemonic);
    d.free();
    if (!valid) {
      x.free();
      continue;
    }
    seenMnemonics.add(mnemonic);
    checked++;
    const i = new Instr(invalidOpcode, EA.abs!);
    const hex = [...data.subarray(0, x.length)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const where = `${hex} (${Code[x.code]})`;
    try {
      decode({ byte: (lin) => data[lin - Number(RIP)] ?? 0 }, { mode64: true, code32: false, csBase: 0 }, Number(RIP), i);
    } catch (e) {
      problems.push(`${where}: our decoder threw ${String(e)}`);
      x.free();
      continue;
    }
    const bad = (what: string, ours: unknown, theirs: unknown) => problems.push(`${where}: ${what} ours ${String(ours)}, iced ${String(theirs)}`);
    if (i.fn === invalidOpcode) bad('#UD', 'raised', 'valid');
    if (i.len !== x.length) bad('length', i.len, x.length);
    const os = icedOsize(x, mnemonic);
    if (os !== 0 && i.fn !== invalidOpcode && i.osize !== os) bad('operand size', i.osize, os);
    let hasMem = false;
    for (let k = 0; k < x.opCount; k++) {
      const kind = x.opKind(k);
      if (kind === OpKind.Memory) hasMem = true;
      if (kind === OpKind.NearBranch64 && i.target !== Number(x.nearBranchTarget)) bad('branch target', i.target, x.nearBranchTarget);
      // D0-D3 shift by an implicit 1 or CL: iced shows the 1 as an immediate the encoding lacks.
      const implicit = x.opCount > 1 && /_1$/.test(Code[x.code]);
      const imm = !implicit && kind >= OpKind.Immediate8 && kind <= OpKind.Immediate32to64 && kind !== OpKind.Immediate8_2nd ? x.immediate(k) : null;
      if (imm !== null) {
        const bits = kind === OpKind.Immediate8 ? 8 : kind === OpKind.Immediate16 ? 16 : 32;
        const ours = BigInt.asUintN(bits, BigInt(i.imm));
        if (ours !== BigInt.asUintN(bits, imm)) bad('immediate', ours, BigInt.asUintN(bits, imm));
        if ((kind === OpKind.Immediate64 || kind === OpKind.Immediate8to64 || kind === OpKind.Immediate32to64) && BigInt.asUintN(32, BigInt(i.immHi)) !== BigInt.asUintN(32, imm >> 32n)) bad('immediate high half', i.immHi, imm >> 32n);
      }
    }
    // XLAT computes [rBX+AL] itself (no decoded memory operand).
    if (hasMem && mnemonic !== 'Xlatb') {
      if (!i.mem) bad('memory operand', 'none', 'present');
      else {
        const base = gprNumber(x.memoryBase);
        const a32 = i.asize === 4;
        const disp = a32 ? BigInt.asUintN(32, x.memoryDisplacement) : BigInt.asIntN(64, x.memoryDisplacement);
        const ourDisp = a32 ? BigInt.asUintN(32, BigInt(i.disp)) : BigInt(i.disp);
        if ((base === 16 ? -1 : base) !== i.base) bad('base', i.base, Register[x.memoryBase]);
        if (gprNumber(x.memoryIndex) !== i.index) bad('index', i.index, Register[x.memoryIndex]);
        if (i.index >= 0 && 1 << i.scale !== x.memoryIndexScale) bad('scale', 1 << i.scale, x.memoryIndexScale);
        // A 64-bit absolute (moffs) beyond 2^53 is non-canonical: ours is rounded but faults all the same.
        const huge = disp > 1n << 53n || disp < -(1n << 53n);
        if (ourDisp !== disp && !huge) bad(base === 16 ? 'RIP-relative target' : 'displacement', ourDisp, disp);
        const seg = gprSegment(x.memorySegment);
        if (seg !== i.seg) bad('segment', i.seg, Register[x.memorySegment]);
      }
    }
    x.free();
  }
  t.diagnostic(`${checked} encodings checked, ${seenMnemonics.size} mnemonics`);
  assert.deepEqual(problems, []);
  assert.ok(checked > 20000, `only ${checked} encodings were in the subset`);
  assert.ok(seenMnemonics.size > 100, `only ${seenMnemonics.size} mnemonics covered`);
});

function gprSegment(r: Register): number {
  return [Register.ES, Register.CS, Register.SS, Register.DS, Register.FS, Register.GS].indexOf(r);
}
