/**
 * Test support: runs the ACPICA tools (Debian package acpica-tools) on
 * tables this module built. `iasl -d` disassembles them, `iasl` compiles
 * the disassembly back, and `acpiexec` loads them into the same AML
 * interpreter Linux uses and evaluates methods.
 *
 * DEVNOTE: these are the tests that catch a table a real OS would reject;
 * hand-computed bytes only prove the encoder does what its author thought.
 * Tests skip with `acpicaSkipReason()` where the tools are missing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlacedTable } from './tables.js';

let skipReason: string | undefined | null = null;

/** Why the ACPICA tools cannot run here, or undefined when they can. */
export function acpicaSkipReason(): string | undefined {
  if (skipReason === null) {
    const missing = ['iasl', 'acpiexec'].filter((tool) => spawnSync(tool, ['-v'], { encoding: 'utf8' }).error !== undefined);
    skipReason = missing.length === 0 ? undefined : `${missing.join(' and ')} not installed (Debian package acpica-tools)`;
  }
  return skipReason;
}

/** Output of one tool run. */
export interface ToolRun {
  readonly status: number | null;
  /** stdout and stderr together. */
  readonly output: string;
}

function run(tool: string, args: readonly string[], cwd: string): ToolRun {
  const r = spawnSync(tool, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** A scratch directory holding table files; `close()` removes it. */
export class TableDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'tsvmm-acpi-'));

  /** The file name a table is written under, e.g. "dsdt.dat". */
  static fileName(signature: string): string {
    return `${signature === 'RSD PTR ' ? 'rsdp' : signature.toLowerCase()}.dat`;
  }

  /** Writes every table; returns their file names in order. */
  writeTables(tables: readonly PlacedTable[]): string[] {
    return tables.map((t) => this.write(TableDir.fileName(t.signature), t.bytes));
  }

  /** Writes one file. */
  write(name: string, contents: Uint8Array | string): string {
    writeFileSync(join(this.dir, name), contents);
    return name;
  }

  /** Reads a file back. */
  read(name: string): Buffer {
    return readFileSync(join(this.dir, name));
  }

  /** `iasl -d file`: the run and the .dsl it wrote. */
  disassemble(file: string): ToolRun & { readonly dsl: string } {
    const r = run('iasl', ['-d', file], this.dir);
    const dslName = file.replace(/\.dat$/, '.dsl');
    let dsl = '';
    try {
      dsl = readFileSync(join(this.dir, dslName), 'utf8');
    } catch {
      // No output file: the status and output say why.
    }
    return { ...r, dsl };
  }

  /** Compiles ASL with every optimization off (`iasl -oa`), so the AML mirrors the source. */
  compile(dslFile: string, outPrefix: string): ToolRun & { readonly aml: Uint8Array } {
    const r = run('iasl', ['-oa', '-p', outPrefix, dslFile], this.dir);
    let aml = new Uint8Array();
    try {
      aml = new Uint8Array(this.read(`${outPrefix}.aml`));
    } catch {
      // Compilation failed; the caller asserts on the status.
    }
    return { ...r, aml };
  }

  /**
   * `acpiexec -b commands files`. `initFile` names a namespace
   * initialization file (-fi: "\\PATH value" lines, how a test feeds a
   * register value to AML); `traceIo` turns on ACPICA's I/O debug output
   * (HwRead/HwWrite with port, width and value).
   */
  acpiexec(files: readonly string[], commands: string, options: { initFile?: string; traceIo?: boolean } = {}): ToolRun {
    const args = [
      ...(options.initFile ? ['-fi', options.initFile] : []),
      ...(options.traceIo ? ['-x', '0x04000000'] : []),
      '-b',
      commands,
      ...files,
    ];
    return run('acpiexec', args, this.dir);
  }

  /** Removes the directory. */
  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Lines of tool output that report a problem (errors, warnings, firmware complaints). */
export function problemLines(output: string): string[] {
  return output.split('\n').filter((l) => /error|warning|invalid|incorrect|unknown|failure/i.test(l) && !/0 Errors, 0 Warnings/.test(l));
}

/**
 * Port writes in acpiexec's I/O trace (with traceIo), in order, e.g.
 * "HwWrite : Wrote: 0000000000000034 width  8   to 0000000000000600 (SystemIO)".
 */
export function tracedPortWrites(output: string): { port: number; width: number; value: number }[] {
  const re = /Wrote: ([0-9A-F]{16}) width\s+(\d+)\s+to ([0-9A-F]{16}) \(SystemIO\)/g;
  return [...output.matchAll(re)].map((m) => ({
    value: Number.parseInt(m[1]!, 16),
    width: Number(m[2]),
    port: Number.parseInt(m[3]!, 16),
  }));
}
