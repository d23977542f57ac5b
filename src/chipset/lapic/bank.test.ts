import assert from 'node:assert/strict';
import test from 'node:test';
import { ManualClock, TimerQueue } from '../../bus/clock.js';
import { fuzzDevice } from '../../bus/device-fuzz.js';
import { createApicBus } from '../apic-bus/apic-bus.js';
import { DM_STARTUP } from '../apic-bus/regs.js';
import { createLapicBank } from './bank.js';
import { createLapic } from './lapic.js';

/** Two running LAPICs on an APIC bus, sharing a manual clock. */
function smp(n = 2) {
  const clock = new ManualClock();
  const timers = new TimerQueue(clock);
  const bus = createApicBus();
  const lapics = Array.from({ length: n }, (_, i) => createLapic({ index: i, tscHz: 1e9 }, { timers, router: bus }));
  bus.connect({ lapics, ioapic: null, pic: null });
  for (const l of lapics) {
    l.receive({ vector: 0x10, deliveryMode: DM_STARTUP, destMode: 'physical', dest: l.apicId, trigger: 'edge', level: true });
    l.takeSipi();
    l.writeRegister(0xf0, 0x1ff);
  }
  return { clock, timers, lapics };
}

test('the LAPIC page forwards to the current vCPU; odd accesses are counted and read 0', () => {
  const { lapics } = smp(2);
  const bank = createLapicBank({}, { lapics });
  assert.equal(bank.mmio.read(0xfee00020, 4), 0);
  bank.current = 1;
  assert.equal(bank.mmio.read(0xfee00020, 4), 0x01000000);
  bank.mmio.write(0xfee00080, 4, 0x40);
  assert.equal(lapics[1]!.readRegister(0x80), 0x40);
  assert.equal(lapics[0]!.readRegister(0x80), 0);
  assert.equal(bank.mmio.read(0xfee00020, 1), 0);
  assert.equal(bank.mmio.read(0xfee00024, 4), 0);
  bank.mmio.write(0xfee00080, 2, 0x10);
  assert.equal(lapics[1]!.readRegister(0x80), 0x40);
  assert.equal(bank.badAccesses, 3);
  const copy = createLapicBank({}, { lapics }, JSON.parse(JSON.stringify(bank.save())));
  assert.equal(copy.current, 1);
  lapics[1]!.writeMsr(0x1b, 0xfee00000);
  assert.equal(bank.mmio.read(0xfee00020, 4), 0xffffffff, 'a globally disabled APIC does not decode');
});

test('fuzz: random LAPIC page accesses never throw', () => {
  fuzzDevice(() => {
    const { lapics, timers, clock } = smp(2);
    const bank = createLapicBank({}, { lapics });
    bank.current = 1;
    bank.mmio.write(0xfee00320, 4, 0x20030);
    bank.mmio.write(0xfee00380, 4, 100);
    Object.assign(bank, { timers, clock });
    return bank;
  }, {
    after: (d) => {
      const bank = d as ReturnType<typeof createLapicBank> & { timers: TimerQueue; clock: ManualClock };
      bank.clock.advance(1e6);
      bank.timers.runDue();
      for (const l of [bank.lapic!]) {
        while (l.pending && l.peekInterrupt() >= 0) {
          l.acknowledgeInterrupt(l.peekInterrupt());
          l.writeRegister(0xb0, 0);
        }
        l.takeNmi();
        l.takeInit();
        l.takeSipi();
        assert.ok(l.inspect().children !== undefined);
      }
    },
  });
});
