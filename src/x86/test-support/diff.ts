/**
 * Runs cases on the host CPU and on the emulator, each twice (RFLAGS
 * arithmetic bits and DF all clear, then all set), and lists every
 * disagreement outside the bits the case marks undefined.
 */
import type { TestContext } from 'node:test';
import { EmuRunner } from './emu.js';
import { type DiffCase, type DiffResult, TESTED_FLAGS } from './layout.js';
import { nativeHarness, nativeSkipReason, runNative } from './native.js';

const hex = (v: bigint | number) => `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
const NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];

/** Each case with RFLAGS all-zero and all-one. */
export function withFlagVariants(cases: readonly DiffCase[]): DiffCase[] {
  return cases.flatMap((c) => [{ ...c, flags: 0 }, { ...c, flags: TESTED_FLAGS }]);
}

/** Describes how two results differ for a case (empty when they agree). */
export function compare(c: DiffCase, hw: DiffResult, emu: DiffResult): string[] {
  const out: string[] = [];
  if (hw.land !== emu.land) out.push(`landing: host ${hw.land}${hw.land === 'fault' ? ` sig ${hw.sig}` : ''}, emu ${emu.land}${emu.land === 'fault' ? ` sig ${emu.sig}` : ''}`);
  if (hw.land === 'fault' && emu.land === 'fault') {
    if (hw.sig !== emu.sig) out.push(`signal: host ${hw.sig}, emu ${emu.sig}`);
    if (hw.faultRip !== emu.faultRip) out.push(`fault rip: host ${hex(hw.faultRip)}, emu ${hex(emu.faultRip)}`);
  }
  for (let r = 0; r < 16; r++) {
    if (c.undefRegs?.includes(r)) continue;
    if (hw.regs[r] !== emu.regs[r]) out.push(`${NAMES[r]}: host ${hex(hw.regs[r]!)}, emu ${hex(emu.regs[r]!)}`);
  }
  const fm = c.flagMask;
  if ((hw.flags & fm) !== (emu.flags & fm)) out.push(`rflags&${hex(fm)}: host ${hex(hw.flags & fm)}, emu ${hex(emu.flags & fm)}`);
  const hm = hw.mem.join(' ');
  const em = emu.mem.join(' ');
  if (hm !== em) out.push(`memory writes: host [${hm.slice(0, 300)}], emu [${em.slice(0, 300)}]`);
  return out;
}

/** Formats a case for a failure message. */
export function describe(c: DiffCase): string {
  const code = [...c.code].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const regs = c.regs.map((v, r) => `${NAMES[r]}=${hex(v)}`).join(' ');
  const pat = (c.patches ?? []).map((p) => `${hex(p.addr)}:${[...p.bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`).join(' ');
  return `${c.name} [${code}] flags=${hex(c.flags)}${c.target !== undefined ? ` target=+${c.target}` : ''}\n    ${regs}${pat ? `\n    mem ${pat}` : ''}`;
}

let runner: EmuRunner | null = null;

/**
 * Runs `cases` (both flag variants) on both sides; fails the test listing
 * up to 20 disagreements, or skips it when there is no native harness.
 */
export function checkCases(t: TestContext, cases: readonly DiffCase[]): { ran: number; failures: string[] } {
  const exe = nativeHarness();
  if (exe === null) {
    t.skip(`native oracle unavailable: ${nativeSkipReason}`);
    return { ran: 0, failures: [] };
  }
  const all = withFlagVariants(cases);
  t.diagnostic(`${cases.length} cases x 2 flag variants = ${all.length} runs`);
  const hw = runNative(exe, all);
  runner ??= new EmuRunner();
  const failures: string[] = [];
  const byName = new Map<string, number>();
  all.forEach((c, k) => {
    const d = compare(c, hw[k]!, runner!.run(c));
    if (d.length === 0) return;
    failures.push(`${describe(c)}\n    ${d.join('\n    ')}`);
    byName.set(c.name, (byName.get(c.name) ?? 0) + 1);
  });
  // Spread the shown examples over the failing forms: the first failure of each form leads.
  const seen = new Set<string>();
  const firsts = failures.filter((f) => {
    const n = f.slice(0, f.indexOf(' ['));
    if (seen.has(n)) return false;
    seen.add(n);
    return true;
  });
  const summary = [...byName].map(([n, k]) => `${n}: ${k}`).join(', ');
  return { ran: all.length, failures: failures.length ? [`failing forms: ${summary}`, ...firsts, ...failures.filter((f) => !firsts.includes(f))] : [] };
}

/** Throws with the first disagreements, if any. */
export function assertAgree(name: string, r: { ran: number; failures: string[] }): void {
  if (r.failures.length === 0) return;
  const shown = r.failures.slice(0, 20).join('\n');
  throw new Error(`${name}: ${r.failures.length - 1} of ${r.ran} runs disagree with the host CPU\n${shown}`);
}
