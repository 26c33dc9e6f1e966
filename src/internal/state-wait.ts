import { ContextError } from "../errors/etcd-error.js";
import type { CallOptions } from "./call-options.js";
import type { Clock } from "./clock.js";
import { Deadline } from "./deadline.js";

/** Something with a state that tells when it changes: a Watcher, a LiveView. */
export interface StateSource<S> {
  readonly state: S;
  onStateChange(listener: (state: S) => void): () => void;
}

/**
 * Resolves once `outcome(state)` says the wait is over with no error (checked now, then at
 * every change), rejects when it gives an error, or with a ContextError when options.signal
 * fires or options.timeoutMs passes. `outcome` returns undefined to go on waiting. Listener
 * and timer are gone on every path.
 */
export function waitForState<S>(
  source: StateSource<S>,
  outcome: (state: S) => { error?: unknown } | undefined,
  options: CallOptions,
  clock?: Clock,
): Promise<void> {
  const now = outcome(source.state);
  if (now) return now.error === undefined ? Promise.resolve() : Promise.reject(now.error);
  return new Promise((resolve, reject) => {
    const deadline = new Deadline(options.signal, options.timeoutMs, clock);
    let off = () => {};
    let stop = () => {};
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      off();
      stop();
      deadline.dispose();
      if (error === undefined) resolve();
      else reject(error);
    };
    off = source.onStateChange((s) => {
      const o = outcome(s);
      if (o) settle(o.error);
    });
    stop = deadline.onDone(settle);
  });
}

/**
 * For a watch or a live view: resolves at state "watching", rejects with its failure at
 * "failed" and with a ContextError "canceled" (saying `closedMessage`) at "closed".
 */
export function waitUntilWatching<S extends string>(
  source: StateSource<S>,
  failure: () => unknown,
  closedMessage: string,
  options: CallOptions,
  clock?: Clock,
): Promise<void> {
  return waitForState(
    source,
    (s) => {
      if (s === "watching") return {};
      if (s === "failed") return { error: failure() };
      if (s === "closed")
        return { error: new ContextError("canceled", { message: closedMessage }) };
      return undefined;
    },
    options,
    clock,
  );
}
