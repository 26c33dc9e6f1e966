import {
  create,
  type DescMessage,
  type DescMethod,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type Transport } from "@connectrpc/connect";
import { parseEndpoint } from "../../endpoints/endpoint-url.js";
import { CallSignal } from "../call-signal.js";
import { fetchServerStream } from "./fetch-server-stream.js";
import { fetchUnary } from "./fetch-unary.js";
import type { FetchFn, GatewayHttp } from "./http-post.js";
import { gatewayPath } from "./paths.js";
import { type WebSocketConstructor, webSocketStream } from "./websocket-stream.js";

export interface GatewayTransportOptions {
  /** An etcd client URL, e.g. http://127.0.0.1:2379. A path prefix (a proxy's mount) is kept. */
  baseUrl: string;
  /** Defaults to globalThis.fetch. */
  fetch?: FetchFn | undefined;
  /**
   * For Watch and LeaseKeepAlive. Defaults to globalThis.WebSocket; Node 20 has none, so the
   * Node entry passes the `ws` package's.
   */
  webSocket?: WebSocketConstructor | undefined;
  /** For calls without a timeoutMs of their own, streams included. 0 or none: no limit. */
  defaultTimeoutMs?: number | undefined;
}

/**
 * A Connect Transport over etcd's own v3 JSON gateway: unary calls and server streams are POSTs
 * of JSON over fetch, bidi streams (Watch, LeaseKeepAlive) go over the gateway's WebSocket. The
 * generated clients run on it unchanged. A "token" header goes to etcd as Authorization; no
 * other header is sent.
 *
 * Errors: etcd's statuses are ConnectErrors with etcd's code and message, as on the grpc
 * protocols; an answer that is not etcd's gateway is a ResponseError; an unreachable server is
 * Unavailable; the call's signal gives Canceled, its timeout DeadlineExceeded.
 */
export function createGatewayTransport(options: GatewayTransportOptions): Transport {
  const endpoint = parseEndpoint(options.baseUrl, "baseUrl");
  const http: GatewayHttp = {
    endpoint,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
  };
  // As in connect's own transports, a call's timeoutMs of 0 or less means no limit.
  const callSignal = (signal: AbortSignal | undefined, timeoutMs: number | undefined) => {
    const ms = timeoutMs ?? options.defaultTimeoutMs;
    return new CallSignal(signal, ms !== undefined && ms > 0 ? ms : undefined);
  };
  const request = (method: DescMethod, header: HeadersInit | undefined) => ({
    service: method.parent,
    requestMethod: "POST",
    url: endpoint + routeOf(method),
    header: new Headers(header),
  });

  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      const req = request(method, header);
      const call = callSignal(signal, timeoutMs);
      const res = await call.run(() =>
        fetchUnary(http, {
          ...req,
          stream: false,
          method,
          contextValues: contextValues ?? createContextValues(),
          signal: call.signal,
          message: create(method.input, input),
        }),
      );
      call.end();
      return res;
    },

    async stream(method, signal, timeoutMs, header, input, contextValues) {
      const req = {
        ...request(method, header),
        stream: true as const,
        method,
        contextValues: contextValues ?? createContextValues(),
        message: normalized(method.input, input),
      };
      const call = callSignal(signal, timeoutMs);
      const res = await call.run(() =>
        method.methodKind === "server_streaming"
          ? fetchServerStream(http, { ...req, signal: call.signal })
          : webSocketStream(endpoint, options.webSocket ?? globalThis.WebSocket, {
              ...req,
              signal: call.signal,
            }),
      );
      return { ...res, message: call.stream(res.message) };
    },
  };
}

/** The method's gateway path; a method without one fails before anything is sent. */
function routeOf(method: DescMethod): string {
  const path = gatewayPath(method);
  if (path === undefined) {
    throw new ConnectError(
      `${method.parent.typeName}.${method.name} has no path on etcd's JSON gateway`,
      Code.Unimplemented,
    );
  }
  return path;
}

async function* normalized<I extends DescMessage>(
  schema: I,
  input: AsyncIterable<MessageInitShape<I>>,
) {
  for await (const message of input) yield create(schema, message);
}
