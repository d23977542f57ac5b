/**
 * A newc cpio reader for tests, written from the format's description
 * independently of cpio.ts, asserting alignment and padding as it reads.
 */
import assert from "node:assert/strict";

/** One record as an independent reader (written here from the newc spec) sees it. */
export interface ReadRecord {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  rdevMajor: number;
  rdevMinor: number;
  name: string;
  data: Buffer;
  headerAt: number;
  dataAt: number;
}

/** Parses a newc archive, checking magic, NUL-terminated names and 4-byte alignment as it goes. */
export function readNewc(bytes: Uint8Array): { records: ReadRecord[]; end: number } {
  const buf = Buffer.from(bytes);
  const records: ReadRecord[] = [];
  let at = 0;
  for (;;) {
    assert.equal(at % 4, 0, `header at ${at} is 4-byte aligned`);
    assert.equal(buf.toString("latin1", at, at + 6), "070701", `magic at ${at}`);
    const field = (i: number) => {
      const text = buf.toString("latin1", at + 6 + i * 8, at + 14 + i * 8);
      assert.match(text, /^[0-9a-fA-F]{8}$/);
      return parseInt(text, 16);
    };
    const [ino, mode, uid, gid, nlink, mtime, size, , , rdevMajor, rdevMinor, nameSize, check] = Array.from({ length: 13 }, (_, i) => field(i));
    assert.equal(check, 0, "newc without CRC has check 0");
    const nameAt = at + 110;
    assert.equal(buf[nameAt + nameSize! - 1], 0, "name is NUL-terminated");
    const name = buf.toString("utf8", nameAt, nameAt + nameSize! - 1);
    const dataAt = Math.ceil((nameAt + nameSize!) / 4) * 4;
    for (let i = nameAt + nameSize!; i < dataAt; i++) assert.equal(buf[i], 0, "name padding is zero");
    const data = buf.subarray(dataAt, dataAt + size!);
    assert.equal(data.length, size, `${name}: data is complete`);
    const next = Math.ceil((dataAt + size!) / 4) * 4;
    for (let i = dataAt + size!; i < next; i++) assert.equal(buf[i], 0, "data padding is zero");
    records.push({ ino: ino!, mode: mode!, uid: uid!, gid: gid!, nlink: nlink!, mtime: mtime!, rdevMajor: rdevMajor!, rdevMinor: rdevMinor!, name, data, headerAt: at, dataAt });
    at = next;
    if (name === "TRAILER!!!") return { records, end: at };
    assert.ok(at < buf.length, "archive ends with a trailer");
  }
}
