import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2Session } from "node:http2";
import type { Socket } from "node:net";
import type { NodeRequest, NodeResponse } from "./bridge.js";

// Time bounds on what a client holds open. node:http enforces its own headersTimeout and
// requestTimeout only on a server that listens itself; here sockets are handed to it after the
// protocol is sniffed (or by the TLS server's HTTP/1.1 fallback), so the bridge keeps them.

export interface ConnectionTimeouts {
  /**
   * A connection must send a request's complete headers within this many ms of opening, or of
   * its previous response's end (HTTP/1.1 keep-alive); default 10 s. Also bounds the TLS
   * handshake and the first bytes of an h2c connection.
   */
  headersTimeoutMs?: number | undefined;
  /** A request's body must have fully arrived this many ms after its headers; default 30 s. */
  requestTimeoutMs?: number | undefined;
  /** An HTTP/2 session with no open stream is closed after this many ms; default 60 s. */
  idleTimeoutMs?: number | undefined;
}

export const defaultTimeouts = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
} as const;

/**
 * Drops an HTTP/1.1 connection that has not sent complete headers in time: armed now, disarmed
 * by each request's headers (call requestStarted), armed again when its response ends.
 */
export class HeadersDeadline {
  private readonly timers = new WeakMap<Socket, NodeJS.Timeout>();
  private readonly watched = new WeakSet<Socket>();

  constructor(private readonly ms: number) {}

  arm(socket: Socket): void {
    this.disarm(socket);
    if (socket.destroyed) return;
    const timer = setTimeout(() => socket.destroy(), this.ms);
    timer.unref();
    this.timers.set(socket, timer);
    // Once per socket: a keep-alive connection arms again after every response.
    if (!this.watched.has(socket)) {
      this.watched.add(socket);
      socket.once("close", () => this.disarm(socket));
    }
  }

  /** The headers of a request on socket arrived; the deadline starts again after its response. */
  requestStarted(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    this.disarm(socket);
    res.once("finish", () => this.arm(socket));
  }

  private disarm(socket: Socket): void {
    const t = this.timers.get(socket);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(socket);
  }
}

/**
 * Closes an HTTP/2 session that has had no open stream for ms: one that sent only its preface,
 * or whose page left. A session with a stream open (a quiet watch) is never idle.
 */
export function closeWhenIdle(session: Http2Session, ms: number): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    timer = setTimeout(() => {
      // GOAWAY, then the socket once in-flight frames are done; destroy if the peer stalls.
      session.close();
      setTimeout(() => session.destroy(), 1_000).unref();
    }, ms);
    timer.unref();
  };
  const disarm = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  session.on("stream", (stream) => {
    open++;
    disarm();
    stream.once("close", () => {
      open--;
      if (open === 0 && !session.closed && !session.destroyed) arm();
    });
  });
  session.once("close", disarm);
  arm();
}

/**
 * Drops a request whose body has not fully arrived ms after its headers. The response may last
 * longer (a watch), the upload may not.
 */
export function limitRequestTime(req: NodeRequest, res: NodeResponse, ms: number): void {
  if (req.readableEnded) return;
  const timer = setTimeout(() => {
    if (!res.headersSent) {
      res.writeHead(408, { "content-type": "text/plain" });
      res.end("etcd-web-bridge: the request took too long to arrive\n");
    }
    req.destroy();
  }, ms);
  timer.unref();
  const clear = () => clearTimeout(timer);
  req.once("end", clear);
  req.once("close", clear);
  res.once("close", clear);
}
