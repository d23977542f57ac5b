/**
 * bench/boot: time from starting the VMM to the default guest's init
 * marker line, to its shell, and to process exit after `poweroff -f`, and
 * the VMM's own memory (peak anonymous + file-backed RSS; guest RAM is a
 * memfd, counted apart as shared memory). In the same run, QEMU on the same
 * kernel and initramfs with the same accelerator (-M microvm; TCG gets
 * tsc_early_khz, or it hangs on some boots), its RAM also on a memfd.
 *
 *   node dist/bench/boot.js [runs]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ensureDefaultGuest } from '../src/guest/index.js';
import { qemuBinary, qemuCommonArgs } from './qemu.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const MARKER = 'tsvmm-guest: init started';
const PROMPT = 'tsvmm:/# ';

interface BootResult {
  readonly initMs: number;
  readonly shellMs: number;
  readonly exitMs: number;
  /** Peak RSS minus guest RAM (shared memory), in MiB. */
  readonly vmmMiB: number;
  /** Guest RAM touched (shared memory at the end), in MiB. */
  readonly guestMiB: number;
}

/** Reads RSS figures of a process from /proc (kB). */
function rss(pid: number): { anon: number; file: number; shmem: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm'))?.[1] ?? 0);
    return { anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
  } catch {
    return null;
  }
}

/** Runs one boot: waits for the marker and the prompt, powers off, measures. */
function boot(command: string, args: string[], timeoutMs: number): Promise<BootResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child: ChildProcess = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let initMs = 0;
    let shellMs = 0;
    let peak = 0;
    let shmem = 0;
    const sample = setInterval(() => {
      const r = child.pid ? rss(child.pid) : null;
      if (r) {
        peak = Math.max(peak, r.anon + r.file);
        shmem = Math.max(shmem, r.shmem);
      }
    }, 20);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command}: no shell within ${timeoutMs} ms; output tail: ${out.slice(-500)}`));
    }, timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (!initMs && out.includes(MARKER)) initMs = performance.now() - t0;
      if (initMs && !shellMs && out.includes(PROMPT)) {
        shellMs = performance.now() - t0;
        child.stdin!.write('poweroff -f\n');
      }
    });
    child.on('exit', () => {
      clearInterval(sample);
      clearTimeout(timer);
      if (!shellMs) {
        reject(new Error(`${command} exited before the shell; output tail: ${out.slice(-500)}`));
        return;
      }
      resolve({ initMs, shellMs, exitMs: performance.now() - t0, vmmMiB: peak / 1024, guestMiB: shmem / 1024 });
    });
  });
}

function fmt(r: BootResult): string {
  return `init ${(r.initMs / 1000).toFixed(2)} s, shell ${(r.shellMs / 1000).toFixed(2)} s, exit ${(r.exitMs / 1000).toFixed(2)} s, VMM memory ${r.vmmMiB.toFixed(0)} MiB (guest RAM touched ${r.guestMiB.toFixed(0)} MiB)`;
}

async function best(label: string, runs: number, f: () => Promise<BootResult>): Promise<BootResult | null> {
  let bestR: BootResult | null = null;
  for (let k = 0; k < runs; k++) {
    try {
      const r = await f();
      console.log(`  ${label} run ${k + 1}: ${fmt(r)}`);
      if (!bestR || r.initMs < bestR.initMs) bestR = r;
    } catch (e) {
      console.log(`  ${label} run ${k + 1} failed: ${(e as Error).message}`);
    }
  }
  return bestR;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 2);
  const guest = await ensureDefaultGuest();
  console.log(`bench/boot: default guest ${guest.release}, 256 MiB, 1 vCPU, best of ${runs}; node ${process.version}`);
  const kvm = existsSync('/dev/kvm');
  const emu = await best('tsvmm emu', runs, () => boot(process.execPath, [CLI, 'run', '--accel', 'emu', '--memory', '256M'], 600_000));
  const qemu = qemuBinary();
  let tcg: BootResult | null = null;
  if (!qemu) console.log('  QEMU baseline skipped: qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)');
  else {
    const args = qemuCommonArgs(guest);
    tcg = await best('QEMU TCG ', runs, () => boot(qemu, args, 300_000));
  }
  if (kvm) console.log('  KVM: /dev/kvm is present, but the KVM backend is not built yet: no KVM figures');
  else console.log('  KVM: skipped, /dev/kvm not available');
  if (emu && tcg) {
    console.log(`  emu/TCG start-to-init ratio ${(emu.initMs / tcg.initMs).toFixed(2)} (goal <= 3), ` +
      `VMM memory ratio ${(emu.vmmMiB / tcg.vmmMiB).toFixed(2)} (goal <= 1)`);
  }
}

void main();
