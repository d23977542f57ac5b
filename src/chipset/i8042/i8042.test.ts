import assert from 'node:assert/strict';
import test from 'node:test';
import { fuzzDevice } from '../../bus/device-fuzz.js';
import type { IrqLine } from '../../bus/irq.js';
import { RecordingMachineControl } from '../../bus/machine.js';
import { createI8042, type I8042 } from './i8042.js';

class LevelLine implements IrqLine {
  level = false;
  edges = 0;
  constructor(readonly gsi: number) {}
  set(level: boolean): void {
    if (level && !this.level) this.edges++;
    this.level = level;
  }
  pulse(): void {
    this.edges++;
  }
}

function setup() {
  const kbdIrq = new LevelLine(1);
  const auxIrq = new LevelLine(12);
  const machine = new RecordingMachineControl();
  const dev = createI8042({}, { kbdIrq, auxIrq, machine });
  return { kbdIrq, auxIrq, machine, dev, ...driver(dev) };
}

/** Linux's __i8042_command and friends, polling the status register. */
function driver(dev: I8042) {
  const status = (): number => dev.pio.read(0x64, 1);
  const data = (): number => dev.pio.read(0x60, 1);
  const waitWrite = (): void => assert.equal(status() & 0x02, 0, 'IBF must never be stuck');
  const waitRead = (): void => assert.equal(status() & 0x01, 0x01, 'a reply is in the output buffer');
  function command(cmd: number, params: number[] = [], replies = 0, auxLoop = false): number[] {
    waitWrite();
    dev.pio.write(0x64, 1, cmd);
    for (const p of params) {
      waitWrite();
      dev.pio.write(0x60, 1, p);
    }
    const out: number[] = [];
    for (let i = 0; i < replies; i++) {
      waitRead();
      if (auxLoop) assert.equal(status() & 0x20, 0x20, 'AUX_LOOP reply carries AUXDATA');
      out.push(data());
    }
    return out;
  }
  function flush(): number[] {
    const out: number[] = [];
    while (status() & 0x01 && out.length < 16) out.push(data());
    return out;
  }
  /** ps2_command through the i8042: a byte to the keyboard (or aux with 0xD4), then its replies. */
  function sendKbd(bytes: number[], replies: number): number[] {
    for (const b of bytes) dev.pio.write(0x60, 1, b);
    return Array.from({ length: replies }, () => (waitRead(), data()));
  }
  function sendAux(bytes: number[], replies: number): number[] {
    for (const b of bytes) command(0xd4, [b]);
    return Array.from({ length: replies }, () => {
      waitRead();
      assert.equal(status() & 0x20, 0x20);
      return data();
    });
  }
  return { status, data, command, flush, sendKbd, sendAux };
}

test('Linux i8042 probe: flush, self-test, command byte, AUX loop and IRQ test, toggle, no MUX', () => {
  const { dev, command, flush, status, data, auxIrq, kbdIrq } = setup();
  assert.deepEqual(flush(), []);
  assert.notEqual(status(), 0xff);
  assert.deepEqual(command(0xaa, [], 1), [0x55]);
  assert.equal(status() & 0x04, 0x04, 'SYS flag after self-test');
  let [ctr] = command(0x20, [], 1);
  assert.equal(ctr, 0x65);
  ctr = (ctr! & ~0x01) | 0x10;
  command(0x60, [ctr]);
  assert.deepEqual(command(0x20, [], 1), [ctr]);
  // i8042_check_aux: internal loopback, then disable/enable must show in CTR bit 5.
  assert.deepEqual(command(0xd3, [0x5a], 1, true), [0x5a]);
  command(0xa7);
  assert.equal(command(0x20, [], 1)[0]! & 0x20, 0x20);
  command(0xa8);
  assert.equal(command(0x20, [], 1)[0]! & 0x20, 0);
  // AUX IRQ delivery test: AUXINT on, 0xD3 0xA5 must raise IRQ 12 with AUXDATA.
  ctr = (ctr & ~0x20) | 0x02;
  command(0x60, [ctr]);
  const edges = auxIrq.edges;
  command(0xd3, [0xa5]);
  assert.equal(auxIrq.level, true);
  assert.equal(auxIrq.edges, edges + 1);
  assert.equal(kbdIrq.level, false);
  assert.equal(status() & 0x21, 0x21);
  assert.equal(data(), 0xa5);
  assert.equal(auxIrq.level, false);
  // i8042_set_mux_mode: the third byte comes back unchanged, so no active multiplexing.
  assert.deepEqual(command(0xd3, [0xf0], 1, true), [0xf0]);
  assert.deepEqual(command(0xd3, [0x56], 1, true), [0x56]);
  assert.deepEqual(command(0xd3, [0xa4], 1, true), [0xa4]);
  assert.deepEqual(command(0xa9, [], 1), [0x00]);
  assert.deepEqual(command(0xab, [], 1), [0x00]);
  assert.equal(dev.pio.read(0x64, 1) & 0x08, 0x08, 'last write was a command');
});

test('atkbd probe: reset, identify (translated and not), LEDs, typematic, enable/disable', () => {
  const { command, sendKbd } = setup();
  assert.deepEqual(sendKbd([0xff], 2), [0xfa, 0xaa]);
  assert.deepEqual(sendKbd([0xf2], 3), [0xfa, 0xab, 0x41]);
  assert.deepEqual(sendKbd([0xed, 0x00], 2), [0xfa, 0xfa]);
  assert.deepEqual(sendKbd([0xf3, 0x00], 2), [0xfa, 0xfa]);
  assert.deepEqual(sendKbd([0xf4], 1), [0xfa]);
  assert.deepEqual(sendKbd([0xf5], 1), [0xfa]);
  assert.deepEqual(sendKbd([0xee], 1), [0xee]);
  assert.deepEqual(sendKbd([0xf0, 0x00], 3), [0xfa, 0xfa, 0x41]);
  assert.deepEqual(sendKbd([0x12], 1), [0xfe], 'unknown command');
  assert.deepEqual(sendKbd([0xfe], 1), [0xfe], 'resend repeats the last byte sent');
  const [ctr] = command(0x20, [], 1);
  command(0x60, [ctr! & ~0x40]);
  assert.deepEqual(sendKbd([0xf2], 3), [0xfa, 0xab, 0x83]);
  assert.deepEqual(sendKbd([0xf0, 0x00], 3), [0xfa, 0xfa, 0x02]);
});

test('psmouse probe through 0xD4: reset, identify, status, rate, wrap mode', () => {
  const { command, sendAux, auxIrq } = setup();
  command(0xa8);
  command(0x60, [0x47]);
  assert.deepEqual(sendAux([0xff], 3), [0xfa, 0xaa, 0x00]);
  assert.deepEqual(sendAux([0xf2], 2), [0xfa, 0x00]);
  assert.deepEqual(sendAux([0xf3, 200, 0xf3, 100, 0xf3, 80], 6), [0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa]);
  assert.deepEqual(sendAux([0xf2], 2), [0xfa, 0x00], 'not an IntelliMouse');
  // Status request: enabled (0x20) and 2:1 scaling (0x10), resolution 3, rate 80.
  assert.deepEqual(sendAux([0xe8, 3, 0xe7, 0xf4, 0xe9], 8), [0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0x30, 3, 80]);
  assert.deepEqual(sendAux([0xee, 0x12, 0xec], 3), [0xfa, 0x12, 0xfa]);
  assert.deepEqual(sendAux([0xeb], 4), [0xfa, 0x08, 0x00, 0x00]);
  assert.ok(auxIrq.edges >= 20, 'each aux byte raised IRQ 12');
});

test('reset: command 0xFE and output port bit 0 low request a machine reset; 0xFF does not', () => {
  const { command, machine } = setup();
  command(0xff);
  assert.deepEqual(machine.requests, []);
  command(0xfe);
  assert.deepEqual(machine.requests, [{ kind: 'reset', source: 'i8042' }]);
  const [out] = command(0xd0, [], 1);
  assert.equal(out! & 0x03, 0x03, 'reset inactive, A20 on');
  command(0xd1, [out! | 0x01]);
  assert.equal(machine.requests.length, 1);
  command(0xd1, [out! & ~0x01]);
  assert.deepEqual(machine.requests[1], { kind: 'reset', source: 'i8042' });
  command(0xf0); // pulses bits 0..3: includes reset
  assert.equal(machine.requests.length, 3);
});

test('interrupts follow the command byte; queued bytes each raise a new edge', () => {
  const { command, data, kbdIrq, sendKbd } = setup();
  command(0x60, [0x64]); // KBDINT off
  sendKbd([0xff], 0);
  assert.equal(kbdIrq.level, false);
  command(0x60, [0x65]); // enabling with a byte waiting raises the line
  assert.equal(kbdIrq.level, true);
  const e = kbdIrq.edges;
  assert.equal(data(), 0xfa);
  assert.equal(kbdIrq.level, true);
  assert.equal(kbdIrq.edges, e + 1, 'the second byte is a new edge');
  assert.equal(data(), 0xaa);
  assert.equal(kbdIrq.level, false);
});

test('a disabled keyboard interface holds keyboard bytes; controller replies still come', () => {
  const { command, status, data, dev } = setup();
  command(0xad);
  dev.pio.write(0x60, 1, 0xf2);
  assert.equal(status() & 0x01, 0);
  assert.deepEqual(command(0x20, [], 1), [0x75]);
  command(0xae);
  assert.deepEqual([data(), data(), data()], [0xfa, 0xab, 0x41]);
  assert.equal(status() & 0x01, 0);
  assert.equal(data(), 0x41, 'an empty buffer reads the stale byte');
});

test('save -> JSON -> restore keeps queue, output buffer, command byte and device state', () => {
  const { dev, command, sendAux } = setup();
  command(0x60, [0x47]);
  command(0xa8);
  sendAux([0xf3, 40], 2);
  dev.pio.write(0x60, 1, 0xff);
  dev.pio.write(0x64, 1, 0xd4); // a pending command survives too
  const saved = JSON.parse(JSON.stringify(dev.save()));
  const kbdIrq = new LevelLine(1);
  const auxIrq = new LevelLine(12);
  const copy = createI8042({}, { kbdIrq, auxIrq, machine: new RecordingMachineControl() }, saved);
  assert.deepEqual(copy.save(), dev.save());
  assert.equal(kbdIrq.level, true, 'the restored line reflects the full output buffer');
  const d = driver(copy);
  copy.pio.write(0x60, 1, 0xe9);
  assert.deepEqual(d.flush(), [0xfa, 0xaa, 0xfa, 0x00, 0x02, 40]);
  assert.throws(() => createI8042({}, { kbdIrq, auxIrq, machine: new RecordingMachineControl() }, { version: 3 }));
});

test('fuzz: no throws, IBF never set, the lines agree with the status register', () => {
  let dev: I8042 | null = null;
  let kbd = new LevelLine(1);
  let aux = new LevelLine(12);
  fuzzDevice(
    () => {
      kbd = new LevelLine(1);
      aux = new LevelLine(12);
      dev = createI8042({}, { kbdIrq: kbd, auxIrq: aux, machine: new RecordingMachineControl() });
      return dev;
    },
    {
      after: () => {
        const st = dev!.pio.read(0x64, 1);
        assert.equal(st & 0x02, 0);
        if (kbd.level) assert.equal(st & 0x21, 0x01);
        if (aux.level) assert.equal(st & 0x21, 0x21);
        if ((st & 0x01) === 0) assert.equal(kbd.level || aux.level, false);
      },
    },
  );
});
