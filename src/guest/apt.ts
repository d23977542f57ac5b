/**
 * Where the default guest's Debian packages come from: apt on this machine
 * (apt-cache to resolve names, apt-get download to fetch, neither needs
 * root), or a fake in tests. apt talks only to the machine's configured
 * Debian mirrors: nothing is fetched from anywhere else.
 */
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { parseStanzas } from "./deb.js";
import { GuestBuildError } from "./errors.js";

/** A concrete package version apt can download. */
export interface PackageRef {
  /** The package name, e.g. linux-image-6.1.0-56-cloud-amd64. */
  readonly name: string;
  /** The exact version, e.g. 6.1.192-2 (epochs included, as apt prints them). */
  readonly version: string;
}

/** What apt says about the version it would install of a package. */
export interface Candidate extends PackageRef {
  /** The Depends: field as written in the package index ("" when none). */
  readonly depends: string;
  /** The size of the .deb in bytes (0 when the index does not say). */
  readonly size: number;
}

/** A source of Debian packages; the builder is given one so tests can use a fake. */
export interface PackageSource {
  /** The candidate versions of packages, in the order named; rejects with GuestSourceError if one has none. */
  candidates(names: readonly string[]): Promise<Candidate[]>;
  /** Downloads the exact versions into dir; resolves with one .deb path per package, in order. */
  download(packages: readonly PackageRef[], dir: string, onFraction?: (fraction: number) => void): Promise<string[]>;
}

/** apt is missing, knows no such package, or could not download: the user's next step is in the message. */
export class GuestSourceError extends GuestBuildError {
  override name = "GuestSourceError";
}

/** What to tell a user whose machine cannot build the default guest. */
export const NO_APT_HINT = "or pass --kernel and --initrd to tsvmm run";

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

// Runs a program and collects its output; fd 3 is handed to onStatus line by line, for apt's
// machine-readable progress. What is parsed (fields, "E:" prefixes, dlstatus) is not translated.
function run(cmd: string, args: string[], cwd: string | undefined, onStatus?: (line: string) => void): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      stdio: ["ignore", "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let partial = "";
    child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdio[3]?.on("data", (c: Buffer) => {
      const lines = (partial + c.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) onStatus?.(line);
    });
    child.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") reject(new GuestSourceError(`${cmd} not found: the default guest is built from Debian packages with apt; install apt (Debian or Ubuntu) ${NO_APT_HINT}`));
      else reject(new GuestSourceError(`could not run ${cmd}: ${err.message}`));
    });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

// apt's last "E:" line says what went wrong in one line; fall back to the last line of output.
function aptError(result: RunResult): string {
  const lines = `${result.stderr}\n${result.stdout}`.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const e = lines.filter((l) => l.startsWith("E:")).at(-1) ?? lines.at(-1) ?? `exit status ${result.code}`;
  return e.replace(/^E:\s*/, "");
}

/** Parses the dlstatus lines apt writes to APT::Status-Fd ("dlstatus:N:PERCENT:TEXT") into a fraction. */
export function parseDlstatus(line: string): number | undefined {
  const m = /^dlstatus:[^:]*:([\d.]+):/.exec(line);
  if (m === null) return undefined;
  const pct = Number(m[1]);
  return Number.isFinite(pct) ? Math.min(1, Math.max(0, pct / 100)) : undefined;
}

/** The .deb file apt-get download wrote for a package ("name_version_arch.deb", with ":" spelt %3a). */
export function debFileFor(files: readonly string[], ref: PackageRef): string | undefined {
  const version = ref.version.replace(/:/g, "%3a");
  const exact = files.find((f) => f.startsWith(`${ref.name}_${version}_`) && f.endsWith(".deb"));
  return exact ?? files.find((f) => f.startsWith(`${ref.name}_`) && f.endsWith(".deb"));
}

/** The packages of this machine's apt. */
export const aptSource: PackageSource = {
  async candidates(names) {
    // --no-all-versions prints only the candidate: the version `apt-get install` would pick.
    // One call for all: each apt-cache run spends about a second loading apt's package lists.
    const result = await run("apt-cache", ["show", "--no-all-versions", ...names], undefined);
    const records = new Map(parseStanzas(result.stdout).map((f) => [f.get("Package"), f] as const));
    return names.map((name) => {
      const fields = records.get(name);
      const version = fields?.get("Version");
      if (fields === undefined || version === undefined) {
        const why = result.code === 0 ? "no candidate version" : aptError(result);
        throw new GuestSourceError(
          `apt knows no package ${name} (${why}): run apt-get update, check that Debian's main archive is in apt's sources, ${NO_APT_HINT}`,
        );
      }
      return { name, version, depends: fields.get("Depends") ?? "", size: Number(fields.get("Size") ?? 0) || 0 };
    });
  },

  async download(packages, dir, onFraction) {
    const args = ["download", "-o", "APT::Status-Fd=3", ...packages.map((p) => `${p.name}=${p.version}`)];
    const result = await run("apt-get", args, dir, (line) => {
      const f = parseDlstatus(line);
      if (f !== undefined) onFraction?.(f);
    });
    const names = packages.map((p) => `${p.name}=${p.version}`).join(" ");
    if (result.code !== 0) {
      throw new GuestSourceError(`apt-get download ${names} failed (${aptError(result)}): check the network and apt's sources, ${NO_APT_HINT}`);
    }
    const files = await readdir(dir);
    return packages.map((p) => {
      const file = debFileFor(files, p);
      if (file === undefined) throw new GuestSourceError(`apt-get download ${p.name}=${p.version} succeeded but wrote no .deb`);
      return join(dir, file);
    });
  },
};

/** A dependency of a metapackage: its name, and the version the metapackage pins (if it does). */
export interface MetaDependency {
  /** The package name. */
  readonly name: string;
  /** The version required with "(= V)", or undefined when any version will do. */
  readonly version: string | undefined;
}

/** The package a metapackage stands for: its first dependency whose name starts with prefix (e.g. "linux-image-"). */
export function resolveMetaDependency(meta: Candidate, prefix: string): MetaDependency {
  for (const alternative of meta.depends.split(/[,|]/)) {
    const m = /^\s*(\S+)\s*(?:\(\s*=\s*([^)\s]+)\s*\))?/.exec(alternative);
    if (m !== null && m[1]!.startsWith(prefix)) return { name: m[1]!, version: m[2] };
  }
  throw new GuestSourceError(`${meta.name} ${meta.version} depends on no ${prefix}* package (Depends: ${meta.depends || "none"})`);
}
