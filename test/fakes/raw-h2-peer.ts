// A raw HTTP/2 server on 127.0.0.1 that a spec drives frame by frame: it sends exactly the bytes
// it is given (broken ones included), and records every frame the client sends. It knows just
// enough HTTP/2 to skip the client's preface and, unless told not to, to send its own SETTINGS
// and acknowledge the client's. One listening server serves many connections.
import { once } from "node:events";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";

/** Frame types and error codes as RFC 9113 sections 6 and 7 number them. */
export const T = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

export const E = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  SETTINGS_TIMEOUT: 4,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  ENHANCE_YOUR_CALM: 11,
} as const;

export const END_STREAM = 0x1;
export const ACK = 0x1;
export const END_HEADERS = 0x4;
export const PADDED = 0x8;

export interface PeerFrame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

/** One frame's bytes. The length field is the payload's unless `length` says otherwise. */
export function h2Frame(
  type: number,
  flags: number,
  id: number,
  payload: Uint8Array = Buffer.alloc(0),
  length = payload.length,
): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id >>> 0, 5);
  return Buffer.concat([h, payload]);
}

/** A SETTINGS payload: (identifier, value) pairs, 6 bytes each. */
export function settingsPayload(entries: ReadonlyArray<readonly [number, number]>): Buffer {
  const b = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, v], i) => {
    b.writeUInt16BE(id, i * 6);
    b.writeUInt32BE(v >>> 0, i * 6 + 2);
  });
  return b;
}

export function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => {
    b.writeUInt32BE(v >>> 0, i * 4);
  });
  return b;
}

/** The settings a client sent, by identifier. */
export function readSettings(f: PeerFrame): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i + 6 <= f.payload.length; i += 6) {
    m.set(f.payload.readUInt16BE(i), f.payload.readUInt32BE(i + 2));
  }
  return m;
}

/** A fixed response header block (HPACK): ":status: 200" (static index 8), content-type grpc. */
export const okHeaders = Buffer.concat([
  Buffer.from([0x88]),
  // literal without indexing, name "content-type" (static index 31), value "application/grpc"
  Buffer.from([0x0f, 0x10, 16]),
  Buffer.from("application/grpc", "latin1"),
]);

/** A trailer block: "grpc-status: 0", a literal with a new name. */
export const okTrailers = Buffer.concat([
  Buffer.from([0x00, 11]),
  Buffer.from("grpc-status", "latin1"),
  Buffer.from([1]),
  Buffer.from("0", "latin1"),
]);

type Waiter = { match: (f: PeerFrame) => boolean; resolve: (f: PeerFrame) => void };

/** The server's side of one connection. */
export class RawH2Connection {
  readonly frames: PeerFrame[] = [];
  closed = false;
  private buf: Buffer = Buffer.alloc(0);
  private prefaceSeen = false;
  private waiters: Waiter[] = [];
  private closeWaiters: Array<() => void> = [];

  constructor(
    readonly socket: Socket,
    private readonly ackSettings: boolean,
  ) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      for (const w of this.closeWaiters.splice(0)) w();
    });
  }

  /** Writes bytes unless the client already hung up; false then. */
  write(...parts: Buffer[]): boolean {
    if (this.closed || this.socket.destroyed) return false;
    this.socket.write(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts));
    return true;
  }

  /** The first frame (seen or still to come) that matches; fails after timeoutMs. */
  frame(match: (f: PeerFrame) => boolean, what: string, timeoutMs = 3000): Promise<PeerFrame> {
    const seen = this.frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const got = this.frames.map((f) => `${f.type}/${f.flags}/${f.id}`).join(" ");
        reject(new Error(`no ${what} from the client in ${timeoutMs} ms (got: ${got})`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The first stream the client opened (its HEADERS frame). */
  request(timeoutMs = 3000): Promise<PeerFrame> {
    return this.frame((f) => f.type === T.HEADERS, "HEADERS", timeoutMs);
  }

  /** The client's GOAWAY; its error code is `goAwayCode(frame)`. */
  goAway(timeoutMs = 3000): Promise<PeerFrame> {
    return this.frame((f) => f.type === T.GOAWAY, "GOAWAY", timeoutMs);
  }

  /** Resolves once the client closed the connection; fails after timeoutMs. */
  whenClosed(timeoutMs = 3000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the client kept the connection open for ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (!this.prefaceSeen) {
      if (this.buf.length < 24) return;
      this.buf = this.buf.subarray(24);
      this.prefaceSeen = true;
    }
    while (this.buf.length >= 9 && this.buf.length >= 9 + this.buf.readUIntBE(0, 3)) {
      const len = this.buf.readUIntBE(0, 3);
      const f: PeerFrame = {
        type: this.buf[3] as number,
        flags: this.buf[4] as number,
        id: this.buf.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.buf.subarray(9, 9 + len)),
      };
      this.buf = this.buf.subarray(9 + len);
      this.frames.push(f);
      if (this.ackSettings && f.type === T.SETTINGS && (f.flags & ACK) === 0) {
        this.write(h2Frame(T.SETTINGS, ACK, 0));
      }
      for (const w of this.waiters) {
        if (w.match(f)) {
          this.waiters = this.waiters.filter((x) => x !== w);
          w.resolve(f);
          break;
        }
      }
    }
  }
}

export interface RawPeerOptions {
  /** The server's first SETTINGS payload; null sends none. Default: empty SETTINGS. */
  settings?: Buffer | null;
  /** Acknowledge the client's SETTINGS. Default true. */
  ackSettings?: boolean;
}

export function goAwayCode(f: PeerFrame): number {
  return f.payload.readUInt32BE(4);
}

export function rstCode(f: PeerFrame): number {
  return f.payload.readUInt32BE(0);
}

/** A listening raw HTTP/2 server; connections are handed out in the order they arrive. */
export class RawH2Peer {
  readonly connections: RawH2Connection[] = [];
  /** How many connections next() handed out. */
  private handed = 0;
  private waiting: Array<(c: RawH2Connection) => void> = [];
  options: RawPeerOptions;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    options: RawPeerOptions,
  ) {
    this.options = options;
  }

  static async start(options: RawPeerOptions = {}): Promise<RawH2Peer> {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const peer = new RawH2Peer(server, url, options);
    server.on("connection", (socket) => peer.accept(socket));
    return peer;
  }

  /** The next connection not handed out yet; fails after timeoutMs. */
  next(timeoutMs = 3000): Promise<RawH2Connection> {
    const ready = this.connections[this.handed];
    if (ready) {
      this.handed++;
      return Promise.resolve(ready);
    }
    return new Promise((resolve, reject) => {
      const take = (c: RawH2Connection) => {
        clearTimeout(timer);
        this.handed++;
        resolve(c);
      };
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== take);
        reject(new Error(`no connection from the client in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.push(take);
    });
  }

  /** Ends every connection that is still open (a spec's cleanup). */
  dropAll(): void {
    for (const c of this.connections) c.socket.destroy();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    const c = new RawH2Connection(socket, this.options.ackSettings ?? true);
    this.connections.push(c);
    const settings = this.options.settings === undefined ? Buffer.alloc(0) : this.options.settings;
    if (settings !== null) c.write(h2Frame(T.SETTINGS, 0, 0, settings));
    const w = this.waiting.shift();
    w?.(c);
  }
}
