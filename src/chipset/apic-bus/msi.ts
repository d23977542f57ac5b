/**
 * Decoding of x86 message-signalled interrupts (Intel SDM vol. 3A 11.11):
 * the address selects destination and destination mode, the data carries
 * vector, delivery mode and trigger.
 */
import type { MsiMessage } from '../../bus/irq.js';
import type { ApicMessage } from './message.js';
import * as M from './regs.js';

/**
 * The APIC message an MSI write describes, or null when the address is not
 * in the 0xFEExxxxx interrupt window (such a write is ordinary DMA, not an
 * interrupt). The destination mode bit is used whether or not RH is set,
 * as KVM and QEMU do; RH = 1 asks for lowest-priority selection.
 */
export function decodeMsi(msg: MsiMessage): ApicMessage | null {
  const addr = msg.addressLo >>> 0;
  if (msg.addressHi !== 0 || (addr & M.MSI_ADDR_BASE_MASK) >>> 0 !== M.MSI_ADDR_BASE) return null;
  const data = msg.data >>> 0;
  const levelTriggered = (data & M.MSI_DATA_TRIGGER_LEVEL) !== 0;
  return {
    vector: data & M.MSI_DATA_VECTOR_MASK,
    deliveryMode: (data >>> M.MSI_DATA_DELIVERY_SHIFT) & 7,
    destMode: addr & M.MSI_ADDR_DM ? 'logical' : 'physical',
    dest: (addr >>> M.MSI_ADDR_DEST_SHIFT) & 0xff,
    trigger: levelTriggered ? 'level' : 'edge',
    // Edge-triggered messages are always asserts.
    level: !levelTriggered || (data & M.MSI_DATA_LEVEL) !== 0,
    redirectionHint: (addr & M.MSI_ADDR_RH) !== 0,
  };
}
