// A small HTTP/2 client session (RFC 9113) on one TCP (or TLS) connection, for gRPC: requests
// with a body and trailers in the response, no server push, no priorities. node:http2 spends
// about 40 µs of JS per stream (a Duplex stream, an AsyncResource, listeners); a stream here is
// one object and a handler, and frames of many calls go out in one write.
import { isIP, type Socket, connect as tcpConnect } from "node:net";
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from "node:tls";
import { neverSent, unprocessedCode } from "../../internal/causes.js";
import { type HeaderField, HpackDecoder } from "./hpack.node.js";

const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

const Frame = {
  Data: 0,
  Headers: 1,
  RstStream: 3,
  Settings: 4,
  PushPromise: 5,
  Ping: 6,
  GoAway: 7,
  WindowUpdate: 8,
  Continuation: 9,
} as const;

const Flag = { EndStream: 0x1, Ack: 0x1, EndHeaders: 0x4, Padded: 0x8, Priority: 0x20 } as const;

/** HTTP/2 error codes (RFC 9113 section 7) that this side sends or reads. */
export const ErrorCode = {
  NoError: 0,
  Protocol: 1,
  Internal: 2,
  StreamClosed: 5,
  RefusedStream: 7,
  Cancel: 8,
  EnhanceYourCalm: 11,
} as const;

/** What a stream reports, in order: headers (then trailers), data, and one end. */
export interface StreamHandler {
  onHeaders(fields: HeaderField[], endStream: boolean): void;
  /** A view into the read buffer: copy it to keep it past the call. */
  onData(data: Buffer, endStream: boolean): void;
  /**
   * The stream is over: after END_STREAM (no arguments), reset by the server (rstCode), or
   * failed with the connection (error; its cause chain keeps the socket's code, such as
   * ECONNREFUSED, which tells that nothing was sent).
   */
  onEnd(error?: Error, rstCode?: number): void;
}

export interface SessionOptions {
  /** The stream window this side grants (SETTINGS_INITIAL_WINDOW_SIZE). */
  streamWindow: number;
  /** The connection window this side grants. */
  connectionWindow: number;
  /** Send a PING when a connection with open streams was silent this long; 0 for never. */
  pingIntervalMs: number;
  /** Close the connection when a PING is not answered in time. */
  pingTimeoutMs: number;
  /** Close a connection without streams after this long. */
  idleTimeoutMs: number;
  /** Limit on connecting; the attempt fails with ETIMEDOUT. */
  connectTimeoutMs: number;
  /** For https: URLs: trust, client certificate and checks (node:tls options). */
  tls?: ConnectionOptions | undefined;
}

export const defaultSessionOptions: SessionOptions = {
  streamWindow: 4 << 20,
  connectionWindow: 16 << 20,
  pingIntervalMs: 30_000,
  pingTimeoutMs: 10_000,
  idleTimeoutMs: 5 * 60_000,
  connectTimeoutMs: 30_000,
};

/** An error of the connection, with a code as node's socket errors have. */
export function sessionError(message: string, code: string, cause?: unknown): Error {
  return Object.assign(new Error(message, { cause }), { code });
}

export class H2Stream {
  id = 0;
  /** Bytes this side may still send (the peer's window for this stream). */
  sendWindow = 0;
  /** Bytes received since this side last widened the stream's window. */
  unacked = 0;
  private queued: Array<{ data: Buffer; end: boolean }> = [];
  ended = false;
  private localEnded = false;

  constructor(
    private readonly session: H2Session,
    readonly headerBlock: Buffer,
    readonly handler: StreamHandler,
  ) {}

  /** Sends data, after the headers; `end` half-closes. Respects the peer's flow control. */
  write(data: Buffer, end = false): void {
    if (this.ended || this.localEnded) return;
    if (end) this.localEnded = true;
    if (this.id === 0 || this.queued.length > 0) {
      this.queued.push({ data, end });
      if (this.id !== 0) this.session.flushStream(this);
      return;
    }
    this.session.sendData(this, data, end);
  }

  end(): void {
    this.write(Buffer.alloc(0), true);
  }

  /** Abandons the stream: RST_STREAM with CANCEL; the handler hears nothing more. */
  cancel(code: number = ErrorCode.Cancel): void {
    if (this.ended) return;
    this.session.reset(this, code);
  }

  /** @internal */
  takeQueued(): Array<{ data: Buffer; end: boolean }> {
    const q = this.queued;
    this.queued = [];
    return q;
  }

  /** @internal */
  requeue(items: Array<{ data: Buffer; end: boolean }>): void {
    this.queued = items.concat(this.queued);
  }
}

/**
 * The error for a stream the server never processed (it never started, or the server's GOAWAY
 * or REFUSED_STREAM said so): failover may send its request elsewhere, even a write. An error
 * that already tells so (ECONNREFUSED) is kept as it is.
 */
export function unprocessed(error: Error): Error {
  if (neverSent(error)) return error;
  return sessionError(
    `the server did not process the request: ${error.message}`,
    unprocessedCode,
    error,
  );
}

/** A stream that fails at once (on the next microtask), as a closed session's would. */
export function deadStream(headerBlock: Buffer, handler: StreamHandler, error: Error): H2Stream {
  const s = new H2Stream(undefined as unknown as H2Session, headerBlock, handler);
  s.ended = true;
  queueMicrotask(() => handler.onEnd(error));
  return s;
}

type State = "connecting" | "open" | "draining" | "closed";

/** One HTTP/2 connection. Streams opened before it connects wait, and go out once it does. */
export class H2Session {
  state: State = "connecting";
  /** Set when the connection failed or closed; new streams fail with it. */
  error: Error | undefined;
  private readonly socket: Socket;
  private readonly streams = new Map<number, H2Stream>();
  /** Streams waiting for the connection or for the peer's stream limit. */
  private waiting: H2Stream[] = [];
  /** Streams with data held back by flow control. */
  private blocked = new Set<H2Stream>();
  private nextId = 1;
  private maxStreams = 100;
  /** The server's SETTINGS arrived: streams start only then, within its limits. */
  private settled = false;
  private peerStreamWindow = 65_535;
  private sendWindow = 65_535;
  private maxFrame = 16_384;
  private connUnacked = 0;
  private readonly decoder = new HpackDecoder(4096);
  private pending: Buffer | undefined;
  private headerAcc: { id: number; end: boolean; parts: Buffer[] } | undefined;
  private out: Buffer[] = [];
  private flushScheduled = false;
  private lastRead = Date.now();
  private lastActive = Date.now();
  private pingSentAt = 0;
  private readonly timer: ReturnType<typeof setInterval> | undefined;
  private readonly connectTimer: ReturnType<typeof setTimeout>;
  private readonly onClosed: (s: H2Session) => void;

  constructor(
    url: URL,
    readonly options: SessionOptions,
    onClosed: (s: H2Session) => void,
  ) {
    this.onClosed = onClosed;
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const secure = url.protocol === "https:";
    this.socket = secure
      ? tlsConnect({
          // SNI takes host names only.
          ...(isIP(host) ? {} : { servername: host }),
          ...options.tls,
          host,
          port,
          ALPNProtocols: ["h2"],
        })
      : tcpConnect({ host, port });
    this.socket.setNoDelay(true);
    this.socket.once(secure ? "secureConnect" : "connect", () => {
      const alpn = secure ? (this.socket as TLSSocket).alpnProtocol : "h2";
      if (alpn !== "h2") {
        this.destroy(
          sessionError(
            `${url.host} does not speak HTTP/2 over TLS (ALPN: ${alpn || "none"})`,
            "ERR_HTTP2_ERROR",
          ),
        );
        return;
      }
      this.onConnect();
    });
    this.socket.on("data", (chunk: Buffer) => this.onRead(chunk));
    this.socket.on("error", (e) => this.destroy(e));
    this.socket.on("close", () =>
      this.destroy(sessionError("the connection to the server closed", "ECONNRESET")),
    );
    this.connectTimer = setTimeout(
      () => this.destroy(sessionError(`no connection to ${url.host} in time`, "ETIMEDOUT")),
      options.connectTimeoutMs,
    );
    this.connectTimer.unref();
    if (options.pingIntervalMs > 0 || options.idleTimeoutMs > 0) {
      const every = Math.max(
        1000,
        Math.min(options.pingIntervalMs || Infinity, options.pingTimeoutMs, options.idleTimeoutMs) /
          2,
      );
      this.timer = setInterval(() => this.tick(), every);
      this.timer.unref();
    }
  }

  /** Open streams and streams waiting to open. */
  get load(): number {
    return this.streams.size + this.waiting.length;
  }

  /** Whether new streams may go on this session. */
  get usable(): boolean {
    return (this.state === "connecting" || this.state === "open") && this.nextId < 2 ** 31 - 1;
  }

  /** Opens a stream (now, or once connected and under the stream limit). */
  open(headerBlock: Buffer, handler: StreamHandler): H2Stream {
    const s = new H2Stream(this, headerBlock, handler);
    if (!this.usable) {
      const e = this.error ?? sessionError("the connection is closing", "ERR_HTTP2_GOAWAY_SESSION");
      return deadStream(headerBlock, handler, unprocessed(e));
    }
    const now = Date.now();
    this.lastActive = now;
    // A connection silent for a while may be dead without a word (a peer that vanished, a
    // dropped NAT entry): a PING with the first stream finds out within pingTimeoutMs.
    if (
      this.state === "open" &&
      this.options.pingIntervalMs > 0 &&
      this.pingSentAt === 0 &&
      now - this.lastRead > this.options.pingIntervalMs
    ) {
      this.pingSentAt = now;
      this.frame(Frame.Ping, 0, 0, Buffer.alloc(8));
    }
    if (this.state === "open" && this.settled && this.streams.size < this.maxStreams) this.start(s);
    else this.waiting.push(s);
    return s;
  }

  /** Ends the connection gracefully: GOAWAY, then close once open streams are done. */
  close(): void {
    if (this.state === "closed") return;
    if (this.state === "open") {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(0, 0);
      b.writeUInt32BE(ErrorCode.NoError, 4);
      this.frame(Frame.GoAway, 0, 0, b);
    }
    this.state = "draining";
    for (const s of this.waiting.splice(0)) {
      s.ended = true;
      s.handler.onEnd(
        unprocessed(sessionError("the client closed the connection", "ERR_HTTP2_GOAWAY_SESSION")),
      );
    }
    if (this.streams.size === 0) this.destroy(undefined);
  }

  /** Ends the connection now; every open stream fails with the error. */
  destroy(error: Error | undefined): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.error = error ?? sessionError("the connection was closed", "ERR_HTTP2_SESSION_ERROR");
    clearTimeout(this.connectTimer);
    if (this.timer) clearInterval(this.timer);
    if (this.out.length > 0 && !this.socket.destroyed) this.socket.write(Buffer.concat(this.out));
    this.out = [];
    this.socket.destroy();
    const failed = [...this.streams.values(), ...this.waiting];
    this.streams.clear();
    this.waiting = [];
    this.blocked.clear();
    for (const s of failed) {
      if (s.ended) continue;
      s.ended = true;
      // A stream that never started was never seen by the server.
      s.handler.onEnd(s.id === 0 ? unprocessed(this.error) : this.error);
    }
    this.onClosed(this);
  }

  // ---- sending ----

  private start(s: H2Stream): void {
    s.id = this.nextId;
    this.nextId += 2;
    s.sendWindow = this.peerStreamWindow;
    this.streams.set(s.id, s);
    this.headers(s.id, s.headerBlock);
    this.flushStream(s);
  }

  private headers(id: number, block: Buffer): void {
    // A header block larger than one frame continues in CONTINUATION frames.
    let off = 0;
    let type: number = Frame.Headers;
    do {
      const part = block.subarray(off, off + this.maxFrame);
      off += part.length;
      this.frame(type, off >= block.length ? Flag.EndHeaders : 0, id, part);
      type = Frame.Continuation;
    } while (off < block.length);
  }

  /** @internal */
  sendData(s: H2Stream, data: Buffer, end: boolean): void {
    let off = 0;
    while (off < data.length || (end && off === data.length)) {
      const room = Math.min(this.maxFrame, s.sendWindow, this.sendWindow);
      const n = Math.min(room, data.length - off);
      if (n <= 0 && off < data.length) {
        // Flow control: the rest waits for WINDOW_UPDATE.
        s.requeue([{ data: data.subarray(off), end }]);
        this.blocked.add(s);
        return;
      }
      const last = off + n >= data.length;
      this.frame(Frame.Data, last && end ? Flag.EndStream : 0, s.id, data.subarray(off, off + n));
      s.sendWindow -= n;
      this.sendWindow -= n;
      off += n;
      if (last) break;
    }
  }

  /** @internal Sends what a stream holds back, as far as the windows allow. */
  flushStream(s: H2Stream): void {
    if (s.id === 0 || s.ended) return;
    const items = s.takeQueued();
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as { data: Buffer; end: boolean };
      this.sendData(s, item.data, item.end);
      if (this.blocked.has(s)) {
        s.requeue(items.slice(i + 1));
        return;
      }
    }
  }

  /** @internal */
  reset(s: H2Stream, code: number): void {
    s.ended = true;
    if (s.id === 0) {
      this.waiting = this.waiting.filter((w) => w !== s);
      return;
    }
    const b = Buffer.alloc(4);
    b.writeUInt32BE(code, 0);
    this.frame(Frame.RstStream, 0, s.id, b);
    this.forget(s);
  }

  private forget(s: H2Stream): void {
    this.streams.delete(s.id);
    this.blocked.delete(s);
    this.lastActive = Date.now();
    while (
      this.waiting.length > 0 &&
      this.streams.size < this.maxStreams &&
      this.state === "open"
    ) {
      this.start(this.waiting.shift() as H2Stream);
    }
    if (this.state === "draining" && this.streams.size === 0) this.destroy(undefined);
  }

  private frame(type: number, flags: number, id: number, payload: Buffer): void {
    const h = Buffer.allocUnsafe(9);
    h.writeUIntBE(payload.length, 0, 3);
    h[3] = type;
    h[4] = flags;
    h.writeUInt32BE(id, 5);
    this.out.push(h);
    if (payload.length > 0) this.out.push(payload);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Frames written by every call that runs before the next tick go out in one write.
      process.nextTick(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.out.length === 0 || this.socket.destroyed || this.state === "connecting") return;
    const data = this.out.length === 1 ? (this.out[0] as Buffer) : Buffer.concat(this.out);
    this.out = [];
    this.socket.write(data);
  }

  // ---- receiving ----

  private onConnect(): void {
    clearTimeout(this.connectTimer);
    if (this.state !== "connecting") return;
    const settings = Buffer.alloc(18);
    settings.writeUInt16BE(0x2, 0); // ENABLE_PUSH
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(0x4, 6); // INITIAL_WINDOW_SIZE
    settings.writeUInt32BE(this.options.streamWindow, 8);
    settings.writeUInt16BE(0x3, 12); // MAX_CONCURRENT_STREAMS (pushed streams: none)
    settings.writeUInt32BE(0, 14);
    const frames = this.out;
    this.out = [preface];
    this.frame(Frame.Settings, 0, 0, settings);
    if (this.options.connectionWindow > 65_535)
      this.windowUpdate(0, this.options.connectionWindow - 65_535);
    this.out.push(...frames);
    this.state = "open";
    this.flush();
    // Waiting streams start when the server's SETTINGS tell its limits (onSettings).
  }

  private windowUpdate(id: number, n: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(n, 0);
    this.frame(Frame.WindowUpdate, 0, id, b);
  }

  private onRead(chunk: Buffer): void {
    this.lastRead = Date.now();
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let off = 0;
    try {
      while (buf.length - off >= 9) {
        const len = buf.readUIntBE(off, 3);
        if (buf.length - off < 9 + len) break;
        const type = buf[off + 3] as number;
        const flags = buf[off + 4] as number;
        const id = buf.readUInt32BE(off + 5) & 0x7fffffff;
        this.onFrame(type, flags, id, buf.subarray(off + 9, off + 9 + len));
        if (this.state === "closed") return;
        off += 9 + len;
      }
    } catch (e) {
      this.goAway(ErrorCode.Protocol, e as Error);
      return;
    }
    if (off < buf.length) this.pending = Buffer.from(buf.subarray(off));
    // This side consumes data as it arrives: widen the connection window once half is used.
    if (this.connUnacked >= this.options.connectionWindow / 2) {
      this.windowUpdate(0, this.connUnacked);
      this.connUnacked = 0;
    }
  }

  private onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.headerAcc && type !== Frame.Continuation) {
      throw new Error("http2: expected CONTINUATION");
    }
    switch (type) {
      case Frame.Data:
        this.onDataFrame(flags, id, payload);
        return;
      case Frame.Headers:
        this.onHeadersFrame(flags, id, payload);
        return;
      case Frame.Continuation: {
        const acc = this.headerAcc;
        if (!acc || acc.id !== id) throw new Error("http2: unexpected CONTINUATION");
        acc.parts.push(payload);
        if (flags & Flag.EndHeaders) {
          this.headerAcc = undefined;
          this.onHeaderBlock(acc.id, Buffer.concat(acc.parts), acc.end);
        }
        return;
      }
      case Frame.RstStream: {
        const s = this.streams.get(id);
        if (!s) return;
        s.ended = true;
        this.forget(s);
        s.handler.onEnd(undefined, payload.readUInt32BE(0));
        return;
      }
      case Frame.Settings:
        if (flags & Flag.Ack) return;
        this.onSettings(payload);
        this.frame(Frame.Settings, Flag.Ack, 0, Buffer.alloc(0));
        return;
      case Frame.Ping:
        if (flags & Flag.Ack) {
          this.pingSentAt = 0;
          return;
        }
        this.frame(Frame.Ping, Flag.Ack, 0, Buffer.from(payload));
        return;
      case Frame.GoAway:
        this.onGoAway(payload.readUInt32BE(0) & 0x7fffffff, payload.readUInt32BE(4));
        return;
      case Frame.WindowUpdate: {
        const n = payload.readUInt32BE(0) & 0x7fffffff;
        if (id === 0) {
          this.sendWindow += n;
          for (const s of [...this.blocked]) {
            this.blocked.delete(s);
            this.flushStream(s);
          }
        } else {
          const s = this.streams.get(id);
          if (!s) return;
          s.sendWindow += n;
          if (this.blocked.delete(s)) this.flushStream(s);
        }
        return;
      }
      case Frame.PushPromise:
        throw new Error("http2: PUSH_PROMISE with push disabled");
      default:
        // PRIORITY and unknown frame types are ignored.
        return;
    }
  }

  private onDataFrame(flags: number, id: number, payload: Buffer): void {
    this.connUnacked += payload.length;
    const s = this.streams.get(id);
    if (!s) return;
    let data = payload;
    if (flags & Flag.Padded) data = payload.subarray(1, payload.length - (payload[0] as number));
    s.unacked += payload.length;
    const end = (flags & Flag.EndStream) !== 0;
    if (end) {
      s.ended = true;
      this.forget(s);
    } else if (s.unacked >= this.options.streamWindow / 2) {
      this.windowUpdate(id, s.unacked);
      s.unacked = 0;
    }
    s.handler.onData(data, end);
    if (end) s.handler.onEnd();
  }

  private onHeadersFrame(flags: number, id: number, payload: Buffer): void {
    let off = 0;
    let end = payload.length;
    if (flags & Flag.Padded) {
      off = 1;
      end -= payload[0] as number;
    }
    if (flags & Flag.Priority) off += 5;
    const block = payload.subarray(off, end);
    if (!(flags & Flag.EndHeaders)) {
      this.headerAcc = { id, end: (flags & Flag.EndStream) !== 0, parts: [Buffer.from(block)] };
      return;
    }
    this.onHeaderBlock(id, block, (flags & Flag.EndStream) !== 0);
  }

  private onHeaderBlock(id: number, block: Buffer, endStream: boolean): void {
    // Every block is decoded, even for a stream this side forgot: the table is shared.
    const fields = this.decoder.decode(block);
    const s = this.streams.get(id);
    if (!s) return;
    if (endStream) {
      s.ended = true;
      this.forget(s);
    }
    s.handler.onHeaders(fields, endStream);
    if (endStream) s.handler.onEnd();
  }

  private onSettings(p: Buffer): void {
    this.settled = true;
    for (let i = 0; i + 6 <= p.length; i += 6) {
      const key = p.readUInt16BE(i);
      const v = p.readUInt32BE(i + 2);
      if (key === 0x3) {
        this.maxStreams = v;
      } else if (key === 0x4) {
        const delta = v - this.peerStreamWindow;
        this.peerStreamWindow = v;
        for (const s of this.streams.values()) s.sendWindow += delta;
        if (delta > 0)
          for (const s of [...this.blocked]) {
            this.blocked.delete(s);
            this.flushStream(s);
          }
      } else if (key === 0x5) {
        this.maxFrame = v;
      }
    }
    while (
      this.waiting.length > 0 &&
      this.streams.size < this.maxStreams &&
      this.state === "open"
    ) {
      this.start(this.waiting.shift() as H2Stream);
    }
  }

  private onGoAway(lastId: number, code: number): void {
    if (this.state === "closed") return;
    this.state = "draining";
    // Streams above lastId were not processed: safe to send again elsewhere.
    const error = unprocessed(
      sessionError(`the server sent GOAWAY (code ${code})`, "ERR_HTTP2_GOAWAY_SESSION"),
    );
    for (const s of [...this.streams.values()]) {
      if (s.id > lastId) {
        s.ended = true;
        this.forget(s);
        s.handler.onEnd(error);
      }
    }
    for (const s of this.waiting.splice(0)) {
      s.ended = true;
      s.handler.onEnd(error);
    }
    this.onClosed(this);
    if (this.streams.size === 0) this.destroy(undefined);
  }

  private goAway(code: number, cause: Error): void {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(this.nextId > 1 ? this.nextId - 2 : 0, 0);
    b.writeUInt32BE(code, 4);
    this.frame(Frame.GoAway, 0, 0, b);
    this.destroy(sessionError(`http2 protocol error: ${cause.message}`, "ERR_HTTP2_ERROR", cause));
  }

  /** Keepalive and idle close. */
  private tick(): void {
    const now = Date.now();
    if (this.state !== "open") return;
    if (this.pingSentAt > 0 && now - this.pingSentAt > this.options.pingTimeoutMs) {
      this.destroy(sessionError("the server did not answer a PING in time", "ETIMEDOUT"));
      return;
    }
    if (this.streams.size === 0) {
      if (this.options.idleTimeoutMs > 0 && now - this.lastActive > this.options.idleTimeoutMs)
        this.close();
      return;
    }
    if (
      this.options.pingIntervalMs > 0 &&
      this.pingSentAt === 0 &&
      now - this.lastRead > this.options.pingIntervalMs
    ) {
      this.pingSentAt = now;
      this.frame(Frame.Ping, 0, 0, Buffer.alloc(8));
    }
  }
}
