/**
 * openDisk(): from a DiskConfig to a Disk. Picks the backend (raw, qcow2,
 * qcow2 overlay over a read-only base), locks the image, and reports every
 * failure as one DiskOpenError line naming the file.
 *
 * DEVNOTE: an overlay is a qcow2 image whose backing file is the base: the
 * base is opened read-only (and wrapped in ReadOnlyDisk), so many VMs can
 * share it; every guest write lands in the overlay. A missing overlay is
 * created, recording the base's absolute path and format; an existing one
 * must name the same base.
 */
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import type { DiskConfig } from '../vm/config.js';
import type { Disk } from './disk.js';
import { NodeImageFile, type ImageFile } from './image-file.js';
import { lockImage, type ImageLock } from './lock.js';
import { DiskOpenError, openErrorFromFs } from './open-error.js';
import { createQcow2File } from './qcow2/create.js';
import { QCOW2_MAGIC } from './qcow2/format.js';
import { openQcow2, type BackingFormat } from './qcow2/open-image.js';
import { describeError } from './range.js';
import { RawDisk } from './raw-disk.js';
import { ReadOnlyDisk } from './readonly-disk.js';
import { serialFromName } from './stats.js';
import { SECTOR_SIZE } from './disk.js';

/** Options for openDisk. */
export interface OpenDiskOptions {
  /** Receives one-line warnings (e.g. a raw disk that holds a qcow2 image). */
  readonly warn?: (message: string) => void;
  /** Device serial the guest sees (default: the image's file name, at most 20 bytes). */
  readonly serial?: string;
  /** Bytes of qcow2 L2 tables kept in memory (see OpenQcow2Options). */
  readonly l2CacheBytes?: number;
}

/** Backing chains longer than this are refused (a loop of backing files would never end). */
const MAX_BACKING_DEPTH = 16;

/** Opens the disk a DiskConfig describes; rejects with DiskOpenError. */
export async function openDisk(config: DiskConfig, opts: OpenDiskOptions = {}): Promise<Disk> {
  const serial = opts.serial ?? serialFromName(basename(config.path));
  const ctx: Ctx = { warn: opts.warn ?? (() => {}), serial, ...(opts.l2CacheBytes !== undefined ? { l2CacheBytes: opts.l2CacheBytes } : {}) };
  const disk = config.overlay === undefined ? await openImage(config.path, config.format, !config.readonly, ctx, 0) : await openOverlay(config, config.overlay, ctx);
  return config.readonly ? new ReadOnlyDisk(disk) : disk;
}

interface Ctx {
  readonly warn: (message: string) => void;
  readonly serial: string;
  readonly l2CacheBytes?: number;
}

async function openOverlay(config: DiskConfig, overlay: string, ctx: Ctx): Promise<Disk> {
  const base = resolve(config.path);
  const exists = await stat(overlay).then(
    () => true,
    (err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw openErrorFromFs(overlay, err);
    },
  );
  if (!exists) await createOverlay(base, config.format, overlay, ctx);
  const baseReal = await realpath(base).catch((err: unknown) => {
    throw openErrorFromFs(base, err);
  });
  return openImage(overlay, 'qcow2', !config.readonly, ctx, 0, async (name, format, depth) => {
    const named = resolve(dirname(overlay), name);
    const real = await realpath(named).catch(() => named);
    if (real !== baseReal) throw new DiskOpenError('mismatch', overlay, `is an overlay of ${named}, not of ${base}`);
    if (format !== undefined && format !== config.format) throw new DiskOpenError('mismatch', overlay, `records its base as ${format}, not ${config.format}`);
    return openImage(base, config.format, false, ctx, depth);
  });
}

async function createOverlay(base: string, format: BackingFormat, overlay: string, ctx: Ctx): Promise<void> {
  const baseDisk = await openImage(base, format, false, ctx, 1);
  const size = baseDisk.size;
  await baseDisk.close();
  try {
    await createQcow2File(overlay, { size, backingFile: base, backingFormat: format });
  } catch (err) {
    // Another VM created it first: use theirs (openOverlay checks it names this base).
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw openErrorFromFs(overlay, err, 'cannot create the overlay');
  }
}

type BackingOpener = (name: string, format: BackingFormat | undefined, depth: number) => Promise<Disk>;

async function openImage(path: string, format: BackingFormat, writable: boolean, ctx: Ctx, depth: number, backingOpener?: BackingOpener): Promise<Disk> {
  if (depth > MAX_BACKING_DEPTH) throw new DiskOpenError('unsupported', path, `backing chain is deeper than ${MAX_BACKING_DEPTH} images (a loop?)`);
  let file: NodeImageFile;
  try {
    file = await NodeImageFile.open(path, writable);
  } catch (err) {
    const e = openErrorFromFs(path, err, writable ? 'cannot open for writing' : 'cannot open');
    if (writable && e.kind === 'unreadable') throw new DiskOpenError(e.kind, path, `${e.message.slice(path.length + 2)} (attach it with readonly)`, { cause: err });
    throw e;
  }
  let lock: ImageLock | undefined;
  try {
    if (!(await stat(path)).isFile()) throw new DiskOpenError('unsupported', path, 'is not a regular file');
    lock = await lockImage(path, file.fd, writable);
    if (lock.warning !== undefined) ctx.warn(lock.warning);
    const onClose = lock.release.bind(lock);
    const magic = await readMagic(file);
    if (format === 'raw') {
      if (magic === QCOW2_MAGIC) ctx.warn(`${path}: starts with a qcow2 header but is attached as raw, so the guest sees the qcow2 metadata (use format=qcow2 for the disk it holds)`);
      const disk = await RawDisk.open(file, { readOnly: !writable, serial: ctx.serial, onClose });
      const length = await file.size();
      if (length % SECTOR_SIZE !== 0) ctx.warn(`${path}: ${length} bytes is not a whole number of ${SECTOR_SIZE}-byte sectors; the last sector is padded with zeros`);
      return disk;
    }
    if (magic !== QCOW2_MAGIC) throw new DiskOpenError('corrupt', path, 'is not a qcow2 image (no QFI\\xfb magic); use format=raw for a raw image');
    const opener: BackingOpener = backingOpener ?? ((name, fmt, d) => openBacking(path, name, fmt, ctx, d));
    return await openQcow2(file, {
      writable,
      serial: ctx.serial,
      ...(ctx.l2CacheBytes !== undefined ? { l2CacheBytes: ctx.l2CacheBytes } : {}),
      openBacking: async (name, fmt) => new ReadOnlyDisk(await opener(name, fmt, depth + 1)),
      onClose,
    });
  } catch (err) {
    await file.close().catch(() => {});
    await lock?.release().catch(() => {});
    if (err instanceof DiskOpenError) throw err;
    throw new DiskOpenError('io', path, describeError(err), { cause: err });
  }
}

async function openBacking(image: string, name: string, format: BackingFormat | undefined, ctx: Ctx, depth: number): Promise<Disk> {
  // Relative backing names are relative to the image that names them, as in QEMU.
  const path = isAbsolute(name) ? name : resolve(dirname(image), name);
  let fmt = format;
  if (fmt === undefined) {
    let probe: NodeImageFile;
    try {
      probe = await NodeImageFile.open(path, false);
    } catch (err) {
      throw openErrorFromFs(path, err);
    }
    try {
      fmt = (await readMagic(probe)) === QCOW2_MAGIC ? 'qcow2' : 'raw';
    } finally {
      await probe.close();
    }
  }
  return openImage(path, fmt, false, ctx, depth);
}

async function readMagic(file: ImageFile): Promise<number | undefined> {
  const head = new Uint8Array(4);
  if ((await file.read(0, head)) < 4) return undefined;
  return new DataView(head.buffer).getUint32(0);
}
