import { isIPv4 } from "node:net";
import type { z } from "zod";
import {
  ConfigError,
  DEFAULT_HOSTFWD_ADDR,
  DISK_FORMATS,
  DiskConfig,
  GUEST_USER_NET_ADDR,
  MAX_CPUS,
  NetConfig,
  SerialConfig,
  parseConfigPart,
  type HostFwdConfig,
} from "../vm/config.js";
import { parseSizeText } from "../vm/size.js";
import { UsageError } from "./errors.js";

/** The syntax of `--disk`, as help and error messages show it. */
export const DISK_SYNTAX = "PATH[,format=raw|qcow2][,readonly][,overlay=PATH]";
/** The syntax of `--net`, as help and error messages show it. */
export const NET_SYNTAX =
  "user[,hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...[,host-loopback][,restrict][,pcap=FILE] or tap=IFNAME[,pcap=FILE]";
/** The `--net` syntax in short, for help; HOSTFWD_SYNTAX spells out RULE. */
export const NET_SYNTAX_SHORT = "user[,hostfwd=RULE]...[,host-loopback][,restrict][,pcap=FILE] or tap=IFNAME[,pcap=FILE]";
/** The syntax of `--serial`, as help and error messages show it. */
export const SERIAL_SYNTAX = "stdio, file=PATH or socket=PATH";
/** The syntax of one hostfwd rule (QEMU's). */
export const HOSTFWD_SYNTAX = "hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT";
/** Longest unix socket path: sun_path is 108 bytes, one of them the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

/** Quotes a user's value for an error message; JSON escaping keeps the message on one line. */
export function quote(value: string): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 76)}..."` : text;
}

/**
 * Parses a size with an optional binary suffix (K, M, G, T, optionally followed by B or iB;
 * B alone means bytes; case-insensitive). A bare number is MiB, as DESIGN.md promises.
 */
export function parseSize(text: string, flag: string): number {
  const size = parseSizeText(text);
  if (!size.ok) throw new UsageError(`${flag}: ${quote(text)} ${size.problem}`);
  return size.bytes;
}

/** Writes a byte count in the largest binary unit that divides it exactly ("512M", "1536K", "7B"). */
export function formatSize(bytes: number): string {
  for (const [unit, factor] of [["T", 2 ** 40], ["G", 2 ** 30], ["M", 2 ** 20], ["K", 2 ** 10]] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return `${bytes}B`;
}

/** Parses a count such as `--cpus 4`: a positive decimal integer no larger than max. */
export function parseCount(text: string, flag: string, max: number, what: string): number {
  const n = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= max)) {
    throw new UsageError(`${flag}: ${quote(text)} is not a valid ${what} (expected an integer from 1 to ${max})`);
  }
  return n;
}

/** Parses `--cpus N`. */
export function parseCpus(text: string, flag = "--cpus"): number {
  return parseCount(text, flag, MAX_CPUS, "CPU count");
}

/** Checks that text is one of choices, returning it typed as such. */
export function parseChoice<T extends string>(text: string, flag: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(text)) return text as T;
  throw new UsageError(`${flag}: ${quote(text)} is not accepted (expected ${orList(choices)})`);
}

function orList(items: readonly string[]): string {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}

/** Checks a unix socket path: non-empty and short enough for sun_path. */
export function parseSocketPath(text: string, flag: string): string {
  if (text === "" || text.includes("\0")) {
    throw new UsageError(`${flag}: ${quote(text)} is not a valid socket path (expected a file path)`);
  }
  if (Buffer.byteLength(text) > MAX_SOCKET_PATH_BYTES) {
    throw new UsageError(
      `${flag}: ${quote(text)} is too long for a unix socket (expected at most ${MAX_SOCKET_PATH_BYTES} bytes; use a shorter or relative path)`,
    );
  }
  return text;
}

/** The pieces of a comma-option spec such as `disk.img,format=qcow2,readonly`. */
export interface CommaOptions {
  /** The first item, uninterpreted (a path, `user`, `tap=NAME`, ...). */
  head: string;
  /** key=value items, and bare keys (flags) as `true`. Repeatable keys are not here. */
  options: Map<string, string | true>;
  /** Values of the keys declared repeatable, in command-line order. */
  repeated: Map<string, string[]>;
}

const OPTION_KEY_RE = /^[A-Za-z][A-Za-z0-9_-]*$/;

/**
 * Splits `head,key=value,flag,...`. Empty items, empty or malformed keys, empty values and
 * duplicate keys are UsageErrors; keys in `repeatable` may repeat and must have values.
 * Commas cannot be escaped: a path containing one must be given through --config.
 */
export function parseCommaOptions(
  spec: string,
  flag: string,
  opts: { repeatable?: readonly string[]; syntax?: string } = {},
): CommaOptions {
  const hint = opts.syntax === undefined ? "expected HEAD[,KEY=VALUE|,FLAG]..." : `expected ${opts.syntax}`;
  const fail = (what: string): never => {
    throw new UsageError(`${flag}: ${quote(spec)} ${what} (${hint})`);
  };
  const [head = "", ...items] = spec.split(",");
  if (spec === "") fail("is empty");
  if (head === "") fail("has an empty first item");
  const options = new Map<string, string | true>();
  const repeated = new Map<string, string[]>();
  for (const item of items) {
    if (item === "") fail("has an empty item between commas");
    const eq = item.indexOf("=");
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? true : item.slice(eq + 1);
    if (key === "") fail(`has an option with no name (${quote(item)})`);
    if (!OPTION_KEY_RE.test(key)) fail(`has an invalid option name ${quote(key)}`);
    if (value === "") fail(`gives option "${key}" an empty value`);
    if (opts.repeatable?.includes(key)) {
      if (value === true) fail(`gives option "${key}" no value`);
      repeated.set(key, [...(repeated.get(key) ?? []), value as string]);
      continue;
    }
    if (options.has(key)) fail(`gives option "${key}" twice`);
    options.set(key, value);
  }
  return { head, options, repeated };
}

// Helpers for the spec parsers below: each reports against the whole spec so
// the user sees which --disk/--net they got wrong.
function specError(flag: string, spec: string, what: string, syntax: string): UsageError {
  return new UsageError(`${flag}: ${quote(spec)} ${what} (expected ${syntax})`);
}

function rejectUnknown(parsed: CommaOptions, allowed: readonly string[], flag: string, spec: string): void {
  for (const key of [...parsed.options.keys(), ...parsed.repeated.keys()]) {
    if (!allowed.includes(key)) {
      const accepted = allowed.length < 2 ? (allowed[0] ?? "no options") : `one of ${allowed.join(", ")}`;
      throw new UsageError(`${flag}: ${quote(spec)} has unknown option "${key}" (expected ${accepted})`);
    }
  }
}

function boolOption(parsed: CommaOptions, key: string, flag: string, spec: string): boolean {
  const value = parsed.options.get(key);
  if (value === undefined) return false;
  if (value === true || value === "on" || value === "true") return true;
  if (value === "off" || value === "false") return false;
  throw specError(flag, spec, `gives "${key}" the value ${quote(value)}`, `${key}, ${key}=on or ${key}=off`);
}

function stringOption(parsed: CommaOptions, key: string, flag: string, spec: string): string | undefined {
  const value = parsed.options.get(key);
  if (value === true) throw specError(flag, spec, `gives option "${key}" no value`, `${key}=VALUE`);
  return value;
}

// The schema has the last word on each piece; its messages name the config key.
function validated<S extends z.ZodType>(schema: S, value: unknown, flag: string, spec: string): z.output<S> {
  try {
    return parseConfigPart(schema, value);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`${flag}: ${quote(spec)}: ${err.message}`);
    throw err;
  }
}

/** Parses `--disk PATH[,format=raw|qcow2][,readonly][,overlay=PATH]`. */
export function parseDiskSpec(spec: string, flag = "--disk"): DiskConfig {
  const parsed = parseCommaOptions(spec, flag, { syntax: DISK_SYNTAX });
  rejectUnknown(parsed, ["format", "readonly", "overlay"], flag, spec);
  const format = stringOption(parsed, "format", flag, spec) ?? "raw";
  if (!(DISK_FORMATS as readonly string[]).includes(format)) {
    throw specError(flag, spec, `has unknown format ${quote(format)}`, `format=${DISK_FORMATS.join("|")}`);
  }
  const overlay = stringOption(parsed, "overlay", flag, spec);
  const disk = { path: parsed.head, format, readonly: boolOption(parsed, "readonly", flag, spec) };
  return validated(DiskConfig, overlay === undefined ? disk : { ...disk, overlay }, flag, spec);
}

/** Parses one QEMU-style hostfwd rule `tcp|udp:[hostaddr]:hostport-[guestaddr]:guestport`. */
export function parseHostFwd(rule: string, flag = "--net"): HostFwdConfig {
  const bad = (what: string): never => {
    throw new UsageError(`${flag}: hostfwd ${quote(rule)} ${what} (expected ${HOSTFWD_SYNTAX})`);
  };
  const dash = rule.indexOf("-");
  const host = (dash < 0 ? rule : rule.slice(0, dash)).split(":");
  const guest = dash < 0 ? [] : rule.slice(dash + 1).split(":");
  if (host.length !== 3 || guest.length !== 2) bad("is malformed");
  const [proto, hostAddr, hostPort] = host as [string, string, string];
  const [guestAddr, guestPort] = guest as [string, string];
  // QEMU takes an empty protocol as tcp.
  if (proto !== "" && proto !== "tcp" && proto !== "udp") bad(`has unknown protocol ${quote(proto)}`);
  if (hostAddr !== "" && !isIPv4(hostAddr)) bad(`has host address ${quote(hostAddr)}, not an IPv4 address`);
  // The NAT has exactly one guest, so the only meaningful guest address is its own.
  if (guestAddr !== "" && guestAddr !== GUEST_USER_NET_ADDR) {
    bad(`has guest address ${quote(guestAddr)}; the user-mode network's guest is ${GUEST_USER_NET_ADDR}`);
  }
  const port = (text: string, which: string): number => {
    const n = /^\d{1,5}$/.test(text) ? Number(text) : 0;
    return n >= 1 && n <= 65535 ? n : bad(`has ${which} port ${quote(text)}, not a number from 1 to 65535`);
  };
  return {
    proto: proto === "udp" ? "udp" : "tcp",
    hostAddr: hostAddr === "" ? DEFAULT_HOSTFWD_ADDR : hostAddr,
    hostPort: port(hostPort, "host"),
    guestPort: port(guestPort, "guest"),
  };
}

/** Parses `--net user[,hostfwd=...]...[,host-loopback][,restrict][,pcap=FILE]` or `--net tap=NAME[,pcap=FILE]`. */
export function parseNetSpec(spec: string, flag = "--net"): NetConfig {
  const parsed = parseCommaOptions(spec, flag, { repeatable: ["hostfwd"], syntax: NET_SYNTAX });
  const pcapOf = (): { pcap?: string } => {
    const pcap = stringOption(parsed, "pcap", flag, spec);
    return pcap === undefined ? {} : { pcap };
  };
  if (parsed.head === "user") {
    rejectUnknown(parsed, ["hostfwd", "host-loopback", "restrict", "dns", "pcap"], flag, spec);
    const dns = stringOption(parsed, "dns", flag, spec);
    const net = {
      mode: "user",
      hostfwd: (parsed.repeated.get("hostfwd") ?? []).map((rule) => parseHostFwd(rule, flag)),
      hostLoopback: boolOption(parsed, "host-loopback", flag, spec),
      restrict: boolOption(parsed, "restrict", flag, spec),
      ...(dns === undefined ? {} : { dns }),
      ...pcapOf(),
    };
    return validated(NetConfig, net, flag, spec);
  }
  if (parsed.head.startsWith("tap=")) {
    rejectUnknown(parsed, ["pcap"], flag, spec);
    return validated(NetConfig, { mode: "tap", ifname: parsed.head.slice(4), ...pcapOf() }, flag, spec);
  }
  throw specError(flag, spec, `starts with ${quote(parsed.head)}, not "user" or "tap=IFNAME"`, NET_SYNTAX);
}

/** Parses `--serial stdio|file=PATH|socket=PATH`. */
export function parseSerialSpec(spec: string, flag = "--serial"): SerialConfig {
  const parsed = parseCommaOptions(spec, flag, { syntax: SERIAL_SYNTAX });
  rejectUnknown(parsed, [], flag, spec);
  const { head } = parsed;
  if (head === "stdio") return { mode: "stdio" };
  if (head.startsWith("file=") && head.length > 5) {
    return validated(SerialConfig, { mode: "file", path: head.slice(5) }, flag, spec);
  }
  if (head.startsWith("socket=") && head.length > 7) {
    return { mode: "socket", path: parseSocketPath(head.slice(7), flag) };
  }
  throw specError(flag, spec, "is not a serial backend", SERIAL_SYNTAX);
}
