import assert from 'node:assert/strict';
import test from 'node:test';
import { ManualClock, TimerQueue } from '../../bus/clock.js';
import type { ApicMessage, ApicRouter } from '../apic-bus/message.js';
import { DM_FIXED, DM_STARTUP } from '../apic-bus/regs.js';
import { createLapic, Lapic } from './lapic.js';

/** A router that records; LAPIC-only tests use it. */
class RecordingRouter implements ApicRouter {
  readonly messages: ApicMessage[] = [];
  readonly eois: number[] = [];
  deliver(msg: ApicMessage): void {
    this.messages.push(msg);
  }
  broadcastEoi(vector: number): void {
    this.eois.push(vector);
  }
}

/** Starts an AP the way INIT-SIPI-SIPI would leave it: running, not waiting for SIPI. */
function bringUp(l: Lapic): void {
  if (!l.waitingForSipi) return;
  l.receive({ vector: 0x10, deliveryMode: DM_STARTUP, destMode: 'physical', dest: l.apicId, trigger: 'edge', level: true });
  assert.equal(l.takeSipi(), 0x10);
}

function single(index = 1, started = true) {
  const clock = new ManualClock();
  const timers = new TimerQueue(clock);
  const router = new RecordingRouter();
  const lapic = createLapic({ index, tscHz: 1e9 }, { timers, router });
  if (started) bringUp(lapic);
  return { clock, timers, router, lapic };
}

const fixed = (vector: number, trigger: 'edge' | 'level' = 'edge'): ApicMessage => ({
  vector,
  deliveryMode: DM_FIXED,
  destMode: 'physical',
  dest: 0,
  trigger,
  level: true,
});

/** Sends an IPI the way the guest does: ICR high, then ICR low. */
function ipi(l: Lapic, lo: number, dest = 0): void {
  l.writeRegister(0x310, dest << 24);
  l.writeRegister(0x300, lo);
}

test('registers power on with the SDM reset values', () => {
  const { lapic } = single(1, false);
  const expect: [number, number][] = [
    [0x020, 0x01000000],
    [0x030, 0x00050014],
    [0x080, 0],
    [0x090, 0],
    [0x0a0, 0],
    [0x0d0, 0],
    [0x0e0, 0xffffffff],
    [0x0f0, 0x000000ff],
    [0x280, 0],
    [0x300, 0],
    [0x310, 0],
    [0x320, 0x00010000],
    [0x330, 0x00010000],
    [0x340, 0x00010000],
    [0x350, 0x00010000],
    [0x360, 0x00010000],
    [0x370, 0x00010000],
    [0x380, 0],
    [0x390, 0],
    [0x3e0, 0],
  ];
  for (const [off, v] of expect) assert.equal(lapic.readRegister(off), v, `offset 0x${off.toString(16)}`);
  for (let off = 0x100; off < 0x280; off += 0x10) assert.equal(lapic.readRegister(off), 0);
  assert.equal(lapic.readMsr(0x1b), 0xfee00800);
  assert.equal(lapic.waitingForSipi, true, 'an AP waits for SIPI');
});

test('the BSP powers on with the BSP flag and LINT0 in virtual-wire ExtINT mode', () => {
  const { lapic } = single(0);
  assert.equal(lapic.readMsr(0x1b), 0xfee00900);
  assert.equal(lapic.readRegister(0x350), 0x00000700);
  assert.equal(lapic.waitingForSipi, false);
});

test('writable bits: LDR, DFR, SVR, LVTs, DCR, ICR', () => {
  const { lapic } = single();
  lapic.writeRegister(0xd0, 0xffffffff);
  assert.equal(lapic.readRegister(0xd0), 0xff000000);
  lapic.writeRegister(0xe0, 0);
  assert.equal(lapic.readRegister(0xe0), 0x0fffffff);
  lapic.writeRegister(0xf0, 0xffffffff);
  assert.equal(lapic.readRegister(0xf0), 0x3ff);
  lapic.writeRegister(0x320, 0xffffffff);
  assert.equal(lapic.readRegister(0x320), 0x000700ff);
  lapic.writeRegister(0x350, 0xffffffff);
  assert.equal(lapic.readRegister(0x350), 0x0001a7ff);
  lapic.writeRegister(0x370, 0xffffffff);
  assert.equal(lapic.readRegister(0x370), 0x000100ff);
  lapic.writeRegister(0x3e0, 0xffffffff);
  assert.equal(lapic.readRegister(0x3e0), 0xb);
  lapic.writeRegister(0x310, 0xffffffff);
  assert.equal(lapic.readRegister(0x310), 0xff000000);
  lapic.writeRegister(0x030, 0);
  assert.equal(lapic.readRegister(0x030), 0x00050014);
  assert.equal(lapic.counters.readOnlyWrites, 1);
});

test('priority: the highest IRR class above PPR is delivered; TPR and ISR raise PPR', () => {
  const { lapic } = single();
  lapic.writeRegister(0xf0, 0x1ff);
  lapic.receive(fixed(0x31));
  lapic.receive(fixed(0x52));
  assert.equal(lapic.pending, true);
  assert.equal(lapic.peekInterrupt(), 0x52);
  assert.equal(lapic.readRegister(0x200 + 0x10 * 2), (1 << 0x12) >>> 0, 'IRR word 2 holds 0x52');
  lapic.acknowledgeInterrupt(0x52);
  assert.equal(lapic.readRegister(0x100 + 0x10 * 2), (1 << 0x12) >>> 0, 'ISR word 2 holds 0x52');
  assert.equal(lapic.readRegister(0xa0), 0x50, 'PPR = ISR class');
  assert.equal(lapic.peekInterrupt(), -1, '0x31 is below PPR');
  assert.equal(lapic.pending, false);
  assert.equal(lapic.readRegister(0x90), 0x50, 'APR = max(TPR, ISRV, IRRV) classes');
  lapic.writeRegister(0x80, 0x57);
  assert.equal(lapic.readRegister(0xa0), 0x57, 'TPR class equal to the ISR class: PPR = TPR');
  lapic.writeRegister(0x80, 0x4f);
  assert.equal(lapic.readRegister(0xa0), 0x50, 'TPR class below the ISR class: PPR = ISRV[7:4] << 4');
  lapic.writeRegister(0x80, 0);
  lapic.writeRegister(0xb0, 0);
  assert.equal(lapic.readRegister(0xa0), 0);
  assert.equal(lapic.peekInterrupt(), 0x31);
  lapic.writeRegister(0x80, 0x43);
  assert.equal(lapic.readRegister(0xa0), 0x43, 'PPR = TPR when TPR class >= ISR class');
  assert.equal(lapic.peekInterrupt(), -1);
  lapic.writeRegister(0x80, 0x2f);
  assert.equal(lapic.peekInterrupt(), 0x31);
  lapic.writeCr8(3);
  assert.equal(lapic.readRegister(0x80), 0x30);
  assert.equal(lapic.peekInterrupt(), -1, 'same class as TPR is not deliverable');
  assert.equal(lapic.cr8, 3);
});

test('an interrupt in the same class as the one in service waits for its EOI', () => {
  const { lapic } = single();
  lapic.writeRegister(0xf0, 0x1ff);
  lapic.receive(fixed(0x40));
  lapic.acknowledgeInterrupt(0x40);
  lapic.receive(fixed(0x4f));
  assert.equal(lapic.peekInterrupt(), -1);
  lapic.receive(fixed(0x50));
  assert.equal(lapic.peekInterrupt(), 0x50);
  lapic.acknowledgeInterrupt(0x50);
  lapic.writeRegister(0xb0, 0); // retires 0x50, the highest in service
  assert.equal(lapic.peekInterrupt(), -1);
  lapic.writeRegister(0xb0, 0); // retires 0x40
  assert.equal(lapic.peekInterrupt(), 0x4f);
});

test('EOI of a level-triggered vector is broadcast; an edge one is not', () => {
  const { lapic, router } = single();
  lapic.writeRegister(0xf0, 0x1ff);
  lapic.receive(fixed(0x61, 'level'));
  assert.equal(lapic.readRegister(0x180 + 0x10 * 3), 2, 'TMR bit for 0x61');
  lapic.acknowledgeInterrupt(0x61);
  lapic.writeRegister(0xb0, 0);
  assert.deepEqual(router.eois, [0x61]);
  lapic.receive(fixed(0x61));
  assert.equal(lapic.readRegister(0x180 + 0x10 * 3), 0, 'an edge acceptance clears the TMR bit');
  lapic.acknowledgeInterrupt(0x61);
  lapic.writeRegister(0xb0, 0);
  assert.deepEqual(router.eois, [0x61]);
  lapic.writeRegister(0xb0, 0);
  assert.equal(lapic.counters.spuriousEois, 1);
});

test('software-disabled: fixed interrupts are dropped, LVTs stay masked, INTA returns the spurious vector', () => {
  const { lapic } = single();
  lapic.writeRegister(0xf0, 0x1ef); // enabled, spurious vector 0xEF
  lapic.writeRegister(0x350, 0x00000030);
  assert.equal(lapic.readRegister(0x350), 0x30);
  lapic.writeRegister(0xf0, 0x0ef); // software-disable
  assert.equal(lapic.readRegister(0x350), 0x00010030, 'disable masks every LVT');
  lapic.writeRegister(0x320, 0x00000040);
  assert.equal(lapic.readRegister(0x320), 0x00010040, 'the mask cannot be cleared while disabled');
  lapic.receive(fixed(0x45));
  assert.equal(lapic.readRegister(0x200 + 0x20), 0, 'not accepted');
  assert.equal(lapic.peekInterrupt(), -1);
  assert.equal(lapic.interruptAcknowledge(), 0xef);
  assert.equal(lapic.counters.spuriousAcks, 1);
});

test('INTA finds the highest deliverable vector, or the spurious vector once TPR hides it', () => {
  const { lapic } = single();
  lapic.writeRegister(0xf0, 0x1ff);
  lapic.receive(fixed(0x80));
  lapic.writeRegister(0x80, 0x90);
  assert.equal(lapic.interruptAcknowledge(), 0xff);
  lapic.writeRegister(0x80, 0);
  assert.equal(lapic.interruptAcknowledge(), 0x80);
  assert.equal(lapic.readRegister(0x100 + 0x40), 1);
});

test('ESR latches errors on write: illegal vectors sent and received', () => {
  const { lapic, router } = single();
  lapic.writeRegister(0xf0, 0x1ff);
  lapic.writeRegister(0x370, 0xfe); // error LVT vector 0xFE
  ipi(lapic, 0x00000005, 2); // fixed vector 5: illegal
  assert.equal(router.messages.length, 0);
  assert.equal(lapic.readRegister(0x280), 0, 'nothing visible before the latching write');
  lapic.writeRegister(0x280, 0);
  assert.equal(lapic.readRegister(0x280), 0x20);
  lapic.receive(fixed(0x0e));
  lapic.writeRegister(0x280, 0);
  assert.equal(lapic.readRegister(0x280), 0x40);
  lapic.writeRegister(0x280, 0);
  assert.equal(lapic.readRegister(0x280), 0);
  assert.equal(lapic.peekInterrupt(), 0xfe, 'the error LVT raised its vector');
  assert.equal(lapic.readRegister(0x2f0), 0, 'no CMCI LVT: a reserved register');
  lapic.writeRegister(0x280, 0);
  assert.equal(lapic.readRegister(0x280), 0x80);
});

test('a level-triggered LINT0 waits for the EOI of its vector (remote IRR)', () => {
  const { lapic } = single();
  lapic.writeRegister(0xf0, 0x1ff);
  lapic.writeRegister(0x350, 0x8055);
  lapic.setLint(0, true);
  assert.equal(lapic.readRegister(0x350), 0xc055, 'remote IRR set');
  lapic.acknowledgeInterrupt(0x55);
  assert.equal(lapic.peekInterrupt(), -1);
  lapic.writeRegister(0xb0, 0);
  assert.equal(lapic.peekInterrupt(), 0x55, 'still asserted after EOI: delivered again');
});

test('IA32_APIC_BASE: global disable resets the APIC; moving the base is counted', () => {
  const { lapic } = single(0);
  lapic.writeRegister(0xf0, 0x1ff);
  lapic.writeRegister(0x80, 0x30);
  assert.equal(lapic.writeMsr(0x1b, 0xfee00100), true);
  assert.equal(lapic.hardwareEnabled, false);
  lapic.receive(fixed(0x40));
  assert.equal(lapic.peekInterrupt(), -1);
  lapic.writeMsr(0x1b, 0xfee00900);
  assert.equal(lapic.readMsr(0x1b), 0xfee00900);
  assert.equal(lapic.readRegister(0x80), 0, 'state after re-enable is the power-on state');
  assert.equal(lapic.readRegister(0xf0), 0xff);
  lapic.writeMsr(0x1b, 0xfed00900);
  assert.equal(lapic.counters.apicBaseMoves, 1);
  assert.equal(lapic.readMsr(0x1b), 0xfee00900, 'the base does not move');
  lapic.writeMsr(0x1b, 0xfee00d00);
  assert.equal(lapic.counters.x2apicRequests, 1);
  assert.equal(lapic.readMsr(0x10), undefined);
  assert.equal(lapic.writeMsr(0x10, 0), false);
});

test('save, JSON, restore gives the same state and behaviour', () => {
  const { lapic, timers, clock, router } = single();
  lapic.writeRegister(0xf0, 0x1ff);
  lapic.writeRegister(0xd0, 0x08000000);
  lapic.writeRegister(0x80, 0x20);
  lapic.receive(fixed(0x61, 'level'));
  lapic.receive(fixed(0x90));
  lapic.acknowledgeInterrupt(0x90);
  lapic.writeRegister(0x3e0, 0xb);
  lapic.writeRegister(0x320, 0x20040);
  lapic.writeRegister(0x380, 1000);
  clock.advance(300);
  lapic.receive({ ...fixed(0), deliveryMode: 4 });
  const saved = JSON.parse(JSON.stringify(lapic.save()));
  const timers2 = new TimerQueue(clock);
  const copy = createLapic({ index: 1, tscHz: 1e9 }, { timers: timers2, router }, saved);
  assert.deepEqual(copy.save(), lapic.save());
  assert.equal(copy.readRegister(0x390), 700);
  assert.equal(timers2.nextDeadline(), timers.nextDeadline());
  assert.equal(copy.peekInterrupt(), lapic.peekInterrupt());
  assert.equal(copy.takeNmi(), true);
  copy.writeRegister(0xb0, 0);
  assert.equal(copy.peekInterrupt(), 0x61);
  assert.throws(() => createLapic({ index: 1, tscHz: 1e9 }, { timers, router }, { version: 7 }), /version 7/);
});
