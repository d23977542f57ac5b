/**
 * tsvmm's qcow2 against QEMU's: images QEMU writes (every cluster size and
 * refcount width, compressed clusters, backing chains, version 2, internal
 * snapshots) read the same as `qemu-img convert` says, and images tsvmm
 * writes pass `qemu-img check` with no errors and no leaks.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DiskOpenError } from '../open-error.js';
import { openDisk } from '../open.js';
import { pattern } from '../disk-contract.js';
import type { Disk } from '../disk.js';
import { createQcow2File } from './create.js';
import { qemuCheck, qemuImg, qemuImgMissing, qemuIo } from './qemu-tools.js';

const skip = qemuImgMissing();
let dir = '';
let n = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsvmm-qemu-interop-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function tool(r: { status: number | null; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.status, 0, `${what}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

function fresh(name: string): string {
  return join(dir, `${n++}-${name}`);
}

/** What QEMU says the image holds, as raw bytes. */
function qemuContents(image: string): Uint8Array {
  const out = fresh('contents.raw');
  tool(qemuImg('convert', '-O', 'raw', image, out), `qemu-img convert ${image}`);
  return new Uint8Array(readFileSync(out));
}

async function readAll(disk: Disk): Promise<Uint8Array> {
  const all = new Uint8Array(disk.size);
  await disk.read(0, all);
  return all;
}

function assertSame(got: Uint8Array, want: Uint8Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const at = got.findIndex((b, i) => b !== want[i]);
  assert.equal(at, -1, `${what}: first difference at byte ${at}`);
}

async function openQcow2Image(path: string, readonly = false): Promise<Disk> {
  return openDisk({ path, format: 'qcow2', readonly });
}

describe('qcow2 interoperability with QEMU', { skip }, () => {
  it('reads what qemu-io wrote, for every cluster size', async () => {
    for (const clusterSize of [512, 4096, 65536, 2 * 1024 * 1024]) {
      const img = fresh(`c${clusterSize}.qcow2`);
      tool(qemuImg('create', '-q', '-f', 'qcow2', '-o', `cluster_size=${clusterSize}`, img, '8M'), 'create');
      tool(qemuIo(img, 'qcow2', 'write -P 0x11 1000 100k', 'write -P 0x22 1M 64k', 'write -z 1040k 8k', 'write -P 0x33 7M 1M', 'discard 7340032 65536'), 'qemu-io');
      const disk = await openQcow2Image(img, true);
      assertSame(await readAll(disk), qemuContents(img), `cluster size ${clusterSize}`);
      await disk.close();
    }
  });

  it('reads compressed clusters (qemu-img convert -c) and copies on write out of them', async () => {
    const size = 4 << 20;
    const source = pattern(size, 3);
    // Some incompressible data: QEMU then stores those clusters uncompressed.
    for (let i = 2 << 20; i < (2 << 20) + 200000; i++) source[i] = (Math.imul(i, 2654435761) >>> 24) & 0xff;
    source.fill(0, 3 << 20, (3 << 20) + 300000);
    const raw = fresh('source.raw');
    writeFileSync(raw, source);
    const img = fresh('compressed.qcow2');
    tool(qemuImg('convert', '-c', '-O', 'qcow2', raw, img), 'convert -c');
    const disk = await openQcow2Image(img);
    assertSame(await readAll(disk), source, 'compressed image');
    const want = source.slice();
    for (const [offset, len] of [[100, 10], [65536 * 5 + 7, 70000], [size - 1000, 1000]] as const) {
      await disk.write(offset, pattern(len, offset & 0xff));
      want.set(pattern(len, offset & 0xff), offset);
    }
    await disk.discard(65536 * 20, 65536 * 3);
    want.fill(0, 65536 * 20, 65536 * 23);
    await disk.close();
    tool(qemuCheck(img), 'qemu-img check after writing into compressed clusters');
    assertSame(qemuContents(img), want, 'QEMU reading what tsvmm wrote');
  });

  it('writes images with every refcount width and small clusters that pass qemu-img check', async () => {
    for (const [clusterSize, refcountBits] of [[512, 1], [512, 64], [512, 16], [4096, 2], [4096, 8], [65536, 32], [65536, 4]] as const) {
      const img = fresh(`r${refcountBits}-c${clusterSize}.qcow2`);
      const size = 12 << 20;
      tool(qemuImg('create', '-q', '-f', 'qcow2', '-o', `cluster_size=${clusterSize},refcount_bits=${refcountBits}`, img, String(size)), 'create');
      const disk = await openQcow2Image(img);
      const want = new Uint8Array(size);
      // Fill most of the disk so the refcount table must grow for small clusters.
      for (let off = 0, k = 1; off < size - 300000; off += 250000 + k * 1000, k++) {
        const data = pattern(200000, k);
        await disk.write(off, data);
        want.set(data, off);
      }
      await disk.writeZeroes(4096, 100000, true);
      want.fill(0, 4096, 104096);
      await disk.discard(1 << 20, 1 << 20);
      want.fill(0, 1 << 20, 2 << 20); // no backing file: discarded clusters read as zeros
      const inspect = disk.inspect();
      if (clusterSize === 512 && refcountBits >= 16) assert.ok(Number(inspect.children!.refcountTableGrowths!.value) > 0, 'the refcount table grew');
      await disk.close();
      const check = qemuCheck(img);
      assert.equal(check.status, 0, `qemu-img check, ${clusterSize}-byte clusters, ${refcountBits}-bit refcounts: ${check.stdout}${check.stderr}\n${JSON.stringify(inspect)}`);
      assertSame(qemuContents(img), want, `${clusterSize}/${refcountBits}`);
    }
  });

  it('reads backing chains qemu-img made, and a tsvmm overlay QEMU can read', async () => {
    const base = fresh('base.raw');
    writeFileSync(base, pattern(4 << 20, 1));
    const mid = fresh('mid.qcow2');
    const top = fresh('top.qcow2');
    tool(qemuImg('create', '-q', '-f', 'qcow2', '-b', base, '-F', 'raw', mid), 'create mid');
    tool(qemuIo(mid, 'qcow2', 'write -P 0x44 64k 64k', 'write -z 1M 64k'), 'qemu-io mid');
    tool(qemuImg('create', '-q', '-f', 'qcow2', '-b', mid, '-F', 'qcow2', top), 'create top');
    tool(qemuIo(top, 'qcow2', 'write -P 0x55 100k 10k'), 'qemu-io top');
    const disk = await openQcow2Image(top, true);
    assertSame(await readAll(disk), qemuContents(top), 'three-level chain');
    await disk.close();

    const overlay = fresh('overlay.qcow2');
    const vm = await openDisk({ path: base, format: 'raw', readonly: false, overlay });
    await vm.write(3 << 20, pattern(5000, 7));
    const want = pattern(4 << 20, 1);
    want.set(pattern(5000, 7), 3 << 20);
    await vm.close();
    tool(qemuCheck(overlay), 'check overlay');
    const info = JSON.parse(tool(qemuImg('info', '--output=json', overlay), 'info')) as { 'backing-filename'?: string; 'backing-filename-format'?: string };
    assert.equal(info['backing-filename'], base);
    assert.equal(info['backing-filename-format'], 'raw');
    assertSame(qemuContents(overlay), want, 'overlay through QEMU');
  });

  it('reads version 2 images and images with internal snapshots, and refuses to write them', async () => {
    const v2 = fresh('v2.qcow2');
    tool(qemuImg('create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', v2, '2M'), 'create v2');
    tool(qemuIo(v2, 'qcow2', 'write -P 0x66 0 300k'), 'qemu-io v2');
    const snap = fresh('snap.qcow2');
    tool(qemuImg('create', '-q', '-f', 'qcow2', snap, '2M'), 'create');
    tool(qemuIo(snap, 'qcow2', 'write -P 0x77 0 300k'), 'qemu-io');
    tool(qemuImg('snapshot', '-c', 'one', snap), 'snapshot');
    tool(qemuIo(snap, 'qcow2', 'write -P 0x78 100k 10k'), 'qemu-io after snapshot');
    for (const img of [v2, snap]) {
      const disk = await openQcow2Image(img, true);
      assertSame(await readAll(disk), qemuContents(img), img);
      await disk.close();
      await assert.rejects(openQcow2Image(img), (err: unknown) => err instanceof DiskOpenError && err.kind === 'unsupported' && err.message.includes('read-only'));
    }
  });

  it('creates images qemu-img reports as clean version 3 images', async () => {
    const img = fresh('new.qcow2');
    await createQcow2File(img, { size: 10 * 1024 ** 3 });
    tool(qemuCheck(img), 'check');
    const info = JSON.parse(tool(qemuImg('info', '--output=json', img), 'info')) as { 'virtual-size': number; 'cluster-size': number; 'format-specific': { data: { compat: string; 'refcount-bits': number; corrupt: boolean } } };
    assert.equal(info['virtual-size'], 10 * 1024 ** 3);
    assert.equal(info['cluster-size'], 65536);
    assert.equal(info['format-specific'].data.compat, '1.1');
    assert.equal(info['format-specific'].data['refcount-bits'], 16);
    assert.equal(info['format-specific'].data.corrupt, false);
  });
});
