/**
 * The Disk contract as one test suite every backend runs: reads of
 * unwritten ranges are zeros, round trips at any offset and across cluster
 * boundaries, requests in flight take effect in issue order, flush, discard,
 * write-zeroes, range checks, close; and a read-only variant.
 *
 * Each check compares the disk with a model: an array of bytes plus a mask
 * of bytes whose contents are unspecified (after discard).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DiskError, SECTOR_SIZE, type Disk } from './disk.js';

/** A disk under test and what to do once the suite is done with it. */
export interface ContractSubject {
  readonly disk: Disk;
  /** Runs after the disk is closed (e.g. `qemu-img check` on its file, removing files). */
  readonly after?: () => Promise<void>;
}

/** How to run the contract on one backend. */
export interface ContractOptions {
  /** Makes a fresh, writable disk of exactly `size` bytes. */
  readonly make: (size: number) => Promise<ContractSubject>;
  /** Offsets worth writing across (a qcow2 image's cluster size, say). */
  readonly boundaries?: readonly number[];
  /** fast-check runs of the random sequence test (default 20). */
  readonly runs?: number;
}

/** A size that is a whole number of sectors but no multiple of 4 KiB or any cluster size. */
export const CONTRACT_SIZE = 2 * 1024 * 1024 + 3 * 65536 + 5 * SECTOR_SIZE;

/** Deterministic bytes for a write: distinguishable by seed and position. */
export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed * 131 + i * 7 + (i >> 8)) & 0xff || 1;
  return out;
}

/** The expected state of a disk. */
class Model {
  readonly bytes: Uint8Array;
  readonly unknown: Uint8Array;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.unknown = new Uint8Array(size);
  }
  write(offset: number, data: Uint8Array): void {
    this.bytes.set(data, offset);
    this.unknown.fill(0, offset, offset + data.length);
  }
  zero(offset: number, length: number): void {
    this.bytes.fill(0, offset, offset + length);
    this.unknown.fill(0, offset, offset + length);
  }
  discard(offset: number, length: number): void {
    this.unknown.fill(1, offset, offset + length);
  }
  /** What a read of the range must return, as of now. */
  expect(offset: number, length: number): Expected {
    return { offset, bytes: this.bytes.slice(offset, offset + length), unknown: this.unknown.slice(offset, offset + length) };
  }
  /** Asserts `got` (read at offset) matches, ignoring unspecified bytes. */
  check(offset: number, got: Uint8Array, what: string): void {
    checkRead(this.expect(offset, got.length), got, what);
  }
}

interface Expected {
  readonly offset: number;
  readonly bytes: Uint8Array;
  readonly unknown: Uint8Array;
}

function checkRead(e: Expected, got: Uint8Array, what: string): void {
  for (let i = 0; i < got.length; i++) {
    if (e.unknown[i] === 0 && got[i] !== e.bytes[i]) assert.fail(`${what}: byte ${e.offset + i} is ${got[i]}, expected ${e.bytes[i]}`);
  }
}

async function readAll(disk: Disk): Promise<Uint8Array> {
  const out = new Uint8Array(disk.size);
  await disk.read(0, out);
  return out;
}

async function withDisk(opts: ContractOptions, size: number, fn: (disk: Disk) => Promise<void>): Promise<void> {
  const { disk, after } = await opts.make(size);
  try {
    await fn(disk);
  } finally {
    await disk.close();
    await after?.();
  }
}

async function rejectsWith(p: Promise<unknown>, kind: DiskError['kind'], what: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof DiskError && err.kind === kind, `${what} should reject with DiskError ${kind}`);
}

type Op =
  | { op: 'write'; offset: number; length: number; seed: number }
  | { op: 'read'; offset: number; length: number }
  | { op: 'zero'; offset: number; length: number; unmap: boolean }
  | { op: 'discard'; offset: number; length: number }
  | { op: 'flush' };

function opArb(size: number, boundaries: readonly number[]): fc.Arbitrary<Op> {
  // Offsets cluster near the interesting boundaries half the time.
  const near = boundaries.length === 0 ? fc.nat(size - 1) : fc.constantFrom(...boundaries).chain((b) => fc.integer({ min: Math.max(0, b - 700), max: Math.min(size - 1, b + 700) }));
  const offset = fc.oneof(fc.nat(size - 1), near);
  const range = fc.tuple(offset, fc.integer({ min: 0, max: 3 * 65536 + 100 })).map(([o, l]) => ({ offset: o, length: Math.min(l, size - o) }));
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(range, fc.nat(255)).map(([r, seed]): Op => ({ op: 'write', ...r, seed })) },
    { weight: 3, arbitrary: range.map((r): Op => ({ op: 'read', ...r })) },
    { weight: 1, arbitrary: fc.tuple(range, fc.boolean()).map(([r, unmap]): Op => ({ op: 'zero', ...r, unmap })) },
    { weight: 1, arbitrary: range.map((r): Op => ({ op: 'discard', ...r })) },
    { weight: 1, arbitrary: fc.constant<Op>({ op: 'flush' }) },
  );
}

/** Issues a batch of ops without waiting between them; checks reads against the model as of their issue. */
async function runBatch(disk: Disk, model: Model, ops: readonly Op[]): Promise<void> {
  const pending: Promise<void>[] = [];
  for (const o of ops) {
    if (o.op === 'write') {
      const data = pattern(o.length, o.seed);
      model.write(o.offset, data);
      pending.push(disk.write(o.offset, data));
    } else if (o.op === 'read') {
      const got = new Uint8Array(o.length);
      const expected = model.expect(o.offset, o.length);
      pending.push(disk.read(o.offset, got).then(() => checkRead(expected, got, `read of ${o.length} at ${o.offset}`)));
    } else if (o.op === 'zero') {
      model.zero(o.offset, o.length);
      pending.push(disk.writeZeroes(o.offset, o.length, o.unmap));
    } else if (o.op === 'discard') {
      model.discard(o.offset, o.length);
      pending.push(disk.discard(o.offset, o.length));
    } else pending.push(disk.flush());
  }
  await Promise.all(pending);
}

/** Registers the contract tests for one writable backend. */
export function describeDiskContract(name: string, opts: ContractOptions): void {
  const boundaries = [...new Set([SECTOR_SIZE, 4096, 65536, ...(opts.boundaries ?? [])])].filter((b) => b < CONTRACT_SIZE);
  describe(`Disk contract: ${name}`, () => {
    it('has a whole number of sectors, a short serial, and reads unwritten ranges as zeros', async () => {
      await withDisk(opts, CONTRACT_SIZE, async (disk) => {
        assert.equal(disk.size, CONTRACT_SIZE);
        assert.equal(disk.readOnly, false);
        assert.ok(Buffer.byteLength(disk.serial) <= 20, `serial ${disk.serial}`);
        assert.ok(disk.inspect().children !== undefined);
        const all = await readAll(disk);
        assert.ok(all.every((b) => b === 0));
        const odd = new Uint8Array(777).fill(9);
        await disk.read(CONTRACT_SIZE - 777, odd);
        assert.ok(odd.every((b) => b === 0));
      });
    });

    it('round-trips writes at unaligned offsets and across boundaries', async () => {
      await withDisk(opts, CONTRACT_SIZE, async (disk) => {
        const model = new Model(disk.size);
        let seed = 1;
        for (const b of boundaries) {
          for (const [start, length] of [[b - 3, 7], [b - 1000, 2 * b + 13], [b + 1, 511], [b - 512, 512]] as const) {
            const offset = Math.max(0, start);
            const data = pattern(Math.min(length, disk.size - offset), seed++);
            await disk.write(offset, data);
            model.write(offset, data);
            const back = new Uint8Array(data.length + 64);
            const from = Math.max(0, offset - 32);
            const len = Math.min(back.length, disk.size - from);
            await disk.read(from, back.subarray(0, len));
            model.check(from, back.subarray(0, len), `read around ${offset}`);
          }
        }
        await disk.write(disk.size - 5, pattern(5, 99));
        model.write(disk.size - 5, pattern(5, 99));
        model.check(0, await readAll(disk), 'whole disk');
        await disk.flush();
        model.check(0, await readAll(disk), 'whole disk after flush');
      });
    });

    it('takes overlapping requests in flight in issue order (the last write wins)', async () => {
      await withDisk(opts, CONTRACT_SIZE, async (disk) => {
        const model = new Model(disk.size);
        const ops: Op[] = [];
        for (let i = 0; i < 64; i++) {
          const offset = 60000 + ((i * 977) % 9000);
          ops.push({ op: 'write', offset, length: 3000 + ((i * 389) % 70000), seed: i + 1 });
          if (i % 3 === 0) ops.push({ op: 'read', offset: 61000, length: 20000 });
          if (i % 16 === 5) ops.push({ op: 'zero', offset: offset + 100, length: 5000, unmap: i % 2 === 0 });
          if (i % 16 === 9) ops.push({ op: 'flush' });
        }
        await runBatch(disk, model, ops);
        model.check(0, await readAll(disk), 'whole disk');
      });
    });

    it('write-zeroes zeroes exactly its range; discard disturbs nothing outside its range', async () => {
      await withDisk(opts, CONTRACT_SIZE, async (disk) => {
        const model = new Model(disk.size);
        const data = pattern(disk.size, 7);
        await disk.write(0, data);
        model.write(0, data);
        for (const [offset, length, unmap] of [[100, 70000, true], [65536, 65536, false], [65536 * 3 - 1, 2, true], [1 << 20, 3 << 16, false], [0, 512, true]] as const) {
          await disk.writeZeroes(offset, length, unmap);
          model.zero(offset, length);
        }
        for (const [offset, length] of [[300000, 1000], [65536 * 8, 65536 * 2], [65536 * 12 - 7, 65536 + 14]] as const) {
          await disk.discard(offset, length);
          model.discard(offset, length);
        }
        model.check(0, await readAll(disk), 'whole disk');
        await disk.flush();
        model.check(0, await readAll(disk), 'whole disk after flush');
        // Writes after a discard or zeroing land as usual.
        await disk.write(65536 * 8 + 10, pattern(100, 3));
        model.write(65536 * 8 + 10, pattern(100, 3));
        model.check(0, await readAll(disk), 'whole disk after rewriting');
      });
    });

    it('matches the model on random sequences of concurrent requests', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(opArb(CONTRACT_SIZE, boundaries), { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 6 }), async (batches) => {
          await withDisk(opts, CONTRACT_SIZE, async (disk) => {
            const model = new Model(disk.size);
            for (const batch of batches) await runBatch(disk, model, batch);
            model.check(0, await readAll(disk), 'whole disk');
          });
        }),
        { numRuns: opts.runs ?? 20 },
      );
    });

    it('rejects requests outside the disk with DiskError "range"', async () => {
      await withDisk(opts, CONTRACT_SIZE, async (disk) => {
        const s = disk.size;
        await rejectsWith(disk.read(s - 1, new Uint8Array(2)), 'range', 'read across the end');
        await rejectsWith(disk.read(-1, new Uint8Array(1)), 'range', 'read at -1');
        await rejectsWith(disk.read(0.5, new Uint8Array(1)), 'range', 'read at 0.5');
        await rejectsWith(disk.write(s, new Uint8Array(1)), 'range', 'write at the end');
        await rejectsWith(disk.discard(s - 512, 1024), 'range', 'discard across the end');
        await rejectsWith(disk.writeZeroes(s + 512, 512, true), 'range', 'write-zeroes past the end');
        await disk.read(s, new Uint8Array(0));
        const last = new Uint8Array(1);
        await disk.read(s - 1, last);
        assert.equal(last[0], 0);
      });
    });

    it('rejects requests after close', async () => {
      const { disk, after } = await opts.make(CONTRACT_SIZE);
      await disk.write(0, pattern(10, 1));
      await disk.close();
      await after?.();
      await assert.rejects(disk.read(0, new Uint8Array(1)), DiskError);
      await assert.rejects(disk.write(0, new Uint8Array(1)), DiskError);
    });
  });
}

/** Registers the contract tests for a read-only disk holding `contents`. */
export function describeReadOnlyContract(name: string, make: (contents: Uint8Array) => Promise<ContractSubject>): void {
  describe(`Disk contract, read-only: ${name}`, () => {
    it('reads its contents and refuses every change with DiskError "readonly"', async () => {
      const contents = pattern(CONTRACT_SIZE, 5);
      const { disk, after } = await make(contents);
      try {
        assert.equal(disk.readOnly, true);
        assert.equal(disk.size, CONTRACT_SIZE);
        assert.deepEqual(await readAll(disk), contents);
        await rejectsWith(disk.write(0, new Uint8Array(512)), 'readonly', 'write');
        await rejectsWith(disk.discard(0, 512), 'readonly', 'discard');
        await rejectsWith(disk.writeZeroes(512, 512, true), 'readonly', 'write-zeroes');
        await disk.flush();
        assert.deepEqual(await readAll(disk), contents);
      } finally {
        await disk.close();
        await after?.();
      }
    });
  });
}
