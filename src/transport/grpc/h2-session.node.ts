// A small HTTP/2 client session (RFC 9113) on one TCP (or TLS) connection, for gRPC: requests
// with a body and trailers in the response, no server push, no priorities. node:http2 spends
// about 40 µs of JS per stream (a Duplex stream, an AsyncResource, listeners); a stream here is
// one object and a handler, and frames of many calls go out in one write.
//
// This file is the session's state machine: the connection's life, which stream a frame
// belongs to, and what to answer. Frames, settings, flow control and HPACK keep their rules
// in files of their own; a broken rule throws ConnectionError or StreamError, and this file
// turns it into GOAWAY or RST_STREAM.
import type { Socket } from "node:net";
import type { ConnectionOptions } from "node:tls";
import { connectSocket } from "./h2-connect.node.js";
import { DataSender } from "./h2-data-sender.node.js";
import {
  ConnectionError,
  ErrorCode,
  errorName,
  StreamError,
  sessionError,
} from "./h2-errors.node.js";
import { readIncrement, shift, updateDue } from "./h2-flow-control.node.js";
import {
  checkFrame,
  Flag,
  FrameReader,
  FrameType,
  frameHeader,
  type OnFrame,
  preface,
  unpad,
} from "./h2-frame-codec.node.js";
import { FrameWriter } from "./h2-frame-writer.node.js";
import {
  applySettings,
  headerTableSize,
  initialPeerSettings,
  initialWindowSize,
  localSettings,
  maxHeaderListSize,
  minMaxFrameSize,
  type PeerSettings,
} from "./h2-settings.node.js";
import {
  deadStream,
  H2Stream,
  type StreamHandler,
  type StreamOwner,
  unprocessed,
} from "./h2-stream.node.js";
import { HpackDecoder } from "./hpack.node.js";

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

/** After GOAWAY, how long a server may keep the connection open before it is cut. */
const lingerMs = 1000;

type State = "connecting" | "open" | "draining" | "closed";

/** One HTTP/2 connection. Streams opened before it connects wait, and go out once it does. */
export class H2Session implements StreamOwner {
  state: State = "connecting";
  /** Set when the connection failed or closed; new streams fail with it. */
  error: Error | undefined;
  private readonly socket: Socket;
  private readonly streams = new Map<number, H2Stream>();
  /** Streams waiting for the connection or for the peer's stream limit. */
  private waiting: H2Stream[] = [];
  private nextId = 1;
  private readonly peer: PeerSettings = { ...initialPeerSettings };
  /** The server's first SETTINGS arrived: streams start only then, within its limits. */
  private settled = false;
  private connUnacked = 0;
  private readonly decoder = new HpackDecoder(headerTableSize);
  private readonly reader = new FrameReader(minMaxFrameSize);
  /** A header block that continues in CONTINUATION frames. */
  private headerAcc: { id: number; end: boolean; parts: Buffer[]; size: number } | undefined;
  private readonly writer: FrameWriter;
  private readonly sender: DataSender;
  private lastRead = Date.now();
  private lastActive = Date.now();
  private pingSentAt = 0;
  private readonly timer: ReturnType<typeof setInterval> | undefined;
  private readonly connectTimer: ReturnType<typeof setTimeout>;
  private readonly onClosed: (s: H2Session) => void;
  private readonly frameIn: OnFrame = (type, flags, id, payload) => {
    try {
      this.onFrame(type, flags, id, payload);
    } catch (e) {
      // A stream error ends that stream; the connection reads on.
      if (!(e instanceof StreamError)) throw e;
      this.streamError(e);
    }
    return this.state !== "closed";
  };

  constructor(
    url: URL,
    readonly options: SessionOptions,
    onClosed: (s: H2Session) => void,
  ) {
    this.onClosed = onClosed;
    this.socket = connectSocket(
      url,
      options.tls,
      () => this.onConnect(),
      (e) => this.destroy(e),
    );
    this.writer = new FrameWriter(this.socket);
    this.sender = new DataSender(this.writer, this.peer);
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
      this.frame(FrameType.PING, 0, 0, Buffer.alloc(8));
    }
    if (this.canStart()) this.start(s);
    else this.waiting.push(s);
    return s;
  }

  /** Ends the connection gracefully: GOAWAY, then close once open streams are done. */
  close(): void {
    if (this.state === "closed") return;
    if (this.state === "open")
      this.frame(FrameType.GOAWAY, 0, 0, goAwayPayload(ErrorCode.NO_ERROR));
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
    this.hangUp(this.writer.takeAll());
    const failed = [...this.streams.values(), ...this.waiting];
    this.streams.clear();
    this.waiting = [];
    this.sender.clear();
    for (const s of failed) {
      if (s.ended) continue;
      s.ended = true;
      // A stream that never started was never seen by the server.
      s.handler.onEnd(s.id === 0 ? unprocessed(this.error) : this.error);
    }
    this.onClosed(this);
  }

  /**
   * Closes the socket; frames still queued (a GOAWAY) go out first, before the FIN. Reads go on
   * meanwhile (and are dropped), so that the kernel does not answer unread data with a reset
   * that could overtake the GOAWAY; a server that keeps the connection open is cut off.
   */
  private hangUp(last: Buffer | undefined): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    if (!last) {
      socket.destroy();
      return;
    }
    socket.end(last);
    const linger = setTimeout(() => socket.destroy(), lingerMs);
    linger.unref();
    socket.once("close", () => clearTimeout(linger));
  }

  // ---- sending ----

  private canStart(): boolean {
    return (
      this.state === "open" && this.settled && this.streams.size < this.peer.maxConcurrentStreams
    );
  }

  private startWaiting(): void {
    while (this.waiting.length > 0 && this.canStart()) {
      this.start(this.waiting.shift() as H2Stream);
    }
  }

  private start(s: H2Stream): void {
    s.id = this.nextId;
    this.nextId += 2;
    s.sendWindow = this.peer.initialWindowSize;
    this.streams.set(s.id, s);
    this.sender.headers(s.id, s.headerBlock);
    this.sender.flush(s);
  }

  /** @internal */
  sendData(s: H2Stream, data: Buffer, end: boolean): void {
    this.sender.send(s, data, end);
  }

  /** @internal */
  flushStream(s: H2Stream): void {
    this.sender.flush(s);
  }

  /** @internal */
  reset(s: H2Stream, code: number): void {
    s.ended = true;
    if (s.id === 0) {
      this.waiting = this.waiting.filter((w) => w !== s);
      return;
    }
    this.rstStream(s.id, code);
    this.forget(s);
  }

  private rstStream(id: number, code: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(code, 0);
    this.frame(FrameType.RST_STREAM, 0, id, b);
  }

  private forget(s: H2Stream): void {
    this.streams.delete(s.id);
    this.sender.forget(s);
    this.lastActive = Date.now();
    this.startWaiting();
    if (this.state === "draining" && this.streams.size === 0) this.destroy(undefined);
  }

  private frame(type: number, flags: number, id: number, payload: Buffer): void {
    this.writer.frame(type, flags, id, payload);
  }

  private windowUpdate(id: number, n: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(n, 0);
    this.frame(FrameType.WINDOW_UPDATE, 0, id, b);
  }

  // ---- receiving ----

  private onConnect(): void {
    clearTimeout(this.connectTimer);
    if (this.state !== "connecting") return;
    // The preface, this side's SETTINGS and connection window, then what waited.
    const settings = localSettings(this.options.streamWindow);
    const first = [preface, frameHeader(FrameType.SETTINGS, 0, 0, settings.length), settings];
    const extra = this.options.connectionWindow - initialWindowSize;
    if (extra > 0) {
      const b = Buffer.allocUnsafe(4);
      b.writeUInt32BE(extra, 0);
      first.push(frameHeader(FrameType.WINDOW_UPDATE, 0, 0, 4), b);
    }
    this.state = "open";
    this.writer.start(Buffer.concat(first));
    // Waiting streams start when the server's SETTINGS tell its limits (onSettings).
  }

  private onRead(chunk: Buffer): void {
    if (this.state === "closed") return;
    this.lastRead = Date.now();
    try {
      this.reader.push(chunk, this.frameIn);
    } catch (e) {
      if (e instanceof ConnectionError) this.goAway(e.h2Code, e);
      else this.goAway(ErrorCode.INTERNAL_ERROR, e as Error);
      return;
    }
    if ((this.state as State) === "closed") return;
    // This side consumes data as it arrives: widen the connection window once half is used.
    if (updateDue(this.connUnacked, this.options.connectionWindow)) {
      this.windowUpdate(0, this.connUnacked);
      this.connUnacked = 0;
    }
  }

  private onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if (!this.settled && (type !== FrameType.SETTINGS || flags & Flag.ACK)) {
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        "the server's first frame is not SETTINGS",
      );
    }
    checkFrame(type, flags, id, payload.length);
    if (this.headerAcc && type !== FrameType.CONTINUATION) {
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        "a header block without its CONTINUATION",
      );
    }
    switch (type) {
      case FrameType.DATA:
        this.onDataFrame(flags, id, payload);
        return;
      case FrameType.HEADERS:
        this.onHeadersFrame(flags, id, payload);
        return;
      case FrameType.CONTINUATION:
        this.onContinuation(flags, id, payload);
        return;
      case FrameType.RST_STREAM: {
        const s = this.streamFor(id);
        if (!s) return;
        s.ended = true;
        this.forget(s);
        s.handler.onEnd(undefined, payload.readUInt32BE(0));
        return;
      }
      case FrameType.SETTINGS:
        if (!(flags & Flag.ACK)) this.onSettings(payload);
        return;
      case FrameType.PING:
        if (flags & Flag.ACK) this.pingSentAt = 0;
        else this.writer.ack(FrameType.PING, payload);
        return;
      case FrameType.GOAWAY:
        this.onGoAway(payload.readUInt32BE(0) & 0x7fffffff, payload.readUInt32BE(4));
        return;
      case FrameType.WINDOW_UPDATE:
        this.onWindowUpdate(id, readIncrement(payload));
        return;
      default:
        return;
    }
  }

  /**
   * The stream a frame is for; undefined for one that closed, whose late frames are dropped
   * (section 5.4.2). A stream this side has not opened is idle, and even streams would be
   * pushed ones, which are off: a frame on one is a PROTOCOL_ERROR (section 5.1).
   */
  private streamFor(id: number): H2Stream | undefined {
    const s = this.streams.get(id);
    if (s) return s;
    if (id % 2 === 0 || id >= this.nextId) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `a frame on idle stream ${id}`);
    }
    return undefined;
  }

  private onDataFrame(flags: number, id: number, payload: Buffer): void {
    this.connUnacked += payload.length;
    const data = unpad(flags, payload);
    const s = this.streamFor(id);
    if (!s) return;
    s.unacked += payload.length;
    const end = (flags & Flag.END_STREAM) !== 0;
    if (end) {
      s.ended = true;
      this.forget(s);
    } else if (updateDue(s.unacked, this.options.streamWindow)) {
      this.windowUpdate(id, s.unacked);
      s.unacked = 0;
    }
    s.handler.onData(data, end);
    if (end) s.handler.onEnd();
  }

  private onHeadersFrame(flags: number, id: number, payload: Buffer): void {
    this.streamFor(id);
    let block = unpad(flags, payload);
    if (flags & Flag.PRIORITY) {
      if (block.length < 5) {
        throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "HEADERS too short for PRIORITY");
      }
      block = block.subarray(5);
    }
    const end = (flags & Flag.END_STREAM) !== 0;
    if (!(flags & Flag.END_HEADERS)) {
      this.headerAcc = { id, end, parts: [block], size: block.length };
      return;
    }
    this.onHeaderBlock(id, block, end);
  }

  private onContinuation(flags: number, id: number, payload: Buffer): void {
    const acc = this.headerAcc;
    if (!acc || acc.id !== id) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "a CONTINUATION without HEADERS");
    }
    acc.size += payload.length;
    // A block that never ends would be held whole: cut it off at the header-list limit.
    if (acc.size > maxHeaderListSize) {
      throw new ConnectionError(
        ErrorCode.ENHANCE_YOUR_CALM,
        `a header block of more than ${maxHeaderListSize} bytes`,
      );
    }
    acc.parts.push(payload);
    if (flags & Flag.END_HEADERS) {
      this.headerAcc = undefined;
      this.onHeaderBlock(acc.id, Buffer.concat(acc.parts, acc.size), acc.end);
    }
  }

  private onHeaderBlock(id: number, block: Buffer, endStream: boolean): void {
    // Every block is decoded, even for a stream this side forgot: the table is shared.
    const fields = this.decoder.decode(block, maxHeaderListSize);
    const s = this.streams.get(id);
    if (!s) return;
    if (endStream) {
      s.ended = true;
      this.forget(s);
    }
    s.handler.onHeaders(fields, endStream);
    if (endStream) s.handler.onEnd();
  }

  private onSettings(payload: Buffer): void {
    this.settled = true;
    const delta = applySettings(this.peer, payload);
    if (delta !== 0) {
      for (const s of this.streams.values()) s.sendWindow = shift(s.sendWindow, delta);
      if (delta > 0) this.sender.flushAll();
    }
    this.writer.ack(FrameType.SETTINGS, Buffer.alloc(0));
    this.startWaiting();
  }

  private onWindowUpdate(id: number, increment: number): void {
    if (id === 0) {
      this.sender.widenConnection(increment);
      return;
    }
    const s = this.streamFor(id);
    if (!s) return;
    this.sender.widenStream(s, increment);
  }

  private onGoAway(lastId: number, code: number): void {
    if (this.state === "closed") return;
    this.state = "draining";
    // Streams above lastId were not processed: safe to send again elsewhere.
    const error = unprocessed(
      sessionError(`the server sent GOAWAY (${errorName(code)})`, "ERR_HTTP2_GOAWAY_SESSION"),
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

  /** The server broke a rule of one stream: RST_STREAM, and its call fails; the rest goes on. */
  private streamError(e: StreamError): void {
    this.rstStream(e.streamId, e.h2Code);
    const s = this.streams.get(e.streamId);
    if (!s) return;
    s.ended = true;
    this.forget(s);
    s.handler.onEnd(
      sessionError(
        `http2 stream error ${errorName(e.h2Code)}: ${e.message}`,
        "ERR_HTTP2_STREAM_ERROR",
        e,
      ),
    );
  }

  /** The server broke a rule of the connection: GOAWAY with the code, and every stream fails. */
  private goAway(code: number, cause: Error): void {
    // This side processed no stream of the server's (it opens none): last stream ID 0.
    this.frame(FrameType.GOAWAY, 0, 0, goAwayPayload(code));
    this.destroy(
      sessionError(
        `http2 connection error ${errorName(code)}: ${cause.message}`,
        "ERR_HTTP2_ERROR",
        cause,
      ),
    );
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
      this.frame(FrameType.PING, 0, 0, Buffer.alloc(8));
    }
  }
}

function goAwayPayload(code: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(code, 4);
  return b;
}
