import { Code, ConnectError } from "@connectrpc/connect";
import { flagOf } from "./limits.js";

/**
 * Watches open at once per browser connection (an HTTP/1.1 socket or an HTTP/2 session). A
 * Watch request counts its creates, at least one: a body of 500 creates holds 500 etcd
 * watchers, however few streams carry them.
 */
export class WatchCap {
  private readonly open = new WeakMap<object, number>();

  constructor(private readonly max: number) {}

  /** Takes n watches for connection; the release, or the refusal naming the flag. */
  take(connection: object, creates: number): (() => void) | ConnectError {
    const n = Math.max(1, creates);
    const now = this.open.get(connection) ?? 0;
    if (now + n > this.max) {
      return new ConnectError(
        `etcd-web-bridge: this connection would hold ${now + n} watches; the limit is ${this.max} (${flagOf("maxWatchesPerConnection")})`,
        Code.ResourceExhausted,
      );
    }
    this.open.set(connection, now + n);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open.set(connection, (this.open.get(connection) ?? n) - n);
    };
  }
}
