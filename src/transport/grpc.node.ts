import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { MessageCodec } from "../wire/message-codec.js";
import type { MethodRef } from "../wire/service-ref.js";
import { connectNodeTransport } from "./grpc/connect-node-optional.node.js";
import { GrpcCall } from "./grpc/grpc-call.node.js";
import { H2Client } from "./grpc/h2-client.node.js";
import { defaultSessionOptions } from "./grpc/h2-session.node.js";
import { encodeHeaders, type HeaderField } from "./grpc/hpack.node.js";
import { nodeTls } from "./grpc/tls.node.js";
import { codecOf } from "./message-codecs.js";
import type { EtcdTransport, TransportCall, TransportFactory } from "./protocol.js";

/**
 * HTTP/2 gRPC straight to etcd, on etcd-web's own HTTP/2 session (grpc/h2-session.node.ts):
 * one connection per endpoint, reused by every call and closed by close(). node:http2 and
 * connect's call pipeline cost about ten times the CPU per call (bench/RESULTS.md), which made
 * the client, not etcd, the limit. Idle connections with open streams are pinged every 30 s;
 * etcd rejects pings more often than every 5 s. `grpcClient: "connect-node"` takes connect-node
 * over node:http2 instead.
 */
export const grpcTransport: TransportFactory = (settings) => {
  const { baseUrl, grpcClient, tls, maxResponseBytes } = settings;
  if (grpcClient === "connect-node") return connectNodeTransport(settings);
  const client = new H2Client(baseUrl, { ...defaultSessionOptions, tls: nodeTls(tls) });
  const prefix = new URL(baseUrl).pathname.replace(/\/$/, "");
  const blocks = new Map<string, Buffer>();

  /** The request's header block: the method's fixed part (cached), then the call's own. */
  function headerBlock(path: string, timeoutMs: number | undefined, header?: HeadersInit): Buffer {
    let base = blocks.get(path);
    if (!base) {
      base = encodeHeaders([
        [":method", "POST"],
        [":scheme", client.scheme],
        [":path", path],
        [":authority", client.authority],
        ["content-type", "application/grpc+proto"],
        ["te", "trailers"],
      ]);
      blocks.set(path, base);
    }
    if (timeoutMs === undefined && header === undefined) return base;
    const extra: HeaderField[] = [];
    if (timeoutMs !== undefined) extra.push(["grpc-timeout", `${Math.ceil(timeoutMs)}m`]);
    if (header !== undefined) {
      new Headers(header).forEach((v, k) => {
        extra.push([k, v]);
      });
    }
    return Buffer.concat([base, encodeHeaders(extra)]);
  }

  function start<O extends DescMessage>(method: MethodRef<DescMessage, O>, c: TransportCall) {
    const { signal, timeoutMs, headers } = c;
    if (signal.aborted) throw ConnectError.from(signal.reason, Code.Canceled);
    const timeout = timeoutMs !== undefined && timeoutMs > 0 ? timeoutMs : undefined;
    const call = new GrpcCall(codecOf(method.output), signal, timeout, maxResponseBytes);
    const path = `${prefix}/${method.service}/${method.name}`;
    call.stream = client.open(headerBlock(path, timeout, headers), call);
    return call;
  }

  const transport: EtcdTransport = {
    async unary(method, c, input) {
      const call = start(method, c);
      call.stream?.write(encode(codecOf(method.input), input), true);
      return call.unary();
    },
    async stream(method, c, input) {
      const call = start(method, c);
      const codec = codecOf(method.input);
      call.send(input, (m) => encode(codec, m));
      await call.responded();
      return call.messages();
    },
  };
  return { transport, close: () => client.close() };
};

/** One gRPC message: flag 0 (uncompressed), big-endian length, the protobuf bytes. */
function encode<D extends DescMessage>(codec: MessageCodec<D>, input: MessageInitShape<D>): Buffer {
  const bytes = codec.encode(input);
  const out = Buffer.allocUnsafe(5 + bytes.length);
  out[0] = 0;
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}
