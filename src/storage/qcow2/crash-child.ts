/**
 * The process the crash test kills: runs the crash workload on a qcow2
 * image forever, printing `issue N` before issuing request N and
 * `flushed N` once requests below N are durable.
 * Usage: node crash-child.js IMAGE SEED CLUSTER_SIZE
 */
import { writeSync } from 'node:fs';
import { openDisk } from '../open.js';
import { BATCH, BATCHES_PER_FLUSH, applyOp, workOp } from './crash-workload.js';

const [image, seedText, clusterText] = process.argv.slice(2);
const seed = Number(seedText);
const clusterSize = Number(clusterText);
const disk = await openDisk({ path: image!, format: 'qcow2', readonly: false });
for (let i = 0, batch = 0; ; batch++) {
  const inFlight: Promise<void>[] = [];
  for (let k = 0; k < BATCH; k++, i++) {
    // Said before issuing: the parent must count a request that may have started.
    writeSync(1, `issue ${i + 1}\n`);
    inFlight.push(applyOp(disk, workOp(seed, i, disk.size, clusterSize)));
  }
  await Promise.all(inFlight);
  if (batch % BATCHES_PER_FLUSH === BATCHES_PER_FLUSH - 1) {
    await disk.flush();
    writeSync(1, `flushed ${i}\n`);
  }
}
