import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { UsageError } from "./errors.js";
import { resolveRunConfig, type RunFlags } from "./run-command.js";

let dir = "";
let kernel = "";
let disk = "";
const write = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

before(() => {
  dir = mkdtempSync(join(tmpdir(), "tsvmm-run-test-"));
  kernel = write("bzImage", "not really a kernel");
  disk = write("disk.img", "");
});
after(() => rmSync(dir, { recursive: true, force: true }));

function usage(flags: RunFlags, pattern: RegExp): void {
  assert.throws(
    () => resolveRunConfig(flags),
    (err: unknown) => {
      assert.ok(err instanceof UsageError, String(err));
      assert.ok(!err.message.includes("\n"));
      assert.match(err.message, pattern);
      return true;
    },
  );
}

describe("resolveRunConfig", () => {
  it("gives the defaults when no flag is set", () => {
    const cfg = resolveRunConfig({});
    assert.equal(cfg.memory, 512 * 2 ** 20);
    assert.equal(cfg.cpus, 1);
    assert.equal(cfg.accel, "auto");
    assert.deepEqual(cfg.serial, { mode: "stdio" });
  });

  it("turns every flag into its config field", () => {
    const cfg = resolveRunConfig({
      kernel, initrd: kernel, cmdline: "console=ttyS0", memory: "1G", cpus: "2", accel: "emu",
      disk: [`${disk},readonly`, `${disk},format=qcow2`], net: ["user,hostfwd=tcp::2222-:22", "tap=tap0"],
      serial: "file=out.log", debugExit: true, noReboot: true,
    });
    assert.deepEqual(cfg, {
      memory: 2 ** 30, cpus: 2, accel: "emu", kernel, initrd: kernel, cmdline: "console=ttyS0",
      disks: [
        { path: disk, format: "raw", readonly: true },
        { path: disk, format: "qcow2", readonly: false },
      ],
      nets: [
        { mode: "user", hostfwd: [{ proto: "tcp", hostAddr: "127.0.0.1", hostPort: 2222, guestPort: 22 }], hostLoopback: false, restrict: false },
        { mode: "tap", ifname: "tap0" },
      ],
      serial: { mode: "file", path: "out.log" }, debugExit: true, noReboot: true,
    });
  });

  it("lets flags override --config fields, --disk replacing the list", () => {
    const config = write("vm.json", JSON.stringify({ memory: 2 ** 30, cpus: 4, kernel, disks: [{ path: disk }], noReboot: true }));
    const cfg = resolveRunConfig({ config, cpus: "2", disk: [`${disk},readonly`] });
    assert.equal(cfg.memory, 2 ** 30);
    assert.equal(cfg.cpus, 2);
    assert.equal(cfg.noReboot, true);
    assert.deepEqual(cfg.disks, [{ path: disk, format: "raw", readonly: true }]);
  });

  it("names the flag for bad flag values", () => {
    usage({ memory: "0" }, /^--memory: "0" is not a valid size/);
    usage({ memory: "8M" }, /^--memory: "8M" is not accepted \(expected .*16 MiB/);
    usage({ cpus: "-1" }, /^--cpus: "-1"/);
    usage({ accel: "tcg" }, /^--accel: "tcg"/);
    usage({ disk: ["a,,b"] }, /^--disk: "a,,b" has an empty item/);
    usage({ net: ["user,=x"] }, /^--net: /);
    usage({ serial: "pty" }, /^--serial: "pty"/);
  });

  it("checks that input files exist", () => {
    usage({ kernel: join(dir, "nope") }, /^--kernel: .*nope: no such file$/);
    usage({ kernel, initrd: join(dir, "nope") }, /^--initrd: .*: no such file$/);
    usage({ kernel: dir }, /^--kernel: .*: is a directory$/);
    usage({ disk: [join(dir, "missing.img")] }, /^--disk: .*missing\.img: no such file$/);
    usage({ config: join(dir, "missing.json") }, /^--config: .*missing\.json: no such file$/);
  });

  it("reports problems inside --config with the file and key", () => {
    usage({ config: write("bad.json", '{"memory": 1,') }, /^--config: .*bad\.json: malformed JSON: /);
    usage({ config: write("unknown.json", '{"memroy": 1}') }, /^--config: .*unknown\.json: memroy: unknown key/);
    usage({ config: write("list.json", "[]") }, /^--config: .*list\.json: config: a list/);
    const missing = write("missing-kernel.json", JSON.stringify({ kernel: join(dir, "gone") }));
    usage({ config: missing }, /^--config: .*missing-kernel\.json: kernel: .*gone: no such file$/);
    // The flag replaces the config's kernel, so the config's missing file no longer matters.
    assert.equal(resolveRunConfig({ config: missing, kernel }).kernel, kernel);
  });
});
