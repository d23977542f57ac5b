/**
 * The console REPL on a terminal: `tsvmm run` under `script` (a
 * pseudo-terminal, since CI has none). Ctrl-] opens the prompt while the
 * guest runs; help, info, pause/resume, inspect, read/write of guest
 * memory, an NMI, completion and history work; Enter goes back to the
 * console (held output appears), and quit stops the VM with exit code 0.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandConsole, scriptUnavailable, sleep } from './api-process.js';
import { guestReady } from './guest-ready.js';
import { CLI } from './vm-process.js';

const ESC = '\x1d';

describe('console REPL on a terminal, --accel emu', { skip: scriptUnavailable() ?? false }, () => {
  it('Ctrl-] opens the prompt; its commands work; Enter returns; quit stops the VM', { timeout: 900_000 }, async (t) => {
    const why = await guestReady();
    if (why) return t.skip(why);
    const command = `'${process.execPath}' '${CLI}' run --accel emu --memory 256M`;
    // -e: script exits with the child's status; -q: no banner; /dev/null: no typescript file.
    const term = new CommandConsole(['script', '-qec', command, '/dev/null']);
    // The prompt shows up after each command: wait for the next one after `from`.
    const ask = async (line: string, expect: RegExp) => {
      const from = term.output.length;
      term.type(`${line}\r`);
      const m = await term.waitFor(expect, 60_000, from);
      await term.waitFor(/\(tsvmm\) /, 60_000, from + (m.index ?? 0));
      return term.output.slice(from);
    };
    try {
      await term.waitFor(/tsvmm:\/# /, 600_000);
      let from = term.output.length;
      term.type('echo raw-$((6*7))\r');
      await term.waitFor(/raw-42/, 60_000, from);

      // Ctrl-] opens the REPL while the guest keeps running.
      from = term.output.length;
      term.type(ESC);
      await term.waitFor(/the guest keeps running; type help/, 30_000, from);
      await term.waitFor(/\(tsvmm\) /, 30_000, from);
      const help = await ask('help', /read ADDR LEN/);
      for (const c of ['pause', 'resume', 'reset', 'shutdown', 'stop', 'nmi', 'inspect', 'write ADDR HEXBYTES', 'info', 'snapshot PATH', 'quit', 'continue']) {
        assert.ok(help.includes(c), `help lists ${c}`);
      }
      await ask('info', /state: running/);
      await ask('pause', /\npaused/);
      await ask('info', /state: paused/);
      await ask('resume', /\nrunning/);
      await ask('resume', /resume: cannot resume a VM that is running/);
      await ask('inspect machine/vcpus/0', /machine\/vcpus\/0\/rip: 0x[0-9a-f]+/);
      // The ACPI tables sit in the BIOS area, RSDP first: its signature.
      await ask('read 0xe0000 16', /000e0000: 52 53 44 20 50 54 52 20 .*RSD PTR /);
      // The top of the BIOS area is reserved for firmware: safe to scribble on.
      await ask('write 0xfff00 deadbeef', /wrote 4 bytes at 0xfff00/);
      await ask('read 0xfff00 4', /000fff00: de ad be ef/);
      await ask('read 0x1 nope', /LEN: "nope" is not a number/);
      await ask('frobnicate', /unknown command "frobnicate"/);
      await ask('nmi', /NMI sent to vCPU 0/);
      // History: the up arrow brings back the last line.
      from = term.output.length;
      term.type('\x1b[A\r');
      await term.waitFor(/NMI sent to vCPU 0/, 30_000, from);
      // Completion: Tab completes command names and inspect paths. Keys go one write at a
      // time, as typed: readline takes a multi-character chunk for a paste and inserts the tab.
      from = term.output.length;
      term.type('inf');
      await sleep(300);
      term.type('\t');
      await term.waitFor(/info $/, 30_000, from);
      term.type('\r');
      const info = await term.waitFor(/state: running/, 30_000, from);
      await term.waitFor(/\(tsvmm\) /, 30_000, from + info.index!);
      from = term.output.length;
      term.type('inspect machine/vc');
      await sleep(300);
      term.type('\t');
      await term.waitFor(/machine\/vcpus\/$/, 30_000, from);
      term.type('0/cpl\r');
      await term.waitFor(/machine\/vcpus\/0\/cpl: 0/, 30_000, from);

      // Enter on an empty line: back to the console; held output (the NMI report) appears.
      from = term.output.length;
      term.type('\r');
      await term.waitFor(/back to the console/, 30_000, from);
      await term.waitFor(/NMI received for unknown reason/, 60_000);
      from = term.output.length;
      term.type('echo back-$((2+3))\r');
      await term.waitFor(/back-5/, 60_000, from);

      // Again, and quit: the VM stops, tsvmm exits 0.
      term.type(ESC);
      await term.waitFor(/\(tsvmm\) /, 30_000, from);
      term.type('quit\r');
      assert.equal(await term.exited, 0, term.tail());
      assert.match(term.output, /stopped from the console \(exit code 0\)/);
    } finally {
      term.kill();
    }
  });
});
