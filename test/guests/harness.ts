/**
 * The test guests (assembly in this folder) and the device they talk to.
 * The KVM and emulator backends run the same guests with the same
 * assertions: see README.md here for each guest's expected transcript.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AccessSize, ChipsetDevice, IoPart } from '../../src/bus/device.js';

const run = promisify(execFile);

/** The guests in this folder. */
export type GuestName = 'long64' | 'pm32' | 'irq64';

/** Where every test guest is loaded and entered. */
export const GUEST_LOAD_ADDRESS = 0x100000;
/** EBX the pm32 guest expects (a stand-in for the PVH start-info pointer). */
export const PM32_START_INFO = 0x12345;

/** The port-0xE9 output and scratch-MMIO values each guest must produce. */
export const EXPECTED = {
  long64: { output: 'hello from long mode\nlong mode ok\n', exitStatus: 0 },
  pm32: { output: 'hello from protected mode\nnow in long mode\n', exitStatus: 0 },
  irq64: { output: 'int3\ndevice\ntimer\n', exitStatus: 0 },
} as const satisfies Record<GuestName, { output: string; exitStatus: number }>;

// The sources live beside this file in the repository, not in dist/.
function sourceDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${join('dist', 'test')}`) ? join(here, '..', '..', '..', 'test', 'guests') : here;
}

/** Path of a guest's assembly source. */
export function guestSource(name: GuestName): string {
  return join(sourceDir(), `${name}.s`);
}

/**
 * Assembles and links a guest into a flat binary with binutils (`as`, `ld`),
 * caching by source hash. Returns the image bytes.
 */
export async function buildGuest(name: GuestName): Promise<Uint8Array> {
  return assembleFlat(guestSource(name));
}

/**
 * Assembles and links any GNU-as source into a flat binary at
 * GUEST_LOAD_ADDRESS (binutils), caching by source hash.
 */
export async function assembleFlat(src: string): Promise<Uint8Array> {
  const name = src.replace(/^.*\//, '').replace(/\.s$/, '');
  const text = await readFile(src);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'tsvmm-test-guests');
  const out = join(dir, `${name}-${hash}.bin`);
  try {
    await stat(out);
    return new Uint8Array(await readFile(out));
  } catch {
    // not built yet
  }
  await mkdir(dir, { recursive: true });
  const obj = join(dir, `${name}-${hash}-${process.pid}.o`);
  const tmp = `${out}.${process.pid}`;
  await run('as', ['--64', '-o', obj, src]);
  await run('ld', ['-m', 'elf_x86_64', `-Ttext=${GUEST_LOAD_ADDRESS.toString(16)}`, '-e', '_start', '--oformat=binary', '-o', tmp, obj]);
  await rename(tmp, out);
  await writeFile(`${out}.src`, text);
  return new Uint8Array(await readFile(out));
}

/** What the guest did to the test device. */
export interface GuestTranscript {
  /** Bytes written to port 0xE9, as text. */
  output: string;
  /** Value written to the debug-exit port 0xF4, or null. */
  exitStatus: number | null;
  /** GSIs the guest asked the device to raise. */
  irqRequests: number[];
  /** Every MMIO write to the scratch window: "offset/size=value" in hex. */
  mmioWrites: string[];
}

/** Port 0xE9 (debugcon), 0xF0 (test port), 0xF4 (debug-exit) and MMIO scratch at 0xD0000000. */
export const TEST_PORTS = { debugcon: 0xe9, test: 0xf0, debugExit: 0xf4 } as const;
export const TEST_MMIO_BASE = 0xd000_0000;
/** What a 4-byte read of the test port returns. */
export const TEST_PORT_MAGIC = 0x5a5a5a5a;

/**
 * The device every test guest talks to. `raiseIrq` is how a write to the
 * test port reaches the interrupt controller (an IrqLine pulse, wired by
 * the backend's test); `onExit` fires on a debug-exit write.
 */
export class TestDevice implements ChipsetDevice {
  readonly id = 'test-device';
  readonly transcript: GuestTranscript = { output: '', exitStatus: null, irqRequests: [], mmioWrites: [] };
  private readonly scratch = new Uint8Array(64);
  readonly pio: IoPart;
  readonly mmio: IoPart;

  constructor(
    private readonly raiseIrq: (gsi: number) => void = () => {},
    private readonly onExit: (status: number) => void = () => {},
  ) {
    this.pio = {
      regions: [
        { name: 'debugcon', base: TEST_PORTS.debugcon, size: 1 },
        { name: 'test', base: TEST_PORTS.test, size: 4 },
        { name: 'debug-exit', base: TEST_PORTS.debugExit, size: 1 },
      ],
      read: (port, size) => (port === TEST_PORTS.test ? TEST_PORT_MAGIC : 0xffffffff) >>> (32 - 8 * size),
      write: (port, _size, value) => this.pioWrite(port, value),
    };
    this.mmio = {
      regions: [{ name: 'scratch', base: TEST_MMIO_BASE, size: this.scratch.length }],
      read: (addr, size) => this.scratchRead(addr - TEST_MMIO_BASE, size),
      write: (addr, size, value) => this.scratchWrite(addr - TEST_MMIO_BASE, size, value),
    };
  }

  private pioWrite(port: number, value: number): void {
    const t = this.transcript;
    if (port === TEST_PORTS.debugcon) t.output += String.fromCharCode(value & 0xff);
    else if (port === TEST_PORTS.debugExit) {
      t.exitStatus = value & 0xff;
      this.onExit(t.exitStatus);
    } else if (port === TEST_PORTS.test) {
      t.irqRequests.push(value);
      this.raiseIrq(value);
    }
  }

  private scratchRead(off: number, size: AccessSize): number {
    if (off < 0 || off + size > this.scratch.length) return 0xffffffff >>> (32 - 8 * size);
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.scratch[off + i]! << (8 * i);
    return v >>> 0;
  }

  private scratchWrite(off: number, size: AccessSize, value: number): void {
    if (off < 0 || off + size > this.scratch.length) return;
    this.transcript.mmioWrites.push(`${off.toString(16)}/${size}=${(value >>> 0).toString(16)}`);
    for (let i = 0; i < size; i++) this.scratch[off + i] = (value >>> (8 * i)) & 0xff;
  }
}

/** The MMIO writes the long64 guest makes, in order (8-byte ones split by the bus). */
export const LONG64_MMIO_WRITES = ['0/4=12345678', '8/4=55667788', 'c/4=11223344', '10/4=7a314'];
