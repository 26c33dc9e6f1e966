import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import type { TransportFactory } from "./protocol.js";

/**
 * HTTP/2 gRPC straight to etcd (connect-node): one HTTP/2 session per endpoint, reused by
 * every call and closed by close(). Idle connections are pinged every 30 s; etcd rejects
 * pings more often than every 5 s.
 */
export const grpcTransport: TransportFactory = ({ baseUrl }) => {
  const sessionManager = new Http2SessionManager(baseUrl, {
    pingIntervalMs: 30_000,
    pingTimeoutMs: 10_000,
    idleConnectionTimeoutMs: 5 * 60_000,
  });
  return {
    transport: createGrpcTransport({ baseUrl, sessionManager }),
    close: () => sessionManager.abort(),
  };
};
