/**
 * The transport-independent half of a virtio device (virtio 1.2, 2.1-2.4
 * and 3.1): the device status state machine, feature negotiation, the
 * per-queue registers a transport exposes, and bringing queues to life at
 * DRIVER_OK. Transports (virtio-pci, virtio-mmio) map their registers onto
 * this and supply the interrupts.
 *
 * Rules enforced here:
 * - features: the driver may accept only offered bits, VERSION_1 among
 *   them; otherwise FEATURES_OK does not stick (the driver reads it back);
 * - status bits only accumulate; writing 0 resets the device;
 * - queue registers and features are frozen once FEATURES_OK/DRIVER_OK;
 * - a broken ring or chain sets DEVICE_NEEDS_RESET and raises a config
 *   interrupt; the device then ignores its queues until reset.
 */
import type { InspectNode } from '../bus/device.js';
import { inspect } from '../bus/device.js';
import { RateLimitedLog, type LogSink, stderrSink } from '../bus/log.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { Interrupt, VirtioDeviceModel, VirtioLink } from './device.js';
import { QueueError } from './queue/chain.js';
import type { QueuePosition, VirtQueue } from './queue/queue.js';
import { PackedQueue } from './queue/packed.js';
import { SplitQueue } from './queue/split.js';
import * as V from './regs.js';

/** MSI-X "no vector" (also the reset value of vector registers). */
export const NO_VECTOR = 0xffff;

/** One queue's registers as the driver programs them. */
export interface QueueRegs {
  readonly max: number;
  size: number;
  enabled: boolean;
  /** Addresses as 32-bit halves: descriptor, driver and device areas. */
  descLo: number;
  descHi: number;
  driverLo: number;
  driverHi: number;
  deviceLo: number;
  deviceHi: number;
  /** MSI-X vector (PCI) for this queue's interrupts. */
  vector: number;
}

/** What the core needs from its transport. */
export interface VirtioTransportHooks {
  /** The interrupt for used buffers on queue `q`. */
  queueInterrupt(q: number): Interrupt;
  /** The configuration-change interrupt. */
  readonly configInterrupt: Interrupt;
}

/** Saved core state (the model's own state rides along in `model`). */
export interface VirtioCoreSaved {
  readonly status: number;
  readonly deviceFeatureSelect: number;
  readonly driverFeatureSelect: number;
  readonly driverFeatures: [number, number];
  readonly queueSelect: number;
  readonly configGeneration: number;
  readonly configVector: number;
  readonly queues: (Omit<QueueRegs, 'max'> & { position?: QueuePosition })[];
  readonly model?: unknown;
}

/** Ring features every tsvmm virtio device offers on top of its own. */
export const CORE_FEATURES: V.FeatureWords = V.features(V.F_VERSION_1, V.F_EVENT_IDX, V.F_INDIRECT_DESC, V.F_RING_PACKED);

const addr = (lo: number, hi: number) => (hi < 0x20_0000 ? hi * 2 ** 32 + lo : -1);

/** Status, features and queues of one virtio device. */
export class VirtioCore implements VirtioLink {
  status = 0;
  deviceFeatureSelect = 0;
  driverFeatureSelect = 0;
  driverFeatures: [number, number] = [0, 0];
  queueSelect = 0;
  configGeneration = 0;
  /** MSI-X vector for config changes (PCI). */
  configVector = NO_VECTOR;
  readonly queues: QueueRegs[];
  /** Everything offered: the model's bits plus CORE_FEATURES. */
  readonly offered: V.FeatureWords;
  private live: (VirtQueue | null)[] | null = null;
  private readonly log: RateLimitedLog;
  /** Counters for inspect. */
  resets = 0;
  failures = 0;
  lastFailure = '';
  driverErrors = 0;
  notifies = 0;

  constructor(
    readonly id: string,
    readonly model: VirtioDeviceModel,
    private readonly memory: GuestMemory,
    private readonly hooks: VirtioTransportHooks,
    log: LogSink = stderrSink,
    /** Offer VIRTIO_F_RING_PACKED (default true); off, drivers use split rings. */
    packedRings = true,
  ) {
    this.log = new RateLimitedLog(log);
    const core: V.FeatureWords = packedRings ? CORE_FEATURES : [CORE_FEATURES[0], (CORE_FEATURES[1] & ~V.features(V.F_RING_PACKED)[1]) >>> 0];
    this.offered = V.featureUnion(model.features, core);
    this.queues = model.queueMaxSizes.map((max) => this.freshQueue(max));
    model.bind(this);
  }

  private freshQueue(max: number): QueueRegs {
    return { max, size: max, enabled: false, descLo: 0, descHi: 0, driverLo: 0, driverHi: 0, deviceLo: 0, deviceHi: 0, vector: NO_VECTOR };
  }

  /** The registers of the queue queue_select names, or null when out of range. */
  get selected(): QueueRegs | null {
    return this.queues[this.queueSelect] ?? null;
  }

  /** Whether the driver may still change features (before FEATURES_OK). */
  get featuresOpen(): boolean {
    return (this.status & V.STATUS_FEATURES_OK) === 0;
  }

  /** Whether the driver may still set queues up (before DRIVER_OK). */
  get queuesOpen(): boolean {
    return (this.status & V.STATUS_DRIVER_OK) === 0;
  }

  /** The 32 offered feature bits device_feature_select picks. */
  deviceFeatures(): number {
    const s = this.deviceFeatureSelect;
    return s === 0 ? this.offered[0] : s === 1 ? this.offered[1] : 0;
  }

  /** The driver's write to driver_feature for the selected word. */
  writeDriverFeatures(value: number): void {
    if (!this.featuresOpen) {
      this.driverErrors++;
      return;
    }
    const s = this.driverFeatureSelect;
    if (s === 0) this.driverFeatures[0] = value >>> 0;
    else if (s === 1) this.driverFeatures[1] = value >>> 0;
  }

  /** The driver's read of driver_feature. */
  readDriverFeatures(): number {
    const s = this.driverFeatureSelect;
    return s === 0 ? this.driverFeatures[0] : s === 1 ? this.driverFeatures[1] : 0;
  }

  /** A write to the device status register. */
  writeStatus(value: number): void {
    value &= 0xff;
    if (value === 0) {
      this.reset();
      return;
    }
    const old = this.status;
    if ((old & ~value & ~V.STATUS_DEVICE_NEEDS_RESET) !== 0) this.driverErrors++;
    let next = old | value;
    // The device alone sets NEEDS_RESET; the driver's copy of the bit means nothing.
    next = (next & ~V.STATUS_DEVICE_NEEDS_RESET) | (old & V.STATUS_DEVICE_NEEDS_RESET);
    if (next & V.STATUS_FEATURES_OK && !(old & V.STATUS_FEATURES_OK) && !this.featuresAcceptable()) next &= ~V.STATUS_FEATURES_OK;
    const goLive = (next & V.STATUS_DRIVER_OK) !== 0 && (old & V.STATUS_DRIVER_OK) === 0;
    if (goLive && !(next & V.STATUS_FEATURES_OK)) {
      // DRIVER_OK without FEATURES_OK is a driver bug: refuse it.
      this.driverErrors++;
      next &= ~V.STATUS_DRIVER_OK;
    }
    this.status = next;
    if (goLive && next & V.STATUS_DRIVER_OK && !(next & V.STATUS_DEVICE_NEEDS_RESET)) this.activate();
  }

  private featuresAcceptable(): boolean {
    const f = this.driverFeatures;
    if (!V.featureSubset(f, this.offered) || !V.hasFeature(f, V.F_VERSION_1)) return false;
    return this.model.acceptFeatures ? this.model.acceptFeatures(f) : true;
  }

  /** Brings enabled queues to life and hands them to the model; `positions`/`saved` when restoring. */
  private activate(positions?: (QueuePosition | undefined)[], saved?: unknown): void {
    const f = this.driverFeatures;
    const qf = { eventIdx: V.hasFeature(f, V.F_EVENT_IDX), indirect: V.hasFeature(f, V.F_INDIRECT_DESC) };
    const packed = V.hasFeature(f, V.F_RING_PACKED);
    try {
      const live = this.queues.map((q, i) => {
        if (!q.enabled) return null;
        const layout = { size: q.size, desc: addr(q.descLo, q.descHi), driver: addr(q.driverLo, q.driverHi), device: addr(q.deviceLo, q.deviceHi) };
        if (layout.desc < 0 || layout.driver < 0 || layout.device < 0) throw new QueueError(i, 'ring address beyond 2^53');
        return packed ? new PackedQueue(i, layout, this.memory, qf, positions?.[i]) : new SplitQueue(i, layout, this.memory, qf, positions?.[i]);
      });
      this.live = live;
      this.model.activate(
        { memory: this.memory, features: [f[0], f[1]], queues: live, interrupts: this.queues.map((_, i) => this.hooks.queueInterrupt(i)) },
        saved,
      );
    } catch (e) {
      if (!(e instanceof QueueError)) throw e;
      this.fail(e.message);
    }
  }

  /** A kick for queue `q` (the notify register, or an ioeventfd). */
  notify(q: number): void {
    this.notifies++;
    if (!this.live || !this.live[q]) {
      this.driverErrors++;
      return;
    }
    this.model.notify(q);
  }

  /** VirtioLink: the model's config space changed. */
  configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) & 0xff;
    if (this.status & V.STATUS_DRIVER_OK) this.hooks.configInterrupt.trigger();
  }

  /** VirtioLink: the driver broke the device; it stops until reset. */
  fail(reason: string): void {
    this.failures++;
    this.lastFailure = reason;
    this.log.warn(`virtio-fail-${this.id}`, () => `${this.id}: device needs reset: ${reason}`);
    if (this.live) this.model.reset();
    this.live = null;
    this.status |= V.STATUS_DEVICE_NEEDS_RESET;
    this.hooks.configInterrupt.trigger();
  }

  /** Whether the device is running (DRIVER_OK, not failed). */
  get active(): boolean {
    return this.live !== null;
  }

  /** Device reset (status written 0, or machine reset). */
  reset(): void {
    this.resets++;
    if (this.live) this.live = null;
    this.model.reset();
    this.status = 0;
    this.deviceFeatureSelect = 0;
    this.driverFeatureSelect = 0;
    this.driverFeatures = [0, 0];
    this.queueSelect = 0;
    this.configVector = NO_VECTOR;
    for (let i = 0; i < this.queues.length; i++) this.queues[i] = this.freshQueue(this.queues[i]!.max);
  }

  /** State for a snapshot (the model's included while active). */
  save(): VirtioCoreSaved {
    return {
      status: this.status,
      deviceFeatureSelect: this.deviceFeatureSelect,
      driverFeatureSelect: this.driverFeatureSelect,
      driverFeatures: [this.driverFeatures[0], this.driverFeatures[1]],
      queueSelect: this.queueSelect,
      configGeneration: this.configGeneration,
      configVector: this.configVector,
      queues: this.queues.map((q, i) => {
        const { max: _max, ...regs } = q;
        const pos = this.live?.[i]?.position();
        return pos ? { ...regs, position: pos } : regs;
      }),
      ...(this.live ? { model: this.model.save() } : {}),
    };
  }

  /** Applies save() output; returns an error message or null. */
  restore(s: VirtioCoreSaved): string | null {
    if (typeof s !== 'object' || s === null || !Array.isArray(s.queues) || s.queues.length !== this.queues.length) {
      return 'virtio state does not match this device (queue count)';
    }
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v >>> 0 : 0);
    this.status = num(s.status) & 0xff;
    this.deviceFeatureSelect = num(s.deviceFeatureSelect);
    this.driverFeatureSelect = num(s.driverFeatureSelect);
    this.driverFeatures = [num(s.driverFeatures?.[0]), num(s.driverFeatures?.[1])];
    this.queueSelect = num(s.queueSelect) & 0xffff;
    this.configGeneration = num(s.configGeneration) & 0xff;
    this.configVector = num(s.configVector) & 0xffff;
    s.queues.forEach((q, i) => {
      const r = this.queues[i]!;
      r.size = Math.min(num(q.size), r.max);
      r.enabled = q.enabled === true;
      r.descLo = num(q.descLo);
      r.descHi = num(q.descHi);
      r.driverLo = num(q.driverLo);
      r.driverHi = num(q.driverHi);
      r.deviceLo = num(q.deviceLo);
      r.deviceHi = num(q.deviceHi);
      r.vector = num(q.vector) & 0xffff;
    });
    if (this.status & V.STATUS_DRIVER_OK && !(this.status & V.STATUS_DEVICE_NEEDS_RESET)) {
      this.activate(s.queues.map((q) => q.position), s.model);
    }
    return null;
  }

  /** Status, features, queues and counters. */
  inspect(): InspectNode {
    const queues: Record<string, InspectNode> = {};
    this.queues.forEach((q, i) => {
      const live = this.live?.[i];
      queues[String(i)] = inspect.tree({
        size: q.size,
        enabled: q.enabled,
        desc: inspect.hex(addr(q.descLo, q.descHi)),
        driver: inspect.hex(addr(q.driverLo, q.driverHi)),
        device: inspect.hex(addr(q.deviceLo, q.deviceHi)),
        vector: q.vector,
        outstanding: live ? live.outstanding : 0,
      });
    });
    return inspect.tree({
      status: inspect.hex(this.status),
      offeredFeatures: V.featureList(this.offered),
      driverFeatures: V.featureList(this.driverFeatures),
      configGeneration: this.configGeneration,
      notifies: inspect.counter(this.notifies),
      resets: inspect.counter(this.resets),
      failures: inspect.counter(this.failures),
      lastFailure: this.lastFailure,
      driverErrors: inspect.counter(this.driverErrors),
      queues: { children: queues },
      model: this.model.inspect(),
    });
  }
}
