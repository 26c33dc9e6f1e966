import {
  create,
  type DescMessage,
  type DescMethod,
  fromBinary,
  isMessage,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { CallSignal } from "../call-signal.js";
import { codeFromHttpStatus, frame, parseTrailer, readFrames, statusError } from "./frames.js";

export interface GrpcWebOptions {
  /** The proxy's URL (Envoy or etcd-web-bridge); a path prefix is kept. */
  baseUrl: string;
  fetch: typeof globalThis.fetch;
}

/**
 * A Connect Transport for binary gRPC-Web over fetch: unary and server-streaming calls, which
 * is all a browser can send (fetch cannot stream a request body). A server-streaming call
 * sends every message its input yields, in one body. It does the little etcd
 * needs and no more, so that a page over grpc-web carries no JSON or well-known-types code
 * (connect-web's transport brings both, for its JSON format).
 */
export function createGrpcWebTransport(options: GrpcWebOptions): Transport {
  const base = options.baseUrl.replace(/\/+$/, "");

  /** POSTs one request and checks the response's headers: the call's messages, or its status. */
  async function open<O extends DescMessage>(
    method: DescMethod & { output: O },
    inputs: readonly unknown[],
    header: HeadersInit | undefined,
    timeoutMs: number | undefined,
    signal: AbortSignal,
  ): Promise<{ res: Response; messages: AsyncGenerator<MessageShape<O>> }> {
    const headers = new Headers(header);
    headers.set("content-type", "application/grpc-web+proto");
    headers.set("x-grpc-web", "1");
    if (timeoutMs !== undefined && timeoutMs > 0) {
      headers.set("grpc-timeout", `${Math.ceil(timeoutMs)}m`);
    }
    const schema = method.input;
    const encoded = inputs.map((input) =>
      toBinary(
        schema,
        isMessage(input, schema) ? input : create(schema, input as MessageInitShape<typeof schema>),
      ),
    );
    const res = await options.fetch(`${base}/${method.parent.typeName}/${method.name}`, {
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
      return { res, messages: none() };
    }
    if (!res.body) throw new ConnectError("protocol error: no body and no status", Code.Internal);
    return { res, messages: decode(method.output, res.body, signal) };
  }

  return {
    async unary(method, signal, timeoutMs, header, input) {
      const call = new CallSignal(signal, timeoutMs);
      const result = await call.run(async () => {
        const { res, messages } = await open(method, [input], header, timeoutMs, call.signal);
        let message: MessageShape<typeof method.output> | undefined;
        for await (const m of messages) {
          if (message !== undefined) {
            throw new ConnectError(
              "protocol error: a unary call answered twice",
              Code.Unimplemented,
            );
          }
          message = m;
        }
        if (message === undefined) {
          throw new ConnectError(
            "protocol error: a unary call answered nothing",
            Code.Unimplemented,
          );
        }
        return { header: res.headers, message };
      });
      call.end();
      return {
        stream: false,
        service: method.parent,
        method,
        header: result.header,
        trailer: new Headers(),
        message: result.message,
      };
    },

    async stream(method, signal, timeoutMs, header, input) {
      if (method.methodKind !== "server_streaming") {
        throw new ConnectError(
          `${method.name}: gRPC-Web over fetch cannot stream a request body`,
          Code.Unimplemented,
        );
      }
      const call = new CallSignal(signal, timeoutMs);
      const { res, messages } = await call.run(async () =>
        open(method, await requestMessages(input), header, timeoutMs, call.signal),
      );
      return {
        stream: true,
        service: method.parent,
        method,
        header: res.headers,
        trailer: new Headers(),
        message: call.stream(messages),
      };
    },
  };
}

/** The messages of a body, then its trailer's status: an error status is thrown. */
async function* decode<O extends DescMessage>(
  schema: O,
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
      yield parse(schema, f.data);
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
function parse<O extends DescMessage>(schema: O, data: Uint8Array): MessageShape<O> {
  try {
    return fromBinary(schema, data);
  } catch (e) {
    throw new ConnectError(
      `the message does not decode as ${schema.typeName}: ${e instanceof Error ? e.message : String(e)}`,
      Code.Internal,
      undefined,
      undefined,
      e,
    );
  }
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
