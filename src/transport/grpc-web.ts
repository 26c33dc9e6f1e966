import { ResponseError } from "../errors/etcd-error.js";
import { fetchFailure } from "./fetch-failure.js";
import { createGrpcWebTransport } from "./grpc-web/grpc-web-transport.js";
import type { TransportFactory } from "./protocol.js";

/**
 * Binary gRPC-Web through Envoy or etcd-web-bridge, over fetch (grpc-web/). fetch is
 * wrapped so that a response that is not gRPC-Web at all, such as a proxy's HTML error
 * page, fails as a ResponseError that names the status and content type, and a fetch that
 * throws is Unavailable, as on the other protocols (fetchFailure).
 */
export const grpcWebTransport: TransportFactory = ({ baseUrl, fetch }) => ({
  transport: createGrpcWebTransport({
    baseUrl,
    fetch: checkedFetch(fetch ?? globalThis.fetch.bind(globalThis), baseUrl),
  }),
  // fetch keeps no connection of its own to close.
  close: () => {},
});

function checkedFetch(inner: typeof globalThis.fetch, endpoint: string): typeof globalThis.fetch {
  return async (input, init) => {
    let res: Response;
    try {
      res = await inner(input, init);
    } catch (e) {
      if (init?.signal?.aborted) throw e;
      throw fetchFailure(String(input instanceof Request ? input.url : input), e);
    }
    const contentType = res.headers.get("content-type") ?? "";
    if (!contentType.startsWith("application/grpc-web")) {
      await res.body?.cancel().catch(() => {});
      throw new ResponseError(
        `${endpoint} answered HTTP ${res.status} with content type "${contentType || "none"}", not gRPC-Web: is it a gRPC-Web proxy (Envoy or etcd-web-bridge)?`,
        { endpoint, status: res.status, contentType },
      );
    }
    const signal = init?.signal;
    if (!signal || !res.body) return res;
    return cancelledOnAbort(res, res.body, signal);
  };
}

/**
 * The response, with a body whose source is cancelled when the call's signal aborts. Node's
 * fetch (undici 6) does not always end the connection when a fetch is aborted while its body
 * is being read behind backpressure, as connect-web reads it: after a watch with a few
 * thousand events, the socket (and the proxy's stream to etcd) stayed open. Cancelling the
 * reader does end it; browsers end it either way.
 */
function cancelledOnAbort(
  res: Response,
  source: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): Response {
  const reader = source.getReader();
  const cancel = () => {
    reader.cancel(signal.reason).catch(() => {});
  };
  if (signal.aborted) cancel();
  else signal.addEventListener("abort", cancel, { once: true });
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const r = await reader.read();
        if (r.done) {
          signal.removeEventListener("abort", cancel);
          controller.close();
        } else controller.enqueue(r.value);
      } catch (e) {
        signal.removeEventListener("abort", cancel);
        controller.error(e);
      }
    },
    cancel(reason) {
      signal.removeEventListener("abort", cancel);
      return reader.cancel(reason);
    },
  });
  return new Response(body, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
  });
}
