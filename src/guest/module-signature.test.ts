import assert from "node:assert/strict";
import test from "node:test";
import fc from "fast-check";
import { stripModuleSignature } from "./module-signature.js";

const MAGIC = Buffer.from("~Module signature appended~\n");

function signed(module: Uint8Array, sig: Uint8Array): Uint8Array {
  const info = Buffer.alloc(12);
  info[2] = 2; // PKCS#7, as sign-file writes it
  info.writeUInt32BE(sig.length, 8);
  return new Uint8Array(Buffer.concat([module, sig, info, MAGIC]));
}

const elf = (body: Uint8Array) => new Uint8Array(Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), body]));

test("strips a well-formed appended signature, leaving the module bytes", () => {
  const mod = elf(new Uint8Array([1, 2, 3, 4, 5]));
  assert.deepEqual(stripModuleSignature(signed(mod, new Uint8Array(681).fill(0x30))), mod);
});

test("leaves modules without a signature, or with a trailer that does not add up, unchanged", () => {
  const mod = elf(new Uint8Array(64).fill(9));
  assert.equal(stripModuleSignature(mod), mod);
  const tooLong = signed(mod, new Uint8Array(10));
  // sig_len claims more bytes than precede the trailer
  new DataView(tooLong.buffer).setUint32(tooLong.length - MAGIC.length - 4, 1 << 20, false);
  assert.equal(stripModuleSignature(tooLong), tooLong);
  const notElf = signed(new Uint8Array([0, 1, 2, 3, 4]), new Uint8Array(3));
  assert.equal(stripModuleSignature(notElf), notElf);
  assert.equal(stripModuleSignature(MAGIC), MAGIC);
  assert.deepEqual(stripModuleSignature(new Uint8Array(0)), new Uint8Array(0));
});

test("any bytes: never throws, and the result is a prefix that starts like an ELF file or the input itself", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 100 }), fc.boolean(), (body, sig, wrap) => {
      const input = wrap ? signed(elf(body), sig) : new Uint8Array(Buffer.concat([body, MAGIC]));
      const out = stripModuleSignature(input);
      assert.ok(out.length <= input.length);
      assert.deepEqual(out, input.subarray(0, out.length));
      if (wrap) assert.deepEqual(out, elf(body));
    }),
  );
});
