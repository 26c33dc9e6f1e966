// A TCP proxy on 127.0.0.1 in front of one address, whose link a test can cut: cut() destroys
// every connection and refuses new ones until restore(). What a client sees as a network
// failure, while the server behind it stays up and writable by others.
import { connect, createServer, type Server, type Socket } from "node:net";

export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private up = true;

  private constructor(
    private readonly server: Server,
    /** http://127.0.0.1:<port> */
    readonly url: string,
  ) {}

  static async start(target: string): Promise<TcpProxy> {
    const to = new URL(target);
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => {
      if (!proxy?.up) {
        client.destroy();
        return;
      }
      const upstream = connect(Number(to.port), to.hostname);
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on("close", () => proxy?.sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const addr = server.address();
    if (!addr || typeof addr !== "object") throw new Error("the proxy has no port");
    proxy = new TcpProxy(server, `${to.protocol}//127.0.0.1:${addr.port}`);
    return proxy;
  }

  /** Resets every open connection and refuses new ones. */
  cut(): void {
    this.up = false;
    // A reset, not a FIN: the client sees the link break, as when a network fails.
    for (const s of this.sockets) {
      if (s.connecting || s.destroyed) s.destroy();
      else s.resetAndDestroy();
    }
    this.sockets.clear();
  }

  restore(): void {
    this.up = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
