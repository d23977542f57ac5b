import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { KernelModule } from "./modinfo.js";
import { moduleLoadOrder } from "./module-order.js";

const mod = (name: string, ...depends: string[]): KernelModule => ({ name, depends, path: `k/${name}.ko` });

// Debian's virtio modules, as their .modinfo says (6.1 cloud kernel), in tar order.
const VIRTIO = [
  mod("virtio_blk", "virtio", "virtio_ring"),
  mod("virtio_rng", "virtio", "virtio_ring"),
  mod("virtio_net", "virtio_ring", "virtio", "net_failover"),
  mod("net_failover", "failover"),
  mod("virtio", "virtio_ring"),
  mod("virtio_pci", "virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio"),
  mod("virtio_pci_legacy_dev"),
  mod("virtio_pci_modern_dev"),
  mod("virtio_mmio", "virtio", "virtio_ring"),
  mod("virtio_ring"),
  mod("failover"),
  mod("snd_unrelated"),
];

function assertDependenciesFirst(order: readonly KernelModule[]): void {
  const at = new Map(order.map((m, i) => [m.name, i]));
  for (const m of order) for (const d of m.depends) assert.ok(at.get(d)! < at.get(m.name)!, `${d} before ${m.name}`);
}

describe("module-order: load order from depends=", () => {
  it("orders the virtio set with dependencies first and nothing unwanted", () => {
    const r = moduleLoadOrder(["virtio_pci", "virtio_mmio", "virtio_blk", "virtio_net", "virtio_console", "virtio-rng"], VIRTIO);
    assert.deepEqual(r.order.map((m) => m.name), [
      "virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio", "virtio_pci", "virtio_mmio",
      "virtio_blk", "failover", "net_failover", "virtio_net", "virtio_rng",
    ]);
    assert.deepEqual(r.absent, ["virtio_console"], "a wanted module the kernel lacks is skipped, not an error");
    assert.deepEqual(r.problems, []);
    assertDependenciesFirst(r.order);
  });

  it("reports a missing dependency and leaves out only what needs it", () => {
    const r = moduleLoadOrder(["virtio_net", "virtio_blk"], VIRTIO.filter((m) => m.name !== "failover"));
    assert.deepEqual(r.problems, ["net_failover depends on failover, which the kernel package does not have"]);
    assert.deepEqual([...r.excluded].sort(), ["net_failover", "virtio_net"]);
    assert.deepEqual(r.order.map((m) => m.name), ["virtio_ring", "virtio", "virtio_blk"]);
  });

  it("reports a cycle instead of looping, and leaves out its members and dependents", () => {
    const r = moduleLoadOrder(["top", "free"], [mod("top", "a"), mod("a", "b"), mod("b", "c"), mod("c", "a"), mod("free")]);
    assert.deepEqual(r.problems, ["dependency cycle: a -> b -> c -> a"]);
    assert.deepEqual([...r.excluded].sort(), ["a", "b", "c", "top"]);
    assert.deepEqual(r.order.map((m) => m.name), ["free"]);
    const self = moduleLoadOrder(["s"], [mod("s", "s")]);
    assert.deepEqual(self.problems, ["dependency cycle: s -> s"]);
  });

  it("reports duplicate names", () => {
    const r = moduleLoadOrder(["x"], [mod("x"), { name: "x", depends: [], path: "other/x.ko" }]);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!, /two modules are named x/);
    assert.equal(r.order[0]!.path, "k/x.ko");
  });

  it("on random graphs: terminates, orders dependencies first, and places or explains every wanted module", () => {
    const graph = fc.array(fc.array(fc.nat(9), { maxLength: 3 }), { minLength: 1, maxLength: 10 });
    fc.assert(
      fc.property(graph, fc.array(fc.nat(12), { maxLength: 6 }), (deps, wantedIdx) => {
        const modules = deps.map((ds, i) => mod(`m${i}`, ...ds.map((d) => `m${d}`)));
        const wanted = wantedIdx.map((i) => `m${i}`);
        const r = moduleLoadOrder(wanted, modules);
        assertDependenciesFirst(r.order);
        assert.equal(new Set(r.order.map((m) => m.name)).size, r.order.length, "each module once");
        for (const w of wanted) {
          const placed = r.order.some((m) => m.name === w);
          const explained = r.absent.includes(w) || r.excluded.includes(w);
          assert.ok(placed !== explained, `${w} is either loaded or explained`);
        }
        if (r.excluded.length > 0) assert.ok(r.problems.length > 0, "exclusions come with a reason");
      }),
    );
  });
});
