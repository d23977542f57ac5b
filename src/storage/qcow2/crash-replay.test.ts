/**
 * Crash consistency, exhaustively: the crash workload runs on an in-memory
 * image that logs every write and sync. Each prefix of the log is what a
 * SIGKILL at that point leaves; a prefix up to a sync plus any subset of the
 * writes after it is what a power loss may leave. Every such image must pass
 * `qemu-img check` (0, or 3 for leaks) and hold every flushed request.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MemoryImageFile, replayChanges, type LoggedChange } from '../image-file.js';
import { createQcow2 } from './create.js';
import { BATCH, BATCHES_PER_FLUSH, applyOp, expected, firstMismatch, workOp } from './crash-workload.js';
import { openQcow2 } from './open-image.js';
import { qemuCheck, qemuImgMissing } from './qemu-tools.js';

const SIZE = 2 << 20;

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsvmm-replay-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Recording {
  readonly initial: Uint8Array;
  readonly log: readonly LoggedChange[];
  /** Log length when each request was issued. */
  readonly issuedAt: number[];
  /** [log length when a flush resolved, requests it covered]. */
  readonly flushes: [number, number][];
}

async function record(seed: number, clusterBits: number, requests: number): Promise<Recording> {
  const blank = new MemoryImageFile();
  await createQcow2(blank, { size: SIZE, clusterBits });
  const initial = blank.contents();
  const file = new MemoryImageFile(initial, 'replay', { log: true });
  // A small L2 cache makes evictions (and their metadata flushes) part of the run.
  const disk = await openQcow2(file, { writable: true, l2CacheBytes: 4 * 2 ** clusterBits, refcountCacheBytes: 4 * 2 ** clusterBits });
  const log = file.log!;
  const issuedAt: number[] = [];
  const flushes: [number, number][] = [];
  for (let i = 0, batch = 0; i < requests; batch++) {
    const inFlight: Promise<void>[] = [];
    for (let k = 0; k < BATCH; k++, i++) {
      issuedAt.push(log.length);
      inFlight.push(applyOp(disk, workOp(seed, i, SIZE, 2 ** clusterBits)));
    }
    await Promise.all(inFlight);
    if (batch % BATCHES_PER_FLUSH === BATCHES_PER_FLUSH - 1) {
      await disk.flush();
      flushes.push([log.length, i]);
    }
  }
  await disk.close();
  return { initial, log: log.slice(), issuedAt, flushes };
}

function random(seed: number): () => number {
  let s = seed;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

/** Checks the image a crash after `prefix` log entries leaves; `drop` decides which unsynced writes were lost. */
async function checkPrefix(rec: Recording, seed: number, clusterBits: number, prefix: number, drop: (() => boolean) | undefined): Promise<void> {
  let changes = rec.log.slice(0, prefix);
  if (drop !== undefined) {
    let lastSync = -1;
    changes.forEach((c, i) => {
      if (c.kind === 'sync') lastSync = i;
    });
    changes = changes.filter((c, i) => i <= lastSync || c.kind !== 'write' || !drop());
  }
  const bytes = replayChanges(rec.initial, changes);
  const path = join(dir, 'image.qcow2');
  writeFileSync(path, bytes);
  const check = qemuCheck(path);
  const what = `${drop ? 'power loss' : 'kill'} after ${prefix} of ${rec.log.length} changes`;
  assert.ok(check.status === 0 || check.status === 3, `${what}: qemu-img check exit ${check.status}: ${check.stdout}${check.stderr}`);
  const durable = Math.max(0, ...rec.flushes.filter(([at]) => at <= prefix).map(([, n]) => n));
  const issued = rec.issuedAt.filter((at) => at <= prefix).length;
  const disk = await openQcow2(new MemoryImageFile(bytes), { writable: false });
  const got = new Uint8Array(SIZE);
  await disk.read(0, got);
  await disk.close();
  const at = firstMismatch(expected(seed, durable, issued, SIZE, 2 ** clusterBits), got);
  assert.equal(at, -1, `${what}: byte ${at} differs (${durable} requests flushed, ${issued} issued)`);
}

describe('qcow2 crash consistency at every write', { skip: qemuImgMissing() }, () => {
  for (const clusterBits of [12, 16]) {
    it(`${2 ** clusterBits}-byte clusters: every SIGKILL point and sampled power losses`, async (t) => {
      const seed = 77 + clusterBits;
      const rec = await record(seed, clusterBits, 72);
      const syncs = rec.log.filter((c) => c.kind === 'sync').length;
      t.diagnostic(`${rec.log.length} changes, ${syncs} syncs, ${rec.flushes.length} flushes`);
      // About 60 evenly spaced kill points, the end of the log, and 30 random power losses.
      const step = Math.max(1, Math.floor(rec.log.length / 60));
      for (let p = 0; p <= rec.log.length; p += step) await checkPrefix(rec, seed, clusterBits, p, undefined);
      await checkPrefix(rec, seed, clusterBits, rec.log.length, undefined);
      const rnd = random(seed);
      for (let k = 0; k < 30; k++) {
        const p = Math.floor(rnd() * (rec.log.length + 1));
        await checkPrefix(rec, seed, clusterBits, p, () => rnd() < 0.5);
      }
    });
  }
});
