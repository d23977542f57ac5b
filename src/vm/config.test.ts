import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ConfigError,
  DEFAULT_MEMORY,
  MAX_MEMORY,
  MIN_MEMORY,
  formatConfigPath,
  parseVmConfig,
  vmConfigJsonSchema,
} from "./config.js";

// Asserts that parsing fails with a one-line ConfigError at `path` mentioning `hint`.
function rejects(input: unknown, path: string, hint?: RegExp): ConfigError {
  let caught: unknown;
  try {
    parseVmConfig(input);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(input)}`);
  assert.equal(formatConfigPath(caught.path), path);
  assert.ok(caught.message.startsWith(`${path}: `), caught.message);
  assert.ok(!caught.message.includes("\n"), "message must be one line");
  assert.match(caught.message, /\(expected .+\)$/);
  if (hint !== undefined) assert.match(caught.message, hint);
  return caught;
}

describe("parseVmConfig", () => {
  it("fills in every default for an empty object", () => {
    assert.deepEqual(parseVmConfig({}), {
      memory: DEFAULT_MEMORY,
      cpus: 1,
      accel: "auto",
      disks: [],
      nets: [],
      serial: { mode: "stdio" },
      debugExit: false,
      noReboot: false,
    });
    assert.equal(DEFAULT_MEMORY, 512 * 1024 * 1024);
  });

  it("accepts a full config and keeps it unchanged", () => {
    const full = {
      memory: 2 ** 30,
      cpus: 4,
      accel: "kvm",
      kernel: "/boot/vmlinuz",
      initrd: "/boot/initrd.img",
      cmdline: "console=ttyS0 quiet",
      disks: [
        { path: "root.qcow2", format: "qcow2", readonly: false, overlay: "root.overlay" },
        { path: "data.img", format: "raw", readonly: true },
      ],
      nets: [
        {
          mode: "user",
          hostfwd: [{ proto: "tcp", hostAddr: "0.0.0.0", hostPort: 2222, guestPort: 22 }],
          hostLoopback: true,
          restrict: false,
          pcap: "net.pcap",
        },
        { mode: "tap", ifname: "tap0" },
      ],
      serial: { mode: "socket", path: "/tmp/console.sock" },
      debugExit: true,
      noReboot: true,
    };
    assert.deepEqual(parseVmConfig(full), full);
    // A parsed config is itself valid input: --print-config output can be fed back.
    assert.deepEqual(parseVmConfig(parseVmConfig(full)), full);
  });

  it("fills defaults inside disks, nets and port forwards", () => {
    const cfg = parseVmConfig({
      disks: [{ path: "a.img" }],
      nets: [{ mode: "user", hostfwd: [{ proto: "udp", hostPort: 53, guestPort: 53 }] }],
      serial: { mode: "file", path: "out.log" },
    });
    assert.deepEqual(cfg.disks, [{ path: "a.img", format: "raw", readonly: false }]);
    assert.deepEqual(cfg.nets, [
      {
        mode: "user",
        hostfwd: [{ proto: "udp", hostAddr: "127.0.0.1", hostPort: 53, guestPort: 53 }],
        hostLoopback: false,
        restrict: false,
      },
    ]);
    assert.deepEqual(cfg.serial, { mode: "file", path: "out.log" });
  });

  it("bounds memory to 16 MiB .. 1 TiB in whole pages", () => {
    assert.equal(parseVmConfig({ memory: MIN_MEMORY }).memory, MIN_MEMORY);
    assert.equal(parseVmConfig({ memory: MAX_MEMORY }).memory, MAX_MEMORY);
    rejects({ memory: MIN_MEMORY - 4096 }, "memory", /16 MiB/);
    rejects({ memory: MAX_MEMORY + 4096 }, "memory", /1 TiB/);
    rejects({ memory: MIN_MEMORY + 1 }, "memory", /4 KiB/);
    rejects({ memory: 0 }, "memory");
    rejects({ memory: -(2 ** 30) }, "memory");
    rejects({ memory: "512M" }, "memory", /"512M" is not accepted/);
    rejects({ memory: 2 ** 30 + 0.5 }, "memory");
  });

  it("bounds cpus to integers 1..255", () => {
    assert.equal(parseVmConfig({ cpus: 255 }).cpus, 255);
    for (const cpus of [0, -1, 256, 1.5, "2", null]) rejects({ cpus }, "cpus", /1 to 255/);
  });

  it("accepts only the three accelerators", () => {
    for (const accel of ["auto", "kvm", "emu"]) assert.equal(parseVmConfig({ accel }).accel, accel);
    rejects({ accel: "tcg" }, "accel", /"tcg" is not accepted.*"auto", "kvm" or "emu"/);
  });

  it("rejects unknown keys at every level, naming the key and the accepted ones", () => {
    rejects({ memroy: 1 }, "memroy", /unknown key.*memory, cpus/);
    rejects({ disks: [{ path: "a", fromat: "raw" }] }, "disks[0].fromat", /path, format, readonly, overlay/);
    rejects({ nets: [{ mode: "user", hostfwd: [{ proto: "tcp", hostPort: 1, guestPort: 1, x: 1 }] }] }, "nets[0].hostfwd[0].x");
    rejects({ nets: [{ mode: "tap", ifname: "t", hostfwd: [] }] }, "nets[0].hostfwd");
    rejects({ serial: { mode: "stdio", path: "x" } }, "serial.path");
    rejects({ a: 1, b: 2 }, "a", /also unknown: b/);
  });

  it("rejects bad disks", () => {
    rejects({ disks: [{}] }, "disks[0].path", /missing/);
    rejects({ disks: [{ path: "" }] }, "disks[0].path");
    rejects({ disks: [{ path: "a", format: "vmdk" }] }, "disks[0].format", /"raw" or "qcow2"/);
    rejects({ disks: [{ path: "a", readonly: "yes" }] }, "disks[0].readonly");
    rejects({ disks: {} }, "disks", /list/);
  });

  it("rejects bad networks", () => {
    rejects({ nets: [{}] }, "nets[0].mode", /missing.*"user" or "tap"/);
    rejects({ nets: [{ mode: "bridge" }] }, "nets[0].mode", /"bridge"/);
    rejects({ nets: [{ mode: "tap" }] }, "nets[0].ifname", /missing/);
    for (const ifname of ["", "a/b", "a b", "x:1", ".", "..", "sixteen-chars-xx"]) {
      rejects({ nets: [{ mode: "tap", ifname }] }, "nets[0].ifname");
    }
    const fwd = (f: object) => ({ nets: [{ mode: "user", hostfwd: [{ proto: "tcp", hostPort: 80, guestPort: 80, ...f }] }] });
    rejects(fwd({ hostPort: 0 }), "nets[0].hostfwd[0].hostPort", /1 to 65535/);
    rejects(fwd({ guestPort: 65536 }), "nets[0].hostfwd[0].guestPort");
    rejects(fwd({ proto: "sctp" }), "nets[0].hostfwd[0].proto");
    rejects(fwd({ hostAddr: "localhost" }), "nets[0].hostfwd[0].hostAddr", /IPv4/);
  });

  it("rejects bad serial settings", () => {
    rejects({ serial: { mode: "pty" } }, "serial.mode");
    rejects({ serial: { mode: "file" } }, "serial.path");
    rejects({ serial: "stdio" }, "serial", /"stdio" is not accepted/);
    rejects({ serial: { mode: "socket", path: `/tmp/${"s".repeat(200)}` } }, "serial.path", /107 bytes/);
  });

  it("rejects a config that is not an object", () => {
    for (const input of [null, 5, "x", [], undefined]) rejects(input, "config", /JSON object/);
  });
});

describe("vmConfigJsonSchema", () => {
  it("describes the input form: strict objects, defaults optional", () => {
    const schema = vmConfigJsonSchema() as {
      type: string;
      additionalProperties: boolean;
      properties: Record<string, { default?: unknown; minimum?: number; maximum?: number }>;
      required?: string[];
    };
    assert.equal(schema.type, "object");
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(Object.keys(schema.properties).sort(), [
      "accel", "cmdline", "cpus", "debugExit", "disks", "initrd", "kernel", "memory", "nets", "noReboot", "serial",
    ]);
    assert.equal(schema.required, undefined);
    assert.equal(schema.properties.memory!.default, DEFAULT_MEMORY);
    assert.equal(schema.properties.memory!.minimum, MIN_MEMORY);
    assert.equal(schema.properties.cpus!.maximum, 255);
    assert.doesNotThrow(() => JSON.stringify(schema));
  });
});
