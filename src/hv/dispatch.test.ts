import assert from 'node:assert/strict';
import test from 'node:test';
import type { AccessSize, ChipsetDevice } from '../bus/device.js';
import { IoBus } from '../bus/io-bus.js';
import { silentSink } from '../bus/log.js';
import { GuestMemory } from '../memory/guest-memory.js';
import { dispatchIoExit } from './dispatch.js';
import { FakeHypervisor } from './fake.js';
import { ExitReason } from './partition.js';

/** A one-register device per space that remembers writes and answers reads. */
function scratch(id: string, space: 'pio' | 'mmio', base: number, size: number) {
  const writes: string[] = [];
  const dev: ChipsetDevice = {
    id,
    [space]: {
      regions: [{ name: 'r', base, size }],
      read: (addr: number, sz: AccessSize) => (addr === base ? 0xa5a5a5a5 >>> (32 - 8 * sz) : 0x01020304),
      write: (addr: number, sz: AccessSize, v: number) => writes.push(`${addr.toString(16)}/${sz}=${v.toString(16)}`),
    },
  };
  return { dev, writes };
}

test('io and mmio exits of a scripted vCPU are served by the buses; others are left to the caller', () => {
  const memory = GuestMemory.create(1 << 20, { backing: 'shared' });
  const hv = new FakeHypervisor([
    [
      { reason: ExitReason.Io, port: 0xe9, size: 1, write: true, values: [0x68, 0x69] },
      { reason: ExitReason.Io, port: 0x60, size: 1, write: false },
      { reason: ExitReason.Mmio, gpa: 0xd0000000, size: 8, write: true, lo: 0x55667788, hi: 0x11223344 },
      { reason: ExitReason.Mmio, gpa: 0xd0000000, size: 8, write: false },
      { reason: ExitReason.Mmio, gpa: 0xd0000000, size: 2, write: false },
      { reason: ExitReason.SystemEvent, event: 'reset' },
    ],
  ]);
  const part = hv.createPartition({ memory, cpus: 1 });
  const vcpu = part.createVcpu(0);
  const pio = new IoBus('pio', 0x10000, silentSink);
  const mmio = new IoBus('mmio', 2 ** 52, silentSink);
  const con = scratch('debugcon', 'pio', 0xe9, 1);
  const kbd = scratch('kbd', 'pio', 0x60, 1);
  const mm = scratch('mm', 'mmio', 0xd0000000, 8);
  pio.register([con.dev, kbd.dev]);
  mmio.register([mm.dev]);
  const reasons: ExitReason[] = [];
  for (;;) {
    const r = vcpu.run();
    if (dispatchIoExit(vcpu.exit, { pio, mmio })) continue;
    reasons.push(r);
    if (r === ExitReason.Halt) break;
  }
  assert.deepEqual(con.writes, ['e9/1=68', 'e9/1=69']);
  assert.deepEqual(mm.writes, ['d0000000/4=55667788', 'd0000004/4=11223344']);
  assert.deepEqual(
    vcpu.completions.map((c) => c.data),
    [[0xa5], [0xa5a5a5a5, 0x01020304], [0xa5a5]],
  );
  assert.deepEqual(reasons, [ExitReason.SystemEvent, ExitReason.Halt]);
  memory.close();
});
