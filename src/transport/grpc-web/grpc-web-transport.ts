import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { MessageCodec } from "../../wire/message-codec.js";
import type { MethodRef } from "../../wire/service-ref.js";
import { CallSignal } from "../call-signal.js";
import { codecOf } from "../message-codecs.js";
import type { EtcdTransport, TransportCall } from "../protocol.js";
import { codeFromHttpStatus, frame, parseTrailer, readFrames, statusError } from "./frames.js";

export interface GrpcWebOptions {
  /** The proxy's URL (Envoy or etcd-web-bridge); a path prefix is kept. */
  baseUrl: string;
  fetch: typeof globalThis.fetch;
}

/**
 * Binary gRPC-Web over fetch: unary and server-streaming calls, which is all a browser can
 * send (fetch cannot stream a request body). A server-streaming call sends every message its
 * input yields, in one body. Messages go through the generated codecs (src/wire/), so that a
 * page over grpc-web carries neither protobuf-es's descriptors and reflection nor JSON code.
 */
export function createGrpcWebTransport(options: GrpcWebOptions): EtcdTransport {
  const base = options.baseUrl.replace(/\/+$/, "");

  /** POSTs one request and checks the response's headers: the call's messages, or its status. */
  async function open<I extends DescMessage, O extends DescMessage>(
    method: MethodRef<I, O>,
    inputs: readonly MessageInitShape<I>[],
    call: TransportCall,
    signal: AbortSignal,
  ): Promise<AsyncGenerator<MessageShape<O>>> {
    const headers = new Headers(call.headers);
    headers.set("content-type", "application/grpc-web+proto");
    headers.set("x-grpc-web", "1");
    if (call.timeoutMs !== undefined && call.timeoutMs > 0) {
      headers.set("grpc-timeout", `${Math.ceil(call.timeoutMs)}m`);
    }
    const input = codecOf(method.input);
    const encoded = inputs.map((m) => input.encode(m));
    const res = await options.fetch(`${base}/${method.service}/${method.name}`, {
      method: "POST",
      headers,
      body: frame(...encoded),
      signal,
      redirect: "error",
    });
    if (res.status < 200 || res.status >= 300) {
      await res.body?.cancel().catch(() => {});
      throw new ConnectError(
        res.headers.get("grpc-message") ?? `HTTP ${res.status}`,
        codeFromHttpStatus(res.status),
        res.headers,
      );
    }
    // A trailers-only answer: the status is in the headers, and there is no message.
    if (res.headers.has("grpc-status")) {
      await res.body?.cancel().catch(() => {});
      const error = statusError(res.headers);
      if (error) throw error;
      return none();
    }
    if (!res.body) throw new ConnectError("protocol error: no body and no status", Code.Internal);
    return decode(codecOf(method.output), res.body, signal);
  }

  return {
    async unary(method, call, input) {
      const c = new CallSignal(call.signal, call.timeoutMs);
      const message = await c.run(async () =>
        onlyMessage(await open(method, [input], call, c.signal)),
      );
      c.end();
      return message;
    },

    async stream(method, call, input) {
      if (method.kind !== "server_streaming") {
        throw new ConnectError(
          `${method.name}: gRPC-Web over fetch cannot stream a request body`,
          Code.Unimplemented,
        );
      }
      const c = new CallSignal(call.signal, call.timeoutMs);
      const messages = await c.run(async () =>
        open(method, await requestMessages(input), call, c.signal),
      );
      return c.stream(messages);
    },
  };
}

/** The messages of a body, then its trailer's status: an error status is thrown. */
async function* decode<O extends DescMessage>(
  codec: MessageCodec<O>,
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): AsyncGenerator<MessageShape<O>> {
  const broken = (e: unknown) =>
    signal.aborted
      ? e
      : new ConnectError(
          "the connection broke during the response",
          Code.Unavailable,
          undefined,
          undefined,
          e,
        );
  for await (const f of readFrames(body, broken)) {
    if (!f.trailer) {
      yield parse(codec, f.data);
      continue;
    }
    const error = statusError(parseTrailer(f.data));
    if (error) throw error;
    return;
  }
  // Node's fetch may end the body quietly when the signal fired before the read (undici#1940).
  signal.throwIfAborted();
  // Cut short, as a proxy that restarts may end it: Unavailable, so a read or a watch goes on
  // elsewhere (a write reports that it may have been applied).
  throw new ConnectError("the response ended without a status", Code.Unavailable);
}

/** A message that does not decode is Internal, raised here: classify makes it a ResponseError. */
function parse<O extends DescMessage>(codec: MessageCodec<O>, data: Uint8Array): MessageShape<O> {
  try {
    return codec.decode(data);
  } catch (e) {
    throw new ConnectError(
      `the message does not decode as ${codec.typeName}: ${e instanceof Error ? e.message : String(e)}`,
      Code.Internal,
      undefined,
      undefined,
      e,
    );
  }
}

/** A unary call's one answer. */
async function onlyMessage<T>(messages: AsyncIterable<T>): Promise<T> {
  let message: T | undefined;
  for await (const m of messages) {
    if (message !== undefined) {
      throw new ConnectError("protocol error: a unary call answered twice", Code.Unimplemented);
    }
    message = m;
  }
  if (message === undefined) {
    throw new ConnectError("protocol error: a unary call answered nothing", Code.Unimplemented);
  }
  return message;
}

async function* none<T>(): AsyncGenerator<T> {}

/**
 * The request messages of a server-streaming call, framed one after another in its one body.
 * Usually one; etcd's Watch takes several creates (each with its own watch_id) and serves them
 * all after the body ends, so one request carries every watch of a client (v3/watch-batch.ts).
 */
async function requestMessages<T>(input: AsyncIterable<T>): Promise<T[]> {
  const messages: T[] = [];
  for await (const message of input) messages.push(message);
  if (messages.length === 0) {
    throw new ConnectError("a server-streaming call needs a request message", Code.InvalidArgument);
  }
  return messages;
}
