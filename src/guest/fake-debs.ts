/**
 * Test fixtures: synthetic kernel modules, tar and ar archives, Debian
 * packages and a fake PackageSource, so the builder can be tested without
 * apt or a network. Written from the formats' specifications, independently
 * of the readers they test.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import type { Candidate, PackageRef, PackageSource } from "./apt.js";

/** A minimal ELF64 little-endian relocatable with a .modinfo section holding fields ("key=value"). */
export function fakeModule(fields: readonly string[]): Uint8Array {
  const enc = new TextEncoder();
  const modinfo = enc.encode(fields.map((f) => `${f}\0`).join(""));
  const shstrtab = enc.encode("\0.modinfo\0.shstrtab\0");
  const dataAt = 64;
  const shstrAt = dataAt + modinfo.length;
  const shoff = Math.ceil((shstrAt + shstrtab.length) / 8) * 8;
  const out = new Uint8Array(shoff + 3 * 64);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // magic, ELFCLASS64, little-endian, version
  v.setUint16(16, 1, true); // ET_REL
  v.setUint16(18, 62, true); // EM_X86_64
  v.setBigUint64(0x28, BigInt(shoff), true);
  v.setUint16(0x34, 64, true); // e_ehsize
  v.setUint16(0x3a, 64, true); // e_shentsize
  v.setUint16(0x3c, 3, true); // e_shnum: null, .modinfo, .shstrtab
  v.setUint16(0x3e, 2, true); // e_shstrndx
  out.set(modinfo, dataAt);
  out.set(shstrtab, shstrAt);
  const section = (i: number, nameAt: number, type: number, offset: number, size: number) => {
    const at = shoff + i * 64;
    v.setUint32(at, nameAt, true);
    v.setUint32(at + 4, type, true);
    v.setBigUint64(at + 0x18, BigInt(offset), true);
    v.setBigUint64(at + 0x20, BigInt(size), true);
  };
  section(1, 1, 1, dataAt, modinfo.length); // ".modinfo", SHT_PROGBITS
  section(2, 10, 3, shstrAt, shstrtab.length); // ".shstrtab", SHT_STRTAB
  return out;
}

/** An entry of a fake tar. */
export interface FakeTarEntry {
  /** The path as the tar stores it (Debian writes "./usr/..."). */
  readonly name: string;
  /** Contents of a file. */
  readonly data?: Uint8Array | string;
  /** Permission bits (default 0644, or 0755 for directories). */
  readonly mode?: number;
  /** The entry's type (default file). */
  readonly type?: "file" | "directory" | "symlink";
  /** A symlink's target. */
  readonly linkname?: string;
}

/** An uncompressed tar of entries, written by tar-stream. */
export async function fakeTar(entries: readonly FakeTarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on("data", (c: unknown) => chunks.push(c as Buffer));
    pack.on("end", () => resolve());
    pack.on("error", reject);
  });
  for (const e of entries) {
    const type = e.type ?? "file";
    const data = typeof e.data === "string" ? Buffer.from(e.data) : Buffer.from(e.data ?? new Uint8Array(0));
    const mode = e.mode ?? (type === "directory" ? 0o755 : 0o644);
    const header = { name: e.name, type, mode, ...(e.linkname === undefined ? {} : { linkname: e.linkname }) };
    if (type === "file") pack.entry(header, data);
    else pack.entry(header);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** An ar archive in the System V layout dpkg writes. */
export function fakeAr(members: readonly { name: string; data: Uint8Array }[]): Buffer {
  const parts: Buffer[] = [Buffer.from("!<arch>\n")];
  for (const m of members) {
    const field = (text: string, width: number) => text.padEnd(width, " ");
    const header = field(m.name, 16) + field("0", 12) + field("0", 6) + field("0", 6) + field("100644", 8) + field(String(m.data.length), 10) + "`\n";
    parts.push(Buffer.from(header, "latin1"), Buffer.from(m.data));
    if (m.data.length % 2 === 1) parts.push(Buffer.from("\n"));
  }
  return Buffer.concat(parts);
}

/** A Debian binary package with the given control fields and data files (tars gzip-compressed). */
export async function fakeDeb(control: Record<string, string>, files: readonly FakeTarEntry[]): Promise<Buffer> {
  const controlText = Object.entries(control).map(([k, v]) => `${k}: ${v}\n`).join("");
  const controlTar = await fakeTar([{ name: "./control", data: controlText }]);
  const dataTar = await fakeTar([{ name: "./", type: "directory" }, ...files]);
  return fakeAr([
    { name: "debian-binary", data: Buffer.from("2.0\n") },
    { name: "control.tar.gz", data: gzipSync(controlTar) },
    { name: "data.tar.gz", data: gzipSync(dataTar) },
  ]);
}

/** One package a FakeSource serves. */
export interface FakePackage extends Candidate {
  /** The .deb bytes download writes. */
  readonly deb: Uint8Array;
}

/** A PackageSource serving fixed packages, counting its calls. */
export class FakeSource implements PackageSource {
  /** How many times candidates() and download() were called. */
  readonly calls = { candidates: 0, download: 0 };
  /** When set, download() rejects with this error. */
  failDownload: Error | undefined;

  /** Serves packages (each keyed by its name). */
  constructor(readonly packages: readonly FakePackage[]) {}

  /** Looks the packages up by name. */
  async candidates(names: readonly string[]): Promise<Candidate[]> {
    this.calls.candidates++;
    return names.map((n) => {
      const p = this.packages.find((x) => x.name === n);
      if (p === undefined) throw new Error(`fake source: no package ${n}`);
      return p;
    });
  }

  /** Writes the packages' .deb files into dir. */
  async download(refs: readonly PackageRef[], dir: string, onFraction?: (f: number) => void): Promise<string[]> {
    this.calls.download++;
    if (this.failDownload !== undefined) throw this.failDownload;
    const paths: string[] = [];
    for (const [i, ref] of refs.entries()) {
      const p = this.packages.find((x) => x.name === ref.name && x.version === ref.version);
      if (p === undefined) throw new Error(`fake source: no package ${ref.name}=${ref.version}`);
      const path = join(dir, `${ref.name}_${ref.version.replace(/:/g, "%3a")}_amd64.deb`);
      await writeFile(path, p.deb);
      paths.push(path);
      onFraction?.((i + 1) / refs.length);
    }
    return paths;
  }
}

/** The kernel release the fake kernel package is for. */
export const FAKE_RELEASE = "6.1.0-99-cloud-amd64";

/** A FakeSource with a metapackage, a kernel package (modules in tar order that puts dependencies last) and busybox-static. */
export async function fakeDebianSource(opts: { kernelBytes?: Uint8Array; extraModules?: readonly FakeTarEntry[] } = {}): Promise<FakeSource> {
  const rel = FAKE_RELEASE;
  const mod = (dir: string, file: string, fields: string[]): FakeTarEntry => ({
    name: `./lib/modules/${rel}/kernel/${dir}/${file}`,
    data: fakeModule(fields),
  });
  const kernelName = `linux-image-${rel}`;
  const kernelDeb = await fakeDeb({ Package: kernelName, Version: "6.1.999-1", Architecture: "amd64" }, [
    { name: "./boot/", type: "directory" },
    { name: `./boot/vmlinuz-${rel}`, data: opts.kernelBytes ?? "fake bzImage" },
    { name: `./boot/config-${rel}`, data: "CONFIG_VIRTIO=m\n" },
    mod("drivers/block", "virtio_blk.ko", ["name=virtio_blk", "depends=virtio,virtio_ring"]),
    mod("drivers/char/hw_random", "virtio-rng.ko", ["name=virtio_rng", "depends=virtio,virtio_ring"]),
    mod("drivers/net", "virtio_net.ko", ["name=virtio_net", "depends=virtio_ring,virtio,net_failover"]),
    mod("drivers/net", "net_failover.ko", ["name=net_failover", "depends=failover"]),
    mod("drivers/virtio", "virtio.ko", ["name=virtio", "depends=virtio_ring"]),
    mod("drivers/virtio", "virtio_pci.ko", ["name=virtio_pci", "depends=virtio_ring,virtio_pci_modern_dev,virtio_pci_legacy_dev,virtio"]),
    mod("drivers/virtio", "virtio_pci_legacy_dev.ko", ["name=virtio_pci_legacy_dev", "depends="]),
    mod("drivers/virtio", "virtio_pci_modern_dev.ko", ["name=virtio_pci_modern_dev", "depends="]),
    mod("drivers/virtio", "virtio_ring.ko", ["name=virtio_ring", "depends="]),
    mod("net/core", "failover.ko", ["name=failover", "depends="]),
    mod("sound", "unrelated.ko", ["name=unrelated", "depends="]),
    ...(opts.extraModules ?? []),
  ]);
  const busyboxDeb = await fakeDeb({ Package: "busybox-static", Version: "1:1.35.0-4", Architecture: "amd64" }, [
    { name: "./bin/", type: "directory" },
    { name: "./bin/busybox", data: "\x7fELF fake busybox", mode: 0o755 },
    { name: "./usr/share/doc/busybox-static/copyright", data: "GPL" },
  ]);
  return new FakeSource([
    { name: "linux-image-cloud-amd64", version: "6.1.999-1", depends: `${kernelName} (= 6.1.999-1)`, size: 0, deb: new Uint8Array(0) },
    { name: kernelName, version: "6.1.999-1", depends: "kmod", size: kernelDeb.length, deb: kernelDeb },
    { name: "busybox-static", version: "1:1.35.0-4", depends: "", size: busyboxDeb.length, deb: busyboxDeb },
  ]);
}
