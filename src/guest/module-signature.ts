/**
 * Removes the signature Debian appends to each kernel module.
 *
 * The kernel checks an appended signature on every insmod even when it does
 * not enforce signing: a PKCS#7 parse, a SHA-256 of the module and an RSA
 * verification. On the software CPU that is 0.15-0.2 s a module, about 4 s
 * of the default guest's 16 modules, for no protection (the initramfs is
 * ours, built from packages whose hashes apt checked). An unsigned module
 * loads the same; the kernel logs once that it is tainted by it.
 *
 * Layout (include/linux/module_signature.h): module bytes, the signature
 * (sig_len bytes), a 12-byte struct whose last 4 bytes are sig_len
 * (big-endian), then the magic string.
 */

const MAGIC = new TextEncoder().encode("~Module signature appended~\n");
const INFO_SIZE = 12;
const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

/**
 * The module without its appended signature (a view of the same bytes), or
 * `data` unchanged when it carries none or the trailer does not add up.
 */
export function stripModuleSignature(data: Uint8Array): Uint8Array {
  const tail = data.length - MAGIC.length;
  if (tail < INFO_SIZE) return data;
  for (let i = 0; i < MAGIC.length; i++) if (data[tail + i] !== MAGIC[i]) return data;
  const info = tail - INFO_SIZE;
  const sigLen = new DataView(data.buffer, data.byteOffset + info + 8, 4).getUint32(0, false);
  const end = info - sigLen;
  if (end < ELF_MAGIC.length || ELF_MAGIC.some((b, i) => data[i] !== b)) return data;
  return data.subarray(0, end);
}
