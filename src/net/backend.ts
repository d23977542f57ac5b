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
  /**
   * A frame the guest transmitted (a full Ethernet frame, no virtio header,
   * checksums complete). It may be a view of guest memory that the NIC reuses
   * once send() returns: the backend copies whatever it keeps. Never throws;
   * a malformed frame is dropped and counted.
   */
  send(frame: Uint8Array): void;
  /** Set by the NIC: where the backend delivers frames for the guest. A frame handed over is the NIC's. */
  deliver: FrameSink | null;
  /** The NIC has room again after deliver() returned false. */
  resume(): void;
  /**
   * Opens what can only fail asynchronously (port-forward listeners); rejects
   * with an error whose message is one line for the user. Call it, when
   * present, before the guest runs. Optional: a backend that needs nothing
   * of the kind has none.
   */
  start?(): Promise<void>;
  /** Releases sockets and file descriptors. */
  close(): Promise<void>;
  inspect(): InspectNode;
}
