/**
 * Test helpers around QEMU's image tools, the reference implementation the
 * qcow2 tests compare with. Tests skip (saying why) where they are missing.
 */
import { spawnSync } from 'node:child_process';

/** What a tool run produced. */
export interface ToolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let found: boolean | undefined;

/** Why qemu-img tests cannot run here, or undefined when they can. */
export function qemuImgMissing(): string | undefined {
  found ??= spawnSync('qemu-img', ['--version'], { encoding: 'utf8' }).status === 0;
  return found ? undefined : 'qemu-img is not installed (Debian: apt-get install qemu-utils)';
}

/** Runs qemu-img with arguments. */
export function qemuImg(...args: string[]): ToolResult {
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs qemu-io commands on an image (`-c` each). */
export function qemuIo(image: string, format: string, ...commands: string[]): ToolResult {
  const r = spawnSync('qemu-io', ['-f', format, ...commands.flatMap((c) => ['-c', c]), image], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** `qemu-img check` of a qcow2 image: 0 clean, 2 corrupt, 3 leaks only. */
export function qemuCheck(image: string): ToolResult {
  return qemuImg('check', '-f', 'qcow2', image);
}
