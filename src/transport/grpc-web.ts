import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { ResponseError } from "../errors/etcd-error.js";
import type { TransportFactory } from "./protocol.js";

/**
 * Binary gRPC-Web through Envoy or etcd-web-bridge, over fetch (connect-web). fetch is
 * wrapped so that a response that is not gRPC-Web at all, such as a proxy's HTML error
 * page, fails as a ResponseError that names the status and content type.
 */
export const grpcWebTransport: TransportFactory = ({ baseUrl, fetch }) => ({
  transport: createGrpcWebTransport({
    baseUrl,
    useBinaryFormat: true,
    fetch: checkedFetch(fetch ?? globalThis.fetch.bind(globalThis), baseUrl),
  }),
  // fetch keeps no connection of its own to close.
  close: () => {},
});

function checkedFetch(inner: typeof globalThis.fetch, endpoint: string): typeof globalThis.fetch {
  return async (input, init) => {
    const res = await inner(input, init);
    const contentType = res.headers.get("content-type") ?? "";
    if (!contentType.startsWith("application/grpc-web")) {
      await res.body?.cancel().catch(() => {});
      throw new ResponseError(
        `${endpoint} answered HTTP ${res.status} with content type "${contentType || "none"}", not gRPC-Web: is it a gRPC-Web proxy (Envoy or etcd-web-bridge)?`,
        { endpoint, status: res.status, contentType },
      );
    }
    return res;
  };
}
