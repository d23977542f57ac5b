import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { GuestSourceError } from "./apt.js";
import type { GuestProgress } from "./build.js";
import { checkGuest, defaultGuestPaths, guestCacheRoot, installGuest } from "./cache.js";
import { ensureDefaultGuest } from "./default-guest.js";
import { GuestBuildError } from "./errors.js";
import { FAKE_RELEASE, fakeDebianSource, fakeModule } from "./fake-debs.js";
import { sha256 } from "./manifest.js";
import { readNewc } from "./newc-reader.js";
import type { GuestRecipe } from "./recipe.js";

const RECIPE: GuestRecipe = {
  init: new TextEncoder().encode("#!/bin/sh\necho test init\n"),
  modules: ["virtio_pci", "virtio_net", "virtio_console"],
  cmdline: "console=ttyS0 test",
};

let base = "";
before(() => {
  base = mkdtempSync(join(tmpdir(), "tsvmm-guest-cache-test-"));
});
after(() => rmSync(base, { recursive: true, force: true }));

let n = 0;
const freshRoot = () => join(base, `cache-${n++}`, "tsvmm", "guest");
// Names in root other than guests and the current link: leftovers of a build.
const leftovers = (root: string) => readdirSync(root).filter((f) => f.startsWith("."));

describe("cache: where guests live", () => {
  it("uses $XDG_CACHE_HOME when absolute, else ~/.cache", () => {
    assert.equal(guestCacheRoot({ XDG_CACHE_HOME: "/x/cache", HOME: "/home/u" }), "/x/cache/tsvmm/guest");
    assert.equal(guestCacheRoot({ XDG_CACHE_HOME: "relative", HOME: "/home/u" }), "/home/u/.cache/tsvmm/guest");
    assert.equal(guestCacheRoot({ HOME: "/home/u" }), "/home/u/.cache/tsvmm/guest");
    assert.equal(guestCacheRoot({}), join(homedir(), ".cache/tsvmm/guest"));
  });

  it("defaultGuestPaths has no side effects and points at current before any build", () => {
    const root = freshRoot();
    const p = defaultGuestPaths(root);
    assert.equal(p.release, undefined);
    assert.equal(p.dir, join(root, "current"));
    assert.equal(p.kernel, join(root, "current", "vmlinuz"));
    assert.equal(p.initrd, join(root, "current", "initramfs.cpio"));
    assert.equal(p.manifest, join(root, "current", "manifest.json"));
    assert.equal(existsSync(root), false, "nothing was created");
  });
});

describe("ensureDefaultGuest: build, reuse, force", () => {
  it("builds from the packages, then reuses the cache without asking apt again", async () => {
    const root = freshRoot();
    const source = await fakeDebianSource({ kernelBytes: Buffer.from("bzImage!") });
    const events: GuestProgress[] = [];
    const now = () => new Date("2030-01-02T03:04:05Z");
    const g = await ensureDefaultGuest({ root, source, recipe: RECIPE, onProgress: (p) => events.push(p), now });
    assert.equal(g.built, true);
    assert.equal(g.release, FAKE_RELEASE);
    assert.equal(g.dir, join(root, FAKE_RELEASE));
    assert.equal(readlinkSync(join(root, "current")), FAKE_RELEASE);
    assert.equal(readFileSync(g.kernel, "utf8"), "bzImage!");
    assert.equal(g.cmdline, "console=ttyS0 test");
    assert.deepEqual(g.info.kernel, { package: `linux-image-${FAKE_RELEASE}`, version: "6.1.999-1", release: FAKE_RELEASE });
    assert.deepEqual(g.info.busybox, { package: "busybox-static", version: "1:1.35.0-4" });
    assert.equal(g.info.builtAt, "2030-01-02T03:04:05.000Z");
    assert.deepEqual(g.info.modules, ["virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio", "virtio_pci", "failover", "net_failover", "virtio_net"]);
    const initrd = readFileSync(g.initrd);
    assert.equal(g.info.files["initramfs.cpio"].sha256, sha256(initrd));
    assert.equal(g.info.files.vmlinuz.sha256, sha256("bzImage!"));
    const names = readNewc(initrd).records.map((r) => r.name);
    assert.ok(names.includes(`lib/modules/${FAKE_RELEASE}/kernel/net/core/failover.ko`));
    assert.ok(!names.some((x) => x.includes("unrelated")), "only the wanted modules and their dependencies");
    assert.deepEqual(JSON.parse(readFileSync(g.manifest, "utf8")), g.info);
    assert.deepEqual([...new Set(events.map((e) => e.step))], ["check", "resolve", "download", "unpack", "assemble", "install"]);
    assert.equal(events.filter((e) => e.step === "download").at(-1)!.fraction, 1);
    assert.ok(events.some((e) => e.message.includes("not in this kernel: virtio_console")));
    assert.deepEqual(leftovers(root), []);

    const calls = { ...source.calls };
    const again = await ensureDefaultGuest({ root, source, recipe: RECIPE });
    assert.equal(again.built, false);
    assert.deepEqual(source.calls, calls, "a cached guest needs no apt");
    assert.deepEqual(again.info, g.info);
    assert.equal(defaultGuestPaths(root).release, FAKE_RELEASE);
  });

  it("force rebuilds and replaces the guest in place", async () => {
    const root = freshRoot();
    const source = await fakeDebianSource();
    await ensureDefaultGuest({ root, source, recipe: RECIPE, now: () => new Date(1000) });
    const g = await ensureDefaultGuest({ root, source, recipe: RECIPE, force: true, now: () => new Date(2000) });
    assert.equal(g.built, true);
    assert.equal(g.rebuildReason, "forced");
    assert.equal(source.calls.download, 2);
    assert.equal(g.info.builtAt, new Date(2000).toISOString());
    assert.deepEqual(readdirSync(root).sort(), [FAKE_RELEASE, "current"]);
  });

  it("rebuilds when a file's size no longer matches, or the recipe changed", async () => {
    const root = freshRoot();
    const source = await fakeDebianSource();
    const first = await ensureDefaultGuest({ root, source, recipe: RECIPE });
    truncateSync(first.initrd, 10);
    const check = await checkGuest(defaultGuestPaths(root));
    assert.deepEqual(check, { ok: false, reason: `initramfs.cpio is 10 bytes, not ${first.info.files["initramfs.cpio"].size}` });
    const second = await ensureDefaultGuest({ root, source, recipe: RECIPE });
    assert.equal(second.built, true);
    assert.match(second.rebuildReason!, /initramfs\.cpio is 10 bytes/);
    const third = await ensureDefaultGuest({ root, source, recipe: { ...RECIPE, cmdline: "console=ttyS0 other" } });
    assert.equal(third.built, true);
    assert.equal(third.rebuildReason, "it was built from another recipe");
    assert.equal(third.cmdline, "console=ttyS0 other");
  });

  it("a failed build leaves the previous guest current and nothing half-built", async () => {
    const root = freshRoot();
    const source = await fakeDebianSource();
    const good = await ensureDefaultGuest({ root, source, recipe: RECIPE });
    source.failDownload = new GuestSourceError("apt-get download failed (no network)");
    await assert.rejects(ensureDefaultGuest({ root, source, recipe: RECIPE, force: true }), /no network/);
    assert.deepEqual(leftovers(root), []);
    const check = await checkGuest(defaultGuestPaths(root));
    assert.ok(check.ok);
    assert.deepEqual(check.manifest, good.info);
    // A fill() that dies half-way (as a killed process would) leaves only its temporary directory.
    await assert.rejects(
      installGuest(root, async (dir): Promise<{ release: string }> => {
        writeFileSync(join(dir, "vmlinuz"), "half");
        throw new Error("interrupted");
      }),
      /interrupted/,
    );
    assert.deepEqual(leftovers(root), []);
    assert.equal(readFileSync(good.kernel, "utf8"), readFileSync(defaultGuestPaths(root).kernel, "utf8"));
  });

  it("ignores and then cleans what a killed build left behind", async () => {
    const root = freshRoot();
    const deadPid = spawnSync(process.execPath, ["-e", ""]).pid!;
    const stale = join(root, `.build-${deadPid}-abc123`);
    mkdirSync(stale, { recursive: true });
    writeFileSync(join(stale, "vmlinuz"), "partial");
    assert.equal(defaultGuestPaths(root).release, undefined, "a temporary directory is not a guest");
    const g = await ensureDefaultGuest({ root, source: await fakeDebianSource(), recipe: RECIPE });
    assert.equal(g.built, true);
    assert.equal(existsSync(stale), false);
    assert.deepEqual(leftovers(root), []);
  });

  it("finds a dependency that the tar holds before the module needing it", async () => {
    const root = freshRoot();
    // late.ko comes last in the tar and needs virtio_blk, which came first and was not wanted.
    const source = await fakeDebianSource({
      extraModules: [{ name: `./lib/modules/${FAKE_RELEASE}/kernel/z/late.ko`, data: fakeModule(["name=late", "depends=virtio_blk"]) }],
    });
    const g = await ensureDefaultGuest({ root, source, recipe: { ...RECIPE, modules: ["late"] } });
    assert.deepEqual(g.info.modules, ["virtio_ring", "virtio", "virtio_blk", "late"]);
    const blk = readNewc(readFileSync(g.initrd)).records.find((r) => r.name.endsWith("/virtio_blk.ko"))!;
    assert.deepEqual(blk.data.subarray(0, 4), Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    assert.ok(blk.data.includes(Buffer.from("name=virtio_blk\0")));
  });

  it("a module that is not an ELF file fails the build, naming it", async () => {
    const source = await fakeDebianSource({ extraModules: [{ name: `./lib/modules/${FAKE_RELEASE}/kernel/bad.ko`, data: "garbage" }] });
    await assert.rejects(ensureDefaultGuest({ root: freshRoot(), source, recipe: RECIPE }), (e: unknown) => e instanceof GuestBuildError && /bad\.ko: not an ELF file/.test(e.message));
  });

  it("reports broken module dependencies as a build error", async () => {
    const root = freshRoot();
    const source = await fakeDebianSource({
      extraModules: [{ name: `./lib/modules/${FAKE_RELEASE}/kernel/x/needy.ko`, data: fakeModule(["name=needy", "depends=ghost"]) }],
    });
    const err = await ensureDefaultGuest({ root, source, recipe: { ...RECIPE, modules: ["needy"] } }).catch((e: unknown) => e);
    assert.ok(err instanceof GuestBuildError);
    assert.match(err.message, /cannot order its modules: needy depends on ghost, which the kernel package does not have/);
    assert.equal(existsSync(join(root, "current")), false);
  });

  it("turns file system errors into build errors", async () => {
    const file = join(base, "not-a-dir");
    writeFileSync(file, "x");
    const err = await ensureDefaultGuest({ root: join(file, "guest"), source: await fakeDebianSource(), recipe: RECIPE }).catch((e: unknown) => e);
    assert.ok(err instanceof GuestBuildError, String(err));
    assert.match(err.message, /ENOTDIR/);
  });
});
