// A TCP proxy on 127.0.0.1 in front of one address, whose link a test can cut: cut() destroys
// every connection and refuses new ones until restore(). What a client sees as a network
// failure, while the server behind it stays up and writable by others. holdResponses() lets
// requests through but keeps the server's answers until releaseResponses(): a request that
// etcd applied while its answer is still on the way.
import { connect, createServer, type Server, type Socket } from "node:net";

export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private readonly links = new Set<{ client: Socket; upstream: Socket }>();
  private up = true;
  private holding = false;

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
      const link = { client, upstream };
      proxy.links.add(link);
      client.on("close", () => proxy?.links.delete(link));
      client.pipe(upstream);
      if (!proxy.holding) upstream.pipe(client);
      else upstream.pause();
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

  /** Keeps what the server sends, on every connection, until releaseResponses(). */
  holdResponses(): void {
    this.holding = true;
    for (const { client, upstream } of this.links) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  /** Sends on what the server sent while held, and everything after. */
  releaseResponses(): void {
    this.holding = false;
    for (const { client, upstream } of this.links) {
      upstream.pipe(client);
      upstream.resume();
    }
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
