import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type StreamRequest, type StreamResponse } from "@connectrpc/connect";
import { notEtcd, type ResponseSource, unavailable } from "./error-mapping.js";
import { type GatewayHttp, isJson, post, readAnswer, responseSource } from "./http-post.js";
import { decodeStreamMessage, encodeRequest, parseJson } from "./json-codec.js";

/**
 * A server-streaming call (Maintenance.Snapshot, or a server-streaming copy of Watch): one POST
 * of the request, and a body of newline-separated JSON messages, {"result": ...} or {"error": ...}.
 * Several request messages go one per line: etcd's gateway reads each as a request of the
 * stream, so one POST /v3/watch carries many watches (each with its own watch_id).
 */
export async function fetchServerStream<I extends DescMessage, O extends DescMessage>(
  http: GatewayHttp,
  req: StreamRequest<I, O>,
): Promise<StreamResponse<I, O>> {
  const body = (await requestMessages(req.message))
    .map((m) => encodeRequest(req.method.input, m))
    .join("\n");
  const res = await post(http, req.url, req.header, body, req.signal);
  const source = responseSource(http.endpoint, req.url, res);
  if (!res.ok || !isJson(source.contentType)) {
    // Throws for both: etcd's error status, or an answer that is not the gateway's.
    await readAnswer(res, req.signal, source);
  }
  if (res.body === null) throw notEtcd("a stream answer without a body", source);
  return {
    stream: true,
    service: req.service,
    method: req.method,
    header: res.headers,
    trailer: new Headers(),
    message: messages(req.method.output, res.body, req.signal, source),
  };
}

async function* messages<O extends DescMessage>(
  schema: O,
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  source: ResponseSource,
): AsyncGenerator<MessageShape<O>> {
  for await (const line of lines(body, signal, source)) {
    yield decodeStreamMessage(schema, parseJson(line, source), source);
  }
}

/** The body's non-empty lines. Cancels the body when the reader stops early. */
async function* lines(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  source: ResponseSource,
): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let done = false;
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (signal.aborted) throw e;
        throw unavailable(`the stream from ${source.url} broke`, e);
      }
      if (chunk.done) break;
      buffered += decoder.decode(chunk.value, { stream: true });
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line !== "") yield line;
        nl = buffered.indexOf("\n");
      }
    }
    done = true;
    // Node's fetch may end the body quietly when the signal fired before the read (undici#1940).
    signal.throwIfAborted();
    const last = (buffered + decoder.decode()).trim();
    if (last !== "") yield last;
  } finally {
    if (!done) reader.cancel().catch(() => {});
  }
}

/** The request messages of a server-streaming call: at least one. */
async function requestMessages<T>(input: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const message of input) all.push(message);
  if (all.length > 0) return all;
  throw new ConnectError("a server-streaming call needs a request message", Code.InvalidArgument);
}
