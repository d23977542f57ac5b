import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { silentSink } from '../bus/log.js';
import { parseVmConfig } from '../vm/config.js';
import { openNetBackend } from './open.js';
import { GuestStack, until } from './testing/guest-stack.js';
import { GATEWAY_ADDR } from './user/addresses.js';

const run = promisify(execFile);

async function capture(dir: string): Promise<string> {
  const path = join(dir, 'cap.pcap');
  const config = parseVmConfig({ nets: [{ mode: 'user', pcap: path }] }).nets[0]!;
  const b = await openNetBackend(config, { dns: null, log: silentSink });
  const g = new GuestStack(b);
  g.arpRequest(GATEWAY_ADDR);
  g.ping(GATEWAY_ADDR, 1, 1, new Uint8Array(32));
  g.ping(GATEWAY_ADDR, 1, 2, new Uint8Array(32));
  await until(() => g.arpIn.length === 1 && g.icmpIn.length === 2, 'the replies');
  const node = b.inspect().children!['pcap']!.children!;
  assert.equal(node['frames']!.value, 6);
  await b.close();
  return path;
}

test('pcap: both directions land in a libpcap file with the right header and records', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-pcap-'));
  try {
    const f = readFileSync(await capture(dir));
    const dv = new DataView(f.buffer, f.byteOffset, f.length);
    assert.equal(dv.getUint32(0, true), 0xa1b2c3d4);
    assert.deepEqual([dv.getUint16(4, true), dv.getUint16(6, true), dv.getUint32(20, true)], [2, 4, 1]);
    const lengths: number[] = [];
    for (let off = 24; off < f.length; ) {
      const incl = dv.getUint32(off + 8, true);
      assert.equal(incl, dv.getUint32(off + 12, true));
      assert.ok(dv.getUint32(off + 4, true) < 1_000_000, 'microseconds');
      lengths.push(incl);
      off += 16 + incl;
    }
    assert.deepEqual(lengths, [42, 42, 74, 74, 74, 74]); // ARP request/reply, two pings and replies
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pcap: tshark reads the capture', async (t) => {
  const tshark = await run('tshark', ['--version']).then(() => true, () => false);
  if (!tshark) {
    t.skip('tshark is not installed (apt-get install -y tshark)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-pcap-'));
  try {
    const { stdout } = await run('tshark', ['-r', await capture(dir)], { env: { ...process.env, HOME: dir } });
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 6, stdout);
    assert.match(lines[0]!, /ARP.*Who has 10\.0\.2\.2\?/);
    assert.match(lines[1]!, /ARP.*10\.0\.2\.2 is at 52:55:0a:00:02:02/);
    assert.match(lines[2]!, /10\.0\.2\.15 → 10\.0\.2\.2 +ICMP.*Echo \(ping\) request/);
    assert.match(lines[3]!, /10\.0\.2\.2 → 10\.0\.2\.15 +ICMP.*Echo \(ping\) reply/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pcap: a capture file that cannot be created is one line at construction', async () => {
  const config = parseVmConfig({ nets: [{ mode: 'user', pcap: '/nonexistent-dir/x.pcap' }] }).nets[0]!;
  await assert.rejects(openNetBackend(config, { dns: null }), /^Error: pcap \/nonexistent-dir\/x\.pcap: cannot create the capture file \(ENOENT\)$/);
});
