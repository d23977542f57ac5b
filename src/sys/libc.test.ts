import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as libc from './libc.js';
import { SysError, check, errnoCode, errnoMessage } from './errors.js';
import { KVM_GET_API_VERSION } from './kvm/ioctl-numbers.js';

const PAGE = 4096;

test('memfd + ftruncate + shared mmap: bytes written through the view read back with pread', () => {
  const fd = libc.memfd_create('tsvmm-test', libc.MFD_CLOEXEC);
  try {
    libc.ftruncate(fd, 2 * PAGE);
    const addr = libc.mmap(2 * PAGE, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_SHARED, fd, 0);
    assert.equal(typeof addr, 'bigint');
    assert.equal(addr % BigInt(PAGE), 0n);
    const view = new Uint8Array(libc.viewOf(addr, 2 * PAGE));
    view.set([1, 2, 3, 4], PAGE + 100);

    const back = Buffer.alloc(4);
    assert.equal(libc.pread(fd, back, PAGE + 100), 4);
    assert.deepEqual([...back], [1, 2, 3, 4]);

    // A second mapping of the same fd sees the same pages (what worker threads rely on).
    const addr2 = libc.mmap(PAGE, libc.PROT_READ, libc.MAP_SHARED, fd, PAGE);
    assert.deepEqual([...new Uint8Array(libc.viewOf(addr2, PAGE), 100, 4)], [1, 2, 3, 4]);

    // pwrite lands in the mapping, and MADV_REMOVE punches it back to zeros.
    assert.equal(libc.pwrite(fd, Buffer.from([9, 9]), 8), 2);
    assert.deepEqual([...view.subarray(8, 10)], [9, 9]);
    libc.madvise(addr, PAGE, libc.MADV_REMOVE);
    assert.deepEqual([...view.subarray(8, 10)], [0, 0]);

    libc.munmap(addr2, PAGE);
    libc.munmap(addr, 2 * PAGE);
  } finally {
    libc.close(fd);
  }
});

test('read/write honour a subarray and refuse lengths past the buffer', () => {
  const fd = libc.memfd_create('tsvmm-rw', 0);
  try {
    const outer = Buffer.from('..hello..');
    assert.equal(libc.write(fd, outer.subarray(2, 7)), 5);
    const into = new Uint8Array(16);
    assert.equal(libc.pread(fd, into.subarray(3), 0, 5), 5);
    assert.equal(Buffer.from(into.subarray(3, 8)).toString(), 'hello');
    assert.throws(() => libc.read(fd, new Uint8Array(4), 5), RangeError);
    assert.throws(() => libc.pwrite(fd, new ArrayBuffer(2), 0, 3), RangeError);
  } finally {
    libc.close(fd);
  }
});

test('anonymous private mmap and MADV_DONTNEED', () => {
  const addr = libc.mmap(PAGE, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_PRIVATE | libc.MAP_ANONYMOUS | libc.MAP_NORESERVE);
  const v = new Uint8Array(libc.viewOf(addr, PAGE));
  v[0] = 42;
  libc.madvise(addr, PAGE, libc.MADV_DONTNEED);
  assert.equal(v[0], 0);
  libc.munmap(addr, PAGE);
});

test('eventfd: write, poll, read', () => {
  const fd = libc.eventfd(0, libc.EFD_CLOEXEC | libc.EFD_NONBLOCK);
  try {
    assert.deepEqual(libc.poll([{ fd, events: libc.POLLIN }], 0), [0]);
    assert.equal(libc.eventfdRead(fd), 0, 'empty non-blocking eventfd reads as 0');

    libc.eventfdWrite(fd, 5);
    libc.eventfdWrite(fd, 2 ** 33);
    const [rev] = libc.poll([{ fd, events: libc.POLLIN | libc.POLLOUT }], 0);
    assert.equal(rev! & libc.POLLIN, libc.POLLIN);
    assert.equal(rev! & libc.POLLOUT, libc.POLLOUT);
    assert.equal(libc.eventfdRead(fd), 5 + 2 ** 33);

    // The raw 8-byte protocol through write()/read().
    const one = Buffer.alloc(8);
    one.writeBigUInt64LE(7n);
    assert.equal(libc.write(fd, one), 8);
    const got = Buffer.alloc(8);
    assert.equal(libc.read(fd, got), 8);
    assert.equal(got.readBigUInt64LE(), 7n);
  } finally {
    libc.close(fd);
  }
});

test('poll times out with no events', () => {
  const fd = libc.eventfd(0, libc.EFD_CLOEXEC);
  try {
    const t0 = process.hrtime.bigint();
    assert.deepEqual(libc.poll([{ fd, events: libc.POLLIN }], 50), [0]);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.ok(ms >= 40, `poll returned after ${ms} ms`);
  } finally {
    libc.close(fd);
  }
});

test('poll reports POLLNVAL for a closed fd', () => {
  const fd = libc.eventfd(0, 0);
  libc.close(fd);
  assert.deepEqual(libc.poll([{ fd, events: libc.POLLIN }], 0), [libc.POLLNVAL]);
});

test('failing calls throw SysError with errno, code and the call', () => {
  assert.throws(
    () => libc.close(-1),
    (e: unknown) => {
      assert.ok(e instanceof SysError);
      assert.equal(e.errno, 9);
      assert.equal(e.code, 'EBADF');
      assert.equal(e.call, 'close(fd=-1)');
      assert.match(e.message, /^close\(fd=-1\) failed: EBADF \(Bad file descriptor\)$/);
      return true;
    },
  );
  assert.throws(
    () => libc.open('/nonexistent/tsvmm/missing', libc.O_RDWR | libc.O_CLOEXEC),
    (e: unknown) => {
      assert.ok(e instanceof SysError);
      assert.equal(e.errno, 2);
      assert.equal(e.code, 'ENOENT');
      assert.match(e.message, /open\("\/nonexistent\/tsvmm\/missing"\) failed: ENOENT \(No such file or directory\)/);
      return true;
    },
  );
});

test('open/close of a real file', () => {
  const fd = libc.open('/dev/null', libc.O_RDWR | libc.O_CLOEXEC);
  assert.ok(fd >= 0);
  assert.equal(libc.write(fd, Buffer.from('x')), 1);
  libc.close(fd);
});

test('ioctl errors name the request; tryIoctl returns -errno', () => {
  const fd = libc.memfd_create('tsvmm-ioctl', libc.MFD_CLOEXEC);
  try {
    assert.throws(
      () => libc.ioctl(fd, KVM_GET_API_VERSION),
      (e: unknown) => e instanceof SysError && e.code === 'ENOTTY' && e.call === `ioctl(fd=${fd}, KVM_GET_API_VERSION)`,
    );
    assert.throws(() => libc.ioctlPtr(fd, 0x1234, new Uint8Array(8)), /ioctl\(fd=\d+, 0x1234\) failed: ENOTTY/);
    assert.equal(libc.tryIoctl(fd, KVM_GET_API_VERSION), -25);
    assert.equal(libc.tryIoctlPtr(-1, KVM_GET_API_VERSION, null), -9);
  } finally {
    libc.close(fd);
  }
});

test('check() and errno naming', () => {
  assert.equal(check(3, 'x'), 3);
  assert.equal(check(0n, 'x'), 0n);
  libc.close(libc.eventfd(0, 0)); // leave errno alone; check() reads whatever is current
  assert.throws(() => check(-1n, () => 'lazy(call)'), (e: unknown) => e instanceof SysError && e.call === 'lazy(call)');
  assert.equal(errnoCode(11), 'EAGAIN');
  assert.equal(errnoCode(9999), 'E9999');
  assert.equal(errnoMessage(2), 'No such file or directory');
  assert.match(errnoMessage(9999), /9999/);
});

test('viewOf refuses lengths koffi cannot view (instead of aborting the process)', () => {
  assert.throws(() => libc.viewOf(4096n, -1), RangeError);
  assert.throws(() => libc.viewOf(4096n, 1.5), RangeError);
  assert.throws(() => libc.viewOf(4096n, libc.MAX_VIEW_LENGTH + 1), RangeError);
  assert.equal(libc.viewOf(4096n, 0).byteLength, 0);
});

test('addressOf gives the pointer koffi passes', () => {
  const fd = libc.memfd_create('tsvmm-addr', 0);
  try {
    libc.ftruncate(fd, PAGE);
    const addr = libc.mmap(PAGE, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_SHARED, fd, 0);
    const view = libc.viewOf(addr, PAGE);
    assert.equal(libc.addressOf(view), addr);
    assert.equal(libc.addressOf(new Uint8Array(view, 16)), addr + 16n);
    libc.munmap(addr, PAGE);
  } finally {
    libc.close(fd);
  }
});

test('pollAsync resolves when the fd becomes readable, and on timeout', async () => {
  const fd = libc.eventfd(0, libc.EFD_CLOEXEC | libc.EFD_NONBLOCK);
  try {
    const pending = libc.pollAsync([{ fd, events: libc.POLLIN }], 5000);
    setTimeout(() => libc.eventfdWrite(fd, 1), 20);
    const [rev] = await pending;
    assert.equal(rev! & libc.POLLIN, libc.POLLIN);
    assert.equal(libc.eventfdRead(fd), 1);
    assert.deepEqual(await libc.pollAsync([{ fd, events: libc.POLLIN }], 10), [0]);
  } finally {
    libc.close(fd);
  }
});

test('watchFd calls back from the event loop when an eventfd is signalled', async () => {
  const fd = libc.eventfd(0, libc.EFD_CLOEXEC | libc.EFD_NONBLOCK);
  try {
    const seen: number[] = [];
    await new Promise<void>((resolve) => {
      const w = libc.watchFd(fd, { readable: true }, (status, ev) => {
        assert.equal(status, 0);
        assert.equal(ev.readable, true);
        seen.push(libc.eventfdRead(fd));
        if (seen.length === 2) {
          w.close();
          resolve();
        } else {
          setTimeout(() => libc.eventfdWrite(fd, 3), 5);
        }
      });
      libc.eventfdWrite(fd, 2);
    });
    assert.deepEqual(seen, [2, 3]);
  } finally {
    libc.close(fd);
  }
});
