/**
 * bench/mailbox: round trip of a vCPU worker's port read to a device on the
 * device thread through the SharedArrayBuffer mailbox, next to two
 * baselines measured in the same run: a direct call on one thread, and a
 * bare Atomics ping-pong between two threads (the floor for any
 * cross-thread round trip).
 *
 *   node dist/bench/mailbox.js [iterations]
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { IoBus } from '../src/bus/io-bus.js';
import { createMailboxBuffer, MailboxClient, MailboxServer } from '../src/bus/mailbox.js';
import { silentSink } from '../src/bus/log.js';
import type { ChipsetDevice } from '../src/bus/device.js';

interface Job {
  kind: 'mailbox' | 'pingpong';
  buffer: SharedArrayBuffer;
  iterations: number;
}

function workerMain(job: Job): void {
  if (job.kind === 'mailbox') {
    const client = new MailboxClient(job.buffer, 0);
    // Warm up, then time.
    for (let i = 0; i < 1000; i++) client.pio.read(0x3f8, 1);
    const t0 = process.hrtime.bigint();
    let sum = 0;
    for (let i = 0; i < job.iterations; i++) sum += client.pio.read(0x3f8, 1);
    const ns = Number(process.hrtime.bigint() - t0);
    parentPort!.postMessage({ ns, sum });
  } else {
    const w = new Int32Array(job.buffer);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < job.iterations; i++) {
      Atomics.store(w, 0, 1);
      Atomics.notify(w, 0);
      for (let spin = 0; spin < 20000 && Atomics.load(w, 0) !== 2; spin++);
      while (Atomics.load(w, 0) !== 2) Atomics.wait(w, 0, 1);
    }
    const ns = Number(process.hrtime.bigint() - t0);
    Atomics.store(w, 0, 3);
    Atomics.notify(w, 0);
    parentPort!.postMessage({ ns, sum: 0 });
  }
}

function runWorker(job: Job): Promise<{ ns: number; sum: number }> {
  const w = new Worker(new URL(import.meta.url), { workerData: job });
  return new Promise((resolve, reject) => {
    w.once('message', (m) => {
      void w.terminate();
      resolve(m);
    });
    w.once('error', reject);
  });
}

// The device-thread side of the bare ping-pong: answer each ping from the
// event loop, parked in Atomics.waitAsync as the mailbox server is.
async function pong(buffer: SharedArrayBuffer): Promise<void> {
  const w = new Int32Array(buffer);
  for (;;) {
    const v = Atomics.load(w, 0);
    if (v === 3) return;
    if (v === 1) {
      Atomics.store(w, 0, 2);
      Atomics.notify(w, 0);
      for (let spin = 0; spin < 20000 && Atomics.load(w, 0) === 2; spin++);
      continue;
    }
    const r = Atomics.waitAsync(w, 0, v);
    if (r.async) await r.value;
  }
}

async function main(): Promise<void> {
  const iterations = Number(process.argv[2] ?? 200_000);
  const uart: ChipsetDevice = {
    id: 'dummy-uart',
    pio: { regions: [{ name: 'regs', base: 0x3f8, size: 8 }], read: () => 0x60, write: () => {} },
  };
  const pio = new IoBus('pio', 0x10000, silentSink);
  pio.register([uart]);
  const mmio = new IoBus('mmio', 2 ** 52, silentSink);

  // Baseline 1: a direct call on this thread.
  let sum = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sum += pio.read(0x3f8, 1);
  const directNs = Number(process.hrtime.bigint() - t0) / iterations;

  // Baseline 2: bare cross-thread ping-pong, with the event loop in the middle.
  const ppBuf = new SharedArrayBuffer(16);
  const [pp] = await Promise.all([runWorker({ kind: 'pingpong', buffer: ppBuf, iterations }), pong(ppBuf)]);
  const pingNs = pp.ns / iterations;

  // The mailbox.
  const buffer = createMailboxBuffer(1);
  const server = new MailboxServer(buffer, pio, mmio);
  server.start();
  const mb = await runWorker({ kind: 'mailbox', buffer, iterations });
  server.stop();
  const mailboxNs = mb.ns / iterations;
  if (mb.sum !== 0x60 * iterations || sum !== 0x60 * iterations) throw new Error('wrong values read');

  console.log(`bench/mailbox: ${iterations} round trips, node ${process.version}`);
  console.log(`  direct bus call (same thread):   ${directNs.toFixed(1)} ns`);
  console.log(`  bare Atomics ping-pong:          ${(pingNs / 1000).toFixed(2)} us`);
  console.log(`  mailbox port read (worker->bus): ${(mailboxNs / 1000).toFixed(2)} us`);
  console.log(`  mailbox / ping-pong ratio:       ${(mailboxNs / pingNs).toFixed(2)}`);
}

if (isMainThread) {
  void main();
} else {
  workerMain(workerData as Job);
}
