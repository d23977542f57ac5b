/**
 * The mailbox by which a vCPU worker thread reaches devices on the device
 * thread (the main event loop): a SharedArrayBuffer with one slot per vCPU.
 *
 * A worker posts a request into its slot, rings the shared doorbell and
 * blocks in Atomics.wait; the device thread, parked in Atomics.waitAsync on
 * the doorbell, serves every posted slot against the real buses and wakes
 * the worker. No allocation, no message passing, no structured clone.
 *
 * DEVNOTE: one access per round trip keeps the protocol trivial; string
 * I/O with a repeat count costs one round trip per element, which is
 * acceptable because such exits are rare on every device we model.
 */
import type { AccessSize } from './device.js';

const SLOT_WORDS = 8;
// Slot layout (Int32 words).
const STATE = 0;
const OP = 1;
const SIZE = 2;
const ADDR_LO = 3;
const ADDR_HI = 4;
const VALUE = 5;
// Word 0 of the buffer is the doorbell; slots start at word SLOT_WORDS.
const DOORBELL = 0;

const SPIN_LIMIT = 20000;

const IDLE = 0;
const POSTED = 1;
const DONE = 2;

/** Mailbox operations. */
export enum MailboxOp {
  PioRead = 0,
  PioWrite = 1,
  MmioRead = 2,
  MmioWrite = 3,
}

/** The device-thread side of one bus (an IoBus satisfies it). */
export interface MailboxBus {
  read(addr: number, size: AccessSize): number;
  write(addr: number, size: AccessSize, value: number): void;
}

/** Allocates a mailbox for `slots` vCPUs. Share the buffer with the workers. */
export function createMailboxBuffer(slots: number): SharedArrayBuffer {
  return new SharedArrayBuffer((slots + 1) * SLOT_WORDS * 4);
}

/** The device thread's side: serves posted requests until closed. */
export class MailboxServer {
  private readonly words: Int32Array;
  private readonly slots: number;
  private running = false;
  /** Requests served, for inspect and benchmarks. */
  served = 0;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly pio: MailboxBus,
    private readonly mmio: MailboxBus,
  ) {
    this.words = new Int32Array(buffer);
    this.slots = this.words.length / SLOT_WORDS - 1;
  }

  /** Starts serving on the event loop. */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  /** Stops serving after the current wake-up. */
  stop(): void {
    this.running = false;
    Atomics.add(this.words, DOORBELL, 1);
    Atomics.notify(this.words, DOORBELL);
  }

  /** Serves every posted slot once; returns how many were served. */
  poll(): number {
    const w = this.words;
    let n = 0;
    for (let s = 1; s <= this.slots; s++) {
      const base = s * SLOT_WORDS;
      if (Atomics.load(w, base + STATE) !== POSTED) continue;
      this.serve(base);
      Atomics.store(w, base + STATE, DONE);
      Atomics.notify(w, base + STATE);
      n++;
    }
    this.served += n;
    return n;
  }

  private async loop(): Promise<void> {
    const w = this.words;
    while (this.running) {
      let seen = Atomics.load(w, DOORBELL);
      if (this.poll() > 0) {
        // A vCPU that just got an answer often asks again at once; catching
        // that here saves the event-loop wake-up of Atomics.waitAsync.
        for (let spin = 0; spin < SPIN_LIMIT && Atomics.load(w, DOORBELL) === seen; spin++);
        if (Atomics.load(w, DOORBELL) !== seen) continue;
      }
      const r = Atomics.waitAsync(w, DOORBELL, seen);
      if (r.async) await r.value;
    }
  }

  private serve(base: number): void {
    const w = this.words;
    const size = w[base + SIZE] as AccessSize;
    const addr = (w[base + ADDR_LO]! >>> 0) + (w[base + ADDR_HI]! >>> 0) * 0x1_0000_0000;
    switch (w[base + OP]) {
      case MailboxOp.PioRead:
        w[base + VALUE] = this.pio.read(addr, size);
        break;
      case MailboxOp.PioWrite:
        this.pio.write(addr, size, w[base + VALUE]! >>> 0);
        break;
      case MailboxOp.MmioRead:
        w[base + VALUE] = this.mmio.read(addr, size);
        break;
      case MailboxOp.MmioWrite:
        this.mmio.write(addr, size, w[base + VALUE]! >>> 0);
        break;
      default:
        w[base + VALUE] = -1;
    }
  }
}

/** A worker's side: a blocking call into the device thread. */
export class MailboxClient {
  private readonly words: Int32Array;
  private readonly base: number;

  /** `slot` is 0-based (one per vCPU). */
  constructor(buffer: SharedArrayBuffer, slot: number) {
    this.words = new Int32Array(buffer);
    this.base = (slot + 1) * SLOT_WORDS;
    if (this.base + SLOT_WORDS > this.words.length) throw new RangeError(`mailbox has no slot ${slot}`);
  }

  /** Performs one access on the device thread and waits for it; returns the read value. */
  call(op: MailboxOp, addr: number, size: AccessSize, value = 0): number {
    const w = this.words;
    const b = this.base;
    w[b + OP] = op;
    w[b + SIZE] = size;
    w[b + ADDR_LO] = addr >>> 0;
    w[b + ADDR_HI] = Math.floor(addr / 0x1_0000_0000);
    w[b + VALUE] = value;
    Atomics.store(w, b + STATE, POSTED);
    Atomics.add(w, DOORBELL, 1);
    Atomics.notify(w, DOORBELL);
    // Spin briefly first: a futex wake-up costs tens of microseconds on
    // these (nested-virtualised) machines, the device thread's answer
    // usually takes one or two.
    for (let spin = 0; spin < SPIN_LIMIT && Atomics.load(w, b + STATE) !== DONE; spin++);
    while (Atomics.load(w, b + STATE) !== DONE) Atomics.wait(w, b + STATE, POSTED);
    Atomics.store(w, b + STATE, IDLE);
    return w[b + VALUE]! >>> 0;
  }

  /** The port-I/O bus as seen from the worker. */
  readonly pio: MailboxBus = {
    read: (addr, size) => this.call(MailboxOp.PioRead, addr, size),
    write: (addr, size, value) => void this.call(MailboxOp.PioWrite, addr, size, value),
  };

  /** The MMIO bus as seen from the worker. */
  readonly mmio: MailboxBus = {
    read: (addr, size) => this.call(MailboxOp.MmioRead, addr, size),
    write: (addr, size, value) => void this.call(MailboxOp.MmioWrite, addr, size, value),
  };
}
