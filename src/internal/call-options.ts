/** What every call accepts: a signal to cancel it and a time limit. */
export interface CallOptions {
  /** Cancels the call; it then fails with a ContextError of reason "canceled". */
  signal?: AbortSignal | undefined;
  /**
   * Time limit for the whole call, retries included, in milliseconds. It then fails with a
   * ContextError of reason "deadline-exceeded". 0 means no limit. Defaults to the client's.
   */
  timeoutMs?: number | undefined;
}
