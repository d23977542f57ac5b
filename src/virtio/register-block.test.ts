import assert from 'node:assert/strict';
import test from 'node:test';
import { RegisterBlock } from './register-block.js';

test('exact accesses hit a field; narrower or straddling ones merge bytes; unknown bytes read 0 and drop writes', () => {
  const regs = { a: 0x11223344, b: 0x5566, c: 0x77 };
  const writes: string[] = [];
  const block = new RegisterBlock(16, [
    { offset: 0, size: 4, read: () => regs.a, write: (v) => { regs.a = v; writes.push(`a=${v.toString(16)}`); } },
    { offset: 4, size: 2, read: () => regs.b, write: (v) => { regs.b = v; writes.push(`b=${v.toString(16)}`); } },
    { offset: 6, size: 1, read: () => regs.c },
  ]);
  assert.equal(block.read(0, 4), 0x11223344);
  assert.equal(block.read(1, 2), 0x2233);
  assert.equal(block.read(4, 4), 0x00775566, 'b, c and an unknown byte');
  block.write(2, 1, 0xaa);
  assert.equal(regs.a, 0x11aa3344, 'a byte write keeps the other bytes');
  block.write(3, 2, 0xbbcc);
  assert.equal(regs.a, 0xccaa3344);
  assert.equal(regs.b, 0x55bb, 'one write spanning two fields writes each once');
  assert.deepEqual(writes, ['a=11aa3344', 'a=ccaa3344', 'b=55bb']);
  block.write(6, 2, 0xffff);
  assert.equal(regs.c, 0x77);
  assert.equal(block.ignoredWrites, 2, 'a read-only byte and an unknown byte');
  assert.throws(() => new RegisterBlock(8, [{ offset: 0, size: 4, read: () => 0 }, { offset: 2, size: 2, read: () => 0 }]), /overlap/);
});
