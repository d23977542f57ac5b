/**
 * The one way vm/ gets a network backend from a NetConfig: user-mode NAT or
 * TAP, wrapped in a pcap capture when the config asks for one.
 */
import type { LogSink } from '../bus/log.js';
import type { NetConfig } from '../vm/config.js';
import type { NetBackend } from './backend.js';
import { PcapBackend } from './pcap.js';
import { TapBackend } from './tap/tap-backend.js';
import { UserNetBackend } from './user/user-backend.js';

/** Settings that are the host's business rather than the VM config's. */
export interface NetBackendOptions {
  /** Upstream DNS for the user network, "ip[:port]" (default: the first nameserver of /etc/resolv.conf). */
  readonly dns?: string | null;
  /** Where diagnostics go (default stderr). */
  readonly log?: LogSink;
}

/**
 * Builds the backend for one network of a VmConfig. Throws an error with a
 * one-line message when something is wrong right away (no TAP device, bad
 * forward address, capture file not writable); call start() before the
 * guest runs for what can only fail later (a forwarded port in use).
 */
export function createNetBackend(config: NetConfig, opts: NetBackendOptions = {}): NetBackend {
  const backend: NetBackend =
    config.mode === 'user'
      ? new UserNetBackend({
          hostfwd: config.hostfwd,
          hostLoopback: config.hostLoopback,
          restrict: config.restrict,
          // The config's upstream wins over the host default.
          ...(config.dns !== undefined ? { dns: config.dns } : opts.dns !== undefined ? { dns: opts.dns } : {}),
          ...(opts.log !== undefined ? { log: opts.log } : {}),
        })
      : new TapBackend(config.ifname);
  if (config.pcap === undefined) return backend;
  try {
    return new PcapBackend(backend, config.pcap, opts.log);
  } catch (e) {
    void backend.close();
    throw e;
  }
}

/** createNetBackend() then start(): the backend ready for the guest, or a rejection with one line. */
export async function openNetBackend(config: NetConfig, opts: NetBackendOptions = {}): Promise<NetBackend> {
  const backend = createNetBackend(config, opts);
  try {
    await backend.start?.();
  } catch (e) {
    await backend.close();
    throw e;
  }
  return backend;
}
