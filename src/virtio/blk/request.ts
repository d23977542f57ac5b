/**
 * One virtio-blk request (virtio 1.2 5.2.6): parse its header from the
 * chain, check it, and carry it out on a Disk. Data moves through a host
 * buffer (copied in when a write starts, copied out by the device when a
 * read completes), so a request that finishes after a device reset never
 * touches guest memory, and a write is not torn by the guest changing its
 * buffer while the backend works.
 */
import { DiskError, type Disk } from '../../storage/disk.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { type DescriptorChain, type Segment, gather, sliceSegments } from '../queue/chain.js';
import * as B from './regs.js';

/** Limits the device advertises and enforces. */
export interface BlkLimits {
  /** Largest data transfer of one read or write. */
  readonly maxRequestBytes: number;
  readonly maxDiscardSectors: number;
  readonly maxDiscardSeg: number;
  readonly maxWriteZeroesSectors: number;
  readonly maxWriteZeroesSeg: number;
}

/** A request whose framing is sound (header readable, status byte writable). */
export interface BlkRequest {
  readonly type: number;
  /** First sector (512 bytes), or -1 when the 64-bit value is beyond 2^53. */
  readonly sector: number;
  /** Where the status byte goes. */
  readonly status: Segment;
  /** Writable data area (all writable bytes but the status byte). */
  readonly dataIn: readonly Segment[];
  readonly dataInBytes: number;
  /** Readable data area (all readable bytes after the header). */
  readonly dataOut: readonly Segment[];
  readonly dataOutBytes: number;
}

/** How a request ended. */
export interface BlkOutcome {
  readonly status: number;
  /** Bytes for the writable data area (reads, GET_ID). */
  readonly data?: Uint8Array;
  /** Bytes moved to or from the disk (counters). */
  readonly bytes: number;
}

/** Parses the chain; returns a request, or why the chain cannot carry one (the device then needs a reset). */
export function parseRequest(memory: GuestMemory, chain: DescriptorChain): BlkRequest | string {
  if (chain.readableBytes < B.REQ_HEADER_SIZE) return `request at ${chain.head} has no 16-byte readable header`;
  if (chain.writableBytes < 1) return `request at ${chain.head} has no writable status byte`;
  const h = new Uint8Array(B.REQ_HEADER_SIZE);
  gather(memory, chain.readable, 0, h);
  const type = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
  const lo = (h[8]! | (h[9]! << 8) | (h[10]! << 16) | (h[11]! << 24)) >>> 0;
  const hi = (h[12]! | (h[13]! << 8) | (h[14]! << 16) | (h[15]! << 24)) >>> 0;
  const last = chain.writable[chain.writable.length - 1]!;
  return {
    type,
    sector: hi < 0x20_0000 ? hi * 2 ** 32 + lo : -1,
    status: { addr: last.addr + last.len - 1, len: 1 },
    dataIn: sliceSegments(chain.writable, 0, chain.writableBytes - 1),
    dataInBytes: chain.writableBytes - 1,
    dataOut: sliceSegments(chain.readable, B.REQ_HEADER_SIZE, chain.readableBytes - B.REQ_HEADER_SIZE),
    dataOutBytes: chain.readableBytes - B.REQ_HEADER_SIZE,
  };
}

const fail = (status: number): BlkOutcome => ({ status, bytes: 0 });

function statusOf(e: unknown): number {
  return e instanceof DiskError && e.kind === 'unsupported' ? B.S_UNSUPP : B.S_IOERR;
}

/** Whether `bytes` at `sector` lie inside the disk. */
function inRange(disk: Disk, sector: number, bytes: number): boolean {
  return sector >= 0 && sector * B.SECTOR + bytes <= disk.size;
}

/**
 * Starts the request and resolves with its outcome; never rejects. Write
 * data is copied out of guest memory before the first await.
 */
export async function runRequest(req: BlkRequest, memory: GuestMemory, disk: Disk, limits: BlkLimits): Promise<BlkOutcome> {
  switch (req.type) {
    case B.T_IN: {
      const n = req.dataInBytes;
      if (n % B.SECTOR !== 0 || n > limits.maxRequestBytes || !inRange(disk, req.sector, n)) return fail(B.S_IOERR);
      const buf = new Uint8Array(n);
      try {
        if (n > 0) await disk.read(req.sector * B.SECTOR, buf);
        return { status: B.S_OK, data: buf, bytes: n };
      } catch (e) {
        return fail(statusOf(e));
      }
    }
    case B.T_OUT: {
      const n = req.dataOutBytes;
      if (disk.readOnly || n % B.SECTOR !== 0 || n > limits.maxRequestBytes || !inRange(disk, req.sector, n)) return fail(B.S_IOERR);
      const buf = new Uint8Array(n);
      gather(memory, req.dataOut, 0, buf);
      try {
        if (n > 0) await disk.write(req.sector * B.SECTOR, buf);
        return { status: B.S_OK, bytes: n };
      } catch (e) {
        return fail(statusOf(e));
      }
    }
    case B.T_FLUSH:
      try {
        // Durable before the status says OK: the guest relies on it for journalling.
        await disk.flush();
        return { status: B.S_OK, bytes: 0 };
      } catch (e) {
        return fail(statusOf(e));
      }
    case B.T_GET_ID: {
      const id = new Uint8Array(B.ID_BYTES);
      id.set(new TextEncoder().encode(disk.serial).subarray(0, B.ID_BYTES));
      return { status: B.S_OK, data: id.subarray(0, Math.min(B.ID_BYTES, req.dataInBytes)), bytes: 0 };
    }
    case B.T_DISCARD:
    case B.T_WRITE_ZEROES:
      return runRanges(req, memory, disk, limits);
    default:
      return fail(B.S_UNSUPP);
  }
}

/** DISCARD and WRITE_ZEROES: a list of {sector, num_sectors, flags} ranges (5.2.6.2). */
async function runRanges(req: BlkRequest, memory: GuestMemory, disk: Disk, limits: BlkLimits): Promise<BlkOutcome> {
  const zeroes = req.type === B.T_WRITE_ZEROES;
  const maxSeg = zeroes ? limits.maxWriteZeroesSeg : limits.maxDiscardSeg;
  const maxSectors = zeroes ? limits.maxWriteZeroesSectors : limits.maxDiscardSectors;
  const count = req.dataOutBytes / B.DWZ_SEGMENT_SIZE;
  if (!Number.isInteger(count) || count === 0 || count > maxSeg) return fail(B.S_IOERR);
  if (disk.readOnly) return fail(B.S_IOERR);
  const raw = new Uint8Array(req.dataOutBytes);
  gather(memory, req.dataOut, 0, raw);
  const ranges: { offset: number; length: number; unmap: boolean }[] = [];
  for (let i = 0; i < count; i++) {
    const o = i * B.DWZ_SEGMENT_SIZE;
    const lo = (raw[o]! | (raw[o + 1]! << 8) | (raw[o + 2]! << 16) | (raw[o + 3]! << 24)) >>> 0;
    const hi = (raw[o + 4]! | (raw[o + 5]! << 8) | (raw[o + 6]! << 16) | (raw[o + 7]! << 24)) >>> 0;
    const sectors = (raw[o + 8]! | (raw[o + 9]! << 8) | (raw[o + 10]! << 16) | (raw[o + 11]! << 24)) >>> 0;
    const flags = (raw[o + 12]! | (raw[o + 13]! << 8) | (raw[o + 14]! << 16) | (raw[o + 15]! << 24)) >>> 0;
    // Reserved flag bits, or unmap on a discard, are not supported (5.2.6.2).
    if ((flags & ~B.DWZ_F_UNMAP) !== 0 || (!zeroes && flags & B.DWZ_F_UNMAP)) return fail(B.S_UNSUPP);
    const sector = hi < 0x20_0000 ? hi * 2 ** 32 + lo : -1;
    if (sectors > maxSectors || !inRange(disk, sector, sectors * B.SECTOR)) return fail(B.S_IOERR);
    ranges.push({ offset: sector * B.SECTOR, length: sectors * B.SECTOR, unmap: (flags & B.DWZ_F_UNMAP) !== 0 });
  }
  try {
    let bytes = 0;
    for (const r of ranges) {
      if (r.length === 0) continue;
      if (zeroes) await disk.writeZeroes(r.offset, r.length, r.unmap);
      else await disk.discard(r.offset, r.length);
      bytes += r.length;
    }
    return { status: B.S_OK, bytes };
  } catch (e) {
    return fail(statusOf(e));
  }
}
