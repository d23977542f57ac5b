import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { aptSource } from "./apt.js";
import { DebError, parseControl, parseStanzas, readAr, readDeb } from "./deb.js";
import { fakeAr, fakeDeb, fakeTar } from "./fake-debs.js";

const FILES = [
  { name: "./bin/", type: "directory" as const },
  { name: "./bin/busybox", data: "busybox bytes", mode: 0o755 },
  { name: "./bin/sh", type: "symlink" as const, linkname: "busybox" },
  { name: "./usr/share/doc/x/" + "long-name-".repeat(12) + "end", data: "past the 100-byte ustar name field" },
];

function debWith(dataMember: { name: string; data: Uint8Array }, controlTar: Buffer): Buffer {
  return fakeAr([
    { name: "debian-binary", data: Buffer.from("2.0\n") },
    { name: "control.tar.gz", data: gzipSync(controlTar) },
    dataMember,
  ]);
}

describe("deb: ar archives", () => {
  it("splits members, padding odd sizes, and drops GNU's trailing slash", () => {
    const ar = fakeAr([{ name: "odd/", data: Buffer.from("abc") }, { name: "even", data: Buffer.from("wxyz") }, { name: "empty", data: Buffer.alloc(0) }]);
    const members = readAr(ar);
    assert.deepEqual(members.map((m) => [m.name, Buffer.from(m.data).toString()]), [["odd", "abc"], ["even", "wxyz"], ["empty", ""]]);
  });

  it("rejects a bad magic, a bad header and a truncated member", () => {
    assert.throws(() => readAr(Buffer.from("!<arch>")), /not an ar archive/);
    const ar = fakeAr([{ name: "a", data: Buffer.from("0123456789") }]);
    assert.throws(() => readAr(ar.subarray(0, ar.length - 3)), /truncated/);
    const bad = Buffer.from(ar);
    bad[8 + 58] = 0x20;
    assert.throws(() => readAr(bad), /bad ar header/);
  });
});

describe("deb: reading packages", () => {
  it("reads control fields and the kept files, symlinks and long names included", async () => {
    const deb = await fakeDeb({ Package: "busybox-static", Version: "1:1.35.0-4", Description: "multi\n line" }, FILES);
    const seen: string[] = [];
    const { control, files } = await readDeb(deb, (p) => (seen.push(p), !p.startsWith("usr/share/doc/x/l") || p.endsWith("end")));
    assert.equal(control.get("Package"), "busybox-static");
    assert.equal(control.get("Version"), "1:1.35.0-4");
    assert.deepEqual([...files.keys()], ["bin/busybox", "bin/sh", `usr/share/doc/x/${"long-name-".repeat(12)}end`]);
    assert.equal(files.get("bin/busybox")!.data.toString(), "busybox bytes");
    assert.equal(files.get("bin/busybox")!.mode, 0o755);
    assert.equal(files.get("bin/sh")!.linkTarget, "busybox");
    assert.ok(!seen.includes("bin"), "directories are not offered to keep()");
  });

  it("reads an uncompressed data.tar, and data.tar.xz when xz is installed", async (t) => {
    const control = await fakeTar([{ name: "./control", data: "Package: p\nVersion: 1\n" }]);
    const data = await fakeTar(FILES);
    const plain = await readDeb(debWith({ name: "data.tar", data }, control), () => true);
    assert.equal(plain.files.get("bin/busybox")!.data.toString(), "busybox bytes");
    const xz = spawnSync("xz", ["-c", "-z"], { input: data });
    if (xz.status !== 0) return t.skip("xz is not installed: cannot make an .xz member to read");
    const packed = await readDeb(debWith({ name: "data.tar.xz", data: xz.stdout }, control), () => true);
    assert.equal(packed.files.get("bin/busybox")!.data.toString(), "busybox bytes");
  });

  it("fails with DebError on what is not a Debian package, or is compressed unknowably", async () => {
    const control = await fakeTar([{ name: "./control", data: "Package: p\n" }]);
    await assert.rejects(readDeb(Buffer.from("!<arch>\n"), () => true, "empty"), /empty: not a Debian binary package/);
    await assert.rejects(readDeb(debWith({ name: "data.tar.bz2", data: Buffer.from("BZh") }, control), () => true), /unsupported compression/);
    await assert.rejects(readDeb(debWith({ name: "data.tar.gz", data: Buffer.from("not gzip") }, control), () => true), DebError);
    const noData = fakeAr([{ name: "debian-binary", data: Buffer.from("2.0\n") }, { name: "control.tar.gz", data: gzipSync(control) }]);
    await assert.rejects(readDeb(noData, () => true), /no data\.tar\* member/);
  });

  it("parses control stanzas with continuation lines", () => {
    const text = "Package: a\nDepends: b,\n c\n\nPackage: d\nVersion: 2\n";
    assert.deepEqual(parseStanzas(text).map((s) => [...s]), [[["Package", "a"], ["Depends", "b,\nc"]], [["Package", "d"], ["Version", "2"]]]);
    assert.equal(parseControl("\n\nPackage: x\n").get("Package"), "x");
  });
});

// The real thing: Debian's busybox-static through this machine's apt (no root needed).
const hasApt = spawnSync("apt-get", ["--version"]).status === 0;

describe("deb: a real Debian package", () => {
  it("downloads busybox-static with apt-get and finds /bin/busybox in it", { skip: hasApt ? false : "apt-get is not installed (not a Debian-like system)", timeout: 120_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "tsvmm-deb-test-"));
    try {
      let candidate;
      let path: string;
      try {
        [candidate] = await aptSource.candidates(["busybox-static"]);
        [path] = await aptSource.download([candidate!], dir);
      } catch (err) {
        return t.skip(`apt cannot fetch busybox-static here: ${err instanceof Error ? err.message : String(err)}`);
      }
      const { control, files } = await readDeb(readFileSync(path!), (p) => p === "bin/busybox", "busybox-static");
      assert.equal(control.get("Package"), "busybox-static");
      assert.equal(control.get("Version"), candidate!.version);
      const busybox = files.get("bin/busybox")!;
      assert.deepEqual([...busybox.data.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], "an ELF executable");
      assert.equal(busybox.mode & 0o111, 0o111);
      assert.ok(busybox.data.length > 500_000, "the static busybox is large");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
