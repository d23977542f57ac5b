import assert from 'node:assert/strict';
import test from 'node:test';
import { RestoreError } from '../../bus/device.js';
import { IoBus } from '../../bus/io-bus.js';
import { silentSink } from '../../bus/log.js';
import { longModeEntry } from '../../loader/cpu-state.js';
import { GuestMemory } from '../../memory/guest-memory.js';
import { OP_SUB } from '../../x86/flags.js';
import { wrmsr } from '../../x86/msr.js';
import { MSR } from '../../x86/system-regs.js';
import { type CpuSavedState, restoreCpuState, saveCpuState } from './cpu-state.js';
import { EmuVcpu } from './emu-vcpu.js';

function vcpu(index = 0) {
  const memory = GuestMemory.create(4 << 20, { backing: 'shared' });
  const pio = new IoBus('pio', 0x10000, silentSink);
  const mmio = new IoBus('mmio', 2 ** 52, silentSink);
  return new EmuVcpu(index, {
    index, memory, buses: { pio, mmio }, cpus: 2, log: silentSink,
    clock: { tscHz: 1e9, nowNs: () => 5_000_000, bootWallNs: 0 },
  });
}

/** A vCPU in 64-bit mode with unusual values everywhere a snapshot must carry them. */
function busyVcpu(): EmuVcpu {
  const v = vcpu();
  const st = longModeEntry(v.cpu.memory, 0x100000);
  v.setSpecialRegisters(st.sregs);
  v.setRegisters(st.regs);
  const c = v.cpu;
  for (let r = 0; r < 16; r++) {
    c.R[r] = (0x1234567 * (r + 1)) | 0;
    c.H[r] = r % 2 ? -1 : r * 0x1000;
  }
  c.rip = -2130706432 + 0x123; // 0xffffffff81000123
  // Flags pending in the lazy form: a CMP of 1 with 2 (CF, SF, AF, PF set).
  c.flags = 0x202;
  c.setArith(OP_SUB, 4, 1, 2, -1);
  c.segBase[4] = -0x7000_0000_0000; // FS base: a canonical high address
  c.segBase[5] = 0x7fff_f7ff_e000;
  c.segAttr[1] |= 0x60; // CS.DPL 3
  c.setCpl(3);
  c.cr2 = -0x2000;
  c.cr8 = 0xf;
  c.dr[7] = 0x400;
  c.dr[0] = -4096;
  wrmsr(c, MSR.LSTAR, 0x81000000 | 0, -1);
  wrmsr(c, MSR.STAR, 0, 0x00230010);
  wrmsr(c, MSR.KERNEL_GS_BASE, 0x0e000000, -0x80);
  wrmsr(c, MSR.KVM_SYSTEM_TIME_NEW, 0x5000, 0); // disabled: nothing written to memory
  wrmsr(c, MSR.TSC, 123, 0); // a TSC offset (negative: the clock is ahead)
  c.msrs.splitMsrs.set(0xc0010117, [7, 8]);
  const f = c.fpu;
  f.cw = 0x27f;
  f.setStatusWord(0x3800 | 0x21);
  f.valid = 0x81;
  f.raw = 0x80;
  f.st[0] = -0;
  f.stBits[2] = 0x1;
  f.stBits[3] = 0x7ff80000 | 0x1234; // a NaN with a payload
  f.exp[7] = 0xffff;
  f.mm[14] = 0x11223344;
  f.xmm[0] = 0x55aa55aa;
  f.xmm[63] = -1;
  f.mxcsr = 0x9fc0;
  c.halted = true;
  v.waitingForSipi = false;
  return v;
}

test('a vCPU state survives save -> JSON -> restore into a fresh vCPU unchanged', () => {
  const a = busyVcpu();
  const saved = JSON.parse(JSON.stringify(saveCpuState(a))) as CpuSavedState;
  const b = vcpu();
  restoreCpuState(b, saved);
  assert.deepEqual(saveCpuState(b), saved);
  const ca = a.cpu;
  const cb = b.cpu;
  assert.equal(cb.getFlags(), ca.getFlags());
  assert.deepEqual([...cb.R, ...cb.H], [...ca.R, ...ca.H]);
  assert.equal(cb.rip, ca.rip);
  assert.deepEqual([...cb.segBase], [...ca.segBase]);
  assert.equal(cb.mode64, true);
  assert.equal(cb.cpl, 3);
  assert.equal(cb.msrs.tscOffset, ca.msrs.tscOffset);
  assert.ok(Object.is(cb.fpu.st[0], -0));
  assert.deepEqual([...cb.fpu.stBits], [...ca.fpu.stBits]);
  assert.deepEqual(cb.fpu.u8.subarray(0, 384 - 80), ca.fpu.u8.subarray(0, 384 - 80));
  assert.equal(cb.halted, true);
  assert.equal(b.waitingForSipi, false);
});

test('saving reads the lazy flags without materialising them', () => {
  const a = busyVcpu();
  saveCpuState(a);
  assert.equal(a.cpu.fOp, OP_SUB);
});

test('64-bit values are hex strings, the TSC offset a signed decimal', () => {
  const s = saveCpuState(busyVcpu());
  assert.equal(s.rip, '0xffffffff81000123');
  assert.equal(s.msrs.lstar, '0xffffffff81000000');
  assert.equal(s.segments.fs.base, '0xffff900000000000');
  assert.equal(s.msrs.other['0xc0010117'], '0x800000007');
  assert.match(s.msrs.tscOffset, /^-\d+$/);
  assert.equal(s.fpu.st[1], '0x7ff8123400000001');
});

test('an application processor waiting for SIPI stays waiting', () => {
  const ap = vcpu(1);
  assert.equal(ap.waitingForSipi, true);
  const b = vcpu(1);
  b.waitingForSipi = false;
  restoreCpuState(b, JSON.parse(JSON.stringify(saveCpuState(ap))));
  assert.equal(b.waitingForSipi, true);
  assert.equal(b.cpu.segSel[1], 0xf000);
});

test('a malformed or newer state is refused, naming the field, and leaves the vCPU as it was', () => {
  const good = saveCpuState(busyVcpu());
  const cases: Array<[string, (s: Record<string, unknown>) => void, RegExp]> = [
    ['newer version', (s) => (s['version'] = 2), /vcpu0: .*version: 2 is not supported/],
    ['missing gpr', (s) => delete (s['gprs'] as Record<string, unknown>)['r9'], /gprs\.r9: not a 64-bit hex string/],
    ['number for hex', (s) => (s['rip'] = 0x1000), /rip: not a 64-bit hex string/],
    ['too wide', (s) => ((s['segments'] as Record<string, Record<string, unknown>>)['cs']!['selector'] = 0x10000), /segments\.cs\.selector/],
    ['short xmm', (s) => ((s['fpu'] as Record<string, unknown>)['xmm'] = 'abcd'), /fpu\.xmm: not 256 bytes/],
    ['bad msr index', (s) => ((s['msrs'] as Record<string, unknown>)['other'] = { 'c0010117': '0x1' }), /msrs\.other\.c0010117/],
    ['bad tsc offset', (s) => ((s['msrs'] as Record<string, unknown>)['tscOffset'] = 12), /msrs\.tscOffset/],
  ];
  for (const [name, mutate, re] of cases) {
    const s = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
    mutate(s);
    const v = vcpu();
    const before = saveCpuState(v);
    assert.throws(() => restoreCpuState(v, s), (e: Error) => e instanceof RestoreError && re.test(e.message), name);
    assert.deepEqual(saveCpuState(v), before, `${name}: the vCPU changed`);
  }
});
