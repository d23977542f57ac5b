import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { VmBuildError } from "../vm/build-error.js";
import { ACCELS, ConfigError, formatConfigPath, parseVmConfig, vmConfigJsonSchema, type VmConfig } from "../vm/config.js";
import { checkConfigFiles, checkInputFile } from "../vm/input-file.js";
import { openSnapshot, type OpenSnapshot } from "../vm/snapshot.js";
import { SnapshotError } from "../vm/snapshot-format.js";
import { ExitCode, UsageError } from "./errors.js";
import type { CliContext } from "./io.js";
import { startVm } from "./start.js";
import {
  DISK_SYNTAX,
  HOSTFWD_SYNTAX,
  NET_SYNTAX_SHORT,
  SERIAL_SYNTAX,
  parseChoice,
  parseCpus,
  parseDiskSpec,
  parseNetSpec,
  parseSerialSpec,
  parseSize,
  parseSocketPath,
  quote,
} from "./values.js";

/** The `run` flags that describe the VM, as typed; absent means "not given". */
export interface RunFlags {
  /** --config FILE: a JSON VmConfig that the other flags override field by field. */
  config?: string;
  /** --kernel PATH */
  kernel?: string;
  /** --initrd PATH */
  initrd?: string;
  /** --cmdline STR */
  cmdline?: string;
  /** --memory SIZE */
  memory?: string;
  /** --cpus N */
  cpus?: string;
  /** --accel auto|kvm|emu */
  accel?: string;
  /** --disk SPEC, each occurrence */
  disk?: string[];
  /** --net SPEC, each occurrence */
  net?: string[];
  /** --serial SPEC */
  serial?: string;
  /** --debug-exit */
  debugExit?: boolean;
  /** --no-reboot */
  noReboot?: boolean;
}

type Key = keyof VmConfig;

// Which flag sets which config key, so a schema complaint about a value that came
// from the command line names the flag the user typed.
const FLAG_OF: Partial<Record<Key, string>> = {
  kernel: "--kernel",
  initrd: "--initrd",
  cmdline: "--cmdline",
  memory: "--memory",
  cpus: "--cpus",
  accel: "--accel",
  disks: "--disk",
  nets: "--net",
  serial: "--serial",
};

// The file checks are the VM builder's; here their refusals are usage errors (resolveRunConfig's contract).
function asUsage(check: () => void): void {
  try {
    check();
  } catch (err) {
    if (err instanceof VmBuildError) throw new UsageError(err.message, { cause: err });
    throw err;
  }
}

function readConfigFile(file: string): Record<string, unknown> {
  asUsage(() => checkInputFile("--config", file));
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/\s+/g, " ") : String(err);
    throw new UsageError(`--config: ${file}: malformed JSON: ${why}`);
  }
  try {
    parseVmConfig(json);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`--config: ${file}: ${err.message}`);
    throw err;
  }
  // Validated above, so it is a plain object; keep the raw form so flags override
  // what the user wrote, not the filled-in defaults.
  return json as Record<string, unknown>;
}

/**
 * Turns `run`'s flags into a validated VmConfig: reads --config (if any), lets each flag
 * given replace that field (--disk and --net replace the whole list), validates, and
 * checks that the kernel, initrd and disk files exist and can be opened as asked.
 * Throws UsageError with a one-line message naming the flag.
 */
export function resolveRunConfig(flags: RunFlags): VmConfig {
  const base = flags.config === undefined ? {} : readConfigFile(flags.config);
  // The text each flag was given, by the config key it sets, for error messages.
  const raw: Partial<Record<Key, string | string[]>> = {
    kernel: flags.kernel,
    initrd: flags.initrd,
    cmdline: flags.cmdline,
    memory: flags.memory,
    cpus: flags.cpus,
    accel: flags.accel,
    disks: flags.disk,
    nets: flags.net,
    serial: flags.serial,
  };
  for (const key of Object.keys(raw) as Key[]) if (raw[key] === undefined) delete raw[key];
  const over: Partial<Record<Key, unknown>> = { ...raw };
  if (flags.memory !== undefined) over.memory = parseSize(flags.memory, "--memory");
  if (flags.cpus !== undefined) over.cpus = parseCpus(flags.cpus, "--cpus");
  if (flags.accel !== undefined) over.accel = parseChoice(flags.accel, "--accel", ACCELS);
  if (flags.disk !== undefined) over.disks = flags.disk.map((s) => parseDiskSpec(s, "--disk"));
  if (flags.net !== undefined) over.nets = flags.net.map((s) => parseNetSpec(s, "--net"));
  if (flags.serial !== undefined) over.serial = parseSerialSpec(flags.serial, "--serial");
  if (flags.debugExit) over.debugExit = true;
  if (flags.noReboot) over.noReboot = true;

  let config: VmConfig;
  try {
    config = parseVmConfig({ ...base, ...over });
  } catch (err) {
    if (err instanceof ConfigError) throw flagError(err, raw);
    throw err;
  }
  checkFiles(config, flags.config, raw);
  return config;
}

// The file alone was valid, so a complaint now is about a value from a flag.
function flagError(err: ConfigError, raw: Partial<Record<Key, string | string[]>>): UsageError {
  const [key, index] = err.path as [Key, unknown];
  const flag = FLAG_OF[key] ?? `--${key}`;
  const given = raw[key];
  const text = Array.isArray(given) ? (typeof index === "number" ? given[index] : undefined) : given;
  if (text === undefined) return new UsageError(`${flag}: ${err.message}`);
  if (err.path.length === 1) return new UsageError(`${flag}: ${quote(text)} is not accepted (expected ${err.expected})`);
  return new UsageError(`${flag}: ${quote(text)}: ${err.message}`);
}

function checkFiles(config: VmConfig, file: string | undefined, raw: Partial<Record<Key, unknown>>): void {
  // A value from a flag is named by the flag; one from the file by the file and its key.
  const where = (path: readonly (string | number)[]) => {
    const key = path[0] as Key;
    return key in raw || file === undefined ? FLAG_OF[key]! : `--config: ${file}: ${formatConfigPath(path)}`;
  };
  // With an overlay the guest's writes go to the overlay, so the base is only read.
  const readonlyHint = "disks" in raw ? "add ,readonly to attach it read-only" : 'set "readonly": true to attach it read-only';
  asUsage(() => checkConfigFiles(config, where, readonlyHint));
}

/** Options commander hands the run action (negated --no-reboot arrives as `reboot: false`). */
interface RunCommandOptions extends Omit<RunFlags, "noReboot"> {
  reboot?: boolean;
  printConfig?: boolean;
  printSchema?: boolean;
  apiSocket?: string;
  restore?: string;
}

/**
 * `--restore DIR`: the VM comes from the snapshot (its config, RAM and
 * device state), so flags that describe the VM are refused; only where
 * the console goes (--serial) may change. A missing, corrupt, newer or
 * other-backend snapshot is a usage error (exit 2) with one line.
 */
export function resolveRestore(dir: string, flags: RunFlags): { config: VmConfig; snapshot: OpenSnapshot } {
  const fixed = Object.entries(flags).filter(([k, v]) => k !== "serial" && v !== undefined && v !== false);
  if (fixed.length > 0) {
    const names = fixed.map(([k]) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    throw new UsageError(`--restore: the VM is described by the snapshot; ${names.join(", ")} cannot be given with it (only --serial and --api-socket can)`);
  }
  let snapshot: OpenSnapshot;
  try {
    snapshot = openSnapshot(dir);
  } catch (e) {
    if (e instanceof SnapshotError) throw new UsageError(`--restore: ${dir}: ${e.message}`);
    throw e;
  }
  if (flags.serial === undefined) return { config: snapshot.manifest.config, snapshot };
  // Where the console goes is not machine state: the restored VM reports (and snapshots) the new setting.
  const config = { ...snapshot.manifest.config, serial: parseSerialSpec(flags.serial, "--serial") };
  return { config, snapshot: { ...snapshot, manifest: { ...snapshot.manifest, config } } };
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Adds `tsvmm run` to the program; its action stores the exit code in ctx. */
export function addRunCommand(program: Command, ctx: CliContext): void {
  program
    .command("run")
    .description("start a VM from flags or a JSON config and run it until it stops")
    .option("--config <FILE>", "read the VM from a JSON config (flags given override its fields)")
    .option("--kernel <PATH>", "Linux kernel to boot (bzImage or ELF vmlinux)")
    .option("--initrd <PATH>", "initramfs to load with the kernel")
    .option("--cmdline <STR>", "kernel command line")
    .option("--memory <SIZE>", "guest RAM; suffixes K, M, G, T; a bare number is MiB (default: 512M)")
    .option("--cpus <N>", "number of vCPUs, 1 to 255 (default: 1)")
    .option("--accel <MODE>", "auto, kvm or emu; auto uses KVM when /dev/kvm opens (default: auto)")
    .option("--disk <SPEC>", `add a virtio disk: ${DISK_SYNTAX} (repeatable)`, collect)
    .option("--net <SPEC>", `add a virtio network: ${NET_SYNTAX_SHORT} (repeatable)`, collect)
    .option("--serial <SPEC>", `where COM1 goes: ${SERIAL_SYNTAX} (default: stdio)`)
    .option("--debug-exit", "a guest write of V to port 0xf4 exits with (V<<1)|1, as QEMU's isa-debug-exit")
    .option("--no-reboot", "exit with 0 when the guest reboots instead of restarting it")
    .option("--api-socket <PATH>", "serve the HTTP management API on this unix socket")
    .option("--print-config", "print the resolved config as JSON and exit without starting the VM")
    .option("--print-schema", "print the JSON Schema of --config files (and of PUT /v1/vm) and exit")
    .option("--restore <DIR>", "continue the VM saved in snapshot directory DIR (a paused VM's snapshot)")
    .addHelpText(
      "after",
      `\nhostfwd RULE: ${HOSTFWD_SYNTAX.slice(8)}; HOSTADDR defaults to 127.0.0.1, GUESTADDR to 10.0.2.15.` +
        "\nExit codes: 0 guest powered off, 2 bad usage or config, 3 VMM failure, 4 guest crashed." +
        "\nExample: tsvmm run --kernel bzImage --memory 1G --disk root.img --net user,hostfwd=tcp::2222-:22",
    )
    .action(async (opts: RunCommandOptions) => {
      const { reboot, printConfig, printSchema, apiSocket, restore, ...rest } = opts;
      if (printSchema) {
        ctx.io.stdout(`${JSON.stringify(vmConfigJsonSchema(), null, 2)}\n`);
        return;
      }
      const flags = { ...rest, ...(reboot === false ? { noReboot: true } : {}) };
      const restored = restore === undefined ? null : resolveRestore(restore, flags);
      const config = restored ? restored.config : resolveRunConfig(flags);
      if (apiSocket !== undefined) parseSocketPath(apiSocket, "--api-socket");
      if (printConfig) {
        ctx.io.stdout(`${JSON.stringify(config, null, 2)}\n`);
        ctx.exitCode = ExitCode.PowerOff;
        return;
      }
      ctx.exitCode = await startVm(config, {
        io: ctx.io,
        ...(apiSocket === undefined ? {} : { apiSocket }),
        ...(restored ? { restore: restored.snapshot } : {}),
      });
    });
}
