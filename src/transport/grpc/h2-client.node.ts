// The HTTP/2 connection to one endpoint: one session in use, a new one when it fails or the
// server sends GOAWAY.
import { sessionError } from "./h2-errors.node.js";
import { defaultSessionOptions, H2Session, type SessionOptions } from "./h2-session.node.js";
import { deadStream, type H2Stream, type StreamHandler } from "./h2-stream.node.js";

/** The sessions to one endpoint. close() ends them all. */
export class H2Client {
  private current: H2Session | undefined;
  private readonly url: URL;
  private closed = false;

  constructor(
    baseUrl: string,
    private readonly options: SessionOptions = defaultSessionOptions,
  ) {
    this.url = new URL(baseUrl);
    if (this.url.protocol !== "http:" && this.url.protocol !== "https:") {
      throw new Error(`h2: unsupported URL ${baseUrl}`);
    }
  }

  get authority(): string {
    return this.url.host;
  }

  get scheme(): "http" | "https" {
    return this.url.protocol === "https:" ? "https" : "http";
  }

  open(headerBlock: Buffer, handler: StreamHandler): H2Stream {
    if (this.closed) {
      return deadStream(
        headerBlock,
        handler,
        sessionError("the client is closed", "ERR_HTTP2_SESSION_ERROR"),
      );
    }
    if (!this.current?.usable) {
      this.current = new H2Session(this.url, this.options, (s) => {
        if (this.current === s) this.current = undefined;
      });
    }
    return this.current.open(headerBlock, handler);
  }

  close(): void {
    this.closed = true;
    this.current?.destroy(sessionError("the client was closed", "ERR_HTTP2_SESSION_ERROR"));
    this.current = undefined;
  }
}
