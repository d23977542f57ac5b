/**
 * manifest.json: what a built default guest is made of, written last into
 * its directory, so a directory whose manifest parses and whose files match
 * it in size is a complete guest.
 */
import { createHash } from "node:crypto";
import { z } from "zod";

/** The manifest's layout version; a different one is treated as no guest at all. */
export const MANIFEST_FORMAT = 1;

/** The names of the files in a guest directory. */
export const GUEST_FILES = {
  kernel: "vmlinuz",
  initrd: "initramfs.cpio",
  manifest: "manifest.json",
} as const;

const FileRecord = z.object({
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** The schema of manifest.json. */
export const GuestManifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  // Hash of the recipe (init script, module list, command line, builder format): a guest
  // built from another recipe is stale even when its kernel is the same.
  recipe: z.string().regex(/^[0-9a-f]{64}$/),
  kernel: z.object({ package: z.string().min(1), version: z.string().min(1), release: z.string().min(1) }),
  busybox: z.object({ package: z.string().min(1), version: z.string().min(1) }),
  modules: z.array(z.string()),
  cmdline: z.string(),
  files: z.object({ [GUEST_FILES.kernel]: FileRecord, [GUEST_FILES.initrd]: FileRecord }),
  builtAt: z.string(),
});

/** What manifest.json says about a built guest. */
export type GuestManifest = z.infer<typeof GuestManifestSchema>;

/** The lowercase hex sha256 of some bytes. */
export function sha256(...parts: (Uint8Array | string)[]): string {
  const hash = createHash("sha256");
  for (const p of parts) hash.update(p);
  return hash.digest("hex");
}

/** Parses manifest.json text; returns the reason when it is not a valid manifest. */
export function parseManifest(text: string): { ok: true; manifest: GuestManifest } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `manifest.json is not JSON (${err instanceof Error ? err.message : String(err)})` };
  }
  const parsed = GuestManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `manifest.json: ${issue?.path.join(".") || "(top)"}: ${issue?.message ?? "invalid"}` };
  }
  return { ok: true, manifest: parsed.data };
}
