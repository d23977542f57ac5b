/**
 * The TAP backend: the guest's NIC is a host network interface
 * (/dev/net/tun in TAP mode, no packet-information header, no virtio-net
 * header), so frames are exactly what NetBackend carries. The fd is
 * non-blocking and watched from Node's event loop (libc.watchFd, no thread);
 * each readiness callback reads every frame the kernel holds. When the NIC
 * refuses a frame the watch stops until resume(), so frames wait in the
 * kernel's queue (the interface's txqueuelen bounds it) rather than here.
 *
 * Attaching to an existing TAP device owned by the user needs no privilege;
 * creating one needs CAP_NET_ADMIN. A device this process creates disappears
 * when it closes the fd, and comes up down: configure it (ip addr/link) as
 * for QEMU.
 */
import type { FrameSink, NetBackend } from '../backend.js';
import { inspect, type InspectNode } from '../../bus/device.js';
import { SysError } from '../../sys/errors.js';
import * as libc from '../../sys/libc.js';
import { Counters } from '../counters.js';
import { ETH_HLEN } from '../proto/ethernet.js';
import { EAGAIN, IFF_NO_PI, IFF_TAP, TUNSETIFF, TUN_DEVICE, encodeIfreq, ifreqName } from './tun-abi.js';

/** A TAP device that could not be opened; the message is one line for the user. */
export class TapError extends Error {
  override name = 'TapError';
}

/** Largest frame read: far above any MTU a TAP device without offloads carries. */
const READ_BUFFER = 65536;
/** Frames from the guest held while the kernel refuses writes, before dropping. */
const MAX_TX_QUEUE = 256;

/** A guest NIC attached to a host TAP interface. */
export class TapBackend implements NetBackend {
  /** The interface name as the kernel confirmed it. */
  readonly ifname: string;
  private readonly fd: number;
  private readonly counters = new Counters();
  private sink: FrameSink | null = null;
  private watch: libc.FdWatch | null = null;
  private watching = { readable: false, writable: false };
  private held: Uint8Array | null = null;
  private blocked = false;
  private txQueue: Uint8Array[] = [];
  private readonly rxBuf = new Uint8Array(READ_BUFFER);
  private closed = false;

  /** Opens /dev/net/tun and attaches to (or creates) `ifname`; throws a TapError with one line on failure. */
  constructor(ifname: string) {
    let fd: number;
    try {
      fd = libc.open(TUN_DEVICE, libc.O_RDWR | libc.O_NONBLOCK | libc.O_CLOEXEC);
    } catch (e) {
      throw new TapError(`tap ${ifname}: cannot open ${TUN_DEVICE} (${e instanceof SysError ? e.code : String(e)})`, { cause: e });
    }
    const req = encodeIfreq(ifname, IFF_TAP | IFF_NO_PI);
    const r = libc.tryIoctlPtr(fd, TUNSETIFF, req);
    if (r < 0) {
      libc.close(fd);
      throw new TapError(`tap ${ifname}: ${explain(-r, ifname)}`);
    }
    this.fd = fd;
    this.ifname = ifreqName(req);
  }

  /** Set by the NIC; reading starts once it is set. */
  get deliver(): FrameSink | null {
    return this.sink;
  }

  set deliver(sink: FrameSink | null) {
    this.sink = sink;
    this.updateWatch();
  }

  /** Writes the guest's frame to the interface; never throws. */
  send(frame: Uint8Array): void {
    if (this.closed) return;
    this.counters.add('tx-frames');
    if (frame.length < ETH_HLEN) return this.counters.add('drop.eth-short');
    if (this.txQueue.length > 0) return this.queueTx(frame);
    const r = this.write(frame);
    if (r === EAGAIN) this.queueTx(frame);
  }

  /** The NIC has room: hand over the frame it refused, then read again. */
  resume(): void {
    if (this.closed) return;
    this.blocked = false;
    if (this.held !== null && this.sink !== null) {
      if (!this.sink(this.held)) {
        this.blocked = true;
        return;
      }
      this.counters.add('rx-frames');
      this.held = null;
    }
    this.updateWatch();
  }

  /** Closes the fd (a device this process created goes away with it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watch?.close();
    this.watch = null;
    libc.close(this.fd);
  }

  /** Interface name, flow state and counters. */
  inspect(): InspectNode {
    return inspect.tree({
      mode: 'tap',
      ifname: this.ifname,
      rxBlocked: this.blocked,
      txQueued: this.txQueue.length,
      counters: this.counters.node(),
    });
  }

  private onEvent(status: number, ev: libc.FdEvents): void {
    if (this.closed) return;
    if (status < 0) {
      this.counters.add('poll-errors');
      return;
    }
    if (ev.writable) this.flushTx();
    if (ev.readable) this.readAll();
    this.updateWatch();
  }

  // Every frame the kernel holds, until it has none or the NIC is full.
  private readAll(): void {
    while (!this.blocked && this.sink !== null) {
      let n: number;
      try {
        n = libc.read(this.fd, this.rxBuf);
      } catch (e) {
        if (!(e instanceof SysError && e.errno === EAGAIN)) this.counters.add(`read-errors.${e instanceof SysError ? e.code : 'other'}`);
        return;
      }
      if (n <= 0) return;
      const frame = this.rxBuf.slice(0, n); // the NIC keeps it; the read buffer is reused
      if (!this.sink(frame)) {
        this.held = frame;
        this.blocked = true;
        return;
      }
      this.counters.add('rx-frames');
    }
  }

  // Returns 0, EAGAIN (the kernel has no room), or another errno (the frame was dropped).
  private write(frame: Uint8Array): number {
    try {
      libc.write(this.fd, frame);
      return 0;
    } catch (e) {
      const errno = e instanceof SysError ? e.errno : -1;
      if (errno !== EAGAIN) this.counters.add(`drop.write-${e instanceof SysError ? e.code : 'error'}`);
      return errno;
    }
  }

  private queueTx(frame: Uint8Array): void {
    if (this.txQueue.length >= MAX_TX_QUEUE) return this.counters.add('drop.tx-queue-full');
    this.txQueue.push(frame.slice()); // the NIC may reuse the frame's memory
    this.updateWatch();
  }

  private flushTx(): void {
    let k = 0;
    while (k < this.txQueue.length && this.write(this.txQueue[k]!) !== EAGAIN) k++;
    this.txQueue = this.txQueue.slice(k);
  }

  // One watch per fd (libuv allows no more); changing its events means a new one.
  private updateWatch(): void {
    const want = { readable: !this.closed && this.sink !== null && !this.blocked, writable: !this.closed && this.txQueue.length > 0 };
    if (want.readable === this.watching.readable && want.writable === this.watching.writable) return;
    this.watch?.close();
    this.watch = null;
    this.watching = want;
    if (want.readable || want.writable) this.watch = libc.watchFd(this.fd, want, (s, ev) => this.onEvent(s, ev));
  }
}

function explain(errno: number, name: string): string {
  switch (errno) {
    case 1: // EPERM
      return `not permitted (creating a TAP device needs CAP_NET_ADMIN; as root, make one for your user with "ip tuntap add dev ${name} mode tap user $USER")`;
    case 16: // EBUSY
      return 'the device is in use by another process';
    case 22: // EINVAL
      return 'the device exists but is not a TAP device without packet information (is it a TUN device?)';
    default:
      return `cannot attach (${new SysError(errno, 'TUNSETIFF').code})`;
  }
}
