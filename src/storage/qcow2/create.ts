/**
 * Creating qcow2 images: a version 3 header, a refcount table and blocks
 * covering the metadata, and an empty L1 table. The layout is header,
 * refcount table, refcount blocks, L1 table; everything else is allocated
 * as the guest writes.
 */
import { open } from 'node:fs/promises';
import { NodeImageFile, type ImageFile } from '../image-file.js';
import { DEFAULT_CLUSTER_BITS, MAX_CLUSTER_BITS, MIN_CLUSTER_BITS, encodeHeader, l1EntriesFor, MAX_L1_BYTES, writeU64 } from './format.js';

/** What a new image looks like. */
export interface CreateQcow2Options {
  /** Virtual size in bytes. */
  readonly size: number;
  /** log2 of the cluster size (default 16: 64 KiB). */
  readonly clusterBits?: number;
  /** The backing file's name as stored (relative names are resolved from the image's directory). */
  readonly backingFile?: string;
  /** The backing file's format, stored in a header extension. */
  readonly backingFormat?: 'raw' | 'qcow2';
}

/** Writes a new, empty qcow2 image into an empty file and syncs it. */
export async function createQcow2(file: ImageFile, opts: CreateQcow2Options): Promise<void> {
  const bits = opts.clusterBits ?? DEFAULT_CLUSTER_BITS;
  if (!Number.isInteger(bits) || bits < MIN_CLUSTER_BITS || bits > MAX_CLUSTER_BITS) throw new RangeError(`cluster bits ${bits} outside ${MIN_CLUSTER_BITS}..${MAX_CLUSTER_BITS}`);
  if (!Number.isSafeInteger(opts.size) || opts.size < 0) throw new RangeError(`size ${opts.size} is not a byte count`);
  const cs = 2 ** bits;
  const l1Size = l1EntriesFor(opts.size, bits);
  if (l1Size * 8 > MAX_L1_BYTES) throw new RangeError(`a ${opts.size}-byte disk needs an L1 table larger than ${MAX_L1_BYTES} bytes with ${cs}-byte clusters`);
  const l1Clusters = Math.ceil((l1Size * 8) / cs);
  const perBlock = (cs * 8) / 16;
  // The refcount metadata must count itself: grow it until it covers everything.
  let tableClusters = 1;
  let blocks = 1;
  for (;;) {
    const total = 1 + tableClusters + blocks + l1Clusters;
    const needBlocks = Math.ceil(total / perBlock);
    const needTable = Math.ceil(needBlocks / (cs / 8));
    if (needBlocks === blocks && needTable === tableClusters) break;
    blocks = needBlocks;
    tableClusters = needTable;
  }
  const total = 1 + tableClusters + blocks + l1Clusters;
  const tableAt = cs;
  const blocksAt = tableAt + tableClusters * cs;
  const l1At = blocksAt + blocks * cs;

  const header = encodeHeader({
    clusterBits: bits,
    size: opts.size,
    l1Size,
    l1TableOffset: l1Size > 0 ? l1At : 0,
    refcountTableOffset: tableAt,
    refcountTableClusters: tableClusters,
    ...(opts.backingFile !== undefined ? { backingFile: opts.backingFile } : {}),
    ...(opts.backingFormat !== undefined ? { backingFormat: opts.backingFormat } : {}),
  });
  const table = new Uint8Array(tableClusters * cs);
  const tv = new DataView(table.buffer);
  for (let b = 0; b < blocks; b++) writeU64(tv, b * 8, blocksAt + b * cs);
  const refblocks = new Uint8Array(blocks * cs);
  const rv = new DataView(refblocks.buffer);
  for (let c = 0; c < total; c++) rv.setUint16(c * 2, 1);

  await file.truncate(total * cs);
  await file.write(tableAt, table);
  await file.write(blocksAt, refblocks);
  // The header goes last: until it is there, the file is not an image at all.
  await file.write(0, header);
  await file.sync();
}

/** Creates `path` (which must not exist) as a new qcow2 image; rejects with the node:fs error. */
export async function createQcow2File(path: string, opts: CreateQcow2Options): Promise<void> {
  const handle = await open(path, 'wx');
  await handle.close();
  const file = await NodeImageFile.open(path, true);
  try {
    await createQcow2(file, opts);
  } finally {
    await file.close();
  }
}
