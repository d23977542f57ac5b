/**
 * Builds the default guest's files from Debian packages: the kernel that
 * linux-image-cloud-amd64 stands for today, and busybox-static. Packages are
 * downloaded into a scratch directory and taken apart in memory; the cache
 * (cache.ts) decides where the result goes.
 */
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { resolveMetaDependency, type PackageRef, type PackageSource } from "./apt.js";
import { readDeb, type DebFile } from "./deb.js";
import { GuestBuildError } from "./errors.js";
import { buildInitramfs } from "./initramfs.js";
import { GUEST_FILES, MANIFEST_FORMAT, sha256, type GuestManifest } from "./manifest.js";
import { readKernelModule, type KernelModule } from "./modinfo.js";
import { moduleLoadOrder } from "./module-order.js";
import { stripModuleSignature } from "./module-signature.js";
import { recipeHash, type GuestRecipe } from "./recipe.js";

/** The metapackage whose dependency names the kernel. */
export const KERNEL_METAPACKAGE = "linux-image-cloud-amd64";
/** The package that provides a static busybox at /bin/busybox. */
export const BUSYBOX_PACKAGE = "busybox-static";

/** The stages of a build, in order. */
export type GuestStep = "check" | "resolve" | "download" | "unpack" | "assemble" | "install";

/** A progress report: a new step starts, or (download) a step moves on. */
export interface GuestProgress {
  /** The step this report belongs to. */
  readonly step: GuestStep;
  /** One line for a person: what is happening. */
  readonly message: string;
  /** How far the step is, 0 to 1, for steps that can tell (download). */
  readonly fraction?: number;
}

/** The built files and the manifest that describes them. */
export interface BuiltGuest {
  /** The kernel release, e.g. 6.1.0-56-cloud-amd64 (the cache directory's name). */
  readonly release: string;
  /** The bzImage, as the package ships it. */
  readonly kernel: Uint8Array;
  /** The initramfs (uncompressed newc cpio). */
  readonly initrd: Uint8Array;
  /** What to write as manifest.json. */
  readonly manifest: GuestManifest;
}

/** What buildGuestFiles needs. */
export interface BuildInputs {
  /** A scratch directory for the downloads (emptied again before returning). */
  readonly workDir: string;
  /** Where packages come from. */
  readonly source: PackageSource;
  /** The recipe to follow. */
  readonly recipe: GuestRecipe;
  /** Receives progress reports. */
  readonly onProgress?: (p: GuestProgress) => void;
  /** The build time written into the manifest (tests fix it). */
  readonly now?: () => Date;
}

const MB = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

async function resolvePackages(source: PackageSource): Promise<{ kernel: PackageRef; busybox: PackageRef; size: number }> {
  const [meta, busybox] = await source.candidates([KERNEL_METAPACKAGE, BUSYBOX_PACKAGE]);
  const dep = resolveMetaDependency(meta!, "linux-image-");
  // Asked separately: only now is its name known. Its record also gives the download size.
  const [kernel] = await source.candidates([dep.name]);
  return {
    kernel: { name: kernel!.name, version: dep.version ?? kernel!.version },
    busybox: { name: busybox!.name, version: busybox!.version },
    size: kernel!.size + busybox!.size,
  };
}

function checkControl(label: string, control: Map<string, string>, want: PackageRef): void {
  const name = control.get("Package");
  const version = control.get("Version");
  if (name !== want.name || version !== want.version) {
    throw new GuestBuildError(`${label}: the downloaded file is ${name} ${version}, not ${want.name} ${want.version}`);
  }
}

const VMLINUZ = /^boot\/vmlinuz-[^/]+$/;
const KERNEL_MODULE = /^lib\/modules\/[^/]+\/.+\.ko$/;

// The kernel package's vmlinuz and the wanted modules with their dependencies, in load order.
// Every module's .modinfo is read, but bytes are kept only for modules known to be needed when
// they stream past; a dependency that comes before the module needing it in the tar (none does in
// Debian's packages today) is picked up by a second pass.
async function unpackKernel(deb: Uint8Array, want: PackageRef, wanted: readonly string[]) {
  const label = `${want.name} ${want.version}`;
  const infos: KernelModule[] = [];
  const needed = new Set(wanted.map((n) => n.replace(/-/g, "_")));
  const accept = (f: DebFile) => {
    if (!f.path.endsWith(".ko") || f.linkTarget !== undefined) return true;
    const info = readKernelModule(f.path, f.data);
    infos.push(info);
    if (!needed.has(info.name)) return false;
    for (const d of info.depends) needed.add(d);
    return true;
  };
  const first = await readDeb(deb, (p) => VMLINUZ.test(p) || KERNEL_MODULE.test(p), label, accept);
  checkControl(label, first.control, want);
  const kernels = [...first.files.values()].filter((f) => VMLINUZ.test(f.path) && f.linkTarget === undefined);
  if (kernels.length !== 1) throw new GuestBuildError(`${label}: expected one /boot/vmlinuz-*, found ${kernels.length}`);
  const kernel = kernels[0]!;
  const release = kernel.path.slice("boot/vmlinuz-".length);
  const order = moduleLoadOrder(wanted, infos.filter((m) => m.path.startsWith(`lib/modules/${release}/`)));
  const missing = new Set(order.order.map((m) => m.path).filter((p) => !first.files.has(p)));
  const files = missing.size === 0 ? first.files : new Map([...first.files, ...(await readDeb(deb, (p) => missing.has(p), label)).files]);
  const modules = order.order.map((m) => ({ ...m, data: stripModuleSignature(files.get(m.path)!.data) }));
  return { release, kernel: kernel.data, order, modules };
}

async function unpackBusybox(deb: Uint8Array, want: PackageRef): Promise<DebFile> {
  const label = `${want.name} ${want.version}`;
  const { control, files } = await readDeb(deb, (p) => p === "bin/busybox", label);
  checkControl(label, control, want);
  const busybox = files.get("bin/busybox");
  if (busybox === undefined || busybox.linkTarget !== undefined) throw new GuestBuildError(`${label}: has no /bin/busybox`);
  return busybox;
}

/** Downloads the packages, takes them apart and assembles the guest's files. */
export async function buildGuestFiles(inputs: BuildInputs): Promise<BuiltGuest> {
  const report = inputs.onProgress ?? (() => {});
  report({ step: "resolve", message: `asking apt which kernel ${KERNEL_METAPACKAGE} stands for` });
  const pkgs = await resolvePackages(inputs.source);

  const what = `${pkgs.kernel.name} ${pkgs.kernel.version} and ${pkgs.busybox.name} ${pkgs.busybox.version}`;
  const downloadMessage = `downloading ${what}${pkgs.size > 0 ? ` (${MB(pkgs.size)})` : ""}`;
  report({ step: "download", message: downloadMessage, fraction: 0 });
  const dir = join(inputs.workDir, "debs");
  await mkdir(dir);
  try {
    const [kernelPath, busyboxPath] = await inputs.source.download([pkgs.kernel, pkgs.busybox], dir, (fraction) =>
      report({ step: "download", message: downloadMessage, fraction }),
    );
    report({ step: "unpack", message: `unpacking ${pkgs.kernel.name} and ${pkgs.busybox.name}` });
    const kernelPkg = await unpackKernel(await readFile(kernelPath!), pkgs.kernel, inputs.recipe.modules);
    const busybox = await unpackBusybox(await readFile(busyboxPath!), pkgs.busybox);

    const { order, modules: loaded } = kernelPkg;
    if (order.problems.length > 0) {
      throw new GuestBuildError(`${pkgs.kernel.name}: cannot order its modules: ${order.problems.join("; ")}`);
    }
    const absent = order.absent.length > 0 ? `; not in this kernel: ${order.absent.join(", ")}` : "";
    report({ step: "assemble", message: `assembling the initramfs: busybox, /init and ${loaded.length} modules${absent}` });
    const initrd = buildInitramfs({ init: inputs.recipe.init, busybox: busybox.data, modules: loaded });

    const manifest: GuestManifest = {
      format: MANIFEST_FORMAT,
      recipe: recipeHash(inputs.recipe),
      kernel: { package: pkgs.kernel.name, version: pkgs.kernel.version, release: kernelPkg.release },
      busybox: { package: pkgs.busybox.name, version: pkgs.busybox.version },
      modules: loaded.map((m) => m.name),
      cmdline: inputs.recipe.cmdline,
      files: {
        [GUEST_FILES.kernel]: { size: kernelPkg.kernel.length, sha256: sha256(kernelPkg.kernel) },
        [GUEST_FILES.initrd]: { size: initrd.length, sha256: sha256(initrd) },
      },
      builtAt: (inputs.now ?? (() => new Date()))().toISOString(),
    };
    return { release: kernelPkg.release, kernel: kernelPkg.kernel, initrd, manifest };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
