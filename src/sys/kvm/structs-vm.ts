/**
 * koffi bindings of the VM-level structs of <linux/kvm.h> (memory slots,
 * interrupts, irqchip/PIT state, clocks, dirty logs), and the shapes they
 * decode to. Built lazily through kvmStructs() in structs.ts.
 *
 * C's anonymous unions are bound as their one member a VMM uses (the
 * other member shares the offset): kvm_irq_level.irq (also .status),
 * kvm_irq_routing_msi.devid (also .pad), kvm_coalesced_mmio_zone.pio,
 * and the dirty_bitmap pointer as a uint64_t address.
 */
import type { Koffi, KType } from '../ffi.js';
import { FlexStruct, type U64 } from '../struct.js';

/** struct kvm_userspace_memory_region. */
export interface KvmUserspaceMemoryRegion {
  slot: number; flags: number; guest_phys_addr: U64; memory_size: U64; userspace_addr: U64;
}
/** struct kvm_irq_level (irq in, status out with KVM_IRQ_LINE_STATUS, same field). */
export interface KvmIrqLevel { irq: number; level: number }
/** struct kvm_pit_config. */
export interface KvmPitConfig { flags: number; pad?: ArrayLike<number> }
/** struct kvm_irqfd. */
export interface KvmIrqfd { fd: number; gsi: number; flags: number; resamplefd: number; pad?: ArrayLike<number> }
/** struct kvm_ioeventfd. */
export interface KvmIoeventfd { datamatch: U64; addr: U64; len: number; fd: number; flags: number; pad?: ArrayLike<number> }
/** struct kvm_irq_routing_irqchip. */
export interface KvmIrqRoutingIrqchip { irqchip: number; pin: number }
/** struct kvm_irq_routing_msi. */
export interface KvmIrqRoutingMsi { address_lo: number; address_hi: number; data: number; devid: number }
/** struct kvm_irq_routing_entry; set exactly one member of `u` when encoding. */
export interface KvmIrqRoutingEntry {
  gsi: number; type: number; flags: number; pad?: number;
  u: { irqchip: KvmIrqRoutingIrqchip } | { msi: KvmIrqRoutingMsi } | { pad: ArrayLike<number> };
}
/** struct kvm_irq_routing without its entries. */
export interface KvmIrqRoutingHeader { nr: number; flags: number }
/** struct kvm_msi. */
export interface KvmMsi { address_lo: number; address_hi: number; data: number; flags: number; devid: number; pad?: ArrayLike<number> }
/** struct kvm_clock_data. */
export interface KvmClockData { clock: U64; flags: number; pad0?: number; realtime: U64; host_tsc: U64; pad?: ArrayLike<number> }
/** struct kvm_dirty_log (dirty_bitmap: address of a buffer, see addressOf()). */
export interface KvmDirtyLog { slot: number; padding1?: number; dirty_bitmap: U64 }
/** struct kvm_clear_dirty_log. */
export interface KvmClearDirtyLog { slot: number; num_pages: number; first_page: U64; dirty_bitmap: U64 }
/** struct kvm_enable_cap. */
export interface KvmEnableCap { cap: number; flags: number; args: ArrayLike<number | bigint>; pad?: ArrayLike<number> }
/** struct kvm_coalesced_mmio_zone. */
export interface KvmCoalescedMmioZone { addr: U64; size: number; pio: number }
/** struct kvm_create_device. */
export interface KvmCreateDevice { type: number; fd: number; flags: number }
/** struct kvm_device_attr. */
export interface KvmDeviceAttr { flags: number; group: number; attr: U64; addr: U64 }
/** struct kvm_irqchip: chip_id selects which member of `chip` is meaningful. */
export interface KvmIrqchip { chip_id: number; pad?: number; chip: { dummy: Uint8Array } }
/** struct kvm_pit_channel_state. */
export interface KvmPitChannelState {
  count: number; latched_count: number; count_latched: number; status_latched: number; status: number;
  read_state: number; write_state: number; write_latch: number; rw_mode: number; mode: number;
  bcd: number; gate: number; count_load_time: U64;
}
/** struct kvm_pit_state2. */
export interface KvmPitState2 { channels: KvmPitChannelState[]; flags: number; reserved?: ArrayLike<number> }

/** Defines the VM-level types with koffi (called once, by kvmStructs()). */
export function defineVmStructs(k: Koffi) {
  const u8 = 'uint8_t';
  const u16 = 'uint16_t';
  const u32 = 'uint32_t';
  const u64 = 'uint64_t';
  const arr = (t: string | KType, n: number) => k.array(t, n);

  const kvm_userspace_memory_region = k.struct('kvm_userspace_memory_region', {
    slot: u32, flags: u32, guest_phys_addr: u64, memory_size: u64, userspace_addr: u64,
  });
  const kvm_irq_level = k.struct('kvm_irq_level', { irq: u32, level: u32 });
  const kvm_pic_state = k.struct('kvm_pic_state', {
    last_irr: u8, irr: u8, imr: u8, isr: u8, priority_add: u8, irq_base: u8, read_reg_select: u8,
    poll: u8, special_mask: u8, init_state: u8, auto_eoi: u8, rotate_on_auto_eoi: u8,
    special_fully_nested_mode: u8, init4: u8, elcr: u8, elcr_mask: u8,
  });
  // redirtbl entries are a u64 overlaid with bitfields; koffi has no bitfields, so the u64.
  const kvm_ioapic_state = k.struct('kvm_ioapic_state', {
    base_address: u64, ioregsel: u32, id: u32, irr: u32, pad: u32, redirtbl: arr(u64, 24),
  });
  const kvm_irqchip = k.struct('kvm_irqchip', {
    chip_id: u32,
    pad: u32,
    chip: k.union({ dummy: arr(u8, 512), pic: kvm_pic_state, ioapic: kvm_ioapic_state }),
  });
  const kvm_pit_config = k.struct('kvm_pit_config', { flags: u32, pad: arr(u32, 15) });
  const kvm_pit_channel_state = k.struct('kvm_pit_channel_state', {
    count: u32, latched_count: u16, count_latched: u8, status_latched: u8, status: u8, read_state: u8,
    write_state: u8, write_latch: u8, rw_mode: u8, mode: u8, bcd: u8, gate: u8, count_load_time: 'int64_t',
  });
  const kvm_pit_state2 = k.struct('kvm_pit_state2', {
    channels: arr(kvm_pit_channel_state, 3), flags: u32, reserved: arr(u32, 9),
  });
  const kvm_reinject_control = k.struct('kvm_reinject_control', { pit_reinject: u8, reserved: arr(u8, 31) });
  const kvm_irqfd = k.struct('kvm_irqfd', { fd: u32, gsi: u32, flags: u32, resamplefd: u32, pad: arr(u8, 16) });
  const kvm_ioeventfd = k.struct('kvm_ioeventfd', {
    datamatch: u64, addr: u64, len: u32, fd: 'int32_t', flags: u32, pad: arr(u8, 36),
  });
  const kvm_irq_routing_irqchip = k.struct('kvm_irq_routing_irqchip', { irqchip: u32, pin: u32 });
  const kvm_irq_routing_msi = k.struct('kvm_irq_routing_msi', {
    address_lo: u32, address_hi: u32, data: u32, devid: u32,
  });
  const kvm_irq_routing_s390_adapter = k.struct('kvm_irq_routing_s390_adapter', {
    ind_addr: u64, summary_addr: u64, ind_offset: u64, summary_offset: u32, adapter_id: u32,
  });
  const kvm_irq_routing_hv_sint = k.struct('kvm_irq_routing_hv_sint', { vcpu: u32, sint: u32 });
  const kvm_irq_routing_xen_evtchn = k.struct('kvm_irq_routing_xen_evtchn', { port: u32, vcpu: u32, priority: u32 });
  const kvm_irq_routing_entry = k.struct('kvm_irq_routing_entry', {
    gsi: u32,
    type: u32,
    flags: u32,
    pad: u32,
    u: k.union({
      irqchip: kvm_irq_routing_irqchip,
      msi: kvm_irq_routing_msi,
      adapter: kvm_irq_routing_s390_adapter,
      hv_sint: kvm_irq_routing_hv_sint,
      xen_evtchn: kvm_irq_routing_xen_evtchn,
      pad: arr(u32, 8),
    }),
  });
  // Aligned as C aligns it: to its flexible array of 8-byte-aligned entries.
  const kvm_irq_routing = k.struct('kvm_irq_routing', { nr: [8, u32], flags: u32 });
  const kvm_msi = k.struct('kvm_msi', {
    address_lo: u32, address_hi: u32, data: u32, flags: u32, devid: u32, pad: arr(u8, 12),
  });
  const kvm_clock_data = k.struct('kvm_clock_data', {
    clock: u64, flags: u32, pad0: u32, realtime: u64, host_tsc: u64, pad: arr(u32, 4),
  });
  const kvm_dirty_log = k.struct('kvm_dirty_log', { slot: u32, padding1: u32, dirty_bitmap: u64 });
  const kvm_clear_dirty_log = k.struct('kvm_clear_dirty_log', {
    slot: u32, num_pages: u32, first_page: u64, dirty_bitmap: u64,
  });
  const kvm_enable_cap = k.struct('kvm_enable_cap', { cap: u32, flags: u32, args: arr(u64, 4), pad: arr(u8, 64) });
  const kvm_coalesced_mmio_zone = k.struct('kvm_coalesced_mmio_zone', { addr: u64, size: u32, pio: u32 });
  const kvm_create_device = k.struct('kvm_create_device', { type: u32, fd: u32, flags: u32 });
  const kvm_device_attr = k.struct('kvm_device_attr', { flags: u32, group: u32, attr: u64, addr: u64 });

  return {
    kvm_userspace_memory_region, kvm_irq_level, kvm_pic_state, kvm_ioapic_state, kvm_irqchip,
    kvm_pit_config, kvm_pit_channel_state, kvm_pit_state2, kvm_reinject_control, kvm_irqfd,
    kvm_ioeventfd, kvm_irq_routing_irqchip, kvm_irq_routing_msi, kvm_irq_routing_s390_adapter,
    kvm_irq_routing_hv_sint, kvm_irq_routing_xen_evtchn, kvm_irq_routing_entry, kvm_irq_routing,
    kvm_msi, kvm_clock_data, kvm_dirty_log, kvm_clear_dirty_log, kvm_enable_cap,
    kvm_coalesced_mmio_zone, kvm_create_device, kvm_device_attr,
    /** kvm_irq_routing with its entries. */
    irqRouting: new FlexStruct<KvmIrqRoutingHeader, KvmIrqRoutingEntry>(kvm_irq_routing, 'nr', 'entries', kvm_irq_routing_entry),
  };
}
