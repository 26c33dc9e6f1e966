import { setMaxListeners } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import type {
  Http2ServerRequest,
  Http2ServerResponse,
  SecureClientSessionOptions,
} from "node:http2";
import type { DescMethodServerStreaming, DescMethodUnary, Message } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { type EndpointState, parseEndpoints, type RetryOptions } from "../endpoints/index.js";
import { ServedCall } from "./call.js";
import { OriginPolicy } from "./cors.js";
import { type BridgedMethod, bridgedMethods } from "./etcd-methods.js";
import { oneLine } from "./failure.js";
import { type RequestLimits, requestHeadroomBytes, resolveLimits } from "./limits.js";
import {
  type PassThroughEnv,
  servePassThrough,
  serveUnaryPassThrough,
  takesPassThrough,
  type UnaryPassThroughEnv,
} from "./pass-through.js";
import { Upstream, type UpstreamStream } from "./upstream.js";

export interface BridgeOptions extends RequestLimits {
  /** etcd client URLs; calls fail over between them as the client does. */
  etcd: readonly string[];
  /** Page origins allowed to call, e.g. "http://localhost:5173"; "*" only when given. */
  allowOrigin?: readonly string[] | undefined;
  /** Also allow pages from the same host as the request (the Vite plugin). */
  allowSameOrigin?: boolean | undefined;
  /** Serve the methods under this path, e.g. "/etcd" for /etcd/etcdserverpb.KV/Range. */
  pathPrefix?: string | undefined;
  /** One line per failed call; default console.error. Never gets headers, keys or values. */
  log?: ((line: string) => void) | undefined;
  /** TLS for https:// etcd URLs (ca, cert, key). */
  etcdTls?: SecureClientSessionOptions | undefined;
  retry?: RetryOptions | undefined;
  /** Limit on one attempt at one member before a repeatable call moves on; default 5 s, 0 none. */
  dialTimeoutMs?: number | undefined;
  /** Probe each member's Status every 5 s, as the client does; default true. */
  health?: boolean | undefined;
}

export interface BridgeStats {
  /** Calls being served now. */
  openCalls: number;
  /** Streams open to etcd now (Watch, LeaseKeepAlive, Snapshot). */
  openUpstreamStreams: number;
  /** Calls served since start, and how many of them failed (each logged once). */
  calls: number;
  failedCalls: number;
  endpoints: readonly EndpointState[];
}

export type NodeRequest = IncomingMessage | Http2ServerRequest;
export type NodeResponse = ServerResponse | Http2ServerResponse;

export interface Bridge {
  /** A request listener for node:http and node:http2 servers, CORS and 404 included. */
  handle(req: NodeRequest, res: NodeResponse): void;
  stats(): BridgeStats;
  /** Ends open calls and the sessions to etcd. */
  close(): void;
}

/**
 * etcd-web-bridge: serves etcd's KV, Watch, Lease, Cluster, Maintenance and Auth services over
 * gRPC-Web and the Connect protocol, and forwards each call to etcd over HTTP/2 gRPC.
 */
export function createBridge(options: BridgeOptions): Bridge {
  const limits = resolveLimits(options);
  const upstream = new Upstream({
    endpoints: parseEndpoints(options.etcd, "etcd"),
    tls: options.etcdTls,
    retry: options.retry,
    dialTimeoutMs: options.dialTimeoutMs,
    health: options.health,
  });
  const origins = new OriginPolicy(options.allowOrigin ?? [], options.allowSameOrigin);
  const prefix = (options.pathPrefix ?? "").replace(/\/+$/, "");
  const log = options.log ?? ((line: string) => console.error(line));
  const shutdown = new AbortController();
  // Every open call listens to it.
  setMaxListeners(0, shutdown.signal);
  const counts = { openCalls: 0, calls: 0, failedCalls: 0 };
  const methods = bridgedMethods();
  const paths = new Set(methods.map((m) => prefix + m.path));
  const passThrough = new Map(
    methods.filter((m) => m.passThrough).map((m) => [prefix + m.path, m]),
  );

  /** A call through Connect's router: its signal, deadline and token. */
  function begin(m: BridgedMethod, ctx: HandlerContext, input: Message): ServedCall {
    const incoming = {
      signal: ctx.signal,
      timeoutMs: ctx.timeoutMs(),
      token: ctx.requestHeader.get("token") ?? undefined,
    };
    return new ServedCall(m, incoming, input, counts, log);
  }

  function unary(m: BridgedMethod) {
    return async (input: Message, ctx: HandlerContext): Promise<Message> => {
      const call = begin(m, ctx, input);
      try {
        const res = await upstream.unary(m.upstream, input, call);
        call.endpoint = res.endpoint;
        return res.message;
      } catch (e) {
        throw call.fail(e);
      } finally {
        call.end();
      }
    };
  }

  function streaming(m: BridgedMethod) {
    return async function* (input: Message, ctx: HandlerContext): AsyncGenerator<Message> {
      const call = begin(m, ctx, input);
      let stream: UpstreamStream | undefined;
      try {
        stream = await upstream.stream(m.upstream, input, call);
        call.endpoint = stream.endpoint;
        for (let r = stream.first; !r.done; r = await stream.rest.next()) yield r.value;
      } catch (e) {
        throw call.fail(e);
      } finally {
        // The browser left, the deadline passed, or etcd ended: the upstream stream ends now.
        stream?.close();
        call.end();
      }
    };
  }

  const passThroughEnv: PassThroughEnv & UnaryPassThroughEnv = {
    raw: (m, body, call) => upstream.raw(m.upstream, body, call),
    unary: (m, body, call) => upstream.rawUnary(m.upstream, body, call),
    begin: (m, incoming, input) => new ServedCall(m, incoming, input, counts, log),
    shutdown: shutdown.signal,
    limits,
  };

  const routes = (router: ConnectRouter) => {
    for (const m of methods) {
      if (m.served.methodKind === "unary") {
        router.rpc(m.served as DescMethodUnary, unary(m));
      } else {
        router.rpc(m.served as DescMethodServerStreaming, streaming(m));
      }
    }
  };

  const adapter = connectNodeAdapter({
    routes,
    grpc: false,
    grpcWeb: true,
    connect: true,
    requestPathPrefix: prefix,
    shutdownSignal: shutdown.signal,
    // Connect checks a message's length prefix (and content-length) before reading it.
    readMaxBytes: limits.maxRequestBytes + requestHeadroomBytes,
  });

  return {
    handle(req, res) {
      const path = (req.url ?? "").split("?", 1)[0] ?? "";
      if (!paths.has(path)) {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("etcd-web-bridge: not an etcd method\n");
        return;
      }
      const origin = req.headers.origin;
      const preflight = req.method === "OPTIONS";
      if (origin !== undefined) {
        const host = "authority" in req ? req.authority : req.headers.host;
        if (!origins.allows(origin, host)) {
          // Logged: a page that is refused is most often a missing --allow-origin.
          log(`etcd-web-bridge: ${path} refused: origin ${oneLine(origin)} is not allowed`);
          res.writeHead(403, { "content-type": "text/plain" });
          res.end("etcd-web-bridge: origin not allowed\n");
          return;
        }
        for (const [k, v] of Object.entries(origins.responseHeaders(origin, preflight))) {
          res.setHeader(k, v);
        }
      }
      if (preflight) {
        res.writeHead(204);
        res.end();
        return;
      }
      const fast = passThrough.get(path);
      if (fast && takesPassThrough(req.method, req.headers)) {
        if (fast.upstream.methodKind === "unary") {
          void serveUnaryPassThrough(fast, req, res, passThroughEnv);
        } else {
          void servePassThrough(fast, req, res, passThroughEnv);
        }
        return;
      }
      adapter(req, res);
    },
    stats: () => ({
      ...counts,
      openUpstreamStreams: upstream.openStreams,
      endpoints: upstream.pool.list(),
    }),
    close() {
      shutdown.abort();
      upstream.close();
    },
  };
}
