import assert from 'node:assert/strict';
import test from 'node:test';
import { IoBus } from '../bus/io-bus.js';
import { silentSink } from '../bus/log.js';
import { EmuVcpu } from '../hv/emu/emu-vcpu.js';
import { longModeEntry } from '../loader/cpu-state.js';
import { GuestMemory } from '../memory/guest-memory.js';

/** A 64-bit guest at 1 MiB on a fresh emulated vCPU; port 0xE9 output is collected. */
function machine(code: number[]) {
  const memory = GuestMemory.create(4 << 20, { backing: 'shared' });
  memory.write(0x100000, Uint8Array.from(code));
  const out: number[] = [];
  const pio = new IoBus('pio', 0x10000, silentSink);
  pio.register([{ id: 'con', pio: { regions: [{ name: 'e9', base: 0xe9, size: 1 }], read: () => 0xff, write: (_a, _s, v) => void out.push(v) } }]);
  const vcpu = new EmuVcpu(0, {
    index: 0, memory, buses: { pio, mmio: new IoBus('mmio', 2 ** 52, silentSink) }, cpus: 1, log: silentSink,
    clock: { tscHz: 1e9, nowNs: () => 0, bootWallNs: 0 },
  });
  const st = longModeEntry(memory, 0x100000);
  vcpu.setSpecialRegisters(st.sregs);
  vcpu.setRegisters(st.regs);
  return { memory, vcpu, out };
}

// mov al, 0x41; out 0xe9, al; hlt; jmp back to the start (the HLT exit returns to the test).
const PRINT_A = [0xb0, 0x41, 0xe6, 0xe9, 0xf4, 0xeb, 0xf7];

test('code overwritten by a device (DMA through GuestMemory) is decoded afresh', () => {
  const { memory, vcpu, out } = machine(PRINT_A);
  vcpu.run(); // runs to HLT: prints 'A' and caches the block
  memory.writeU8(0x100001, 0x42); // a device rewrites the immediate: mov al, 'B'
  vcpu.cpu.halted = false; // as an interrupt would: resume after the HLT, jump back, print again
  vcpu.run();
  assert.deepEqual(out, [0x41, 0x42]);
});

test('code the guest itself overwrites is decoded afresh (self-modifying code)', () => {
  // mov byte [rip + to imm], 0x43 ... then the print loop: the store hits the same page.
  const code = [0xc6, 0x05, 0x01, 0x00, 0x00, 0x00, 0x43, ...PRINT_A];
  const { vcpu, out } = machine(code);
  vcpu.run();
  assert.deepEqual(out, [0x43]);
});
