/**
 * x87 floating point (D8-DF). Chooses the handler for an escape opcode
 * from ModRM (memory forms by reg; register forms by reg and rm) and sets
 * the selector fields the handler reads (i.sub, i.imm2); null means #UD.
 * The undocumented register aliases (FCOM2, FCOMP3, FCOMP5, FXCH4, FXCH7,
 * FSTP1, FSTP8, FSTP9, FFREEP) behave like the instructions they alias.
 */
import type { Handler, Instr } from './instr.js';
import { arithMem, arithReg, fchsAbs, fcmov, fcomi, ftst, fucom, fxam, fxch } from './x87-arith.js';
import { fldcw, fldenv, fnclex, fninit, fnop, fnsave, fnstcw, fnstenv, fnstsw, ffree, fincDec, frstor } from './x87-control.js';
import { fbld, fbstp, fistMem, fldConst, fldMem, fldSt, fstMem, fstSt } from './x87-load.js';
import { binaryTrans, f2xm1, fprem, fptanSincos, frndint, fscale, fsinCos, fsqrt, fxtract } from './x87-trans.js';

export { fwait } from './x87-control.js';

function sel(i: Instr, h: Handler, sub = 0, flags = 0): Handler {
  i.sub = sub;
  i.imm2 = flags;
  return h;
}

// Memory forms, by opcode and ModRM.reg.
function memForm(i: Instr): Handler | null {
  const r = i.ext;
  switch (i.op) {
    case 0xd8: case 0xda: case 0xdc: case 0xde: return arithMem;
    case 0xd9:
      switch (r) {
        case 0: return sel(i, fldMem, 0);
        case 1: return null;
        case 2: return sel(i, fstMem, 0, 0);
        case 3: return sel(i, fstMem, 0, 1);
        case 4: return fldenv;
        case 5: return fldcw;
        case 6: return fnstenv;
        default: return fnstcw;
      }
    case 0xdb:
      switch (r) {
        case 0: return sel(i, fldMem, 4);
        case 1: return sel(i, fistMem, 1, 3);
        case 2: return sel(i, fistMem, 1, 0);
        case 3: return sel(i, fistMem, 1, 1);
        case 5: return sel(i, fldMem, 2);
        case 7: return sel(i, fstMem, 2, 1);
        default: return null;
      }
    case 0xdd:
      switch (r) {
        case 0: return sel(i, fldMem, 1);
        case 1: return sel(i, fistMem, 2, 3);
        case 2: return sel(i, fstMem, 1, 0);
        case 3: return sel(i, fstMem, 1, 1);
        case 4: return frstor;
        case 6: return fnsave;
        case 7: return sel(i, fnstsw, 0);
        default: return null;
      }
    default:
      switch (r) {
        case 0: return sel(i, fldMem, 3);
        case 1: return sel(i, fistMem, 0, 3);
        case 2: return sel(i, fistMem, 0, 0);
        case 3: return sel(i, fistMem, 0, 1);
        case 4: return fbld;
        case 5: return sel(i, fldMem, 5);
        case 6: return fbstp;
        default: return sel(i, fistMem, 2, 1);
      }
  }
}

// D9 E0..FF: one operation per rm.
function d9Misc(i: Instr, r: number, k: number): Handler | null {
  if (r === 4) return k === 0 ? sel(i, fchsAbs, 0) : k === 1 ? sel(i, fchsAbs, 1) : k === 4 ? ftst : k === 5 ? fxam : null;
  if (r === 5) return k < 7 ? sel(i, fldConst, k) : null;
  const table: Array<[Handler, number]> = r === 6
    ? [[f2xm1, 0], [binaryTrans, 0], [fptanSincos, 0], [binaryTrans, 2], [fxtract, 0], [fprem, 1], [fincDec, -1], [fincDec, 1]]
    : [[fprem, 0], [binaryTrans, 1], [fsqrt, 0], [fptanSincos, 1], [frndint, 0], [fscale, 0], [fsinCos, 0], [fsinCos, 1]];
  const [h, sub] = table[k]!;
  return sel(i, h, sub);
}

// Register forms, by opcode, ModRM.reg and ModRM.rm.
function regForm(i: Instr): Handler | null {
  const r = i.ext;
  const k = i.rm & 7;
  switch (i.op) {
    case 0xd8: case 0xdc: return arithReg;
    case 0xd9:
      switch (r) {
        case 0: return fldSt;
        case 1: return fxch;
        case 2: return k === 0 ? fnop : null;
        case 3: return sel(i, fstSt, 0, 1);
        default: return d9Misc(i, r, k);
      }
    case 0xda:
      if (r < 4) return sel(i, fcmov, r);
      return r === 5 && k === 1 ? sel(i, fucom, 2) : null;
    case 0xdb:
      if (r < 4) return sel(i, fcmov, r + 4);
      if (r === 4) return k === 2 ? fnclex : k === 3 ? fninit : k === 0 || k === 1 || k === 4 ? fnop : null;
      return r === 5 ? sel(i, fcomi, 1) : r === 6 ? sel(i, fcomi, 0) : null;
    case 0xdd:
      switch (r) {
        case 0: return sel(i, ffree, 0);
        case 1: return fxch;
        case 2: return sel(i, fstSt, 0, 0);
        case 3: return sel(i, fstSt, 0, 1);
        case 4: return sel(i, fucom, 0);
        case 5: return sel(i, fucom, 1);
        default: return null;
      }
    case 0xde:
      return r === 3 && k !== 1 ? null : arithReg;
    default:
      switch (r) {
        case 0: return sel(i, ffree, 1);
        case 1: return fxch;
        case 2: case 3: return sel(i, fstSt, 0, 1);
        case 4: return k === 0 ? sel(i, fnstsw, 1) : null;
        case 5: return sel(i, fcomi, 3);
        case 6: return sel(i, fcomi, 2);
        default: return null;
      }
  }
}

/** The handler for an x87 escape instruction, or null for #UD. */
export function x87Handler(i: Instr): Handler | null {
  if (i.lock) return null;
  return i.mem ? memForm(i) : regForm(i);
}
