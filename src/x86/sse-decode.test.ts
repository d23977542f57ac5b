/**
 * The decoder against iced-x86 for every x87 (D8-DF) and SSE/SSE2/MMX
 * (0F map) encoding this CPU routes to sse.ts/x87.ts: every ModRM byte,
 * SIB and displacement forms, each mandatory prefix, with and without REX.
 * An instruction iced attributes only to FPU/MMX/SSE/SSE2/FXSR/CMOV must
 * be implemented with iced's length (ModRM, SIB, displacement, imm8); one
 * that needs a later extension (SSE3, SSSE3, SSE4, ...) must be #UD.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { Code, CpuidFeature, Decoder, DecoderOptions } from 'iced-x86';
import { invalidOpcode } from './ops-misc.js';
import { decodeOne } from './sse-testkit.js';

const ALLOWED = new Set<number>([CpuidFeature.FPU, CpuidFeature.FPU287, CpuidFeature.FPU387, CpuidFeature.MMX, CpuidFeature.SSE,
  CpuidFeature.SSE2, CpuidFeature.FXSR, CpuidFeature.CMOV]);
// FISTTP is SSE3 but implemented on purpose (see x87.ts).
const EXTRA = new Set<number>([Code.Fisttp_m16int, Code.Fisttp_m32int, Code.Fisttp_m64int]);

interface Outcome {
  checked: number;
  implemented: number;
  problems: string[];
}

function check(bytes: number[], out: Outcome): void {
  const buf = Uint8Array.from([...bytes, ...new Array<number>(10).fill(0x11)]);
  const d = new Decoder(64, buf, DecoderOptions.None);
  const ins = d.decode();
  const ours = decodeOne(buf);
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
  out.checked++;
  const features = Array.from(ins.cpuidFeatures());
  const baseline = !ins.isInvalid && (EXTRA.has(ins.code) || features.every((f) => ALLOWED.has(f)));
  const implemented = ours.fn !== invalidOpcode;
  if (implemented) out.implemented++;
  if (implemented && !baseline) {
    out.problems.push(`${hex}: implemented, but iced says ${ins.isInvalid ? 'invalid' : `${Code[ins.code]} needs ${features.map((f) => CpuidFeature[f])}`}`);
  } else if (!implemented && baseline) {
    out.problems.push(`${hex}: #UD, but iced decodes ${Code[ins.code]} (${features.map((f) => CpuidFeature[f])})`);
  } else if (implemented && ins.length !== ours.len) {
    out.problems.push(`${hex}: length ${ours.len}, iced ${ins.length} (${Code[ins.code]})`);
  }
  ins.free();
  d.free();
}

/** ModRM/SIB tails: every ModRM; with rm = 4 two SIB bytes (base RSP, and base 5 = disp32 without base when mod = 0). */
function tails(): number[][] {
  const out: number[][] = [];
  for (let m = 0; m < 256; m++) {
    if ((m & 7) === 4 && m < 0xc0) {
      out.push([m, 0x24], [m, 0x65]);
    } else out.push([m]);
  }
  return out;
}

test('x87 escapes decode to iced-x86 lengths and only baseline instructions are implemented', () => {
  const out: Outcome = { checked: 0, implemented: 0, problems: [] };
  for (let op = 0xd8; op <= 0xdf; op++) {
    for (const pre of [[], [0x66], [0x41], [0x48]]) for (const t of tails()) check([...pre, op, ...t], out);
  }
  assert.deepEqual(out.problems.slice(0, 20), [], `${out.problems.length} problems in ${out.checked} encodings`);
  assert.ok(out.implemented > 5000);
});

test('SSE/SSE2/MMX opcodes decode to iced-x86 lengths and later extensions stay #UD', () => {
  const out: Outcome = { checked: 0, implemented: 0, problems: [] };
  const ops = [0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6];
  for (let op = 0x50; op <= 0x7f; op++) ops.push(op);
  for (let op = 0xd0; op <= 0xff; op++) ops.push(op);
  for (const op of ops) {
    for (const pfx of [[], [0x66], [0xf3], [0xf2]]) {
      for (const rex of [[], [0x48], [0x45]]) {
        for (const t of tails()) check([...pfx, ...rex, 0x0f, op, ...t], out);
      }
    }
  }
  // 0F AE /0-/3 (FXSAVE, FXRSTOR, LDMXCSR, STMXCSR), memory forms; the rest of 0F AE belongs to the opcode table.
  for (const pfx of [[], [0x66], [0xf3], [0xf2]]) {
    for (const rex of [[], [0x48]]) {
      for (const t of tails()) if (t[0]! < 0xc0 && ((t[0]! >> 3) & 7) < 4) check([...pfx, ...rex, 0x0f, 0xae, ...t], out);
    }
  }
  // The 0F 38 and 0F 3A maps are SSSE3 and later.
  for (const map of [0x38, 0x3a]) for (let op = 0; op < 256; op += 5) check([0x66, 0x0f, map, op, 0xc1, 0x00], out);
  assert.deepEqual(out.problems.slice(0, 30), [], `${out.problems.length} problems in ${out.checked} encodings`);
  assert.ok(out.implemented > 50000);
});

test('a LOCK prefix makes SSE and x87 instructions #UD', () => {
  for (const bytes of [[0xf0, 0x0f, 0x58, 0x00], [0xf0, 0x66, 0x0f, 0xef, 0x00], [0xf0, 0xd8, 0x00], [0xf0, 0x0f, 0xae, 0x00]]) {
    assert.equal(decodeOne(Uint8Array.from([...bytes, 0, 0, 0, 0])).fn, invalidOpcode, bytes.join(' '));
  }
});
