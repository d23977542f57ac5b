import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from "./cpio.js";
import { buildInitramfs, moduleList } from "./initramfs.js";
import { readNewc } from "./newc-reader.js";
import { loadRecipe, parseModuleList, recipeHash } from "./recipe.js";

const MODULES = [
  { name: "virtio_ring", path: "lib/modules/r/kernel/drivers/virtio/virtio_ring.ko", data: new Uint8Array([1, 2, 3]) },
  { name: "virtio", path: "/lib/modules/r/kernel/drivers/virtio/virtio.ko", data: new Uint8Array([4]) },
  { name: "failover", path: "lib/modules/r/kernel/net/core/failover.ko", data: new Uint8Array([5, 6]) },
];

describe("initramfs: layout", () => {
  const records = readNewc(buildInitramfs({ init: "#!/bin/sh\necho init\n", busybox: new Uint8Array([0x7f, 0x45]), modules: MODULES })).records;
  const by = new Map(records.map((r) => [r.name, r]));

  it("has /dev/console (char 5,1) so init has a console before devtmpfs", () => {
    const c = by.get("dev/console")!;
    assert.equal(c.mode & S_IFMT, S_IFCHR);
    assert.deepEqual([c.rdevMajor, c.rdevMinor], [5, 1]);
  });

  it("has an executable /init and /bin/busybox, and /bin/sh for init's #! line", () => {
    assert.equal(by.get("init")!.mode, S_IFREG | 0o755);
    assert.equal(by.get("init")!.data.toString(), "#!/bin/sh\necho init\n");
    assert.equal(by.get("bin/busybox")!.mode, S_IFREG | 0o755);
    assert.equal(by.get("bin/sh")!.mode & S_IFMT, S_IFLNK);
    assert.equal(by.get("bin/sh")!.data.toString(), "busybox");
  });

  it("has the mount points and the directories busybox --install fills", () => {
    for (const d of ["proc", "sys", "run", "tmp", "root", "sbin", "usr/bin", "usr/sbin", "etc/tsvmm"]) {
      assert.equal(by.get(d)!.mode & S_IFMT, S_IFDIR, d);
    }
    assert.equal(by.get("tmp")!.mode & 0o7777, 0o1777);
  });

  it("puts each module where the package had it, and lists them in load order", () => {
    for (const m of MODULES) assert.deepEqual(new Uint8Array(by.get(m.path.replace(/^\//, ""))!.data), m.data);
    assert.equal(
      by.get("etc/tsvmm/modules")!.data.toString(),
      "virtio_ring /lib/modules/r/kernel/drivers/virtio/virtio_ring.ko\nvirtio /lib/modules/r/kernel/drivers/virtio/virtio.ko\nfailover /lib/modules/r/kernel/net/core/failover.ko\n",
    );
    assert.equal(moduleList([]), "");
  });

  it("creates every directory before what is in it", () => {
    const seen = new Set<string>();
    for (const r of records.slice(0, -1)) {
      const parent = r.name.includes("/") ? r.name.slice(0, r.name.lastIndexOf("/")) : "";
      assert.ok(parent === "" || seen.has(parent), `${parent} before ${r.name}`);
      seen.add(r.name);
    }
  });
});

describe("recipe: guest/", () => {
  it("parses the module list, ignoring comments and blank lines", () => {
    assert.deepEqual(parseModuleList("# c\nvirtio_pci\n\n  virtio_blk  # block\n"), ["virtio_pci", "virtio_blk"]);
  });

  it("loads guest/init and guest/modules from the package", async () => {
    const recipe = await loadRecipe();
    assert.ok(Buffer.from(recipe.init).toString().startsWith("#!/bin/sh\n"));
    for (const m of ["virtio_pci", "virtio_mmio", "virtio_blk", "virtio_net", "virtio_console", "virtio_rng"]) assert.ok(recipe.modules.includes(m), m);
    assert.match(recipe.cmdline, /^console=ttyS0 earlyprintk=ttyS0 reboot=k panic=-1 noxsave\b/);
  });

  it("hashes everything that goes into the guest", async () => {
    const recipe = await loadRecipe();
    const h = recipeHash(recipe);
    assert.equal(h, recipeHash({ ...recipe }));
    assert.notEqual(h, recipeHash({ ...recipe, init: new TextEncoder().encode("#!/bin/sh\n") }));
    assert.notEqual(h, recipeHash({ ...recipe, modules: recipe.modules.slice(1) }));
    assert.notEqual(h, recipeHash({ ...recipe, cmdline: `${recipe.cmdline} quiet` }));
  });

  it("fails with a clear error when the recipe is missing", async () => {
    await assert.rejects(loadRecipe("/nonexistent/guest"), /guest recipe is missing/);
  });
});
