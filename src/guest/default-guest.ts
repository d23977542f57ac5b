/**
 * ensureDefaultGuest: the guest tsvmm boots when given no kernel. Reuses
 * the cached build when it checks out; otherwise builds it from Debian's
 * packages and installs it atomically.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { aptSource, type PackageSource } from "./apt.js";
import { buildGuestFiles, type GuestProgress } from "./build.js";
import { checkGuest, defaultGuestPaths, guestCacheRoot, installGuest, type GuestCheck, type GuestPaths } from "./cache.js";
import { GuestBuildError } from "./errors.js";
import { GUEST_FILES, type GuestManifest } from "./manifest.js";
import { loadRecipe, recipeHash, type GuestRecipe } from "./recipe.js";

/** Options of ensureDefaultGuest. */
export interface EnsureGuestOptions {
  /** Receives a report as each step starts, and as a download moves on. */
  readonly onProgress?: (p: GuestProgress) => void;
  /** Build even when a valid guest is cached. */
  readonly force?: boolean;
  /** Where Debian packages come from (default: this machine's apt). */
  readonly source?: PackageSource;
  /** The cache root (default: guestCacheRoot()). */
  readonly root?: string;
  /** The recipe (default: the guest/ folder of this package). */
  readonly recipe?: GuestRecipe;
  /** The clock for the manifest's build time. */
  readonly now?: () => Date;
}

/** A default guest that exists on disk: its paths, its manifest and its command line. */
export interface DefaultGuest extends GuestPaths {
  /** The kernel release (also the directory name). */
  readonly release: string;
  /** What the guest is made of (manifest.json's contents). */
  readonly info: GuestManifest;
  /** The kernel command line to boot it with. */
  readonly cmdline: string;
  /** True when this call built the guest; false when it reused the cache. */
  readonly built: boolean;
  /** Why a cached guest was not reused ("forced", "not built", ...), when built is true. */
  readonly rebuildReason?: string;
}

function asBuildError(err: unknown): unknown {
  if (err instanceof GuestBuildError) return err;
  // File system trouble (permissions, a full disk) is the user's to fix, not a bug in tsvmm.
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (err instanceof Error && typeof code === "string") return new GuestBuildError(err.message, { cause: err });
  return err;
}

/**
 * Returns the default guest, building it first when the cache has none for this recipe (or
 * force is set). Rejects with GuestBuildError, whose message is one line saying what to do.
 */
export async function ensureDefaultGuest(options: EnsureGuestOptions = {}): Promise<DefaultGuest> {
  const report = options.onProgress ?? (() => {});
  try {
    const recipe = options.recipe ?? (await loadRecipe());
    const hash = recipeHash(recipe);
    const current = defaultGuestPaths(options.root ?? guestCacheRoot());
    report({ step: "check", message: `checking the cached guest in ${current.root}` });
    const check = await checkGuest(current, hash);
    if (!options.force && check.ok && current.release !== undefined) {
      return { ...current, release: current.release, info: check.manifest, cmdline: check.manifest.cmdline, built: false };
    }
    const rebuildReason = options.force ? "forced" : check.ok ? "not built" : check.reason;
    const source = options.source ?? aptSource;
    // Downloads go into the guest's temporary directory too, so a killed build leaves one
    // thing behind, which the next build removes.
    const { paths, built } = await installGuest(current.root, async (workDir) => {
      const built = await buildGuestFiles({ source, recipe, workDir, onProgress: report, ...(options.now ? { now: options.now } : {}) });
      report({ step: "install", message: `installing it in ${current.root}` });
      await writeFile(join(workDir, GUEST_FILES.kernel), built.kernel);
      await writeFile(join(workDir, GUEST_FILES.initrd), built.initrd);
      // Last: a directory with a manifest is a complete guest.
      await writeFile(join(workDir, GUEST_FILES.manifest), `${JSON.stringify(built.manifest, null, 2)}\n`);
      return built;
    });
    const { manifest } = built;
    return { ...paths, release: built.release, info: manifest, cmdline: manifest.cmdline, built: true, rebuildReason };
  } catch (err) {
    throw asBuildError(err);
  }
}

/** Checks the current default guest (complete, and built from this tsvmm's recipe) without building anything. */
export async function checkDefaultGuest(paths: GuestPaths = defaultGuestPaths()): Promise<GuestCheck> {
  return checkGuest(paths, recipeHash(await loadRecipe()));
}
