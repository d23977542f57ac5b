import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openDisk } from "../storage/open.js";
import { createQcow2File } from "../storage/qcow2/create.js";
import { qemuCheck, qemuImgMissing } from "../storage/qcow2/qemu-tools.js";
import { humanSize } from "./disk-command.js";
import { ExitCode } from "./errors.js";
import { captureIo } from "./io.js";
import { main } from "./main.js";

let dir = "";
let n = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "tsvmm-disk-command-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function tsvmm(...argv: string[]) {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, out: io.out, err: io.err };
}

function fresh(name: string): string {
  return join(dir, `${n++}-${name}`);
}

describe("tsvmm disk create", () => {
  it("creates a sparse raw file of the size asked", async () => {
    const file = fresh("disk.img");
    const r = await tsvmm("disk", "create", file, "10G");
    assert.equal(r.code, ExitCode.PowerOff, r.err);
    assert.equal(r.out, `created ${file}: raw, 10G, sparse\n`);
    const st = statSync(file);
    assert.equal(st.size, 10 * 2 ** 30);
    assert.ok(st.blocks * 512 < 1 << 20, "sparse");
  });

  it("creates a qcow2 image with 64 KiB clusters that QEMU finds clean and tsvmm opens", async () => {
    const file = fresh("disk.qcow2");
    const r = await tsvmm("disk", "create", "--format", "qcow2", file, "20G");
    assert.equal(r.code, ExitCode.PowerOff, r.err);
    assert.equal(r.out, `created ${file}: qcow2, 20G, 64K clusters\n`);
    if (qemuImgMissing() === undefined) assert.equal(qemuCheck(file).status, 0);
    const disk = await openDisk({ path: file, format: "qcow2", readonly: false });
    assert.equal(disk.size, 20 * 2 ** 30);
    await disk.close();
  });

  it("exits 2 for a size the format cannot hold, 3 when the host refuses to create the file", async () => {
    const big = await tsvmm("disk", "create", "--format", "qcow2", fresh("big.qcow2"), "3000T");
    assert.equal(big.code, ExitCode.Usage);
    assert.match(big.err, /^tsvmm: disk create: SIZE: [^\n]*L1 table[^\n]*\n$/);
    // Even root cannot create files in /proc.
    const file = `/proc/tsvmm-test-${process.pid}.img`;
    const host = await tsvmm("disk", "create", file, "1G");
    assert.equal(host.code, ExitCode.VmmFailure, host.err);
    assert.equal(host.err, `tsvmm: disk create: ${file}: cannot create: no such file or directory\n`);
  });
});

describe("tsvmm disk info", () => {
  it("describes a raw image", async () => {
    const file = fresh("disk.img");
    writeFileSync(file, Buffer.alloc(1 << 20, 1));
    const r = await tsvmm("disk", "info", file);
    assert.equal(r.code, ExitCode.PowerOff, r.err);
    assert.match(r.out, /^file {10}.*disk\.img\nformat {8}raw\nvirtual size  1 MiB \(1048576 bytes\)\ndisk usage    [\d.]+ [KM]iB \(file length 1048576 bytes\)\n$/);
  });

  it("describes a qcow2 image with its cluster size, backing file and flags", async () => {
    const base = fresh("base.img");
    writeFileSync(base, Buffer.alloc(4096));
    const file = fresh("over.qcow2");
    await createQcow2File(file, { size: 2 ** 30, backingFile: base, backingFormat: "raw" });
    const r = await tsvmm("disk", "info", file);
    assert.equal(r.code, ExitCode.PowerOff, r.err);
    assert.ok(r.out.includes("format        qcow2 (version 3)\n"), r.out);
    assert.ok(r.out.includes("virtual size  1 GiB (1073741824 bytes)\n"), r.out);
    assert.ok(r.out.includes("cluster size  64 KiB\n"), r.out);
    assert.ok(r.out.includes(`backing file  ${base} (format raw)\n`), r.out);
    assert.ok(r.out.includes("dirty         no\n") && r.out.includes("corrupt       no\n"), r.out);
    const json = await tsvmm("disk", "info", "--json", file);
    const info = JSON.parse(json.out) as { format: string; qcow2: { clusterSize: number; backingFile: string } };
    assert.equal(info.format, "qcow2");
    assert.equal(info.qcow2.clusterSize, 65536);

    // Set the dirty and corrupt bits as a crashed or alarmed writer would.
    const bytes = readFileSync(file);
    bytes.writeBigUInt64BE(3n, 72);
    writeFileSync(file, bytes);
    const flagged = await tsvmm("disk", "info", file);
    assert.match(flagged.out, /dirty {9}yes/);
    assert.match(flagged.out, /corrupt {7}yes/);
  });

  it("exits 2 with one line naming a file that is not a readable image", async () => {
    const file = fresh("bad.qcow2");
    await createQcow2File(file, { size: 1 << 20 });
    const bytes = readFileSync(file);
    bytes.writeUInt32BE(99, 4); // version
    writeFileSync(file, bytes);
    const r = await tsvmm("disk", "info", file);
    assert.equal(r.code, ExitCode.Usage);
    assert.equal(r.err, `tsvmm: disk info: ${file}: unsupported qcow2 image: qcow2 version 99 (tsvmm reads versions 2 and 3)\n`);
    const missing = await tsvmm("disk", "info", fresh("none"));
    assert.equal(missing.code, ExitCode.Usage);
  });
});

describe("humanSize", () => {
  it("uses binary units with at most one decimal", () => {
    assert.equal(humanSize(0), "0 bytes");
    assert.equal(humanSize(1023), "1023 bytes");
    assert.equal(humanSize(1536), "1.5 KiB");
    assert.equal(humanSize(10 * 2 ** 30), "10 GiB");
  });
});
