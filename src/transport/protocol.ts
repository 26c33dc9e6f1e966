import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { MethodRef } from "../wire/service-ref.js";

/** The wire protocols the v3 client speaks. */
export type Protocol = "grpc-web" | "gateway" | "grpc";

export const protocols: readonly Protocol[] = ["grpc-web", "gateway", "grpc"];

/** What a protocol needs to reach one endpoint. */
export interface TransportSettings {
  /** The endpoint's URL: an etcd client URL, or a gRPC-Web proxy's for "grpc-web". */
  baseUrl: string;
  /** fetch for "grpc-web" and "gateway"; injectable for tests and custom runtimes. */
  fetch?: typeof globalThis.fetch | undefined;
  /** The WebSocket constructor for "gateway" streams. */
  webSocket?: WebSocketConstructor | undefined;
  /** Which HTTP/2 client carries "grpc" (Node only). Default "etcd-web". */
  grpcClient?: GrpcClient | undefined;
  /** TLS for https: endpoints over "grpc" (Node only). */
  tls?: TlsOptions | undefined;
  /** "grpc" only: the largest response message taken; a larger one fails its call. */
  maxResponseBytes?: number | undefined;
}

/**
 * TLS for "grpc" to https: endpoints, as clientv3's Config.TLS: whom to trust and the client
 * certificate etcd's --client-cert-auth asks for. PEM text or bytes; node:tls options.
 */
export interface TlsOptions {
  /** CA certificates to trust instead of the system's (etcd's --trusted-ca-file). */
  ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined;
  /** The client certificate chain (PEM). */
  cert?: string | Uint8Array | undefined;
  /** The client certificate's private key (PEM). */
  key?: string | Uint8Array | undefined;
  /** The name to check the server's certificate against, when the URL's host is not it. */
  servername?: string | undefined;
  /** Check the server's certificate; default true. */
  rejectUnauthorized?: boolean | undefined;
}

/** The HTTP/2 clients that can carry "grpc": etcd-web's own, or connect-node's (node:http2). */
export type GrpcClient = "etcd-web" | "connect-node";

export const grpcClients: readonly GrpcClient[] = ["etcd-web", "connect-node"];

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocket;

/** What one call carries besides its messages. */
export interface TransportCall {
  signal: AbortSignal;
  /** The deadline to send etcd (grpc-timeout); the signal enforces it here. */
  timeoutMs?: number | undefined;
  /** Request headers: the auth token. */
  headers?: HeadersInit | undefined;
}

/**
 * How the v3 client calls etcd over one protocol. Methods are MethodRefs from the generated
 * tables (src/gen/**\/*_ref.ts); failures are ConnectErrors, which v3/classify.ts turns into
 * etcd-web's errors.
 */
export interface EtcdTransport {
  unary<I extends DescMessage, O extends DescMessage>(
    method: MethodRef<I, O>,
    call: TransportCall,
    input: MessageInitShape<I>,
  ): Promise<MessageShape<O>>;
  /** A streaming call: resolves once the response has begun, with its messages. */
  stream<I extends DescMessage, O extends DescMessage>(
    method: MethodRef<I, O>,
    call: TransportCall,
    input: AsyncIterable<MessageInitShape<I>>,
  ): Promise<AsyncIterable<MessageShape<O>>>;
}

/** A protocol's connection to one endpoint. close() ends its sockets, if it keeps any. */
export interface EndpointTransport {
  transport: EtcdTransport;
  close(): void;
}

export type TransportFactory = (settings: TransportSettings) => EndpointTransport;

/** What one runtime (browser or Node), or one single-protocol entry, can speak. */
export interface Runtime {
  /** For errors: "browser", "node", or the entry ("etcd-web/grpc-web"). */
  readonly name: string;
  readonly defaultProtocol: Protocol;
  readonly transports: Partial<Record<Protocol, TransportFactory>>;
  readonly webSocket?: WebSocketConstructor | undefined;
}
