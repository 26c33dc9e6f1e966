// One error hierarchy for the whole client, v2 and v3, after the kinds of error the Go SDK
// returns: context, cluster and response errors, plus the server's own errors.
//
//   EtcdError
//   ├── ContextError       the caller's signal fired, or timeoutMs passed
//   ├── ClusterError       every endpoint failed; lists each endpoint's error
//   ├── ResponseError      a response that is not etcd's
//   ├── InvalidInputError  bad input, refused before anything was sent
//   ├── GrpcError          a v3 status with etcd's reason (errors/grpc-error.ts)
//   ├── V2Error            a v2 server error with its code (v2/v2-error.ts)
//   └── ConcurrencyError   a lock, election or STM recipe gave up (recipes/concurrency-error.ts)

export type EtcdErrorKind =
  | "context"
  | "cluster"
  | "response"
  | "invalid-input"
  | "grpc"
  | "v2"
  | "concurrency";

export abstract class EtcdError extends Error {
  /**
   * The class's name, written out in each class: `new.target.name` would be whatever a
   * minifier renamed the class to ("Sa" instead of "ClusterError").
   */
  abstract override readonly name: string;
  abstract readonly kind: EtcdErrorKind;
  /** The endpoint the error came from, when one did. */
  readonly endpoint: string | undefined;

  constructor(message: string, options: { cause?: unknown; endpoint?: string | undefined } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.endpoint = options.endpoint;
  }
}

export type ContextReason = "canceled" | "deadline-exceeded";

/** The call's AbortSignal fired (canceled) or its timeoutMs passed (deadline-exceeded). */
export class ContextError extends EtcdError {
  readonly kind = "context";
  override readonly name = "ContextError";

  constructor(
    readonly reason: ContextReason,
    options: { cause?: unknown; endpoint?: string; message?: string } = {},
  ) {
    super(
      options.message ??
        (reason === "canceled" ? "the call was canceled" : "the call's deadline passed"),
      options,
    );
  }
}

export interface EndpointFailure {
  endpoint: string;
  error: Error;
}

/**
 * Every endpoint that was tried failed. `errors` holds each one's own error, in order tried.
 * `maybeApplied` is true when a write may have reached a server before its endpoint failed,
 * which is why it was not tried on another: read before writing it again.
 */
export class ClusterError extends EtcdError {
  readonly kind = "cluster";
  override readonly name = "ClusterError";
  readonly maybeApplied: boolean;

  constructor(
    readonly errors: readonly EndpointFailure[],
    options: { maybeApplied?: boolean } = {},
  ) {
    super(
      `${options.maybeApplied ? "the endpoint failed after the request was sent, so it was not retried (it may have been applied)" : `all ${errors.length} attempt(s) failed`}: ${errors
        .map((f) => `${f.endpoint}: ${f.error.message}`)
        .join("; ")}`,
      { cause: errors[errors.length - 1]?.error },
    );
    this.maybeApplied = options.maybeApplied ?? false;
  }
}

/** A response that is not a valid etcd response: wrong content type, undecodable body, missing header. */
export class ResponseError extends EtcdError {
  readonly kind = "response";
  override readonly name = "ResponseError";

  constructor(
    message: string,
    options: { cause?: unknown; endpoint?: string; status?: number; contentType?: string } = {},
  ) {
    super(message, options);
    this.status = options.status;
    this.contentType = options.contentType;
  }

  /** HTTP status, when the response had one. */
  readonly status: number | undefined;
  readonly contentType: string | undefined;
}

/** The caller's input cannot be sent: an empty key, a value over the size limit, a bad URL. */
export class InvalidInputError extends EtcdError {
  readonly kind = "invalid-input";
  override readonly name = "InvalidInputError";

  constructor(
    message: string,
    /** Which option or argument was wrong. */
    readonly field: string,
  ) {
    super(message);
  }
}

export function isEtcdError(e: unknown): e is EtcdError {
  return e instanceof EtcdError;
}
