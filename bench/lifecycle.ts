/**
 * bench/lifecycle: the default guest (256 MiB, 1 vCPU, software CPU)
 * booted to its shell in this process, then
 *   - pause and resume latency, idle and with a busy guest: pause() until
 *     it resolves (the vCPU stopped), resume() until the vCPU has run again;
 *   - snapshot size and time (RAM scan, memory file, fdatasync, manifest),
 *     and that it leaves the guest's RAM as resident as it was;
 *   - restore-to-running: Vm.restore() in this process, then
 *     `tsvmm run --restore DIR` in a new one, each until the restored
 *     guest's console answers a command; Node's own start-up (`tsvmm
 *     --version`) in the same run as the baseline of the second.
 * Firecracker's published figures are printed beside ours; they are not
 * measured here (no /dev/kvm, and no Firecracker binary on this machine).
 *
 *   node dist/bench/lifecycle.js [cycles]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDefaultGuest } from '../src/guest/index.js';
import { parseVmConfig } from '../src/vm/config.js';
import { pciPart } from '../src/vm/pci-part.js';
import { openSnapshot, type OpenSnapshot } from '../src/vm/snapshot.js';
import { Vm } from '../src/vm/vm.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const PROMPT = /tsvmm:\/# /;

/** A Vm's console output and a way to wait for text in it. */
class Console {
  text = '';
  constructor(private readonly vm: Vm) {
    vm.serial.onOutput = (b) => (this.text += Buffer.from(b).toString('latin1'));
  }
  send(line: string): number {
    const at = this.text.length;
    this.vm.serial.write(Buffer.from(`${line}\n`, 'latin1'));
    return at;
  }
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (!re.test(this.text.slice(from))) {
      if (performance.now() > end) throw new Error(`timed out waiting for ${re}: ${this.text.slice(-300)}`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

/** Resident shared memory of this process (guest RAM is a memfd), MiB. */
function shmemMiB(): number {
  const s = readFileSync('/proc/self/status', 'utf8');
  return Number(s.match(/^RssShmem:\s+(\d+)/m)?.[1] ?? 0) / 1024;
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5).toFixed(2)} ms, p90 ${q(0.9).toFixed(2)}, max ${s[s.length - 1]!.toFixed(2)} (n=${s.length})`;
}

/** What pause/resume cycles measured (ms). */
interface Cycles {
  /** From the moment a timer asked for the pause (its deadline) to pause() resolving: includes waiting for the event loop. */
  readonly request: number[];
  /** pause() alone, from the call. */
  readonly pause: number[];
  /** resume() until the driver ran again (idle guest) or the guest retired instructions again (busy guest). */
  readonly resume: number[];
}

async function pauseResume(vm: Vm, cycles: number, busy: boolean): Promise<Cycles> {
  const out: Cycles = { request: [], pause: [], resume: [] };
  for (let i = 0; i < cycles; i++) {
    // The pause is asked for from a timer, as an API request would arrive: whenever the event loop gets to it.
    const deadline = performance.now() + 20;
    await new Promise((r) => setTimeout(r, 20));
    const t = performance.now();
    await vm.pause();
    const paused = performance.now();
    out.request.push(paused - deadline);
    out.pause.push(paused - t);
    const machine = vm.current!;
    const cpu = machine.platform.vcpus[0]!.executor;
    const before = cpu.retired;
    const ran = new Promise<number>((resolve) => {
      machine.driver.onRound = () => {
        if (busy && cpu.retired === before) return;
        machine.driver.onRound = null;
        resolve(performance.now());
      };
    });
    const r0 = performance.now();
    vm.resume();
    out.resume.push((await ran) - r0);
  }
  return out;
}

/** `tsvmm run --restore dir` until the guest answers `echo`; ms from spawn. */
function cliRestore(dir: string, tag: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, 'run', '--restore', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let answered = 0;
    child.stdin.write(`echo ${tag}\n`);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (!answered && new RegExp(`^${tag}\\r?$`, 'm').test(out)) {
        answered = performance.now() - t0;
        child.stdin.write('poweroff -f\n');
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (answered && code === 0 ? resolve(answered) : reject(new Error(`restore exited ${code}: ${err}${out.slice(-300)}`))));
  });
}

async function main(): Promise<void> {
  const cycles = Number(process.argv[2] ?? 20);
  const guest = await ensureDefaultGuest();
  console.log(`bench/lifecycle: default guest ${guest.release}, 256 MiB, 1 vCPU, --accel emu; node ${process.version}`);
  const config = parseVmConfig({ accel: 'emu', memory: 256 * 1024 * 1024 });
  const boot = {
    kernel: new Uint8Array(readFileSync(guest.kernel)),
    kernelName: 'default guest kernel',
    kernelPath: guest.kernel,
    initrd: new Uint8Array(readFileSync(guest.initrd)),
    initrdName: 'default guest initramfs',
    initrdPath: guest.initrd,
    cmdline: guest.cmdline,
  };
  const vm = new Vm(config, boot, { parts: [pciPart({})] });
  const con = new Console(vm);
  let t = performance.now();
  vm.start();
  await con.waitFor(PROMPT, 600_000);
  console.log(`  booted to the shell in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const idle = await pauseResume(vm, cycles, false);
  console.log(`  pause, idle guest: request to paused ${stats(idle.request)}; pause() call ${stats(idle.pause)}`);
  console.log(`  resume, idle guest (until the driver runs again): ${stats(idle.resume)}`);
  let from = con.send('(while :; do :; done) &');
  await con.waitFor(PROMPT, 60_000, from);
  const busy = await pauseResume(vm, cycles, true);
  console.log(`  pause, busy guest: request to paused ${stats(busy.request)} (the request waits for the driver to yield); pause() call ${stats(busy.pause)}`);
  console.log(`  resume, busy guest (until the guest retires instructions again): ${stats(busy.resume)}`);
  from = con.send('kill %1');
  await con.waitFor(PROMPT, 60_000, from);

  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-bench-snap-'));
  try {
    const totals: number[] = [];
    let info = null;
    const shmemBefore = shmemMiB();
    for (let i = 0; i < 3; i++) {
      await vm.pause();
      t = performance.now();
      await vm.snapshot(dir);
      totals.push(performance.now() - t);
      info = vm.lastSnapshot!;
      vm.resume();
      await new Promise((r) => setTimeout(r, 200));
    }
    const shmemAfter = shmemMiB();
    const m = info!.memory;
    console.log(`  snapshot: ${stats(totals)}; last: capture ${info!.captureMs.toFixed(1)} ms, RAM scan + memory file ${m.ms.toFixed(0)} ms (of which fdatasync ${m.syncMs.toFixed(0)} ms)`);
    console.log(`  snapshot size: memory file ${(m.fileBytes / 2 ** 20).toFixed(1)} MiB (${m.pages} non-zero pages of ${m.bytes / 4096}, ${m.runs} runs), manifest ${(info!.manifestBytes / 1024).toFixed(1)} KiB`);
    console.log(`  guest RAM resident: ${shmemBefore.toFixed(0)} MiB before the snapshots, ${shmemAfter.toFixed(0)} MiB after (the scan reads with pread, not through the mapping)`);
    await vm.pause();
    await vm.snapshot(dir);
    await vm.stop();

    const inProcess: number[] = [];
    const answer: number[] = [];
    const memory: number[] = [];
    for (let i = 0; i < 3; i++) {
      t = performance.now();
      // The snapshot opened here so the RAM copy can be timed on its own.
      const snap = openSnapshot(dir);
      const timed: OpenSnapshot = {
        ...snap,
        image: () => {
          const image = snap.image();
          return {
            ...image,
            loadMemory: (mem) => {
              const m0 = performance.now();
              image.loadMemory(mem);
              memory.push(performance.now() - m0);
            },
          };
        },
      };
      const r = await Vm.restore(timed, { parts: [pciPart({})] });
      inProcess.push(performance.now() - t);
      const c = new Console(r);
      r.start();
      const at = c.send(`echo pong-${i}`);
      await c.waitFor(new RegExp(`^pong-${i}\\r?$`, 'm'), 60_000, at);
      answer.push(performance.now() - t);
      await r.stop();
    }
    console.log(`  restore in process (Vm.restore: manifest, RAM copy, devices, vCPUs): ${stats(inProcess)}; of which the RAM copy ${stats(memory)}`);
    console.log(`  restore in process until the console answers: ${stats(answer)}`);
    const nodeStart: number[] = [];
    for (let i = 0; i < 3; i++) {
      t = performance.now();
      spawnSync(process.execPath, [CLI, '--version']);
      nodeStart.push(performance.now() - t);
    }
    const cli: number[] = [];
    for (let i = 0; i < 3; i++) cli.push(await cliRestore(dir, `ping-${i}`));
    console.log(`  tsvmm run --restore until the console answers: ${stats(cli)}; baseline \`tsvmm --version\` process: ${stats(nodeStart)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('  Firecracker, published, not measured here (KVM, lazily mmap-ed memory file):');
  console.log('    snapshot restore ~4-8 ms for a 128-256 MiB microVM (memory faulted in on use after the restore)');
  console.log('    its CI limits (tests/integration_tests/performance/test_snapshot_perf.py, 2020-21): full snapshot of 2 vCPU / 256 MiB < 180-250 ms, load < 35 ms (target < 5 ms)');
}

void main();
