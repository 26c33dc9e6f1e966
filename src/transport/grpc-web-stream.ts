import type { DescMessage, DescMethodStreaming, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type StreamResponse } from "@connectrpc/connect";
import {
  createClientMethodSerializers,
  createEnvelopeReadableStream,
  createMethodUrl,
  encodeEnvelopes,
  runStreamingCall,
} from "@connectrpc/connect/protocol";
import {
  requestHeader,
  trailerFlag,
  trailerParse,
  validateResponse,
  validateTrailer,
} from "@connectrpc/connect/protocol-grpc-web";

export interface FramedStreamOptions {
  baseUrl: string;
  fetch: typeof globalThis.fetch;
}

/**
 * A streaming call whose request is every message of `input`, framed one after another in one
 * gRPC-Web body: what a browser can send of a bidi method, since fetch cannot stream a body.
 * connect-web sends only the first message of a server-streaming call; etcd's Watch takes
 * several creates in one body (each with its own watch_id) and keeps serving all of them
 * after the body ends, so one request carries many watches. The response is read as
 * connect-web reads it: messages, then a trailer frame with the status.
 */
export async function framedStream<I extends DescMessage, O extends DescMessage>(
  o: FramedStreamOptions,
  method: DescMethodStreaming<I, O>,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: HeadersInit | undefined,
  input: AsyncIterable<MessageInitShape<I>>,
): Promise<StreamResponse<I, O>> {
  const { serialize, parse } = createClientMethodSerializers(method, true);
  const limit = timeoutMs !== undefined && timeoutMs > 0 ? timeoutMs : undefined;
  return runStreamingCall<I, O>({
    ...(signal ? { signal } : {}),
    ...(limit ? { timeoutMs: limit } : {}),
    req: {
      stream: true,
      service: method.parent,
      method,
      requestMethod: "POST",
      url: createMethodUrl(o.baseUrl, method),
      header: requestHeader(true, limit, header, false),
      contextValues: createContextValues(),
      message: input,
    },
    next: async (req) => {
      const frames: { flags: number; data: Uint8Array }[] = [];
      for await (const m of req.message) frames.push({ flags: 0, data: serialize(m) });
      if (frames.length === 0) {
        throw new ConnectError("a streaming call needs a request message", Code.InvalidArgument);
      }
      const res = await o.fetch(req.url, {
        method: "POST",
        headers: req.header,
        signal: req.signal,
        body: encodeEnvelopes(...frames),
      });
      const { foundStatus, headerError } = validateResponse(res.status, res.headers);
      if (headerError) throw headerError;
      if (!res.body) throw new ConnectError("a gRPC-Web answer without a body", Code.Internal);
      const trailer = new Headers();
      return {
        ...req,
        header: res.headers,
        trailer,
        message: messages(res.body, foundStatus, res.headers, trailer, req.signal, parse),
      };
    },
  });
}

async function* messages<T>(
  body: ReadableStream<Uint8Array>,
  trailersOnly: boolean,
  header: Headers,
  trailer: Headers,
  signal: AbortSignal,
  parse: (data: Uint8Array) => T,
): AsyncGenerator<T> {
  const reader = createEnvelopeReadableStream(body).getReader();
  let ended = false;
  try {
    let gotTrailer = trailersOnly;
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      if (gotTrailer) throw new ConnectError("data after the trailer", Code.Internal);
      if ((r.value.flags & trailerFlag) === trailerFlag) {
        gotTrailer = true;
        const t = trailerParse(r.value.data);
        validateTrailer(t, header);
        for (const [k, v] of t) trailer.set(k, v);
        continue;
      }
      yield parse(r.value.data);
    }
    ended = true;
    // Node's fetch may end a body quietly when the signal fired before the read (undici#1940).
    signal.throwIfAborted();
    if (!gotTrailer) throw new ConnectError("the stream ended without a trailer", Code.Unavailable);
  } finally {
    if (!ended) reader.cancel().catch(() => {});
  }
}
