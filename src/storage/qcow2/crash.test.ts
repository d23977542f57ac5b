/**
 * Crash consistency for real: a child process writes to a qcow2 image and
 * is killed with SIGKILL at a random moment. `qemu-img check` must then
 * find no corruption (exit 0, or 3 for leaked clusters), and every request
 * the child saw flushed must read back.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { openDisk } from '../open.js';
import { createQcow2File } from './create.js';
import { expected, firstMismatch } from './crash-workload.js';
import { qemuCheck, qemuImgMissing } from './qemu-tools.js';

const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url));
const SIZE = 16 << 20;

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsvmm-crash-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the child until it has flushed `flushes` times plus `extraMs`, then kills it; returns what it said. */
function runAndKill(image: string, seed: number, clusterSize: number, flushes: number, extraMs: number): Promise<{ issued: number; durable: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, image, String(seed), String(clusterSize)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let issued = 0;
    let durable = 0;
    let seen = 0;
    let stderr = '';
    let buffered = '';
    let timer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [word, num] = line.split(' ');
        if (word === 'issue') issued = Number(num);
        if (word === 'flushed') {
          durable = Number(num);
          if (++seen === flushes) timer = setTimeout(() => child.kill('SIGKILL'), extraMs);
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code ?? signal} before the kill: ${stderr}`));
      else resolve({ issued, durable });
    });
  });
}

describe('qcow2 crash consistency under SIGKILL', { skip: qemuImgMissing() }, () => {
  const cases = [
    { clusterBits: 16, flushes: 3, extraMs: 0 },
    { clusterBits: 16, flushes: 8, extraMs: 7 },
    { clusterBits: 12, flushes: 5, extraMs: 3 },
    { clusterBits: 12, flushes: 20, extraMs: 11 },
    { clusterBits: 9, flushes: 10, extraMs: 1 },
  ];
  for (const [k, c] of cases.entries()) {
    it(`${2 ** c.clusterBits}-byte clusters, killed ${c.extraMs} ms after flush ${c.flushes}`, async (t) => {
      const image = join(dir, `crash${k}.qcow2`);
      await createQcow2File(image, { size: SIZE, clusterBits: c.clusterBits });
      const seed = 1000 + k;
      const { issued, durable } = await runAndKill(image, seed, 2 ** c.clusterBits, c.flushes, c.extraMs);
      const check = qemuCheck(image);
      t.diagnostic(`qemu-img check exit ${check.status}; ${durable} requests flushed, ${issued} issued`);
      assert.ok(check.status === 0 || check.status === 3, `qemu-img check exit ${check.status}: ${check.stdout}${check.stderr}`);
      // The dead child's lock is stale: opening must take it over.
      const disk = await openDisk({ path: image, format: 'qcow2', readonly: false });
      const got = new Uint8Array(SIZE);
      await disk.read(0, got);
      await disk.close();
      const at = firstMismatch(expected(seed, durable, issued, SIZE, 2 ** c.clusterBits), got);
      assert.equal(at, -1, `byte ${at} differs after the crash (${durable} requests flushed, ${issued} issued)`);
    });
  }
});
