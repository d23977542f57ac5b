import assert from 'node:assert/strict';
import test from 'node:test';
import { Decoder, DecoderOptions, Formatter, FormatterSyntax } from 'iced-x86';
import { fuzzDevice } from '../../src/bus/device-fuzz.js';
import { buildGuest, EXPECTED, type GuestName, TEST_MMIO_BASE, TEST_PORT_MAGIC, TestDevice } from './harness.js';

/** Disassembles `count` instructions of `image` (loaded at 1 MiB) in `bitness` mode. */
function disassemble(image: Uint8Array, bitness: 32 | 64, count: number): string[] {
  const decoder = new Decoder(bitness, image, DecoderOptions.None);
  decoder.ip = 0x100000n;
  const fmt = new Formatter(FormatterSyntax.Gas);
  const out: string[] = [];
  for (let i = 0; i < count && decoder.canDecode; i++) {
    const instr = decoder.decode();
    out.push(fmt.format(instr));
    instr.free();
  }
  fmt.free();
  decoder.free();
  return out;
}

const entries: Record<GuestName, { bitness: 32 | 64; first: RegExp; contains: RegExp }> = {
  long64: { bitness: 64, first: /^lea .*%rsi$/, contains: /^out %al,\$0xf4$/i },
  pm32: { bitness: 32, first: /^mov %ebx,%edi$/, contains: /^wrmsr$/i },
  irq64: { bitness: 64, first: /^lea .*%rdi$/, contains: /^lidt /i },
};

for (const name of Object.keys(entries) as GuestName[]) {
  test(`test guest ${name} assembles and starts with the expected ${entries[name].bitness}-bit code`, async () => {
    const image = await buildGuest(name);
    assert.ok(image.length > 16, `${name} is ${image.length} bytes`);
    const code = disassemble(image, entries[name].bitness, 60);
    assert.match(code[0]!, entries[name].first);
    assert.ok(code.some((l) => entries[name].contains.test(l)), code.join('\n'));
    assert.ok(!code.slice(0, 20).some((l) => l.startsWith('(bad)')), code.join('\n'));
    // Cached builds return the same bytes.
    assert.deepEqual(await buildGuest(name), image);
  });
}

test('the test device records output, exit status, IRQ requests and MMIO writes', () => {
  const irqs: number[] = [];
  const exits: number[] = [];
  const dev = new TestDevice((g) => irqs.push(g), (s) => exits.push(s));
  for (const ch of 'hi\n') dev.pio.write(0xe9, 1, ch.charCodeAt(0));
  assert.equal(dev.pio.read(0xf0, 4), TEST_PORT_MAGIC);
  dev.pio.write(0xf0, 4, 5);
  dev.mmio.write(TEST_MMIO_BASE + 8, 4, 0xdeadbeef);
  assert.equal(dev.mmio.read(TEST_MMIO_BASE + 8, 4), 0xdeadbeef);
  assert.equal(dev.mmio.read(TEST_MMIO_BASE + 9, 2), 0xadbe);
  dev.pio.write(0xf4, 1, 0x100); // only the low byte counts
  assert.deepEqual(dev.transcript, { output: 'hi\n', exitStatus: 0, irqRequests: [5], mmioWrites: ['8/4=deadbeef'] });
  assert.deepEqual(irqs, [5]);
  assert.deepEqual(exits, [0]);
  assert.equal(EXPECTED.long64.exitStatus, 0);
});

test('the test device survives random accesses (device fuzz harness)', () => {
  fuzzDevice(() => new TestDevice());
});
