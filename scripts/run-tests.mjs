#!/usr/bin/env node
// Runs node's test runner on the compiled tests (*.test.js under dist/).
// Node 20 neither finds .ts files nor expands globs, and given a directory
// it would also run every helper module under a test/ folder, so the list
// is made here. Arguments narrow it: `npm test -- src/bus test/vm`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('../dist/', import.meta.url).pathname;
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return find(p);
    return e.name.endsWith('.test.js') ? [p] : [];
  });
}

const files = find(root)
  .filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).startsWith(x)))
  .sort();
if (files.length === 0) {
  console.error(`no compiled tests match ${filters.join(' ') || 'dist/'}; run the build first`);
  process.exit(1);
}
// A test file whose tests are done exits even if it left a handle or a busy
// loop behind, and no single test may run longer than 15 minutes: a hung test
// fails the run instead of hanging CI.
const safety = ['--test-force-exit', '--test-timeout=900000'];
const r = spawnSync(process.execPath, ['--test', ...safety, ...flags, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
