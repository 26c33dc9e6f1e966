import type { Message } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { ContextError } from "../errors/etcd-error.js";
import { Deadline } from "../internal/deadline.js";
import type { BridgedMethod } from "./etcd-methods.js";
import { failureLine, toStatus } from "./failure.js";
import type { UpstreamCall } from "./upstream.js";

/** What the bridge takes from a browser's request: nothing else reaches etcd. */
export interface Incoming {
  /** Fires when the browser leaves (or the bridge shuts down). */
  signal: AbortSignal;
  /** grpc-timeout or connect-timeout-ms. */
  timeoutMs: number | undefined;
  /** etcd's auth header. */
  token: string | undefined;
}

export interface CallCounts {
  openCalls: number;
  calls: number;
  failedCalls: number;
}

/** One served call: counted while open, logged once if it failed. end() runs on every path. */
export class ServedCall implements UpstreamCall {
  readonly deadline: Deadline;
  readonly token: string | undefined;
  readonly repeatable: boolean;
  endpoint: string | undefined;
  private readonly started = performance.now();

  constructor(
    private readonly method: BridgedMethod,
    private readonly incoming: Incoming,
    input: Message,
    private readonly counts: CallCounts,
    private readonly log: (line: string) => void,
  ) {
    const t = incoming.timeoutMs;
    this.deadline = new Deadline(incoming.signal, t === undefined ? undefined : Math.max(1, t));
    this.token = incoming.token;
    this.repeatable = method.repeatable(input);
    counts.openCalls++;
    counts.calls++;
  }

  /** The status for the browser; logs the failure unless the browser left. */
  fail(e: unknown): ConnectError {
    // Once the call's signal fired, upstream errors are only its echo.
    const cause = this.deadline.error ?? e;
    const status = toStatus(cause, this.incoming);
    const browserLeft = cause instanceof ContextError && status.code === Code.Canceled;
    if (!browserLeft) {
      this.counts.failedCalls++;
      this.log(
        failureLine(
          this.method.path,
          status,
          performance.now() - this.started,
          cause,
          this.endpoint,
        ),
      );
    }
    return status;
  }

  end(): void {
    this.counts.openCalls--;
    this.deadline.dispose();
  }
}
