import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CpioArchive, CpioError, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from "./cpio.js";
import { readNewc } from "./newc-reader.js";

function sample(): CpioArchive {
  return new CpioArchive()
    .dir("dev")
    .charDevice("dev/console", 5, 1, 0o600)
    .dir("/bin")
    .file("bin/busybox", new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1]), 0o755)
    .symlink("bin/sh", "busybox")
    .dir("tmp", 0o1777)
    .file("init", "#!/bin/sh\necho hi\n", 0o755)
    .add({ kind: "blockdev", path: "dev/vda", mode: 0o660, major: 254, minor: 0 });
}

describe("cpio: newc writer", () => {
  it("writes every entry type with its mode, and ends with the trailer", () => {
    const { records, end } = readNewc(sample().toBytes());
    const by = new Map(records.map((r) => [r.name, r]));
    assert.deepEqual(records.map((r) => r.name), ["dev", "dev/console", "bin", "bin/busybox", "bin/sh", "tmp", "init", "dev/vda", "TRAILER!!!"]);
    assert.equal(by.get("dev")!.mode, S_IFDIR | 0o755);
    assert.equal(by.get("dev")!.nlink, 2);
    const console = by.get("dev/console")!;
    assert.equal(console.mode & S_IFMT, S_IFCHR);
    assert.equal(console.mode & 0o7777, 0o600);
    assert.deepEqual([console.rdevMajor, console.rdevMinor], [5, 1]);
    assert.equal(by.get("dev/vda")!.mode, 0o060000 | 0o660);
    assert.deepEqual([by.get("dev/vda")!.rdevMajor, by.get("dev/vda")!.rdevMinor], [254, 0]);
    assert.equal(by.get("bin/busybox")!.mode, S_IFREG | 0o755);
    assert.deepEqual([...by.get("bin/busybox")!.data], [0x7f, 0x45, 0x4c, 0x46, 1]);
    assert.equal(by.get("bin/sh")!.mode, S_IFLNK | 0o777);
    assert.equal(by.get("bin/sh")!.data.toString(), "busybox");
    assert.equal(by.get("tmp")!.mode, S_IFDIR | 0o1777);
    assert.equal(by.get("init")!.data.toString(), "#!/bin/sh\necho hi\n");
    const trailer = records.at(-1)!;
    assert.equal(trailer.data.length, 0);
    assert.equal(trailer.ino, 0);
    assert.equal(end, sample().toBytes().length, "nothing after the trailer but its padding");
  });

  it("pads names and data to 4 bytes for every name and size length", () => {
    for (let n = 1; n <= 8; n++) {
      for (let size = 0; size <= 5; size++) {
        const bytes = new CpioArchive().file("x".repeat(n), new Uint8Array(size).fill(0xaa)).toBytes();
        assert.equal(bytes.length % 4, 0);
        const { records } = readNewc(bytes);
        assert.equal(records[0]!.dataAt % 4, 0, `data of a ${n}-char name starts aligned`);
        assert.equal(records[0]!.data.length, size);
        assert.ok(records[0]!.data.every((b) => b === 0xaa));
      }
    }
  });

  it("is deterministic: mtime and owners are 0, inodes distinct", () => {
    const a = sample().toBytes();
    assert.deepEqual(a, sample().toBytes());
    const { records } = readNewc(a);
    const inodes = records.slice(0, -1).map((r) => r.ino);
    assert.equal(new Set(inodes).size, inodes.length);
    assert.ok(records.every((r) => r.mtime === 0 && r.uid === 0 && r.gid === 0));
  });

  it("refuses a missing parent, duplicates, bad paths and the trailer's name", () => {
    assert.throws(() => new CpioArchive().file("bin/busybox", "x"), CpioError);
    assert.throws(() => new CpioArchive().dir("a").dir("a"), /added twice/);
    assert.throws(() => new CpioArchive().file("a", "x").file("a/b", "y"), /directory a/);
    for (const bad of ["", "/", "a//b", "./a", "a/../b", "a/."]) assert.throws(() => new CpioArchive().dir(bad), CpioError, bad);
    assert.throws(() => new CpioArchive().file("TRAILER!!!", "x"), /end-of-archive/);
    assert.throws(() => new CpioArchive().symlink("l", ""), CpioError);
    assert.throws(() => new CpioArchive().charDevice("c", -1, 0), CpioError);
    assert.throws(() => new CpioArchive().file("f", "x", 0o10000), CpioError);
  });

  it("mkdirs adds the missing ancestors in order", () => {
    const names = readNewc(new CpioArchive().dir("lib").mkdirs("lib/modules/r/kernel", 0o700).toBytes()).records.map((r) => [r.name, r.mode & 0o7777]);
    assert.deepEqual(names.slice(0, -1), [["lib", 0o755], ["lib/modules", 0o755], ["lib/modules/r", 0o755], ["lib/modules/r/kernel", 0o700]]);
    assert.throws(() => new CpioArchive().file("f", "x").mkdirs("f/g"), /not a directory/);
  });

  it("round-trips random trees of files, links and directories", () => {
    const segment = fc.stringMatching(/^[a-z0-9._-]{1,12}$/).filter((s) => s !== "." && s !== "..");
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.uint8Array({ maxLength: 40 }), fc.boolean()), {
          selector: ([p]) => p.join("/"),
          maxLength: 12,
        }),
        (items) => {
          const a = new CpioArchive();
          const want = new Map<string, Uint8Array | string>();
          for (const [parts, data, link] of items) {
            // Leaves live in their own directory ("d-" prefix) so no leaf can clash with a directory.
            const dir = parts.slice(0, -1).map((p) => `d-${p}`).join("/");
            const path = dir === "" ? `f-${parts.at(-1)}` : `${dir}/f-${parts.at(-1)}`;
            if (want.has(path)) continue;
            if (dir !== "") a.mkdirs(dir);
            if (link) a.symlink(path, `target-${data.length}`);
            else a.file(path, data);
            want.set(path, link ? `target-${data.length}` : data);
          }
          const got = new Map(readNewc(a.toBytes()).records.filter((r) => (r.mode & S_IFMT) !== S_IFDIR).map((r) => [r.name, r]));
          got.delete("TRAILER!!!");
          assert.equal(got.size, want.size);
          for (const [path, data] of want) {
            const r = got.get(path)!;
            if (typeof data === "string") assert.equal(r.data.toString(), data);
            else assert.deepEqual(new Uint8Array(r.data), data);
          }
        },
      ),
    );
  });
});

const cpioTool = spawnSync("cpio", ["--version"], { encoding: "utf8" });
const haveCpio = cpioTool.status === 0;

describe("cpio: GNU cpio reads what we write", () => {
  it("lists names, types, modes and device numbers", { skip: haveCpio ? false : "cpio is not installed (apt-get install cpio)" }, () => {
    const r = spawnSync("cpio", ["-itv", "--quiet"], { input: Buffer.from(sample().toBytes()), encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 8);
    assert.match(lines[1]!, /^crw------- .* 5,\s+1 .* dev\/console$/);
    assert.match(lines[3]!, /^-rwxr-xr-x .* 5 .* bin\/busybox$/);
    assert.match(lines[4]!, /^lrwxrwxrwx .* bin\/sh -> busybox$/);
    assert.match(lines[5]!, /^drwxrwxrwt .* tmp$/);
    assert.match(lines[7]!, /^brw-rw---- .* 254,\s+0 .* dev\/vda$/);
  });
});
