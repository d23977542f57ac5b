import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SerialPort } from '../vm/machine.js';
import { VmConsole } from './guest-console.js';

/** A serial port whose UART backlog has `room` bytes left. */
class FakeSerial implements SerialPort {
  onOutput: ((bytes: Uint8Array) => void) | null = null;
  received = '';
  constructor(public room = Infinity) {}
  write(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, this.room);
    this.room -= n;
    this.received += Buffer.from(bytes.subarray(0, n)).toString();
    return n;
  }
  print(text: string): void {
    this.onOutput?.(new TextEncoder().encode(text));
  }
}

describe('VmConsole', () => {
  it('waits for a pattern, from a position, and times out with the tail', async () => {
    const serial = new FakeSerial();
    const c = new VmConsole(serial);
    serial.print('booting\n');
    setTimeout(() => serial.print('login: '), 20);
    assert.equal((await c.waitFor('login: '))[0], 'login: ');
    const at = c.position;
    await assert.rejects(c.waitFor(/booting/, { from: at, timeoutMs: 50 }), /timed out after 50 ms waiting for \/booting\/; console tail:\nbooting\nlogin: /);
    assert.equal(c.text, 'booting\nlogin: ');
  });

  it('fails waiters when the VM stops, and ends streams', async () => {
    const serial = new FakeSerial();
    const c = new VmConsole(serial);
    const s = c.stream();
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    const ended = new Promise((r) => s.on('end', r));
    serial.print('héllo');
    const waiting = c.waitFor('never');
    c.end('the VM stopped (the guest powered off)');
    await assert.rejects(waiting, /^Error: the VM stopped \(the guest powered off\) before \/never\/ appeared/);
    await ended;
    assert.equal(Buffer.concat(chunks).toString(), 'héllo');
  });

  it('decodes UTF-8 split across writes', () => {
    const serial = new FakeSerial();
    const c = new VmConsole(serial);
    const bytes = new TextEncoder().encode('€');
    serial.onOutput!(bytes.subarray(0, 1));
    serial.onOutput!(bytes.subarray(1));
    assert.equal(c.text, '€');
  });

  it('queues input the UART cannot take yet, in order', async () => {
    const serial = new FakeSerial(3);
    const c = new VmConsole(serial);
    c.write('abcdefgh');
    c.write('ij');
    assert.equal(serial.received, 'abc');
    serial.room = Infinity;
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(serial.received, 'abcdefghij');
  });

  it('runs a command: the output between the markers, not the echoed command line', async () => {
    const serial = new FakeSerial();
    const c = new VmConsole(serial);
    const result = c.run('uname -r');
    const typed = serial.received; // echo __tsvmm_x_B''EGIN; uname -r; echo __tsvmm_x_E''ND
    const tag = /echo (__tsvmm_\w+)_B''EGIN/.exec(typed)![1]!;
    serial.print(`${typed.replace(/\n$/, '\r\n')}${tag}_BEGIN\r\n6.1.0\r\n${tag}_END\r\n# `);
    assert.equal(await result, '6.1.0\n');
  });
});
