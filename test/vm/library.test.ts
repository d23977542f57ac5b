/**
 * The README's library example, run exactly as written: the block between
 * the library-example markers of README.md is saved as a module inside the
 * package (so `import 'tsvmm'` resolves to this build through the
 * package's own exports) and run with node on the software CPU.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { guestReady } from './guest-ready.js';

// Compiled, this file is dist/test/vm/: README.md is three levels up.
const README = new URL('../../../README.md', import.meta.url);

/** The example's code: the ```js block between the library-example markers. */
export function readmeExample(text: string): string {
  const m = /<!-- library-example[^>]*-->\s*```js\n([\s\S]*?)```\s*<!-- \/library-example -->/.exec(text);
  if (!m) throw new Error('README.md has no library-example block');
  return m[1]!;
}

describe('library', () => {
  it('the README example boots the default guest, runs a command, reads its output and powers off', { timeout: 900_000 }, async (t) => {
    const why = await guestReady();
    if (why) return t.skip(why);
    const code = readmeExample(readFileSync(README, 'utf8'));
    assert.match(code, /accel: 'emu'/, 'the example runs on the software CPU');
    const file = fileURLToPath(new URL('./readme-example.mjs', import.meta.url));
    writeFileSync(file, code);
    try {
      const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const started = Date.now();
      const status = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      t.diagnostic(`example ran in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      assert.equal(status, 0, `the example failed:\n${err}\n${out}`);
      assert.match(out, /^the guest runs Linux \d+\.\d+\.\S+\nthe guest powered off \(exit code 0\)\n$/);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
