/**
 * Test support: the smallest useful virtio device model. Queue 0 echoes:
 * every chain's readable bytes are copied into its writable buffers. Its
 * config space is 8 bytes, the first 4 writable by the driver.
 */
import type { AccessSize, InspectNode } from '../../bus/device.js';
import type { VirtioActivation, VirtioDeviceModel, VirtioLink } from '../device.js';
import { QueueError, gather, scatter } from '../queue/chain.js';
import { type FeatureWords, features } from '../regs.js';

/** A device type number no real device uses. */
export const ECHO_DEVICE_TYPE = 42;
/** The one device-specific feature bit the echo device offers. */
export const ECHO_FEATURE = 3;

/** The echo device. */
export class EchoModel implements VirtioDeviceModel {
  readonly deviceType = ECHO_DEVICE_TYPE;
  readonly features: FeatureWords = features(ECHO_FEATURE);
  readonly queueMaxSizes: readonly number[];
  readonly configSize = 8;
  readonly config = new Uint8Array(8);
  link: VirtioLink | null = null;
  active: VirtioActivation | null = null;
  notified: number[] = [];
  echoed = 0;
  resets = 0;

  constructor(queues = 2, size = 16) {
    this.queueMaxSizes = new Array<number>(queues).fill(size);
  }

  bind(link: VirtioLink): void {
    this.link = link;
  }

  readConfig(offset: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= (this.config[offset + i] ?? 0) << (8 * i);
    return v >>> 0;
  }

  writeConfig(offset: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) if (offset + i < 4) this.config[offset + i] = (value >>> (8 * i)) & 0xff;
  }

  activate(a: VirtioActivation, saved?: unknown): void {
    this.active = a;
    const n = (saved as { echoed?: unknown } | undefined)?.echoed;
    if (typeof n === 'number') this.echoed = n;
  }

  notify(q: number): void {
    this.notified.push(q);
    const a = this.active;
    const queue = a?.queues[q];
    if (!a || !queue || q !== 0) return;
    try {
      for (let c = queue.pop(); c; c = queue.pop()) {
        const data = new Uint8Array(Math.min(c.readableBytes, 1 << 16));
        gather(a.memory, c.readable, 0, data);
        queue.push(c, scatter(a.memory, c.writable, 0, data));
        this.echoed++;
      }
    } catch (e) {
      if (!(e instanceof QueueError)) throw e;
      this.link!.fail(e.message);
      return;
    }
    if (queue.needsInterrupt()) a.interrupts[q]!.trigger();
  }

  reset(): void {
    this.resets++;
    this.active = null;
  }

  save(): unknown {
    return { echoed: this.echoed };
  }

  inspect(): InspectNode {
    return { children: { echoed: { value: this.echoed, counter: true } } };
  }
}
