import { EtcdError } from "../errors/etcd-error.js";

/** etcd's v2 error codes (etcd's v2error package), by name. */
export const V2ErrorCode = {
  KeyNotFound: 100,
  /** A prevValue or prevIndex comparison failed ("Compare failed"). */
  TestFailed: 101,
  NotFile: 102,
  NotDir: 104,
  NodeExist: 105,
  RootROnly: 107,
  DirNotEmpty: 108,
  Unauthorized: 110,
  PrevValueRequired: 201,
  TTLNaN: 202,
  IndexNaN: 203,
  InvalidField: 209,
  InvalidForm: 210,
  RefreshValue: 211,
  RefreshTTLRequired: 212,
  RaftInternal: 300,
  LeaderElect: 301,
  WatcherCleared: 400,
  /** The watched index is older than the 1000 events etcd keeps. */
  EventIndexCleared: 401,
} as const;

export type V2ErrorCodeName = keyof typeof V2ErrorCode;

const names = new Map<number, V2ErrorCodeName>(
  Object.entries(V2ErrorCode).map(([name, code]) => [code, name as V2ErrorCodeName]),
);

/**
 * An error answered by an etcd v2 server: its JSON `{errorCode, message, cause, index}`.
 * `message` is etcd's message as sent; etcd's `cause` is `errorCause`, since Error.cause is
 * taken.
 */
export class V2Error extends EtcdError {
  readonly kind = "v2";
  override readonly name = "V2Error";
  readonly errorCode: number;
  /** etcd's "cause": usually the key, or the failed comparison ("[old != new]"). */
  readonly errorCause: string | undefined;
  /** The etcd index when the error happened. */
  readonly index: number;
  /** The HTTP status it came with. */
  readonly status: number | undefined;

  constructor(
    errorCode: number,
    message: string,
    options: {
      errorCause?: string | undefined;
      index?: number;
      status?: number;
      endpoint?: string | undefined;
    } = {},
  ) {
    super(message, { endpoint: options.endpoint });
    this.errorCode = errorCode;
    this.errorCause = options.errorCause;
    this.index = options.index ?? 0;
    this.status = options.status;
  }

  /** The code's name ("KeyNotFound"), or undefined for a code this client does not know. */
  get codeName(): V2ErrorCodeName | undefined {
    return names.get(this.errorCode);
  }

  override toString(): string {
    const cause = this.errorCause ? ` (${this.errorCause})` : "";
    return `${this.name}: ${this.errorCode}: ${this.message}${cause} [${this.index}]`;
  }
}

/** True when e is a V2Error, and has the given code when one is given. */
export function isV2Error(e: unknown, code?: number): e is V2Error {
  return e instanceof V2Error && (code === undefined || e.errorCode === code);
}
