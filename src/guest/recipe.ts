/**
 * The default guest's recipe: the files in the package's guest/ folder (the
 * /init script and the list of wanted kernel modules) plus the command line.
 * Its hash goes into the manifest, so a tsvmm with another recipe rebuilds.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { DEFAULT_CMDLINE } from "./cmdline.js";
import { GuestBuildError } from "./errors.js";
import { MANIFEST_FORMAT, sha256 } from "./manifest.js";

/** What the default guest is made from, besides the Debian packages. */
export interface GuestRecipe {
  /** The /init script (guest/init). */
  readonly init: Uint8Array;
  /** Module names to load, in the wanted order (guest/modules); dependencies are added by the builder. */
  readonly modules: readonly string[];
  /** The kernel command line the guest is meant to boot with. */
  readonly cmdline: string;
}

// Bump when the builder lays the initramfs out differently with the same recipe files.
// 2: modules without their appended signatures (module-signature.ts).
const LAYOUT_VERSION = 2;

/** The guest/ folder of this package (compiled, this file is dist/src/guest/recipe.js). */
export function recipeDir(): string {
  return fileURLToPath(new URL("../../../guest/", import.meta.url));
}

/** Parses guest/modules: one module name per line; blank lines and # comments are ignored. */
export function parseModuleList(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line !== "");
}

/** Reads the recipe from dir (default: this package's guest/ folder). */
export async function loadRecipe(dir = recipeDir()): Promise<GuestRecipe> {
  try {
    const [init, modules] = await Promise.all([readFile(`${dir}/init`), readFile(`${dir}/modules`, "utf8")]);
    return { init, modules: parseModuleList(modules), cmdline: DEFAULT_CMDLINE };
  } catch (err) {
    throw new GuestBuildError(`the guest recipe is missing from this tsvmm installation (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** A hash of everything in the recipe that ends up in the guest. */
export function recipeHash(recipe: GuestRecipe): string {
  const header = JSON.stringify({ format: MANIFEST_FORMAT, layout: LAYOUT_VERSION, modules: recipe.modules, cmdline: recipe.cmdline });
  return sha256(header, "\0", recipe.init);
}
