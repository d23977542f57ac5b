import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { silentSink } from "../bus/log.js";
import { sampleVmlinux } from "../loader/test-images.js";
import { parseVmConfig } from "../vm/config.js";
import { Machine, type MachineBoot } from "../vm/machine.js";
import { bootIdentity, writeSnapshot } from "../vm/snapshot.js";
import { UsageError } from "./errors.js";
import { resolveRestore } from "./run-command.js";

let dir = "";
const config = parseVmConfig({ accel: "emu", memory: 32 * 1024 * 1024 });
const boot: MachineBoot = { kernel: sampleVmlinux(), kernelName: "sample", cmdline: "console=ttyS0" };

before(() => {
  dir = mkdtempSync(join(tmpdir(), "tsvmm-restore-flags-"));
  const m = new Machine(config, boot, { log: silentSink });
  writeSnapshot(join(dir, "snap"), { config, boot: bootIdentity(boot, m.bootKind), boots: 1, memory: m.memory, capture: () => m.captureState() });
  m.memory.close();
});
after(() => rmSync(dir, { recursive: true, force: true }));

function usage(f: () => unknown, pattern: RegExp): void {
  assert.throws(f, (err: unknown) => err instanceof UsageError && !err.message.includes("\n") && pattern.test(err.message));
}

describe("run --restore", () => {
  it("takes the VM from the snapshot", () => {
    const r = resolveRestore(join(dir, "snap"), {});
    assert.deepEqual(r.config, config);
    assert.equal(r.snapshot.manifest.backend, "emu");
  });

  it("lets --serial change where the console goes, and nothing else", () => {
    const r = resolveRestore(join(dir, "snap"), { serial: "file=/tmp/console.log" });
    assert.deepEqual(r.config.serial, { mode: "file", path: "/tmp/console.log" });
    assert.deepEqual(r.snapshot.manifest.config.serial, r.config.serial);
    usage(() => resolveRestore(join(dir, "snap"), { memory: "1G", debugExit: true }), /^--restore: the VM is described by the snapshot; --memory, --debug-exit cannot be given with it/);
  });

  it("refuses a directory without a snapshot with one line", () => {
    usage(() => resolveRestore(join(dir, "none"), {}), /^--restore: .*none: no snapshot there \(no snapshot\.json\)$/);
  });
});
