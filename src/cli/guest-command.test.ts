import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DefaultGuest, EnsureGuestOptions, GuestCheck, GuestManifest, GuestPaths } from "../guest/index.js";
import { GuestBuildError } from "../guest/index.js";
import { ExitCode, UsageError } from "./errors.js";
import { runGuestCommand, progressReporter, type GuestCommandDeps } from "./guest-command.js";
import { captureIo, type CliContext } from "./io.js";
import { main } from "./main.js";

const MANIFEST: GuestManifest = {
  format: 1,
  recipe: "0".repeat(64),
  kernel: { package: "linux-image-6.1.0-56-cloud-amd64", version: "6.1.192-2", release: "6.1.0-56-cloud-amd64" },
  busybox: { package: "busybox-static", version: "1:1.35.0-4" },
  modules: ["virtio"],
  cmdline: "console=ttyS0 test",
  files: { vmlinuz: { size: 1, sha256: "1".repeat(64) }, "initramfs.cpio": { size: 2, sha256: "2".repeat(64) } },
  builtAt: "2030-01-01T00:00:00.000Z",
};

const paths = (release: string | undefined): GuestPaths => {
  const dir = `/cache/tsvmm/guest/${release ?? "current"}`;
  return { root: "/cache/tsvmm/guest", release, dir, kernel: `${dir}/vmlinuz`, initrd: `${dir}/initramfs.cpio`, manifest: `${dir}/manifest.json` };
};

function fakeDeps(opts: { built?: boolean; check?: GuestCheck; fail?: Error } = {}) {
  const seen: EnsureGuestOptions[] = [];
  const deps: GuestCommandDeps = {
    async ensure(options) {
      seen.push(options);
      options.onProgress?.({ step: "check", message: "checking" });
      options.onProgress?.({ step: "download", message: "downloading things", fraction: 0 });
      options.onProgress?.({ step: "download", message: "downloading things", fraction: 0.5 });
      options.onProgress?.({ step: "unpack", message: "unpacking" });
      if (opts.fail) throw opts.fail;
      return { ...paths("6.1.0-56-cloud-amd64"), release: "6.1.0-56-cloud-amd64", info: MANIFEST, cmdline: MANIFEST.cmdline, built: opts.built ?? true };
    },
    paths: () => paths(opts.check?.ok ? "6.1.0-56-cloud-amd64" : undefined),
    check: async () => opts.check ?? { ok: false, reason: "not built" },
    terminal: () => undefined,
  };
  return { deps, seen };
}

async function run(action: string, flags: { force?: boolean }, deps: GuestCommandDeps) {
  const io = captureIo();
  const ctx: CliContext = { io, exitCode: -1 };
  await runGuestCommand(action, flags, ctx, deps);
  return { code: ctx.exitCode, out: io.out, err: io.err };
}

describe("tsvmm guest build", () => {
  it("prints the paths and the command line, with a plain line per step on stderr", async () => {
    const { deps, seen } = fakeDeps();
    const r = await run("build", {}, deps);
    assert.equal(r.code, ExitCode.PowerOff);
    assert.equal(
      r.out,
      "dir      /cache/tsvmm/guest/6.1.0-56-cloud-amd64\n" +
        "kernel   /cache/tsvmm/guest/6.1.0-56-cloud-amd64/vmlinuz\n" +
        "initrd   /cache/tsvmm/guest/6.1.0-56-cloud-amd64/initramfs.cpio\n" +
        "cmdline  console=ttyS0 test\n",
    );
    const lines = r.err.trimEnd().split("\n");
    assert.deepEqual(lines.slice(0, 2), ["tsvmm: guest: downloading things", "tsvmm: guest: unpacking"]);
    assert.match(lines[2]!, /^tsvmm: guest: built Linux 6\.1\.0-56-cloud-amd64 \(linux-image-6\.1\.0-56-cloud-amd64 6\.1\.192-2\) with busybox-static 1:1\.35\.0-4 in \d+\.\d s$/);
    assert.equal(lines.length, 3);
    assert.equal(seen[0]!.force, false);
  });

  it("passes --force on, and says when it reused the cache", async () => {
    const { deps, seen } = fakeDeps({ built: false });
    const r = await run("build", { force: true }, deps);
    assert.equal(seen[0]!.force, true);
    assert.match(r.err, /reusing Linux 6\.1\.0-56-cloud-amd64 .*built 2030-01-01T00:00:00\.000Z/);
  });

  it("a build that fails is one line on stderr and exit 3", async () => {
    const { deps } = fakeDeps({ fail: new GuestBuildError("apt-get not found: the default guest is built with apt;\nor pass --kernel") });
    const r = await run("build", {}, deps);
    assert.equal(r.code, ExitCode.VmmFailure);
    assert.equal(r.out, "");
    assert.match(r.err.split("\n").at(-2)!, /^tsvmm: guest build: apt-get not found: the default guest is built with apt; or pass --kernel$/);
  });

  it("lets errors that are not build errors through (main reports them as internal)", async () => {
    const { deps } = fakeDeps({ fail: new TypeError("bug") });
    await assert.rejects(run("build", {}, deps), TypeError);
  });
});

describe("tsvmm guest path", () => {
  it("prints the cache root and says nothing is built, exiting 0", async () => {
    const r = await run("path", {}, fakeDeps().deps);
    assert.equal(r.code, ExitCode.PowerOff);
    assert.equal(r.out, "/cache/tsvmm/guest\n");
    assert.match(r.err, /^tsvmm: guest: not built yet; `tsvmm guest build` builds it/);
  });

  it("prints the guest's directory when built", async () => {
    const r = await run("path", {}, fakeDeps({ check: { ok: true, manifest: MANIFEST } }).deps);
    assert.equal(r.out, "/cache/tsvmm/guest/6.1.0-56-cloud-amd64\n");
    assert.match(r.err, /built: Linux 6\.1\.0-56-cloud-amd64 with busybox-static 1:1\.35\.0-4/);
  });

  it("says why a cached guest is not usable", async () => {
    const r = await run("path", {}, fakeDeps({ check: { ok: false, reason: "vmlinuz is missing" } }).deps);
    assert.equal(r.code, ExitCode.PowerOff);
    assert.match(r.err, /not usable \(vmlinuz is missing\)/);
  });

  it("refuses --force and unknown actions as usage errors", async () => {
    await assert.rejects(run("path", { force: true }, fakeDeps().deps), (e: unknown) => e instanceof UsageError && /--force only applies/.test(e.message));
    await assert.rejects(run("frob", {}, fakeDeps().deps), (e: unknown) => e instanceof UsageError && /expected build or path/.test(e.message));
  });
});

describe("tsvmm guest through main()", () => {
  let dir = "";
  let saved: string | undefined;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "tsvmm-guest-cli-test-"));
    saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = dir;
  });
  after(() => {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it("guest path (the default action) exits 0 before anything is built", async () => {
    for (const argv of [["guest", "path"], ["guest"]]) {
      const io = captureIo();
      assert.equal(await main(argv, io), ExitCode.PowerOff, io.err);
      assert.equal(io.out, `${join(dir, "tsvmm", "guest")}\n`);
      assert.match(io.err, /not built yet/);
    }
  });

  it("bad usage exits 2 with one line", async () => {
    for (const argv of [["guest", "frob"], ["guest", "path", "--force"], ["guest", "build", "--forse"]]) {
      const io = captureIo();
      assert.equal(await main(argv, io), ExitCode.Usage, argv.join(" "));
      assert.match(io.err, /^tsvmm: [^\n]+\n$/);
    }
  });
});

describe("progress display", () => {
  it("prints each step once and skips the cache check", () => {
    const io = captureIo();
    const p = progressReporter(io, undefined);
    p.onProgress({ step: "check", message: "checking" });
    p.onProgress({ step: "download", message: "downloading", fraction: 0 });
    p.onProgress({ step: "download", message: "downloading", fraction: 1 });
    p.onProgress({ step: "install", message: "installing" });
    p.done();
    assert.equal(io.err, "tsvmm: guest: downloading\ntsvmm: guest: installing\n");
  });
});
