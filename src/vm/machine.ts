/**
 * One straight function builds the machine (Firecracker's
 * build_microvm_for_boot): guest memory, clock and timers, buses, the
 * CPU platform, legacy devices, ACPI tables, the kernel; it returns a
 * Machine ready to run. Machine-wide requests from devices (power-off,
 * reset, crash, debug-exit) become the exit codes of DESIGN.md.
 */
import { buildAcpiTables } from '../acpi/tables.js';
import { HostClock, TimerQueue } from '../bus/clock.js';
import type { InspectNode, SavedState, VmmDevice } from '../bus/device.js';
import { IoBus } from '../bus/io-bus.js';
import { RateLimitedLog, stderrSink, type LogSink } from '../bus/log.js';
import type { MachineControl, MachineRequest } from '../bus/machine.js';
import { loadLinux, type LoadKind } from '../loader/index.js';
import { saveCpuState, restoreCpuState } from '../hv/emu/cpu-state.js';
import { GuestMemory } from '../memory/guest-memory.js';
import type { CpuClock } from '../x86/msr.js';
import type { VmConfig } from './config.js';
import { EmuDriver } from './emu-driver.js';
import { createEmuPlatform, type EmuPlatform } from './emu-platform.js';
import { createLegacyDevices, type LegacyDevices } from './legacy-devices.js';
import type { MachineContext, MachinePart } from './machine-part.js';
import { captureDevices, SavedDeviceStates } from './snapshot-devices.js';

/** Builds one subsystem of the machine (see machine-part.ts). */
export type MachinePartFactory = (ctx: MachineContext) => MachinePart;

/** TSC frequency the guest sees (1 GHz: one tick per nanosecond of machine time). */
export const TSC_HZ = 1_000_000_000;

/** What to boot. */
export interface MachineBoot {
  readonly kernel: Uint8Array;
  readonly kernelName: string;
  readonly initrd?: Uint8Array | undefined;
  readonly initrdName?: string | undefined;
  readonly cmdline: string;
  /** Where the kernel and initrd were read from (recorded in snapshots, to boot again after a restore). */
  readonly kernelPath?: string | undefined;
  readonly initrdPath?: string | undefined;
}

/** A machine's state besides RAM, as a snapshot records it. */
export interface MachineState {
  /** Machine time (ns). */
  readonly timeNs: number;
  /** Wall-clock ns since the epoch at machine time 0. */
  readonly bootWallNs: number;
  /** How the kernel was booted. */
  readonly bootKind: string;
  /** One CpuSavedState per vCPU (hv/emu/cpu-state.ts). */
  readonly vcpus: readonly unknown[];
  /** Every device's SavedState by id. */
  readonly devices: Readonly<Record<string, SavedState>>;
}

/** What a machine is restored from: its state, and a loader that fills its fresh RAM. */
export interface MachineImage extends MachineState {
  loadMemory(memory: GuestMemory): unknown;
}

/** Build a machine by booting a kernel, or by restoring an image (the kernel is then in RAM already). */
export type MachineSource = MachineBoot | { readonly restore: MachineImage };

/** How a machine's run ended: a process exit code (DESIGN.md) and why. */
export interface MachineExit {
  readonly code: number;
  readonly reason: string;
  /** The guest asked for a reset: the caller boots a fresh machine (unless --no-reboot). */
  readonly reboot?: boolean;
}

/** Extra knobs for building a machine. */
export interface MachineOptions {
  readonly log?: LogSink;
  /** Log accesses to addresses no device claims (guests probe a lot of absent hardware). */
  readonly logUnclaimed?: boolean;
  /** Where COM1's output goes (default: discarded until set on machine.serial). */
  readonly serialOutput?: (bytes: Uint8Array) => void;
  /** Subsystems to add (PCI and virtio devices...), built in this order. */
  readonly parts?: readonly MachinePartFactory[];
}

/** The guest's first serial port as the host sees it. */
export interface SerialPort {
  /** Receives what the guest writes. */
  onOutput: ((bytes: Uint8Array) => void) | null;
  /** Sends bytes to the guest; returns how many were accepted. */
  write(bytes: Uint8Array): number;
}

/** A built machine. */
export class Machine implements MachineControl {
  readonly memory: GuestMemory;
  readonly clock = new HostClock();
  readonly timers: TimerQueue;
  readonly pio: IoBus;
  readonly mmio: IoBus;
  readonly platform: EmuPlatform;
  readonly legacy: LegacyDevices;
  readonly driver: EmuDriver;
  readonly serial: SerialPort;
  /** Which boot path the kernel took. */
  readonly bootKind: LoadKind;
  /** The subsystems added through MachineOptions.parts. */
  readonly parts: readonly MachinePart[];
  /** Every device on the buses. */
  readonly devices: readonly VmmDevice[];
  /** Every device with state (the buses' and the interrupt controllers off them): what a snapshot saves. */
  readonly stateful: readonly VmmDevice[];
  /** Wall-clock ns since the epoch at machine time 0 (the guest's KVM wall clock). */
  readonly bootWallNs: number;
  private readonly log: RateLimitedLog;

  constructor(
    readonly config: VmConfig,
    source: MachineSource,
    options: MachineOptions = {},
  ) {
    const image = 'restore' in source ? source.restore : null;
    // Restored machine time continues from the snapshot: timers, the TSC and kvm-clock never go back.
    if (image) this.clock.advance(image.timeNs);
    const sink = options.log ?? stderrSink;
    this.log = new RateLimitedLog(sink);
    this.memory = GuestMemory.create(config.memory);
    // A failed restore must not leak guest RAM (a memfd the size of the guest).
    try {
      // RAM first: a device restored from its state may look at its rings in guest memory.
      image?.loadMemory(this.memory);
      const saved = image ? new SavedDeviceStates(image.devices) : null;
      const savedState = saved ? (id: string) => saved.take(id) : undefined;
      this.timers = new TimerQueue(this.clock);
      this.pio = new IoBus('pio', 0x10000, sink, options.logUnclaimed ?? false);
      this.mmio = new IoBus('mmio', 2 ** 52, sink, options.logUnclaimed ?? false);
      this.bootWallNs = image?.bootWallNs ?? Date.now() * 1e6;
      const cpuClock: CpuClock = { tscHz: TSC_HZ, nowNs: () => this.clock.nowNs(), bootWallNs: this.bootWallNs };
      this.platform = createEmuPlatform({
        cpus: config.cpus,
        memory: this.memory,
        buses: { pio: this.pio, mmio: this.mmio },
        timers: this.timers,
        clock: cpuClock,
        log: sink,
        ...(savedState ? { saved: savedState } : {}),
      });
      this.legacy = createLegacyDevices({
        irq: this.platform.irq,
        timers: this.timers,
        machine: this,
        memoryBytes: config.memory,
        cpus: config.cpus,
        pit: true,
        debugExit: config.debugExit,
        ...(savedState ? { saved: savedState } : {}),
      });
      const ctx: MachineContext = {
        config, memory: this.memory, pio: this.pio, mmio: this.mmio, irq: this.platform.irq, msi: this.platform.msi,
        timers: this.timers, clock: this.clock, control: this, log: sink,
        ...(savedState ? { savedState } : {}),
      };
      this.parts = (options.parts ?? []).map((build) => build(ctx));
      const devices: VmmDevice[] = [...this.platform.devices, ...this.legacy.all, ...this.parts.flatMap((p) => p.devices)];
      this.devices = devices;
      this.stateful = [...this.platform.stateful, ...this.legacy.all, ...this.parts.flatMap((p) => p.devices)];
      this.pio.register(devices);
      this.mmio.register(devices);

      const com1 = this.legacy.com1;
      com1.onOutput = options.serialOutput ?? null;
      this.serial = {
        get onOutput() {
          return com1.onOutput;
        },
        set onOutput(f) {
          com1.onOutput = f;
        },
        write: (bytes) => com1.receive(bytes),
      };

      if (image) {
        // The firmware tables, the kernel and its boot structures are in the restored RAM.
        this.bootKind = image.bootKind as LoadKind;
        this.restoreState(image, saved!);
      } else {
        this.bootKind = this.loadKernel(source as MachineBoot);
      }
      this.driver = new EmuDriver(this.platform.vcpus, this.platform.lapics, this.platform.bank, this.timers);
    } catch (e) {
      this.memory.close();
      throw e;
    }
  }

  /** Writes the ACPI tables, loads the kernel and points the boot vCPU at it. */
  private loadKernel(boot: MachineBoot): LoadKind {
    const rsdp = buildAcpiTables(this.memory, {
      cpus: this.config.cpus,
      devices: [...this.legacy.acpi, ...this.parts.flatMap((p) => p.acpi ?? [])],
      pm: this.legacy.acpiPm.registers,
      boot: { i8042: true, cmosRtc: true, century: 0x32 },
      mcfg: this.parts.some((p) => p.mcfg === true),
    });
    const loaded = loadLinux(this.memory, {
      kernel: boot.kernel,
      kernelName: boot.kernelName,
      initrd: boot.initrd,
      initrdName: boot.initrdName,
      cmdline: boot.cmdline,
      rsdp,
      reserved: this.parts.flatMap((p) => p.reserved ?? []),
      // The software CPU boots the kernel decompressed by the VMM, through PVH.
      prefer: 'pvh',
    });
    const bsp = this.platform.vcpus[0]!;
    bsp.setSpecialRegisters(loaded.entry.sregs);
    bsp.setRegisters(loaded.entry.regs);
    return loaded.kind;
  }

  /** Loads vCPU state, then checks that every device came from its saved state. */
  private restoreState(image: MachineImage, saved: SavedDeviceStates): void {
    if (image.vcpus.length !== this.platform.vcpus.length) {
      throw new RangeError(`the image has ${image.vcpus.length} vCPU states for ${this.platform.vcpus.length} vCPUs`);
    }
    this.platform.vcpus.forEach((v, i) => restoreCpuState(v, image.vcpus[i]));
    saved.verify(this.stateful);
  }

  /** The machine's state besides RAM, for a snapshot; pause the machine first. */
  captureState(): MachineState {
    return {
      timeNs: this.clock.nowNs(),
      bootWallNs: this.bootWallNs,
      bootKind: this.bootKind,
      vcpus: this.platform.vcpus.map(saveCpuState),
      devices: captureDevices(this.stateful),
    };
  }

  /** Runs the guest until it powers off, crashes or is stopped. */
  async run(): Promise<MachineExit> {
    try {
      return await this.driver.run();
    } finally {
      // Subsystems flush (disks) before guest memory goes away.
      for (const p of this.parts) {
        try {
          await p.close?.();
        } catch (e) {
          this.log.warn('part-close', `closing a machine part failed: ${(e as Error).message}`);
        }
      }
      this.memory.close();
    }
  }

  /** Stops the machine from the host side (Ctrl-], an API call, a signal). */
  stop(code: number, reason: string): void {
    this.driver.stop({ code, reason });
  }

  /** The machine's state and counters: vCPUs, devices, buses, memory. */
  inspect(): InspectNode {
    const vcpus: Record<string, InspectNode> = {};
    this.platform.vcpus.forEach((v, i) => {
      const c = v.cpu;
      vcpus[String(i)] = {
        children: {
          rip: { value: BigInt.asUintN(64, BigInt(Math.trunc(c.rip))), hex: true },
          mode: { value: c.mode64 ? 'long (64-bit)' : c.longMode ? 'compatibility' : c.realMode ? 'real' : 'protected' },
          cpl: { value: c.cpl },
          halted: { value: c.halted },
          waitingForSipi: { value: v.waitingForSipi },
          instructions: { value: v.executor.retired, counter: true },
        },
      };
    });
    const devices: Record<string, InspectNode> = {};
    for (const d of this.devices) devices[d.id] = d.inspect();
    return {
      children: {
        backend: { value: 'emu' },
        boot: { value: this.bootKind },
        memory: { children: { bytes: { value: this.memory.size }, regions: { value: this.memory.regions.length } } },
        vcpus: { children: vcpus },
        devices: { children: devices },
        buses: { children: { pio: this.pio.inspect(), mmio: this.mmio.inspect() } },
        idleMs: { value: Math.round(this.driver.idleMs), counter: true },
      },
    };
  }

  /** Presses the ACPI power button (the guest decides what to do). */
  pressPowerButton(): void {
    this.legacy.ged.pressPowerButton();
  }

  /** MachineControl: a device asked the machine to stop, reset or report a crash. */
  request(req: MachineRequest): void {
    switch (req.kind) {
      case 'poweroff':
        this.stop(0, 'the guest powered off');
        return;
      case 'reset':
        if (this.config.noReboot) this.stop(0, `the guest rebooted (${req.source}; --no-reboot)`);
        else this.driver.stop({ code: 0, reason: `the guest rebooted (${req.source})`, reboot: true });
        return;
      case 'crash':
        this.stop(4, `the guest crashed: ${req.message}`);
        return;
      case 'debug-exit':
        this.stop(((req.value & 0x7fffffff) << 1) | 1, `debug-exit ${req.value}`);
        return;
    }
    this.log.warn('machine-request', `unknown machine request ${JSON.stringify(req)}`);
  }
}
