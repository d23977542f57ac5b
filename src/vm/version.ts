/**
 * The tsvmm version, read from package.json at run time so that `tsvmm
 * --version`, the API's describe and OpenAPI document, and every snapshot
 * manifest name the same version and never drift from the package.
 */
import { readFileSync } from 'node:fs';

let cached: string | null = null;

/** The package version, or "unknown" when package.json cannot be read. */
export function tsvmmVersion(): string {
  if (cached !== null) return cached;
  try {
    // Compiled, this file is dist/src/vm/version.js: package.json is three levels up.
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    cached = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    cached = 'unknown';
  }
  return cached;
}
