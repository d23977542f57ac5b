/**
 * Relative file paths in a VM config, made absolute against a directory.
 * A config sent to `tsvmm serve` (ctl configure) is read by another process
 * with another working directory; resolving the paths where the user typed
 * the command keeps `"kernel": "bzImage"` meaning what it means to
 * `tsvmm run --config` in the same shell.
 */
import { isAbsolute, resolve } from 'node:path';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A copy of `config` (the raw JSON, before validation) whose path-valued
 * fields (kernel, initrd, disks[].path and .overlay, nets[].pcap, serial
 * file and socket paths) are absolute. Anything that is not a non-empty
 * string where a path goes is left as it is for the schema to refuse.
 */
export function absoluteConfigPaths(config: unknown, cwd: string): unknown {
  if (!isObject(config)) return config;
  const fix = (v: unknown): unknown => (typeof v === 'string' && v !== '' && !isAbsolute(v) ? resolve(cwd, v) : v);
  const fixKeys = (o: unknown, keys: readonly string[]): unknown => {
    if (!isObject(o)) return o;
    const out: Json = { ...o };
    for (const k of keys) if (k in out) out[k] = fix(out[k]);
    return out;
  };
  const out: Json = { ...config };
  for (const k of ['kernel', 'initrd']) if (k in out) out[k] = fix(out[k]);
  if (Array.isArray(out['disks'])) out['disks'] = out['disks'].map((d) => fixKeys(d, ['path', 'overlay']));
  if (Array.isArray(out['nets'])) out['nets'] = out['nets'].map((n) => fixKeys(n, ['pcap']));
  if (isObject(out['serial']) && (out['serial']['mode'] === 'file' || out['serial']['mode'] === 'socket')) {
    out['serial'] = fixKeys(out['serial'], ['path']);
  }
  return out;
}
