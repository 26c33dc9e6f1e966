import { ConnectError } from "@connectrpc/connect";
import { etcdReason, GrpcError } from "../errors/grpc-error.js";
import type { Connection } from "./connection.js";

export interface Credentials {
  username: string;
  password: string;
}

/**
 * A user's token: fetched with Authenticate on first use, sent with every call (as `token`
 * metadata; the gateway transport sends it as Authorization), and fetched again when etcd
 * says it is no longer valid. Concurrent calls share one Authenticate. The token is never
 * logged or put in an error message.
 */
export class AuthSession {
  private current: Promise<string> | undefined;
  /** The current token once Authenticate answered. */
  private arrived: string | undefined;

  constructor(private readonly credentials: Credentials) {}

  token(c: Connection, signal: AbortSignal): Promise<string> {
    if (!this.current) {
      const p = c.auth
        .authenticate(
          { name: this.credentials.username, password: this.credentials.password },
          { signal },
        )
        .then((res) => {
          if (this.current === p) this.arrived = res.token;
          return res.token;
        });
      this.current = p;
      this.arrived = undefined;
      // A failed Authenticate must not stick: the next call tries again.
      p.catch(() => {
        if (this.current === p) this.current = undefined;
      });
    }
    return this.current;
  }

  /**
   * Drops `token` if it is still the current one, so the next call authenticates again: at
   * once when the current token has arrived, so that a call made right after gets a new one.
   */
  invalidate(token: string): void {
    const current = this.current;
    if (this.arrived === token) {
      this.current = undefined;
      this.arrived = undefined;
      return;
    }
    void current?.then((t) => {
      if (t === token && this.current === current) this.current = undefined;
    });
  }

  /** Runs call with a token; once more with a fresh token if etcd says it went stale. */
  async run<T>(
    c: Connection,
    signal: AbortSignal,
    call: (token: string) => Promise<T>,
  ): Promise<T> {
    const token = await this.token(c, signal);
    try {
      return await call(token);
    } catch (e) {
      if (!isInvalidToken(e)) throw e;
      if (this.current && (await this.current.catch(() => "")) === token) this.current = undefined;
      return call(await this.token(c, signal));
    }
  }
}

function isInvalidToken(e: unknown): boolean {
  if (e instanceof GrpcError) return e.reason === "invalid-auth-token";
  if (e instanceof ConnectError) return etcdReason(e.rawMessage) === "invalid-auth-token";
  return false;
}
