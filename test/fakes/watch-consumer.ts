import type { Watcher, WatchResponse } from "../../src/v3/watcher.js";

/**
 * Reads a watcher as an app's for-await loop would, from now on: what it delivered, and the
 * error that ended it, if any.
 */
export function consume(w: Watcher): { seen: WatchResponse[]; errors: unknown[] } {
  const seen: WatchResponse[] = [];
  const errors: unknown[] = [];
  void (async () => {
    try {
      for await (const r of w) seen.push(r);
    } catch (e) {
      errors.push(e);
    }
  })();
  return { seen, errors };
}
