/**
 * The virtio network device (virtio 1.2, 5.1) on a NetBackend: one
 * receive and one transmit queue, a MAC address and link status in
 * config, and mergeable receive buffers. No checksum or segmentation
 * offloads are offered (the backends compute checksums), so every frame
 * is a plain Ethernet frame behind a 12-byte virtio_net_hdr.
 *
 * Receive: the backend calls deliver(); with no room in the guest's
 * receive queue the frame is refused (false) and the backend waits for
 * resume(), which comes when the guest adds receive buffers. Transmit: a
 * kick sends every chain in the queue, at most `size` per kick.
 */
import type { AccessSize, InspectNode } from '../../bus/device.js';
import { inspect } from '../../bus/device.js';
import type { NetBackend } from '../../net/backend.js';
import type { VirtioActivation, VirtioDeviceModel, VirtioLink } from '../device.js';
import { type DescriptorChain, QueueError, gather, scatter, sliceSegments } from '../queue/chain.js';
import { DEVICE_ID, type FeatureWords, features, hasFeature } from '../regs.js';
import * as N from './regs.js';

/** How the NIC is set up. */
export interface VirtioNetConfig {
  /** "52:54:00:12:34:56" form. */
  readonly mac: string;
  /** Entries per queue; default 256. */
  readonly queueSize?: number;
}

/** The MAC tsvmm gives NIC `index` when none is configured (QEMU's 52:54:00:12:34:56 and on). */
export function defaultMac(index: number): string {
  return `52:54:00:12:34:${(0x56 + index).toString(16).padStart(2, '0')}`;
}

/** Parses "aa:bb:cc:dd:ee:ff"; throws RangeError otherwise. */
export function parseMacAddress(mac: string): Uint8Array {
  const parts = mac.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-f]{2}$/i.test(p))) throw new RangeError(`${mac} is not a MAC address`);
  return Uint8Array.from(parts.map((p) => Number.parseInt(p, 16)));
}

/** The virtio-net device model. */
export class VirtioNet implements VirtioDeviceModel {
  readonly deviceType = DEVICE_ID.net;
  readonly features: FeatureWords = features(N.F_MAC, N.F_STATUS, N.F_MRG_RXBUF);
  readonly queueMaxSizes: readonly number[];
  readonly configSize = N.CONFIG_SIZE;
  private readonly config = new Uint8Array(N.CONFIG_SIZE);
  private link: VirtioLink | null = null;
  private active: VirtioActivation | null = null;
  private mergeable = false;
  /** The backend was refused a frame and waits for resume(). */
  private rxBlocked = false;
  /** A follow-up transmit pass is scheduled. */
  private txPending = false;
  private readonly txBuf = new Uint8Array(N.MAX_FRAME);
  private readonly counters = {
    rxFrames: 0, rxBytes: 0, rxRefused: 0, rxDropped: 0, txFrames: 0, txBytes: 0, txDropped: 0, rxBuffersUsed: 0,
  };

  constructor(
    private readonly backend: NetBackend,
    cfg: VirtioNetConfig,
  ) {
    const size = cfg.queueSize ?? 256;
    this.queueMaxSizes = [size, size];
    this.config.set(parseMacAddress(cfg.mac), N.CONFIG_MAC);
    this.config[N.CONFIG_STATUS] = N.S_LINK_UP;
    this.config[N.CONFIG_MAX_PAIRS] = 1;
    this.config[N.CONFIG_MTU] = 1500 & 0xff;
    this.config[N.CONFIG_MTU + 1] = 1500 >>> 8;
    backend.deliver = (frame) => this.receive(frame);
  }

  /** Stops taking frames from the backend (the machine is going away). */
  detach(): void {
    if (this.backend.deliver) this.backend.deliver = null;
    this.active = null;
  }

  bind(link: VirtioLink): void {
    this.link = link;
  }

  /** Whether the link is up (config status). */
  get linkUp(): boolean {
    return (this.config[N.CONFIG_STATUS]! & N.S_LINK_UP) !== 0;
  }

  /** Host side: plugs or unplugs the cable; the guest gets a config interrupt. */
  setLinkUp(up: boolean): void {
    if (up === this.linkUp) return;
    this.config[N.CONFIG_STATUS] = up ? N.S_LINK_UP : 0;
    this.link?.configChanged();
    if (up) this.wakeBackend();
  }

  readConfig(offset: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= (this.config[offset + i] ?? 0) << (8 * i);
    return v >>> 0;
  }

  writeConfig(): void {
    // The MAC is writable only through VIRTIO_NET_F_CTRL_MAC_ADDR, which is not offered.
  }

  activate(a: VirtioActivation, saved?: unknown): void {
    this.active = a;
    const s = saved as { linkUp?: unknown } | undefined;
    if (typeof s?.linkUp === 'boolean') this.config[N.CONFIG_STATUS] = s.linkUp ? N.S_LINK_UP : 0;
    this.mergeable = hasFeature(a.features, N.F_MRG_RXBUF);
    this.transmit();
    this.wakeBackend();
  }

  notify(q: number): void {
    if (q === N.RX_QUEUE) this.wakeBackend();
    else if (q === N.TX_QUEUE) this.transmit();
  }

  /** The guest may have added receive buffers: let a waiting backend try again. */
  private wakeBackend(): void {
    if (!this.rxBlocked) return;
    this.rxBlocked = false;
    this.backend.resume();
  }

  private pop(q: number): DescriptorChain | null {
    try {
      return this.active?.queues[q]?.pop() ?? null;
    } catch (e) {
      if (!(e instanceof QueueError)) throw e;
      this.link!.fail(e.message);
      return null;
    }
  }

  /** FrameSink for the backend: one frame for the guest. Never throws into the backend. */
  receive(frame: Uint8Array): boolean {
    try {
      return this.receiveFrame(frame);
    } catch (e) {
      this.link?.fail(`receive: ${(e as Error).message}`);
      return true;
    }
  }

  private receiveFrame(frame: Uint8Array): boolean {
    const a = this.active;
    const rx = a?.queues[N.RX_QUEUE];
    if (!a || !rx) {
      this.counters.rxRefused++;
      this.rxBlocked = true;
      return false;
    }
    // With the cable out, frames are lost, as on a real wire.
    if (!this.linkUp || frame.length > N.MAX_FRAME) {
      this.counters.rxDropped++;
      return true;
    }
    const total = N.HDR_SIZE + frame.length;
    const chains: DescriptorChain[] = [];
    let room = 0;
    while (room < total) {
      const c = this.pop(N.RX_QUEUE);
      if (!this.active) return true;
      if (!c) {
        // Not enough buffers yet: give them back and wait for the guest to add more.
        rx.unpop(chains.length);
        this.counters.rxRefused++;
        this.rxBlocked = true;
        return false;
      }
      if (c.writableBytes === 0) {
        this.link!.fail(`receive buffer ${c.head} has no device-writable part`);
        return true;
      }
      chains.push(c);
      room += c.writableBytes;
      if (!this.mergeable) break;
    }
    if (room < total) {
      // Without mergeable buffers the packet must fit one chain; this one is too small.
      rx.push(chains[0]!, 0);
      this.counters.rxDropped++;
      this.interruptIfNeeded(N.RX_QUEUE);
      return true;
    }
    const packet = new Uint8Array(total);
    packet[N.HDR_NUM_BUFFERS] = chains.length & 0xff;
    packet[N.HDR_NUM_BUFFERS + 1] = chains.length >>> 8;
    packet.set(frame, N.HDR_SIZE);
    let off = 0;
    for (const c of chains) {
      const n = scatter(a.memory, c.writable, 0, packet.subarray(off));
      off += n;
      rx.push(c, n);
    }
    this.counters.rxFrames++;
    this.counters.rxBytes += frame.length;
    this.counters.rxBuffersUsed += chains.length;
    this.interruptIfNeeded(N.RX_QUEUE);
    return true;
  }

  /** Sends what the guest queued for transmission. */
  private transmit(): void {
    const a = this.active;
    const tx = a?.queues[N.TX_QUEUE];
    if (!a || !tx) return;
    let sent = 0;
    let drained = false;
    for (let i = 0; i < tx.size; i++) {
      const c = this.pop(N.TX_QUEUE);
      if (!c || !this.active) {
        drained = true;
        break;
      }
      const len = c.readableBytes - N.HDR_SIZE;
      const hdr = this.txBuf.subarray(0, N.HDR_SIZE);
      gather(a.memory, c.readable, 0, hdr);
      // Nothing was negotiated that lets the driver ask for checksum or GSO work.
      if (len <= 0 || len > N.MAX_FRAME || hdr[N.HDR_GSO_TYPE] !== N.GSO_NONE || hdr[N.HDR_FLAGS]! & N.HDR_F_NEEDS_CSUM) {
        this.counters.txDropped++;
      } else {
        this.counters.txFrames++;
        this.counters.txBytes += len;
        // The backend copies what it keeps (NetBackend.send), so a frame in one buffer goes as a view of guest RAM.
        const parts = sliceSegments(c.readable, N.HDR_SIZE, len);
        if (parts.length === 1) this.backend.send(a.memory.view(parts[0]!.addr, len));
        else {
          const frame = new Uint8Array(len);
          gather(a.memory, c.readable, N.HDR_SIZE, frame);
          this.backend.send(frame);
        }
      }
      tx.push(c, 0);
      sent++;
      if (!this.active) return;
    }
    if (sent > 0) this.interruptIfNeeded(N.TX_QUEUE);
    // A full batch may leave chains behind, and the driver need not kick again for
    // them (EVENT_IDX): finish on a later turn instead of looping here unbounded.
    if (!drained && !this.txPending) {
      this.txPending = true;
      setImmediate(() => {
        this.txPending = false;
        try {
          this.transmit();
        } catch (e) {
          this.link?.fail(`transmit: ${(e as Error).message}`);
        }
      });
    }
  }

  private interruptIfNeeded(q: number): void {
    const a = this.active;
    if (a?.queues[q]?.needsInterrupt()) a.interrupts[q]!.trigger();
  }

  reset(): void {
    this.active = null;
  }

  save(): { linkUp: boolean } {
    return { linkUp: this.linkUp };
  }

  inspect(): InspectNode {
    const c = this.counters;
    const mac = [...this.config.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
    return inspect.tree({
      mac,
      linkUp: this.linkUp,
      mergeableRxBuffers: this.mergeable,
      rxBlocked: this.rxBlocked,
      rxFrames: inspect.counter(c.rxFrames),
      rxBytes: inspect.counter(c.rxBytes),
      rxRefused: inspect.counter(c.rxRefused),
      rxDropped: inspect.counter(c.rxDropped),
      rxBuffersUsed: inspect.counter(c.rxBuffersUsed),
      txFrames: inspect.counter(c.txFrames),
      txBytes: inspect.counter(c.txBytes),
      txDropped: inspect.counter(c.txDropped),
      backend: this.backend.inspect(),
    });
  }
}
