/**
 * Lays out the default guest's initramfs: busybox, /init, the kernel
 * modules and the list init loads them from. Pure: bytes in, bytes out.
 */
import { CpioArchive } from "./cpio.js";

/** A kernel module to put in the initramfs. */
export interface InitramfsModule {
  /** The module's name, for init's messages. */
  readonly name: string;
  /** Where it goes, relative to / (as in the kernel package: lib/modules/RELEASE/kernel/...). */
  readonly path: string;
  /** The .ko bytes. */
  readonly data: Uint8Array;
}

/** Everything buildInitramfs puts in the archive. */
export interface InitramfsInput {
  /** The /init script. */
  readonly init: Uint8Array | string;
  /** A static busybox binary, installed as /bin/busybox. */
  readonly busybox: Uint8Array;
  /** Modules in load order. */
  readonly modules: readonly InitramfsModule[];
}

/** Where init reads the module list from (the path is also in guest/init). */
export const MODULE_LIST_PATH = "etc/tsvmm/modules";

/** The module list init reads: "NAME /PATH" per line, in load order. */
export function moduleList(modules: readonly InitramfsModule[]): string {
  return modules.map((m) => `${m.name} /${m.path.replace(/^\/+/, "")}\n`).join("");
}

/** Builds the initramfs as an uncompressed newc cpio archive. */
export function buildInitramfs(input: InitramfsInput): Uint8Array {
  const a = new CpioArchive();
  // The kernel opens /dev/console for init's stdin/out/err before init runs, so the node must
  // be in the archive; init then mounts devtmpfs over /dev.
  a.dir("dev").charDevice("dev/console", 5, 1, 0o600);
  a.dir("bin").file("bin/busybox", input.busybox, 0o755);
  // The kernel runs /init through its #!/bin/sh line, before any applet links exist.
  a.symlink("bin/sh", "busybox");
  // Where `busybox --install -s` puts the applet links.
  a.dir("sbin").mkdirs("usr/bin").dir("usr/sbin");
  for (const mountPoint of ["proc", "sys", "run"]) a.dir(mountPoint);
  a.dir("tmp", 0o1777).dir("root", 0o700);
  for (const m of input.modules) {
    const path = m.path.replace(/^\/+/, "");
    const slash = path.lastIndexOf("/");
    if (slash > 0) a.mkdirs(path.slice(0, slash));
    a.file(path, m.data, 0o644);
  }
  a.mkdirs("etc/tsvmm").file(MODULE_LIST_PATH, moduleList(input.modules), 0o644);
  a.file("init", input.init, 0o755);
  return a.toBytes();
}
