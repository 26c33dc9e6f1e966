import { WatchBatch } from "./watch-batch.js";
import type { WatchHub, WatchHubFactory, WatchHubSettings } from "./watch-hub.js";
import { WatchStream } from "./watch-stream.js";

/** Every watch on one bidi stream (one WebSocket on the gateway). */
function sharedStream(s: WatchHubSettings): WatchHub {
  return new WatchStream({
    clock: s.clock,
    backoff: s.backoff,
    classify: s.classify,
    open: (requests, signal) => s.open(true, requests, signal),
  });
}

/** Every watch in one server-streaming request, issued again as watches come and go. */
function sharedRequest(s: WatchHubSettings): WatchHub {
  return new WatchBatch({
    clock: s.clock,
    backoff: s.backoff,
    confirmTimeoutMs: s.confirmTimeoutMs,
    authRefused: s.authRefused,
    classify: s.classify,
    open: (requests, signal) => s.open(false, each(requests), signal),
  });
}

/** grpc-web only: fetch cannot stream a request body, so watches share one request. */
export const batchedWatches: WatchHubFactory = (_protocol, _auth, s) => sharedRequest(s);

/**
 * Any protocol: a shared stream on "grpc" and "gateway", a shared request on "grpc-web". etcd's
 * WebSocket gateway does not pass a token on (etcd-io/etcd#19752), so with auth gateway
 * watches go by POST, batched as on grpc-web.
 */
export const protocolWatches: WatchHubFactory = (protocol, auth, s) =>
  protocol === "grpc-web" || (protocol === "gateway" && auth) ? sharedRequest(s) : sharedStream(s);

async function* each<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}
