/**
 * bench/blk: virtio-blk throughput measured inside the guest (busybox dd
 * with direct I/O: 1 MiB sequential write and read, 4 KiB random reads),
 * on the host with O_DIRECT on the same backing file, and with QEMU's
 * virtio-blk on the same file and accelerator in the same run.
 *
 *   node dist/bench/blk.js [MiB]
 *
 * On the software CPU every figure is bound by the emulated CPU (dd runs
 * in the guest); the random-read figure includes one dd process per read.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDefaultGuest } from '../src/guest/index.js';
import { ProcessConsole, VmProcess } from '../test/vm/vm-process.js';
import { qemuBinary, qemuCommonArgs } from './qemu.js';

interface Result {
  readonly writeMBs: number;
  readonly readMBs: number;
  readonly randIops: number;
}

const RANDOM_READS = 100;

/** Runs the guest side of the benchmark on a console at the shell prompt. */
async function guestWorkload(vm: ProcessConsole, mib: number): Promise<Result> {
  // busybox date has no %N: time with /proc/uptime (10 ms resolution) inside the guest.
  const time = async (cmd: string): Promise<number> => {
    const out = await vm.run(`s=$(cut -d' ' -f1 /proc/uptime); ${cmd} >/dev/null 2>&1; e=$(cut -d' ' -f1 /proc/uptime); echo "$s $e"`, 900_000);
    const [s, e] = out.trim().split('\n').pop()!.split(' ').map(Number);
    return Math.max(10, (e! - s!) * 1000);
  };

  const w = await time(`dd if=/dev/zero of=/dev/vda bs=1M count=${mib} oflag=direct conv=fsync`);
  const r = await time(`dd if=/dev/vda of=/dev/null bs=1M count=${mib} iflag=direct`);
  // 4 KiB reads at pseudo-random offsets within the written area (one dd each: no fio in busybox).
  const blocks = mib * 256;
  const rr = await time(`i=0; x=12345; while [ $i -lt ${RANDOM_READS} ]; do x=$(( (x * 1103515245 + 12345) % 2147483648 )); dd if=/dev/vda of=/dev/null bs=4k count=1 skip=$((x % ${blocks})) iflag=direct; i=$((i+1)); done`);
  return { writeMBs: (mib * 1.048576) / (w / 1000), readMBs: (mib * 1.048576) / (r / 1000), randIops: RANDOM_READS / (rr / 1000) };
}

/** The same I/O from the host with O_DIRECT (GNU dd) on the backing file. */
function hostWorkload(file: string, mib: number): Result {
  const ms = (args: string[]): number => {
    const t0 = performance.now();
    execFileSync('dd', args, { stdio: 'pipe' });
    return performance.now() - t0;
  };
  const w = ms([`if=/dev/zero`, `of=${file}`, 'bs=1M', `count=${mib}`, 'oflag=direct', 'conv=fsync,notrunc']);
  const r = ms([`if=${file}`, 'of=/dev/null', 'bs=1M', `count=${mib}`, 'iflag=direct']);
  const t0 = performance.now();
  let x = 12345;
  for (let k = 0; k < RANDOM_READS; k++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    execFileSync('dd', [`if=${file}`, 'of=/dev/null', 'bs=4k', 'count=1', `skip=${x % (mib * 256)}`, 'iflag=direct'], { stdio: 'pipe' });
  }
  const rr = performance.now() - t0;
  return { writeMBs: (mib * 1.048576) / (w / 1000), readMBs: (mib * 1.048576) / (r / 1000), randIops: RANDOM_READS / (rr / 1000) };
}

function fmt(r: Result): string {
  return `seq write ${r.writeMBs.toFixed(1)} MB/s, seq read ${r.readMBs.toFixed(1)} MB/s, 4K random read ${r.randIops.toFixed(0)} IOPS`;
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? 32);
  const guest = await ensureDefaultGuest();
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-bench-blk-'));
  const file = join(dir, 'disk.img');
  writeFileSync(file, Buffer.alloc(0));
  execFileSync('truncate', ['-s', `${mib + 16}M`, file]);
  console.log(`bench/blk: ${mib} MiB raw image, default guest ${guest.release}, node ${process.version}`);
  try {
    const host = hostWorkload(file, mib);
    console.log(`  host (dd, O_DIRECT):      ${fmt(host)}`);

    const vm = new VmProcess(['--accel', 'emu', '--memory', '256M', '--disk', `${file},format=raw`]);
    try {
      await vm.waitFor(/tsvmm:\/# /, 600_000);
      const emu = await guestWorkload(vm, mib);
      console.log(`  tsvmm emu (guest dd):    ${fmt(emu)}`);
      console.log(`  emu/host ratios: seq write ${(emu.writeMBs / host.writeMBs).toFixed(3)}, seq read ${(emu.readMBs / host.readMBs).toFixed(3)}, 4K random ${(emu.randIops / host.randIops).toFixed(3)}`);
      vm.send('poweroff -f');
      await vm.exited;
    } finally {
      vm.kill();
    }

    const qemu = qemuBinary();
    if (!qemu) console.log('  QEMU baseline skipped: qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)');
    else {
      const q = new ProcessConsole([qemu, ...qemuCommonArgs(guest), '-drive', `file=${file},format=raw,if=none,id=d0,cache=none`, '-device', 'virtio-blk-pci,drive=d0']);
      try {
        await q.waitFor(/tsvmm:\/# /, 300_000);
        const tcg = await guestWorkload(q, mib);
        console.log(`  QEMU TCG (guest dd):     ${fmt(tcg)}`);
        q.send('poweroff -f');
        await q.exited;
      } finally {
        q.kill();
      }
    }
    if (existsSync('/dev/kvm')) console.log('  KVM: /dev/kvm is present but the KVM backend is not built yet');
    else console.log('  KVM: skipped, /dev/kvm not available (the >= 0.9 x host goals are KVM goals)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
