import { once } from "node:events";
import { createServer as createHttpServer, type ServerResponse } from "node:http";
import { createServer as createH2cServer, createSecureServer } from "node:http2";
import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { InvalidInputError } from "../errors/etcd-error.js";
import {
  type Bridge,
  type BridgeOptions,
  createBridge,
  type NodeRequest,
  type NodeResponse,
} from "./bridge.js";
import {
  type ConnectionTimeouts,
  closeWhenIdle,
  defaultTimeouts,
  HeadersDeadline,
  limitRequestTime,
} from "./connection-limits.js";

export interface BridgeServerOptions extends BridgeOptions, ConnectionTimeouts {
  /** "host:port" to listen on; default "127.0.0.1:8080". Port 0 picks a free port. */
  listen?: string | undefined;
  /** PEM certificate and key: HTTPS, with HTTP/2 for browsers and HTTP/1.1 as fallback. */
  tls?: { cert: string | Buffer; key: string | Buffer } | undefined;
  /** Streams one HTTP/2 connection may have open at once; default 100. */
  maxConcurrentStreams?: number | undefined;
  /** Connections open at once; more are closed as they arrive. Default 1,000. */
  maxConnections?: number | undefined;
}

export const defaultServerLimits = { maxConcurrentStreams: 100, maxConnections: 1000 } as const;

export interface BridgeServer {
  /** The URL it listens on, e.g. "http://127.0.0.1:8080". */
  readonly url: string;
  readonly bridge: Bridge;
  /** Stops listening, ends open calls and connections. */
  close(): Promise<void>;
}

export const defaultListen = "127.0.0.1:8080";

// What an HTTP/2 connection without TLS (h2c with prior knowledge) starts with. No HTTP/1.1
// method starts with these three bytes, so they tell the two apart on one port.
const h2Preface = Buffer.from("PRI");

/**
 * Starts the bridge on one port. Without TLS the port speaks HTTP/1.1 and h2c; with TLS, ALPN
 * picks HTTP/2 or HTTP/1.1.
 */
export async function startBridge(options: BridgeServerOptions): Promise<BridgeServer> {
  const { host, port } = parseListen(options.listen ?? defaultListen);
  const headersTimeoutMs = options.headersTimeoutMs ?? defaultTimeouts.headersTimeoutMs;
  const requestTimeoutMs = options.requestTimeoutMs ?? defaultTimeouts.requestTimeoutMs;
  const idleTimeoutMs = options.idleTimeoutMs ?? defaultTimeouts.idleTimeoutMs;
  const maxConcurrentStreams =
    options.maxConcurrentStreams ?? defaultServerLimits.maxConcurrentStreams;
  const bridge = createBridge(options);
  const headers = new HeadersDeadline(headersTimeoutMs);
  const handle = (req: NodeRequest, res: NodeResponse) => {
    if (!("stream" in req)) headers.requestStarted(req, res as ServerResponse);
    limitRequestTime(req, res, requestTimeoutMs);
    bridge.handle(req, res);
  };
  const h2Options = { settings: { maxConcurrentStreams } };
  let server: Server;
  if (options.tls) {
    const secure = createSecureServer(
      { ...options.tls, ...h2Options, allowHTTP1: true, handshakeTimeout: headersTimeoutMs },
      handle,
    );
    secure.on("session", (session) => closeWhenIdle(session, idleTimeoutMs));
    secure.on("secureConnection", (socket: TLSSocket) => {
      if (socket.alpnProtocol !== "h2") headers.arm(socket);
    });
    server = secure;
  } else {
    const h1 = createHttpServer(handle);
    const h2c = createH2cServer(h2Options, handle);
    h2c.on("session", (session) => closeWhenIdle(session, idleTimeoutMs));
    server = createTcpServer((socket) => {
      sniff(socket, headersTimeoutMs)
        .then((isH2) => {
          if (isH2) {
            // node:http2 takes the bytes put back, then reads the socket natively.
            h2c.emit("connection", socket);
          } else {
            headers.arm(socket);
            h1.emit("connection", socket);
            // node:http reads the bytes put back only once the socket flows again.
            socket.resume();
          }
        })
        .catch(() => socket.destroy());
    });
  }
  server.maxConnections = options.maxConnections ?? defaultServerLimits.maxConnections;
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  server.listen(port, host);
  try {
    await once(server, "listening");
  } catch (e) {
    bridge.close();
    throw e;
  }
  const address = server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  const scheme = options.tls ? "https" : "http";
  return {
    url: `${scheme}://${host.includes(":") ? `[${host}]` : host}:${actualPort}`,
    bridge,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      bridge.close();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

/**
 * Reads the first bytes and puts them back: true when the client speaks h2c. A connection that
 * sends nothing for timeoutMs is dropped; after that, the headers deadline or the HTTP/2
 * session's idle timeout applies.
 */
function sniff(socket: Socket, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let seen = Buffer.alloc(0);
    const onTimeout = () => socket.destroy();
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      if (seen.length < h2Preface.length) return;
      socket.off("data", onData);
      socket.off("error", reject);
      socket.off("timeout", onTimeout);
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(seen);
      resolve(seen.subarray(0, h2Preface.length).equals(h2Preface));
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.setTimeout(timeoutMs);
    socket.once("timeout", onTimeout);
  });
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new InvalidInputError(
      `listen: "${listen}" must be host:port, e.g. 127.0.0.1:8080 or 0.0.0.0:8080`,
      "listen",
    );
  }
  return { host: m[1] ?? (m[2] || "127.0.0.1"), port };
}
