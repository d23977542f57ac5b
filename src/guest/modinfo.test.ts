import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fakeModule } from "./fake-debs.js";
import { ModinfoError, elfSection, moduleNameFromPath, parseModinfo, readKernelModule } from "./modinfo.js";

describe("modinfo: reading a module's .modinfo", () => {
  it("reads name and depends from a synthetic module", () => {
    const ko = fakeModule(["license=GPL", "depends=virtio_ring,virtio", "alias=virtio:d00000001v*", "alias=second", "name=virtio_net", "vermagic=6.1.0"]);
    const m = readKernelModule("lib/modules/r/kernel/drivers/net/virtio_net.ko", ko);
    assert.deepEqual(m, { name: "virtio_net", depends: ["virtio_ring", "virtio"], path: "lib/modules/r/kernel/drivers/net/virtio_net.ko" });
    assert.deepEqual(parseModinfo(elfSection(ko, ".modinfo")!).get("alias"), ["virtio:d00000001v*", "second"]);
  });

  it("an empty depends= means no dependencies; a missing name= falls back to the file name", () => {
    const m = readKernelModule("x/virtio-rng.ko", fakeModule(["depends="]));
    assert.deepEqual(m, { name: "virtio_rng", depends: [], path: "x/virtio-rng.ko" });
    assert.equal(moduleNameFromPath("a/b/snd-hda-intel.ko"), "snd_hda_intel");
  });

  it("rejects what is not a 64-bit little-endian ELF, and a module without .modinfo", () => {
    assert.throws(() => readKernelModule("a.ko", new TextEncoder().encode("not an elf at all, but long enough to have a header ......")), /not an ELF/);
    const elf32 = fakeModule(["name=x"]);
    elf32[4] = 1;
    assert.throws(() => readKernelModule("a.ko", elf32), /64-bit little-endian/);
    const truncated = fakeModule(["name=x"]).subarray(0, 100);
    assert.throws(() => readKernelModule("a.ko", truncated), ModinfoError);
    assert.equal(elfSection(fakeModule(["name=x"]), ".text"), undefined);
    assert.throws(() => readKernelModule("a.ko", renameSection(fakeModule(["name=x"]))), /no \.modinfo/);
  });
});

// Turns ".modinfo" into ".modinfX" in the section name table.
function renameSection(ko: Uint8Array): Uint8Array {
  const copy = ko.slice();
  const at = Buffer.from(copy).indexOf(".modinfo\0");
  copy[at + 7] = "X".charCodeAt(0);
  return copy;
}
