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

/**
 * Each watch in a request of its own: the gateway with auth. etcd's WebSocket gateway does not
 * pass a token on (etcd-io/etcd#19752), so these watches go by POST /v3/watch, one create per
 * body. Several creates in one body are not safe there: the gateway answers the first while
 * it still reads the body, and Go's HTTP/1.1 server then drains the unread rest of the body
 * (golang/go#15527), so the creates behind it are lost; seen under load on etcd 3.4.23.
 */
function requestEach(s: WatchHubSettings): WatchHub {
  const hubs = new Set<WatchHub>();
  return {
    add(w) {
      const hub = sharedRequest(s);
      hubs.add(hub);
      w.onStateChange((state) => {
        if (state === "closed" || state === "failed") hubs.delete(hub);
      });
      hub.add(w);
    },
    wake() {
      for (const hub of hubs) hub.wake();
    },
  };
}

/** grpc-web only: fetch cannot stream a request body, so watches share one request. */
export const batchedWatches: WatchHubFactory = (_protocol, _auth, s) => sharedRequest(s);

/**
 * Any protocol: a shared stream on "grpc" and "gateway", a shared request on "grpc-web" (the
 * bridge and Envoy read a whole body before etcd answers), a request each on the gateway with
 * auth (requestEach says why).
 */
export const protocolWatches: WatchHubFactory = (protocol, auth, s) => {
  if (protocol === "grpc-web") return sharedRequest(s);
  return protocol === "gateway" && auth ? requestEach(s) : sharedStream(s);
};

async function* each<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}
