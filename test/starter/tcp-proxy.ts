import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy to the stack's Temporal server that a test can take down and bring back: "Temporal is
 * unreachable" without stopping the server every other test shares. While down, its port refuses
 * connections; while stalled, it takes connections and bytes and passes none on, as a network that
 * drops packets does: calls neither fail nor answer until it flows again.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Each open connection's two directions, to cut while stalled and join again after. */
  private readonly links = new Set<{ client: Socket; upstream: Socket }>();
  private stalled = false;

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  /** A proxy on a free port, down until `up()`. */
  static async create(targetAddress: string): Promise<TcpProxy> {
    const [host = '127.0.0.1', port = '7233'] = targetAddress.split(':');
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const address = probe.address();
    await new Promise((resolve) => probe.close(resolve));
    if (address === null || typeof address === 'string') throw new Error('no port for the proxy');
    return new TcpProxy(address.port, { host, port: Number(port) });
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('error', () => socket.destroy());
        socket.on('close', () => {
          this.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      const link = { client, upstream };
      this.links.add(link);
      client.on('close', () => this.links.delete(link));
      if (!this.stalled) client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.server = server;
  }

  /** Passes nothing on, either way, until `flow()`; what was sent meanwhile arrives then. */
  stall(): void {
    this.stalled = true;
    for (const { client, upstream } of this.links) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  flow(): void {
    // Piping a link twice would write every chunk twice.
    if (!this.stalled) return;
    this.stalled = false;
    for (const { client, upstream } of this.links) client.pipe(upstream).pipe(client);
  }

  /** Refuses new connections and cuts the open ones, as a stopped server would. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.links.clear();
    this.stalled = false;
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}
