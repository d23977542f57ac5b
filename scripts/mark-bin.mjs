#!/usr/bin/env node
// tsc writes dist/src/cli/main.js without the execute bit. npm sets it on the
// bins of packages it installs, but not on the project's own, so `npx tsvmm`
// in a fresh clone would fail with "Permission denied" without this.
import { chmodSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
for (const bin of Object.values(pkg.bin ?? {})) chmodSync(new URL(`../${bin}`, import.meta.url), 0o755);
