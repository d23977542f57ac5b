/**
 * The contract between a NIC model (virtio-net) and a network backend
 * (user-mode NAT, TAP): Ethernet frames both ways, with backpressure so
 * neither side buffers without bound.
 */
import type { InspectNode } from '../bus/device.js';

/** Receives frames for the guest; returns false when the guest has no room (the frame is kept by the backend or dropped, and it waits for resume()). */
export type FrameSink = (frame: Uint8Array) => boolean;

/** A network backend. */
export interface NetBackend {
  /** A frame the guest transmitted (a full Ethernet frame, no virtio header). */
  send(frame: Uint8Array): void;
  /** Set by the NIC: where the backend delivers frames for the guest. */
  deliver: FrameSink | null;
  /** The NIC has room again after deliver() returned false. */
  resume(): void;
  /** Releases sockets and file descriptors. */
  close(): Promise<void>;
  inspect(): InspectNode;
}
