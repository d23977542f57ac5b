/**
 * Holds every binding of the KVM ABI against the real headers: a generated
 * C program prints sizeof/offsetof/_Alignof of each struct and field we bind
 * and the value of each constant we export; any difference fails, naming it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KType } from '../ffi.js';
import { FlexStruct, fieldsOf } from '../struct.js';
import * as libc from '../libc.js';
import * as constants from './constants.js';
import * as exits from './exits.js';
import * as ioctls from './ioctl-numbers.js';
import { KVM_RUN_LAYOUT, KVM_RUN_SIZE } from './run.js';
import { kvmStructs } from './structs.js';

const HEADERS = ['stdio.h', 'stddef.h', 'fcntl.h', 'poll.h', 'sys/mman.h', 'sys/eventfd.h', 'linux/kvm.h'];

/** Why the C side cannot run here, or null when it can. */
function cUnavailable(dir: string): string | null {
  const probe = join(dir, 'probe.c');
  writeFileSync(probe, '#include <linux/kvm.h>\nint main(void) { return 0; }\n');
  const r = spawnSync('cc', [probe, '-o', join(dir, 'probe')], { encoding: 'utf8' });
  if (r.error) return `no C compiler (cc): ${r.error.message}`;
  if (r.status !== 0) return `cannot compile against <linux/kvm.h>: ${r.stderr.trim().split('\n')[0]}`;
  return null;
}

interface Query {
  key: string;
  expr: string;
}

/** Compiles and runs a program printing {key: value} for each C expression; returns the parsed JSON. */
function askC(dir: string, queries: Query[]): Record<string, number> {
  const lines = queries.map(
    (q, i) => `  printf("%s\\"%s\\": %lld", ${i === 0 ? '""' : '",\\n"'}, ${JSON.stringify(q.key)}, (long long)(${q.expr}));`,
  );
  const src = [
    '#define _GNU_SOURCE',
    ...HEADERS.map((h) => `#include <${h}>`),
    'int main(void) {',
    '  printf("{");',
    ...lines,
    '  printf("}\\n");',
    '  return 0;',
    '}',
    '',
  ].join('\n');
  const cFile = join(dir, 'abi.c');
  const exe = join(dir, 'abi');
  writeFileSync(cFile, src);
  const cc = spawnSync('cc', ['-std=gnu11', '-O0', cFile, '-o', exe], { encoding: 'utf8' });
  assert.equal(cc.status, 0, `generated ABI program does not compile (a binding names something the header lacks?):\n${cc.stderr}`);
  const run = spawnSync(exe, [], { encoding: 'utf8' });
  assert.equal(run.status, 0, `ABI program failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, number>;
}

interface Expectation {
  key: string;
  expr: string;
  ours: number;
}

function isType(v: unknown): v is KType {
  return typeof v === 'object' && v !== null && 'primitive' in v && 'size' in v;
}

/** Every struct and field bound in kvmStructs(), as C expressions and our values. */
function structExpectations(): Expectation[] {
  const out: Expectation[] = [];
  const T = kvmStructs();
  for (const value of Object.values(T)) {
    if (isType(value)) {
      const s = `struct ${value.name}`;
      out.push({ key: `sizeof(${s})`, expr: `sizeof(${s})`, ours: value.size });
      out.push({ key: `_Alignof(${s})`, expr: `_Alignof(${s})`, ours: value.alignment });
      for (const [path, fi] of fieldsOf(value)) {
        out.push({ key: `offsetof(${s}, ${path})`, expr: `offsetof(${s}, ${path})`, ours: fi.offset });
        out.push({ key: `sizeof(${s}.${path})`, expr: `sizeof(((${s} *)0)->${path})`, ours: fi.size });
      }
    } else if (value instanceof FlexStruct) {
      const s = `struct ${value.header.name}`;
      const m = value.entriesName;
      out.push({ key: `offsetof(${s}, ${m})`, expr: `offsetof(${s}, ${m})`, ours: value.entriesOffset });
      out.push({ key: `sizeof(${s}.${m}[0])`, expr: `sizeof(((${s} *)0)->${m}[0])`, ours: value.entry.size });
      // The sized type must put the entries where C does, too.
      out.push({ key: `${s} typeFor(3) entries`, expr: `offsetof(${s}, ${m})`, ours: value.typeFor(3).members![m]!.offset });
    }
  }
  for (const [name, size] of Object.entries(ioctls.KVM_STRUCT_SIZES)) {
    const cType = name.startsWith('__') ? name : `struct ${name}`;
    out.push({ key: `KVM_STRUCT_SIZES.${name}`, expr: `sizeof(${cType})`, ours: size });
    const bound = (T as Record<string, unknown>)[name];
    if (isType(bound)) out.push({ key: `koffi ${name} vs KVM_STRUCT_SIZES`, expr: `sizeof(${cType})`, ours: bound.size });
  }
  return out;
}

function runExpectations(): Expectation[] {
  const out: Expectation[] = [{ key: 'sizeof(struct kvm_run)', expr: 'sizeof(struct kvm_run)', ours: KVM_RUN_SIZE }];
  for (const [path, fi] of Object.entries(KVM_RUN_LAYOUT)) {
    out.push({ key: `offsetof(struct kvm_run, ${path})`, expr: `offsetof(struct kvm_run, ${path})`, ours: fi.offset });
    out.push({ key: `sizeof(kvm_run.${path})`, expr: `sizeof(((struct kvm_run *)0)->${path})`, ours: fi.size });
  }
  return out;
}

function numericExports(mod: Record<string, unknown>, filter: (name: string) => boolean = () => true): [string, number][] {
  return Object.entries(mod).filter((e): e is [string, number] => typeof e[1] === 'number' && filter(e[0]));
}

function constantExpectations(): Expectation[] {
  const pairs: [string, number][] = [
    ...numericExports(exits),
    ...numericExports(constants),
    ...Object.entries(constants.KVM_CAP).map(([k, v]): [string, number] => [`KVM_CAP_${k}`, v]),
    ...numericExports(ioctls).map(([k, v]): [string, number] => [k.startsWith('IOC_') ? `_${k}` : k, v]),
    ...Object.entries(ioctls.KVM_IOCTLS),
    ...numericExports(libc, (n) => /^(O|PROT|MAP|MADV|MFD|EFD|POLL)_/.test(n)),
  ];
  return pairs.map(([name, value]) => ({ key: name, expr: name, ours: value }));
}

function compare(c: Record<string, number>, expected: Expectation[]): string[] {
  const bad: string[] = [];
  for (const e of expected) {
    const theirs = c[e.key];
    if (theirs !== e.ours) bad.push(`${e.key}: header says ${theirs}, binding says ${e.ours}`);
  }
  return bad;
}

test('KVM ABI matches <linux/kvm.h>', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-abi-'));
  try {
    const why = cUnavailable(dir);
    if (why) {
      t.skip(why);
      return;
    }
    const groups = {
      structs: structExpectations(),
      kvm_run: runExpectations(),
      constants: constantExpectations(),
    };
    const all = Object.values(groups).flat();
    const keys = new Set<string>();
    const queries = all.filter((e) => !keys.has(e.key) && keys.add(e.key)).map((e) => ({ key: e.key, expr: e.expr }));
    const c = askC(dir, queries);
    for (const [name, expected] of Object.entries(groups)) {
      await t.test(`${name} (${expected.length} checks)`, () => {
        const bad = compare(c, expected);
        assert.deepEqual(bad, [], `${bad.length} ${name} bindings disagree with the header:\n  ${bad.join('\n  ')}`);
      });
    }
    await t.test('covers what the brief names', () => {
      const names = new Set(queries.map((q) => q.key));
      for (const s of ['kvm_regs', 'kvm_sregs', 'kvm_fpu', 'kvm_cpuid_entry2', 'kvm_msr_entry', 'kvm_userspace_memory_region',
        'kvm_irq_level', 'kvm_pit_config', 'kvm_irqfd', 'kvm_ioeventfd', 'kvm_irq_routing_entry', 'kvm_vcpu_events',
        'kvm_lapic_state', 'kvm_xsave', 'kvm_xcrs', 'kvm_mp_state', 'kvm_clock_data', 'kvm_dirty_log', 'kvm_enable_cap', 'kvm_msi']) {
        assert.ok(names.has(`sizeof(struct ${s})`), `struct ${s} is not checked`);
      }
      for (const p of ['io.data_offset', 'mmio.is_write', 'fail_entry.cpu', 'internal.data', 'system_event.data', 'hypercall.ret', 'ex.error_code']) {
        assert.ok(names.has(`offsetof(struct kvm_run, ${p})`), `kvm_run.${p} is not checked`);
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
