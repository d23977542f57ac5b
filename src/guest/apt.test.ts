import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GuestSourceError, debFileFor, parseDlstatus, resolveMetaDependency, type Candidate } from "./apt.js";

const meta = (depends: string): Candidate => ({ name: "linux-image-cloud-amd64", version: "6.1.192-2", depends, size: 1 });

describe("apt: parsing what apt says", () => {
  it("resolves the metapackage's kernel, with the pinned version", () => {
    assert.deepEqual(resolveMetaDependency(meta("linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)"), "linux-image-"), {
      name: "linux-image-6.1.0-56-cloud-amd64",
      version: "6.1.192-2",
    });
    assert.deepEqual(resolveMetaDependency(meta("kmod, linux-image-6.12.0-1-cloud-amd64 | other"), "linux-image-"), {
      name: "linux-image-6.12.0-1-cloud-amd64",
      version: undefined,
    });
    assert.throws(() => resolveMetaDependency(meta("kmod"), "linux-image-"), GuestSourceError);
    assert.throws(() => resolveMetaDependency(meta(""), "linux-image-"), /depends on no linux-image-\* package/);
  });

  it("reads download progress from dlstatus lines", () => {
    assert.equal(parseDlstatus("dlstatus:1:8.1214:Retrieving file 1 of 1"), 0.081214);
    assert.equal(parseDlstatus("dlstatus:1:100.0000:Retrieving file 1 of 2"), 1);
    assert.equal(parseDlstatus("pmstatus:dpkg:50:Installing"), undefined);
    assert.equal(parseDlstatus("garbage"), undefined);
  });

  it("finds the file apt-get download wrote, epoch spelt %3a", () => {
    const files = ["busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb", "linux-image-6.1.0-56-cloud-amd64_6.1.192-2_amd64.deb", "partial"];
    assert.equal(debFileFor(files, { name: "busybox-static", version: "1:1.35.0-4+deb12u1+b1" }), files[0]);
    assert.equal(debFileFor(files, { name: "linux-image-6.1.0-56-cloud-amd64", version: "6.1.192-2" }), files[1]);
    assert.equal(debFileFor(files, { name: "busybox", version: "1" }), undefined);
  });
});
