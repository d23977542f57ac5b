/**
 * Host-to-guest port forwards (`hostfwd`). TCP: a listening socket on the
 * host; each accepted client becomes a connection the NAT opens to the
 * guest's port, from 10.0.2.2 (TcpNat.connectToGuest). UDP: a bound socket;
 * each host client gets its own port on 10.0.2.2, so the guest's replies
 * find their way back to the right client.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { inspect, type InspectNode } from '../../bus/device.js';
import type { HostFwdConfig } from '../../vm/config.js';
import type { Ipv4Packet } from '../proto/ipv4.js';
import type { UdpDatagram } from '../proto/udp.js';
import { GATEWAY_ADDR, GUEST_ADDR, PortAllocator } from './addresses.js';
import type { NatContext } from './context.js';
import type { TcpNat } from './tcp-nat.js';

/** A port forward that could not be set up; the message is one line for the user. */
export class HostFwdError extends Error {
  override name = 'HostFwdError';
}

interface UdpClient {
  readonly address: string;
  readonly port: number;
  readonly natPort: number;
  readonly socket: dgram.Socket;
  readonly guestPort: number;
  lastUsed: number;
}

/** The listeners of every port forward. */
export class HostForwards {
  private readonly servers: net.Server[] = [];
  private readonly udpSockets: dgram.Socket[] = [];
  private readonly byClient = new Map<string, UdpClient>();
  private readonly byNatPort = new Map<number, UdpClient>();
  private readonly natPorts = new PortAllocator();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly ctx: NatContext,
    private readonly tcp: TcpNat,
    private readonly rules: readonly HostFwdConfig[],
    private readonly udpIdleMs = 60_000,
  ) {
    for (const r of rules) {
      if (net.isIPv4(r.hostAddr) === false) throw new HostFwdError(`${describe(r)}: ${JSON.stringify(r.hostAddr)} is not an IPv4 address`);
    }
  }

  /** Opens every listener; rejects with one line naming the forward and the reason, having closed the others. */
  async start(): Promise<void> {
    try {
      for (const r of this.rules) {
        if (r.proto === 'tcp') await this.listenTcp(r);
        else await this.bindUdp(r);
      }
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /** A datagram from the guest to 10.0.2.2: true when it answered a UDP forward (and was relayed). */
  fromGuestUdp(ip: Ipv4Packet, udp: UdpDatagram): boolean {
    if (ip.dst !== GATEWAY_ADDR) return false;
    const client = this.byNatPort.get(udp.dstPort);
    if (client === undefined) return false;
    client.lastUsed = this.ctx.now();
    this.ctx.counters.add('hostfwd.udp-to-host');
    client.socket.send(Buffer.from(udp.payload), client.port, client.address);
    return true;
  }

  /** Closes every listener and mapping. */
  async close(): Promise<void> {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    const closing = this.servers.map((s) => new Promise<void>((res) => s.close(() => res())));
    for (const s of this.udpSockets) s.close();
    this.servers.length = 0;
    this.udpSockets.length = 0;
    this.byClient.clear();
    this.byNatPort.clear();
    await Promise.all(closing);
  }

  /** The forwards and their host addresses, for the inspect tree. */
  inspect(): InspectNode {
    const rules: Record<string, InspectNode> = {};
    this.rules.forEach((r, k) => (rules[String(k)] = inspect.value(describe(r))));
    return inspect.tree({ rules: { children: rules }, udpClients: this.byClient.size });
  }

  private listenTcp(r: HostFwdConfig): Promise<void> {
    const server = net.createServer({ allowHalfOpen: true }, (sock) => {
      sock.setNoDelay(true);
      this.tcp.connectToGuest(sock, r.guestPort);
    });
    return new Promise((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(new HostFwdError(`${describe(r)}: ${reason(e)}`, { cause: e })));
      server.listen({ host: r.hostAddr, port: r.hostPort, exclusive: true }, () => {
        server.removeAllListeners('error');
        server.on('error', () => this.ctx.counters.add('hostfwd.listen-errors'));
        this.servers.push(server);
        resolve();
      });
    });
  }

  private bindUdp(r: HostFwdConfig): Promise<void> {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (msg, rinfo) => this.fromHostUdp(r, socket, msg, rinfo));
    return new Promise((resolve, reject) => {
      socket.once('error', (e: NodeJS.ErrnoException) => {
        socket.close();
        reject(new HostFwdError(`${describe(r)}: ${reason(e)}`, { cause: e }));
      });
      socket.bind({ address: r.hostAddr, port: r.hostPort, exclusive: true }, () => {
        socket.removeAllListeners('error');
        socket.on('error', () => this.ctx.counters.add('hostfwd.udp-errors'));
        this.udpSockets.push(socket);
        resolve();
      });
    });
  }

  private fromHostUdp(r: HostFwdConfig, socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = `${r.hostPort}/${rinfo.address}:${rinfo.port}`;
    let client = this.byClient.get(key);
    if (client === undefined) {
      const natPort = this.natPorts.take((p) => this.byNatPort.has(p));
      if (natPort === null) return this.ctx.counters.add('drop.hostfwd-udp-no-port');
      client = { address: rinfo.address, port: rinfo.port, natPort, socket, guestPort: r.guestPort, lastUsed: 0 };
      this.byClient.set(key, client);
      this.byNatPort.set(natPort, client);
      this.startSweeper();
    }
    client.lastUsed = this.ctx.now();
    this.ctx.counters.add('hostfwd.udp-to-guest');
    this.ctx.udpToGuest(GATEWAY_ADDR, client.natPort, GUEST_ADDR, client.guestPort, msg);
  }

  private startSweeper(): void {
    if (this.sweeper !== null) return;
    this.sweeper = setInterval(() => {
      const now = this.ctx.now();
      for (const [key, c] of [...this.byClient]) {
        if (now - c.lastUsed < this.udpIdleMs) continue;
        this.byClient.delete(key);
        this.byNatPort.delete(c.natPort);
      }
    }, Math.max(50, this.udpIdleMs / 4));
    this.sweeper.unref();
  }
}

function describe(r: HostFwdConfig): string {
  return `hostfwd ${r.proto}:${r.hostAddr}:${r.hostPort}-:${r.guestPort}`;
}

function reason(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'EADDRINUSE':
      return 'the host port is already in use';
    case 'EADDRNOTAVAIL':
      return 'the host address is not one of this machine';
    case 'EACCES':
      return 'permission denied (ports below 1024 need privileges)';
    default:
      return e.code ?? e.message;
  }
}
