/**
 * Test support: the runner shared by the differential tests. Each spec
 * (an instruction form and how to fill its state) yields random cases;
 * all cases go through the host harness in one batch and through the
 * emulator one by one; the differences are reported per spec.
 */
import fc from 'fast-check';
import { compareStates, encode, type Form, formArb, type LaneKind, type Masks, partsArb, stateFrom, DISP_ANY } from './sse-testgen.js';
import { type DiffState, flatCpu, runEmu, runHost } from './sse-testkit.js';

/** One instruction form under test. */
export interface Spec {
  name: string;
  pfx: number[];
  op: number[];
  kind: LaneKind;
  /** Allowed operand forms (default both). */
  mem?: boolean;
  reg?: boolean;
  disps?: number[];
  imm?: boolean;
  /** Unmask random MXCSR exceptions (checks #XM faults). */
  unmask?: boolean;
  masks?: Masks;
  /** Adjusts the form before encoding (fixed REX.W, ModRM.reg for groups, ...). */
  fix?: (f: Form) => Form;
  /** Adjusts the state after it is built (x87 stack, RDI, ...). */
  setup?: (s: DiffState, f: Form) => void;
  /** Custom encoder (x87 forms); default encode(pfx, op, form). */
  enc?: (f: Form) => number[];
}

/** Outcome of a run: how many cases, and the failures as readable lines. */
export interface RunReport {
  cases: number;
  failures: string[];
  perSpec: Map<string, number>;
}

const hex = (a: ArrayLike<number>): string => Array.from(a, (b) => (b & 0xff).toString(16).padStart(2, '0')).join(' ');

/**
 * Generates `n` cases per spec (seeded), runs them on host and emulator,
 * and compares. TSVMM_DIFF_SCALE multiplies the case count and
 * TSVMM_DIFF_SEED shifts the seed, for longer hunts than the default run.
 */
export function runSpecs(specs: Spec[], n: number, seed: number): RunReport {
  n *= Number(process.env['TSVMM_DIFF_SCALE'] ?? 1);
  seed += Number(process.env['TSVMM_DIFF_SEED'] ?? 0);
  const cases: Array<{ spec: Spec; state: DiffState }> = [];
  specs.forEach((spec, idx) => {
    const form = formArb(spec.mem ?? true, spec.reg ?? true, spec.disps ?? DISP_ANY, spec.imm ?? false);
    const arb = fc.tuple(form, partsArb(spec.kind, spec.unmask ?? false));
    for (const [f0, parts] of fc.sample(arb, { numRuns: n, seed: seed + idx * 7919 })) {
      const f = spec.fix ? spec.fix(f0) : f0;
      const code = spec.enc ? spec.enc(f) : encode(spec.pfx, spec.op, f);
      const state = stateFrom(code, parts);
      spec.setup?.(state, f);
      cases.push({ spec, state });
    }
  });
  const host = runHost(cases.map((c) => c.state));
  const cpu = flatCpu();
  const failures: string[] = [];
  const perSpec = new Map<string, number>();
  cases.forEach((c, k) => {
    const emu = runEmu(cpu, c.state);
    const diffs = compareStates(host[k]!, emu, c.spec.masks);
    perSpec.set(c.spec.name, (perSpec.get(c.spec.name) ?? 0) + 1);
    if (diffs.length > 0) {
      const mx = new DataView(c.state.fx.buffer).getUint32(24, true);
      failures.push(`${c.spec.name} [${hex(c.state.code)}] mxcsr=0x${mx.toString(16)}: ${diffs.slice(0, 4).join('; ')}`);
    }
  });
  return { cases: cases.length, failures, perSpec };
}

/** Summarises failures per spec (first few lines of each) for an assertion message. */
export function describeFailures(r: RunReport, max = 40): string {
  const bySpec = new Map<string, string[]>();
  for (const f of r.failures) {
    const name = f.slice(0, f.indexOf(' ['));
    const list = bySpec.get(name) ?? [];
    list.push(f);
    bySpec.set(name, list);
  }
  const lines: string[] = [`${r.failures.length} of ${r.cases} cases differ from the host:`];
  for (const [name, list] of bySpec) {
    lines.push(`  ${name}: ${list.length}/${r.perSpec.get(name)}`);
    for (const l of list.slice(0, 3)) lines.push(`    ${l}`);
    if (lines.length > max) break;
  }
  return lines.join('\n');
}
