import { z } from "zod";

/** One mebibyte in bytes. */
export const MiB = 1024 * 1024;
/** Smallest guest RAM tsvmm accepts: below this Linux cannot unpack an initramfs. */
export const MIN_MEMORY = 16 * MiB;
/** Largest guest RAM tsvmm accepts (1 TiB). */
export const MAX_MEMORY = 1024 * 1024 * MiB;
/** Guest RAM when neither a flag nor a config file sets it. */
export const DEFAULT_MEMORY = 512 * MiB;
/** Guest RAM must be whole 4 KiB pages: KVM memory slots and our page tables deal in pages. */
export const MEMORY_ALIGN = 4096;
/** Most vCPUs: xAPIC IDs are 8 bits and 0xff is the broadcast ID. */
export const MAX_CPUS = 255;
/** The accelerators `--accel` and `accel` accept. */
export const ACCELS = ["auto", "kvm", "emu"] as const;
/** The disk image formats tsvmm reads. */
export const DISK_FORMATS = ["raw", "qcow2"] as const;
/** The only address the user-mode NAT gives the guest (QEMU's convention). */
export const GUEST_USER_NET_ADDR = "10.0.2.15";
/** Where a port forward listens on the host unless told otherwise: never beyond this machine. */
export const DEFAULT_HOSTFWD_ADDR = "127.0.0.1";

// Every schema node carries a phrase saying what it accepts; ConfigError puts
// it after the key path, so messages read "cpus: 0 is not accepted (expected ...)".
const accepts = (what: string) => ({ error: what });

// Strict objects: a misspelt key in vm.json is an error, never silently ignored.
// The error callback lists the keys that are accepted at that level.
function strictObject<S extends z.ZodRawShape>(shape: S, what: string) {
  const keys = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? `one of the keys ${keys}` : what),
  });
}

const filePath = (what: string) =>
  z.string(accepts(what)).min(1, accepts(what)).refine((s) => !s.includes("\0"), accepts(what));

const port = z
  .number(accepts("a port number from 1 to 65535"))
  .int(accepts("a port number from 1 to 65535"))
  .min(1, accepts("a port number from 1 to 65535"))
  .max(65535, accepts("a port number from 1 to 65535"));

const bool = (what: string) => z.boolean(accepts(`true or false (${what})`)).default(false);

const memoryWhat = "a size in bytes from 16 MiB to 1 TiB that is a multiple of 4 KiB";
const cpusWhat = `an integer from 1 to ${MAX_CPUS}`;

/** A virtio block device: a host file and how to present it. */
export const DiskConfig = strictObject(
  {
    path: filePath("the path of a disk image"),
    format: z.enum(DISK_FORMATS, accepts('"raw" or "qcow2"')).default("raw"),
    readonly: bool("whether the guest may write"),
    overlay: filePath("the path of a file that takes the guest's writes").optional(),
  },
  "a disk object such as {\"path\": \"disk.img\"}",
);

/** One host-to-guest port forward of the user-mode network. */
export const HostFwdConfig = strictObject(
  {
    proto: z.enum(["tcp", "udp"], accepts('"tcp" or "udp"')),
    hostAddr: z.ipv4(accepts("an IPv4 address to listen on")).default(DEFAULT_HOSTFWD_ADDR),
    hostPort: port,
    guestPort: port,
  },
  'a port forward such as {"proto": "tcp", "hostPort": 8080, "guestPort": 80}',
);

const UserNet = strictObject(
  {
    mode: z.literal("user"),
    hostfwd: z.array(HostFwdConfig, accepts("a list of port forwards")).default([]),
    hostLoopback: bool("whether 10.0.2.2 reaches the host's loopback"),
    restrict: bool("whether the guest is denied outbound connections"),
    dns: z
      .string(accepts('an upstream DNS server "IPv4[:port]"'))
      .regex(/^\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?$/, accepts('an upstream DNS server "IPv4[:port]"'))
      .optional(),
    pcap: filePath("the path of a capture file").optional(),
  },
  'a user-mode network such as {"mode": "user"}',
);

// Linux's dev_valid_name(): at most 15 bytes, no '/', ':' or whitespace, not "." or "..".
const ifname = z
  .string(accepts("a network interface name (1 to 15 characters, no '/', ':' or spaces)"))
  .regex(
    /^(?!\.\.?$)[^\s/:]{1,15}$/,
    accepts("a network interface name (1 to 15 characters, no '/', ':' or spaces)"),
  );

const TapNet = strictObject(
  { mode: z.literal("tap"), ifname, pcap: filePath("the path of a capture file").optional() },
  'a tap network such as {"mode": "tap", "ifname": "tap0"}',
);

/** A virtio network device: user-mode NAT or a host TAP interface. */
export const NetConfig = z.discriminatedUnion("mode", [UserNet, TapNet], accepts('mode "user" or "tap"'));

// sun_path holds 108 bytes including the NUL; a longer path fails only at bind().
const socketPathWhat = "the path of a unix socket, at most 107 bytes";
const socketPath = filePath(socketPathWhat).refine(
  (s) => new TextEncoder().encode(s).length <= 107,
  accepts(socketPathWhat),
);

/** Where the guest's first serial port (COM1) goes. */
export const SerialConfig = z.discriminatedUnion(
  "mode",
  [
    strictObject({ mode: z.literal("stdio") }, '{"mode": "stdio"}'),
    strictObject({ mode: z.literal("file"), path: filePath("the path of an output file") }, '{"mode": "file", "path": ...}'),
    strictObject({ mode: z.literal("socket"), path: socketPath }, '{"mode": "socket", "path": ...}'),
  ],
  accepts('mode "stdio", "file" or "socket"'),
);

/** The whole VM: `tsvmm run` flags and `--config vm.json` are two spellings of this schema. */
export const VmConfig = strictObject(
  {
    memory: z
      .number(accepts(memoryWhat))
      .int(accepts(memoryWhat))
      .min(MIN_MEMORY, accepts(memoryWhat))
      .max(MAX_MEMORY, accepts(memoryWhat))
      .multipleOf(MEMORY_ALIGN, accepts(memoryWhat))
      .default(DEFAULT_MEMORY),
    cpus: z
      .number(accepts(cpusWhat))
      .int(accepts(cpusWhat))
      .min(1, accepts(cpusWhat))
      .max(MAX_CPUS, accepts(cpusWhat))
      .default(1),
    accel: z.enum(ACCELS, accepts('"auto", "kvm" or "emu"')).default("auto"),
    kernel: filePath("the path of a Linux kernel (bzImage or vmlinux)").optional(),
    initrd: filePath("the path of an initramfs").optional(),
    cmdline: z.string(accepts("a kernel command line")).optional(),
    disks: z.array(DiskConfig, accepts("a list of disks")).default([]),
    nets: z.array(NetConfig, accepts("a list of networks")).default([]),
    serial: SerialConfig.default({ mode: "stdio" }),
    debugExit: bool("whether port 0xf4 ends the VM, as QEMU's isa-debug-exit"),
    noReboot: bool("whether a guest reboot ends the VM"),
  },
  "a JSON object describing the VM",
);

/** A validated VM configuration, defaults filled in. */
export type VmConfig = z.infer<typeof VmConfig>;
/** What a user may write: a VmConfig with the defaulted fields optional. */
export type VmConfigInput = z.input<typeof VmConfig>;
/** One disk of a VmConfig. */
export type DiskConfig = z.infer<typeof DiskConfig>;
/** One network of a VmConfig. */
export type NetConfig = z.infer<typeof NetConfig>;
/** One port forward of a user-mode network. */
export type HostFwdConfig = z.infer<typeof HostFwdConfig>;
/** The serial console setting of a VmConfig. */
export type SerialConfig = z.infer<typeof SerialConfig>;

/** A key path into a config, e.g. ["disks", 0, "format"]. */
export type ConfigPath = readonly (string | number)[];

/** Thrown by parseVmConfig; `message` is one line naming the key path and what it accepts. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** Where the offending value sits, e.g. ["disks", 0, "format"]; [] for the whole config. */
  readonly path: ConfigPath;
  /** What was found there, described for a person (e.g. `"vmdk"`, `missing`, `unknown key`). */
  readonly found: string;
  /** What would have been accepted there. */
  readonly expected: string;

  /** Builds the one-line message "path: found is not accepted (expected ...)". */
  constructor(path: ConfigPath, found: string, expected: string) {
    super(`${formatConfigPath(path)}: ${found} (expected ${expected})`);
    this.path = path;
    this.found = found;
    this.expected = expected;
  }
}

/** Renders a key path the way a JS reader would write it: `disks[0].format`, or `config` for the root. */
export function formatConfigPath(path: ConfigPath): string {
  let out = "";
  for (const key of path) {
    out += typeof key === "number" ? `[${key}]` : out === "" ? key : `.${key}`;
  }
  return out === "" ? "config" : out;
}

/** Describes a value for an error message: short, one line, never the whole object. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Validates anything (usually parsed JSON) as a VmConfig, filling in defaults; throws ConfigError. */
export function parseVmConfig(input: unknown): VmConfig {
  return parseConfigPart(VmConfig, input);
}

/** Validates a value against one of the schemas above (e.g. DiskConfig); throws ConfigError. */
export function parseConfigPart<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  // Zod reports all issues; one precise line is more useful than a list, so
  // take the first (zod orders them by key order of the schema).
  const issue = result.error.issues[0]!;
  const path = issue.path.filter((k): k is string | number => typeof k !== "symbol");
  if (issue.code === "unrecognized_keys") {
    const others = issue.keys.slice(1);
    const also = others.length > 0 ? `; also unknown: ${others.join(", ")}` : "";
    throw new ConfigError([...path, issue.keys[0]!], "unknown key", `${issue.message}${also}`);
  }
  const found = issue.code === "invalid_union" ? describeValue(valueAt(input, path)) : describeValue(issue.input);
  throw new ConfigError(path, found === "missing" ? found : `${found} is not accepted`, issue.message);
}

function valueAt(root: unknown, path: ConfigPath): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/** The JSON Schema of a config file (input form: defaulted keys are optional), for editors and docs. */
export function vmConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(VmConfig, { io: "input" }) as Record<string, unknown>;
}
