/**
 * The contract between a virtio device model (block, net, ...) and the
 * transport-independent core: the model says what it offers (type,
 * features, queues, config space) and gets its live queues and interrupts
 * once the driver sets DRIVER_OK.
 *
 * DEVNOTE: two entry points are shaped for KVM's fast paths. `notify(q)`
 * is all a queue kick is, so an ioeventfd poller can call it without a
 * vCPU exit into the transport; `Interrupt.trigger()` is all a completion
 * needs, so an irqfd can stand behind it. Today the software CPU reaches
 * notify() synchronously from the notify register's MMIO handler.
 */
import type { AccessSize, InspectNode } from '../bus/device.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { VirtQueue } from './queue/queue.js';
import type { FeatureWords } from './regs.js';

/** One way of interrupting the guest (an MSI-X vector, an ISR bit and a GSI, an irqfd). */
export interface Interrupt {
  trigger(): void;
}

/** What the core gives a model when the driver sets DRIVER_OK. */
export interface VirtioActivation {
  readonly memory: GuestMemory;
  /** Features the driver accepted. */
  readonly features: FeatureWords;
  /** Live queues by index; null where the driver did not enable one. */
  readonly queues: readonly (VirtQueue | null)[];
  /** Used-buffer interrupt per queue index. */
  readonly interrupts: readonly Interrupt[];
}

/** What a model may ask of the core at any time. */
export interface VirtioLink {
  /** The device config changed (link status...): bump the generation and interrupt. */
  configChanged(): void;
  /** The driver broke the device (a bad ring or chain): set DEVICE_NEEDS_RESET and interrupt. */
  fail(reason: string): void;
}

/** A virtio device type, independent of transport. */
export interface VirtioDeviceModel {
  /** Virtio device ID (1 net, 2 block, ...). */
  readonly deviceType: number;
  /** Device-specific feature bits offered (the core adds the ring and version bits). */
  readonly features: FeatureWords;
  /** Maximum size of each queue; the queue count is the length. */
  readonly queueMaxSizes: readonly number[];
  /** Bytes of device-specific config space. */
  readonly configSize: number;
  /** Called once, before anything else, with the core's link. */
  bind(link: VirtioLink): void;
  readConfig(offset: number, size: AccessSize): number;
  writeConfig(offset: number, size: AccessSize, value: number): void;
  /** May refuse a feature combination at FEATURES_OK (default: any subset is fine). */
  acceptFeatures?(features: FeatureWords): boolean;
  /** The driver set DRIVER_OK (or a snapshot is restored: `saved` is the model's save() output). */
  activate(a: VirtioActivation, saved?: unknown): void;
  /** The driver made buffers available on queue `q` (a kick). */
  notify(q: number): void;
  /** Device reset: forget queues; in-flight work finishes without touching guest memory. */
  reset(): void;
  /** Model state to carry across a snapshot (JSON-able), taken while active. */
  save(): unknown;
  inspect(): InspectNode;
}
