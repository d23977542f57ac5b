import assert from 'node:assert/strict';
import test from 'node:test';
import { Worker } from 'node:worker_threads';
import type { AccessSize } from './device.js';
import { createMailboxBuffer, MailboxServer } from './mailbox.js';

const mailboxUrl = new URL('./mailbox.js', import.meta.url).href;

/** Runs `body` (a function source taking the client) in a worker on slot `slot`. */
function runWorker(buffer: SharedArrayBuffer, slot: number, body: string): Promise<unknown> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(${JSON.stringify(mailboxUrl)}).then((m) => {
      const client = new m.MailboxClient(workerData.buffer, workerData.slot);
      const result = (${body})(client, m);
      parentPort.postMessage(result);
    }).catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
  `;
  const w = new Worker(code, { eval: true, workerData: { buffer, slot } });
  return new Promise((resolve, reject) => {
    w.once('message', (m) => {
      void w.terminate();
      resolve(m);
    });
    w.once('error', reject);
  });
}

class Recorder {
  readonly log: string[] = [];
  constructor(private readonly tag: string) {}
  read(addr: number, size: AccessSize): number {
    this.log.push(`${this.tag} r${size} ${addr.toString(16)}`);
    return (addr * 3 + size) >>> 0;
  }
  write(addr: number, size: AccessSize, value: number): void {
    this.log.push(`${this.tag} w${size} ${addr.toString(16)}=${value.toString(16)}`);
  }
}

test('a worker reaches both buses on the device thread through the mailbox', async () => {
  const buffer = createMailboxBuffer(2);
  const pio = new Recorder('pio');
  const mmio = new Recorder('mmio');
  const server = new MailboxServer(buffer, pio, mmio);
  server.start();
  try {
    const result = await runWorker(
      buffer,
      1,
      `(c) => {
        c.pio.write(0x3f8, 1, 0x41);
        const a = c.pio.read(0x3fd, 1);
        c.mmio.write(0x1_0000_2000, 4, 0xdeadbeef);
        const b = c.mmio.read(0xfee00030, 4);
        return [a, b];
      }`,
    );
    assert.deepEqual(result, [(0x3fd * 3 + 1) >>> 0, (0xfee00030 * 3 + 4) >>> 0]);
    assert.deepEqual(pio.log, ['pio w1 3f8=41', 'pio r1 3fd']);
    // Addresses above 4 GiB survive the trip; values are unsigned.
    assert.deepEqual(mmio.log, ['mmio w4 100002000=deadbeef', 'mmio r4 fee00030']);
    assert.equal(server.served, 4);
  } finally {
    server.stop();
  }
});

test('two workers on separate slots are both served', async () => {
  const buffer = createMailboxBuffer(2);
  const pio = new Recorder('pio');
  const server = new MailboxServer(buffer, pio, new Recorder('mmio'));
  server.start();
  try {
    const body = `(c) => { let s = 0; for (let i = 0; i < 500; i++) s += c.pio.read(i, 1) === i * 3 + 1 ? 1 : 0; return s; }`;
    const [a, b] = await Promise.all([runWorker(buffer, 0, body), runWorker(buffer, 1, body)]);
    assert.equal(a, 500);
    assert.equal(b, 500);
    assert.equal(server.served, 1000);
  } finally {
    server.stop();
  }
});

test('a client slot beyond the buffer is rejected', async () => {
  const buffer = createMailboxBuffer(1);
  const { MailboxClient } = await import('./mailbox.js');
  assert.throws(() => new MailboxClient(buffer, 1), /no slot 1/);
});
