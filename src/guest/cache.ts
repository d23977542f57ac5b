/**
 * The on-disk cache of built default guests:
 *
 *   ROOT/<kernel-release>/{vmlinuz, initramfs.cpio, manifest.json}
 *   ROOT/current -> <kernel-release>      (the guest tsvmm boots by default)
 *
 * A guest is built in a temporary directory beside the others and renamed
 * into place, and `current` is switched by renaming a new symlink over it,
 * so an interrupted build never leaves something that looks complete.
 */
import { randomBytes } from "node:crypto";
import { readlinkSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, symlink } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { GUEST_FILES, parseManifest, type GuestManifest } from "./manifest.js";

/** The name of the symlink to the current guest's directory. */
export const CURRENT_LINK = "current";
const BUILD_PREFIX = ".build-";
const OLD_PREFIX = ".old-";
const LINK_PREFIX = ".current-";

/** Where a default guest's files are (whether or not they exist yet). */
export interface GuestPaths {
  /** The cache directory holding every built guest, one directory per kernel release. */
  readonly root: string;
  /** The current guest's kernel release (its directory name), or undefined before the first build. */
  readonly release: string | undefined;
  /** The guest's directory: ROOT/<release>, or ROOT/current (where a build will appear) before any. */
  readonly dir: string;
  /** The kernel (a bzImage, as Debian ships it). */
  readonly kernel: string;
  /** The initramfs (uncompressed newc cpio). */
  readonly initrd: string;
  /** manifest.json. */
  readonly manifest: string;
}

/**
 * The cache root: $XDG_CACHE_HOME/tsvmm/guest, else ~/.cache/tsvmm/guest. The only place
 * the guest builder reads the environment.
 */
export function guestCacheRoot(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), ".cache");
  return join(base, "tsvmm", "guest");
}

/** A kernel release usable as a directory name: no "/", no leading dot. */
export function isReleaseName(text: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/.test(text);
}

/** The paths of the guest for release under root (release undefined: the `current` link). */
export function guestPathsIn(root: string, release: string | undefined): GuestPaths {
  const dir = join(root, release ?? CURRENT_LINK);
  return {
    root,
    release,
    dir,
    kernel: join(dir, GUEST_FILES.kernel),
    initrd: join(dir, GUEST_FILES.initrd),
    manifest: join(dir, GUEST_FILES.manifest),
  };
}

/** The paths of the current default guest; reads the `current` link and nothing else, writes nothing. */
export function defaultGuestPaths(root = guestCacheRoot()): GuestPaths {
  let release: string | undefined;
  try {
    const target = readlinkSync(join(root, CURRENT_LINK));
    if (isReleaseName(target)) release = target;
  } catch {
    // No link (or not a link): nothing built yet.
  }
  return guestPathsIn(root, release);
}

/** The outcome of checking a guest directory. */
export type GuestCheck = { ok: true; manifest: GuestManifest } | { ok: false; reason: string };

/**
 * Checks a guest directory cheaply: the manifest parses, was built from recipe (when given),
 * and each file exists with the size the manifest records. Hashes are not recomputed.
 */
export async function checkGuest(paths: GuestPaths, recipe?: string): Promise<GuestCheck> {
  let text: string;
  try {
    text = await readFile(paths.manifest, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === "ENOENT" ? "not built" : `cannot read ${paths.manifest} (${code ?? String(err)})` };
  }
  const parsed = parseManifest(text);
  if (!parsed.ok) return parsed;
  const { manifest } = parsed;
  if (paths.release !== undefined && manifest.kernel.release !== paths.release) {
    return { ok: false, reason: `its manifest is for kernel ${manifest.kernel.release}, not ${paths.release}` };
  }
  if (recipe !== undefined && manifest.recipe !== recipe) return { ok: false, reason: "it was built from another recipe" };
  for (const [name, path] of [[GUEST_FILES.kernel, paths.kernel], [GUEST_FILES.initrd, paths.initrd]] as const) {
    const want = manifest.files[name].size;
    const size = await stat(path).then((s) => (s.isFile() ? s.size : -1), () => -1);
    if (size !== want) return { ok: false, reason: size < 0 ? `${name} is missing` : `${name} is ${size} bytes, not ${want}` };
  }
  return { ok: true, manifest };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes what interrupted builds left in root (temporary names whose process is gone). */
export async function removeStaleBuilds(root: string): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (name) => {
      const m = new RegExp(`^(?:${BUILD_PREFIX}|${OLD_PREFIX}|${LINK_PREFIX})(\\d+)-`).exec(name);
      if (m === null) return;
      // A live process (this one included) cleans up after itself.
      if (pidAlive(Number(m[1]))) return;
      await rm(join(root, name), { recursive: true, force: true });
    }),
  );
}

const unique = () => `${process.pid}-${randomBytes(4).toString("hex")}`;

/**
 * Installs a guest atomically: build() gets a fresh temporary directory in root, writes the
 * guest's files into it (manifest last) and resolves with something naming the kernel release;
 * the directory is then renamed to ROOT/<release> and made current. Returns the guest's paths
 * and what build() resolved with. If build() fails,
 * or the process dies, nothing but the temporary directory is touched: it is removed, or (after
 * a crash) by the next build.
 */
export async function installGuest<T extends { readonly release: string }>(
  root: string,
  build: (dir: string) => Promise<T>,
): Promise<{ paths: GuestPaths; built: T }> {
  await mkdir(root, { recursive: true });
  await removeStaleBuilds(root);
  const tmp = await mkdtemp(join(root, `${BUILD_PREFIX}${process.pid}-`));
  try {
    const built = await build(tmp);
    const { release } = built;
    if (!isReleaseName(release)) throw new Error(`installGuest: ${JSON.stringify(release)} is not a usable kernel release name`);
    await chmod(tmp, 0o755); // mkdtemp made it private; a cache directory is not
    await moveIntoPlace(tmp, join(root, release), root);
    const link = join(root, `${LINK_PREFIX}${unique()}`);
    await symlink(release, link);
    await rename(link, join(root, CURRENT_LINK));
    return { paths: guestPathsIn(root, release), built };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

// rename() cannot replace a non-empty directory, so an existing guest is first moved aside.
// Between the two renames the release directory is briefly absent: readers see "not built",
// never a mix of old and new files.
async function moveIntoPlace(tmp: string, final: string, root: string): Promise<void> {
  try {
    await rename(tmp, final);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
  }
  const old = join(root, `${OLD_PREFIX}${unique()}`);
  await rename(final, old).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
  await rename(tmp, final);
  await rm(old, { recursive: true, force: true });
}
