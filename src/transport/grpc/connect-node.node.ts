import type { ConnectionOptions } from "node:tls";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { fromConnect } from "../connect-transport.js";
import type { EndpointTransport } from "../protocol.js";

/**
 * HTTP/2 gRPC through connect-node and node:http2 (the `grpcClient: "connect-node"` option):
 * one HTTP/2 session per endpoint, reused by every call and closed by close(). Idle
 * connections are pinged every 30 s; etcd rejects pings more often than every 5 s. About ten
 * times the default client's CPU per call (bench/RESULTS.md), for those who want node's HTTP/2.
 */
export function connectNodeGrpc(
  baseUrl: string,
  tls: ConnectionOptions | undefined,
  maxResponseBytes?: number | undefined,
): EndpointTransport {
  const sessionManager = new Http2SessionManager(
    baseUrl,
    { pingIntervalMs: 30_000, pingTimeoutMs: 10_000, idleConnectionTimeoutMs: 5 * 60_000 },
    tls,
  );
  return {
    transport: fromConnect(
      createGrpcTransport({
        baseUrl,
        sessionManager,
        ...(maxResponseBytes !== undefined ? { readMaxBytes: maxResponseBytes } : {}),
      }),
    ),
    close: () => sessionManager.abort(),
  };
}
