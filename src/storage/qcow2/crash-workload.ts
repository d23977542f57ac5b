/**
 * The workload of the crash tests: a deterministic stream of writes,
 * write-zeroes and discards, issued in concurrent batches with a flush
 * after every few, and the model of what must survive a crash.
 */
import type { Disk } from '../disk.js';
import { pattern } from '../disk-contract.js';

/** One request of the workload. */
export type WorkOp =
  | { readonly kind: 'write'; readonly offset: number; readonly length: number; readonly seed: number }
  | { readonly kind: 'zero'; readonly offset: number; readonly length: number; readonly unmap: boolean }
  | { readonly kind: 'discard'; readonly offset: number; readonly length: number };

/** Requests issued together (without waiting) before the next batch. */
export const BATCH = 4;
/** Batches between flushes. */
export const BATCHES_PER_FLUSH = 3;

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The i-th request of the workload for `seed` on a disk of `size` bytes with `clusterSize` clusters. */
export function workOp(seed: number, i: number, size: number, clusterSize: number): WorkOp {
  const r = prng(seed * 1_000_003 + i);
  const pick = r();
  const whole = r() < 0.4;
  const length = whole ? clusterSize * (1 + Math.floor(r() * 4)) : 1 + Math.floor(r() * clusterSize * 2);
  const offset = Math.min(size - length, whole ? Math.floor((r() * size) / clusterSize) * clusterSize : Math.floor(r() * (size - length)));
  if (pick < 0.75) return { kind: 'write', offset, length, seed: (seed + i) & 0xff };
  if (pick < 0.9) return { kind: 'zero', offset, length, unmap: r() < 0.5 };
  return { kind: 'discard', offset, length };
}

/** Issues one request. */
export function applyOp(disk: Disk, op: WorkOp): Promise<void> {
  if (op.kind === 'write') return disk.write(op.offset, pattern(op.length, op.seed));
  if (op.kind === 'zero') return disk.writeZeroes(op.offset, op.length, op.unmap);
  return disk.discard(op.offset, op.length);
}

/** What the disk must read as: bytes, and a mask of bytes a crash may have left either way. */
export interface Expected {
  readonly bytes: Uint8Array;
  readonly unknown: Uint8Array;
}

/** The contents once requests [0, durable) are flushed and requests [durable, issued) may or may not have happened. */
export function expected(seed: number, durable: number, issued: number, size: number, clusterSize: number): Expected {
  const bytes = new Uint8Array(size);
  const unknown = new Uint8Array(size);
  for (let i = 0; i < issued; i++) {
    const op = workOp(seed, i, size, clusterSize);
    if (i >= durable || op.kind === 'discard') {
      unknown.fill(1, op.offset, op.offset + op.length);
      continue;
    }
    if (op.kind === 'write') bytes.set(pattern(op.length, op.seed), op.offset);
    else bytes.fill(0, op.offset, op.offset + op.length);
    unknown.fill(0, op.offset, op.offset + op.length);
  }
  return { bytes, unknown };
}

/** The first byte where `got` contradicts `e`, or -1. */
export function firstMismatch(e: Expected, got: Uint8Array): number {
  for (let i = 0; i < got.length; i++) if (e.unknown[i] === 0 && got[i] !== e.bytes[i]) return i;
  return -1;
}
