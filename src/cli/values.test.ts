import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { UsageError } from "./errors.js";
import {
  formatSize,
  parseChoice,
  parseCommaOptions,
  parseCpus,
  parseDiskSpec,
  parseHostFwd,
  parseNetSpec,
  parseSerialSpec,
  parseSize,
  parseSocketPath,
} from "./values.js";

const K = 1024;
const M = K * K;
const G = M * K;
const T = G * K;

// Asserts a one-line UsageError that starts with the flag and matches `hint`.
function usage(fn: () => unknown, flag: string, hint?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UsageError, `expected UsageError, got ${String(err)}`);
    assert.ok(err.message.startsWith(`${flag}: `), err.message);
    assert.ok(!err.message.includes("\n"), "message must be one line");
    if (hint !== undefined) assert.match(err.message, hint);
    return true;
  });
}

describe("parseSize", () => {
  it("reads binary suffixes, bytes and bare MiB", () => {
    const cases: [string, number][] = [
      ["512M", 512 * M], ["1G", G], ["512", 512 * M], ["2048K", 2 * M], ["1T", T],
      ["1g", G], ["1GiB", G], ["1gib", G], ["1GB", G], ["64KiB", 64 * K], ["7B", 7], ["7b", 7],
      ["1.5G", 1.5 * G], ["0.5K", 512], ["1.25", 1.25 * M], ["001M", M],
    ];
    for (const [text, bytes] of cases) assert.equal(parseSize(text, "--memory"), bytes, text);
  });

  it("rejects zero, negatives, junk, partial bytes and overflow", () => {
    usage(() => parseSize("0", "--memory"), "--memory", /^--memory: "0" is not a valid size \(expected a positive size such as 512M or 2G\)$/);
    for (const bad of ["0K", "0.0G", "-1", "-512M", "", " 1G", "1G ", "1 G", "1P", "1iB", "G", "1.G", ".5G", "1e3", "+1", "0x10", "1,5G", "1MM", "١"]) {
      usage(() => parseSize(bad, "--memory"), "--memory", /valid size/);
    }
    usage(() => parseSize("1.5B", "--memory"), "--memory", /whole number of bytes/);
    usage(() => parseSize("1.0001K", "--memory"), "--memory", /whole number of bytes/);
    usage(() => parseSize("8192T", "--memory"), "--memory", /too large/);
    usage(() => parseSize("99999999999999999999999", "--memory"), "--memory", /too large/);
  });

  it("round-trips n followed by any suffix (property)", () => {
    const suffixes: [string, number][] = [
      ["", M], ["B", 1], ["b", 1], ["K", K], ["k", K], ["KiB", K], ["kb", K], ["M", M], ["MiB", M], ["mB", M],
      ["G", G], ["g", G], ["GiB", G], ["T", T], ["t", T], ["TB", T],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...suffixes), fc.double({ min: 0, max: 1, noNaN: true }), ([suffix, unit], f) => {
        const n = 1 + Math.floor(f * (Math.floor(Number.MAX_SAFE_INTEGER / unit) - 1));
        assert.equal(parseSize(`${n}${suffix}`, "--memory"), n * unit);
      }),
    );
  });

  it("round-trips formatSize (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (n) => {
        assert.equal(parseSize(formatSize(n), "--memory"), n);
      }),
    );
    assert.equal(formatSize(512 * M), "512M");
    assert.equal(formatSize(1536 * K), "1536K");
    assert.equal(formatSize(7), "7B");
  });

  it("throws nothing but UsageError on arbitrary strings (property)", () => {
    const sizeish = fc.array(fc.constantFrom(..."0123456789.kKmMgGtTiIbB- "), { maxLength: 12 }).map((a) => a.join(""));
    fc.assert(
      fc.property(fc.oneof(fc.string(), sizeish), (text) => {
        try {
          const bytes = parseSize(text, "--memory");
          assert.ok(Number.isSafeInteger(bytes) && bytes > 0);
        } catch (err) {
          assert.ok(err instanceof UsageError, String(err));
        }
      }),
    );
  });
});

describe("parseCpus and parseChoice", () => {
  it("accepts 1..255 and nothing else", () => {
    assert.equal(parseCpus("1"), 1);
    assert.equal(parseCpus("255"), 255);
    for (const bad of ["0", "-1", "256", "1.5", "", "two", " 2", "0x2", "99999999999"]) {
      usage(() => parseCpus(bad), "--cpus", /1 to 255/);
    }
  });

  it("checks choices", () => {
    assert.equal(parseChoice("kvm", "--accel", ["auto", "kvm", "emu"] as const), "kvm");
    usage(() => parseChoice("KVM", "--accel", ["auto", "kvm", "emu"]), "--accel", /"KVM" is not accepted \(expected auto, kvm or emu\)/);
  });
});

describe("parseCommaOptions", () => {
  it("splits head, key=value options and flags", () => {
    const { head, options, repeated } = parseCommaOptions("disk.img,format=qcow2,readonly", "--disk");
    assert.equal(head, "disk.img");
    assert.deepEqual([...options], [["format", "qcow2"], ["readonly", true]]);
    assert.equal(repeated.size, 0);
    assert.equal(parseCommaOptions("tap=x", "--net").head, "tap=x");
    assert.equal(parseCommaOptions("a,k=v=w", "--x").options.get("k"), "v=w");
  });

  it("collects repeatable keys in order", () => {
    const parsed = parseCommaOptions("user,hostfwd=a,restrict,hostfwd=b", "--net", { repeatable: ["hostfwd"] });
    assert.deepEqual(parsed.repeated.get("hostfwd"), ["a", "b"]);
    assert.equal(parsed.options.has("hostfwd"), false);
    usage(() => parseCommaOptions("user,hostfwd", "--net", { repeatable: ["hostfwd"] }), "--net", /no value/);
  });

  it("rejects empty items, empty or bad keys, empty values and duplicates", () => {
    const bad: [string, RegExp][] = [
      ["", /is empty/], [",a", /empty first item/], ["a,", /empty item/], ["a,,b", /empty item/],
      ["a,=x", /no name/], ["a,b c=1", /invalid option name/], ["a,format=", /empty value/],
      ["a,readonly,readonly", /twice/], ["a,format=raw,format=qcow2", /twice/],
    ];
    for (const [spec, hint] of bad) usage(() => parseCommaOptions(spec, "--disk", { syntax: "PATH" }), "--disk", hint);
  });

  it("throws nothing but UsageError on arbitrary strings (property)", () => {
    const commaish = fc.array(fc.constantFrom(..."ab,=-_ x:"), { maxLength: 16 }).map((a) => a.join(""));
    fc.assert(
      fc.property(fc.oneof(fc.string(), commaish), fc.boolean(), (spec, repeat) => {
        try {
          const parsed = parseCommaOptions(spec, "--disk", repeat ? { repeatable: ["a", "b"] } : {});
          assert.ok(parsed.head.length > 0);
          for (const key of [...parsed.options.keys(), ...parsed.repeated.keys()]) assert.ok(key.length > 0);
        } catch (err) {
          assert.ok(err instanceof UsageError, String(err));
          assert.ok(!err.message.includes("\n"));
        }
      }),
    );
  });
});

describe("parseDiskSpec", () => {
  it("reads path, format, readonly and overlay", () => {
    assert.deepEqual(parseDiskSpec("a.img"), { path: "a.img", format: "raw", readonly: false });
    assert.deepEqual(parseDiskSpec("a.qcow2,format=qcow2,readonly,overlay=o.qcow2"), {
      path: "a.qcow2", format: "qcow2", readonly: true, overlay: "o.qcow2",
    });
    assert.equal(parseDiskSpec("a,readonly=off").readonly, false);
    assert.equal(parseDiskSpec("a,readonly=on").readonly, true);
  });

  it("rejects unknown options and values", () => {
    usage(() => parseDiskSpec("a,fromat=raw"), "--disk", /unknown option "fromat"/);
    usage(() => parseDiskSpec("a,format=vmdk"), "--disk", /format "vmdk"/);
    usage(() => parseDiskSpec("a,format"), "--disk", /no value/);
    usage(() => parseDiskSpec("a,readonly=maybe"), "--disk", /readonly/);
    usage(() => parseDiskSpec("a,,readonly"), "--disk", /empty item/);
  });
});

describe("parseNetSpec", () => {
  it("reads user networks with repeated port forwards", () => {
    assert.deepEqual(parseNetSpec("user"), { mode: "user", hostfwd: [], hostLoopback: false, restrict: false });
    assert.deepEqual(parseNetSpec("user,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp::5353-10.0.2.15:53,host-loopback,restrict,pcap=n.pcap"), {
      mode: "user",
      hostfwd: [
        { proto: "tcp", hostAddr: "127.0.0.1", hostPort: 8080, guestPort: 80 },
        { proto: "udp", hostAddr: "127.0.0.1", hostPort: 5353, guestPort: 53 },
      ],
      hostLoopback: true,
      restrict: true,
      pcap: "n.pcap",
    });
  });

  it("reads tap networks", () => {
    assert.deepEqual(parseNetSpec("tap=tap0"), { mode: "tap", ifname: "tap0" });
    assert.deepEqual(parseNetSpec("tap=tap0,pcap=t.pcap"), { mode: "tap", ifname: "tap0", pcap: "t.pcap" });
  });

  it("rejects bad specs", () => {
    for (const bad of ["bridge", "tap", "tap=", "tap=a/b", "tap=tap0,restrict", "user,hostloopback", "user,pcap", "user,restrict,restrict"]) {
      usage(() => parseNetSpec(bad), "--net");
    }
  });

  it("parses hostfwd as QEMU does", () => {
    assert.deepEqual(parseHostFwd(":0.0.0.0:2222-:22"), { proto: "tcp", hostAddr: "0.0.0.0", hostPort: 2222, guestPort: 22 });
    const bad: [string, RegExp][] = [
      ["tcp:8080-:80", /malformed/], ["tcp::8080:80", /malformed/], ["tcp::8080-80", /malformed/],
      ["sctp::1-:1", /protocol/], ["tcp:localhost:1-:1", /IPv4/], ["tcp:1.2.3:1-:1", /IPv4/],
      ["tcp::0-:80", /host port/], ["tcp::65536-:80", /host port/], ["tcp::80-:", /guest port/],
      ["tcp::80-:-1", /malformed|guest port/], ["tcp::80-10.0.2.16:80", /guest address/],
    ];
    for (const [rule, hint] of bad) usage(() => parseHostFwd(rule), "--net", hint);
    usage(() => parseNetSpec("user,hostfwd=tcp::0-:80"), "--net", /hostfwd "tcp::0-:80"/);
  });
});

describe("parseSerialSpec and parseSocketPath", () => {
  it("reads the three backends", () => {
    assert.deepEqual(parseSerialSpec("stdio"), { mode: "stdio" });
    assert.deepEqual(parseSerialSpec("file=/tmp/x.log"), { mode: "file", path: "/tmp/x.log" });
    assert.deepEqual(parseSerialSpec("socket=/tmp/x.sock"), { mode: "socket", path: "/tmp/x.sock" });
  });

  it("rejects others", () => {
    for (const bad of ["", "pty", "file", "file=", "socket=", "stdio,x", "file=a,b", "tcp=1"]) {
      usage(() => parseSerialSpec(bad), "--serial");
    }
    usage(() => parseSerialSpec(`socket=/tmp/${"x".repeat(120)}`), "--serial", /too long/);
  });

  it("limits socket paths to sun_path", () => {
    assert.equal(parseSocketPath("a".repeat(107), "--api-socket"), "a".repeat(107));
    usage(() => parseSocketPath("a".repeat(108), "--api-socket"), "--api-socket", /107 bytes/);
    usage(() => parseSocketPath("", "--api-socket"), "--api-socket");
  });
});
