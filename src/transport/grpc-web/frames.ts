import { Code, ConnectError } from "@connectrpc/connect";

// gRPC-Web's body (binary form): frames of a flags byte, a big-endian 32-bit length and the
// bytes. Flags 0 is a message; bit 0x80 marks the trailer frame, whose bytes are HTTP/1-style
// "name: value\r\n" lines (grpc/grpc doc/PROTOCOL-WEB.md).

export const trailerFlag = 0x80;
const compressedFlag = 0x01;

/** One message frame. */
export function frame(...messages: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let size = 0;
  for (const m of messages) size += 5 + m.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const m of messages) {
    view.setUint32(at + 1, m.length);
    out.set(m, at + 5);
    at += 5 + m.length;
  }
  return out;
}

export interface Frame {
  trailer: boolean;
  data: Uint8Array;
}

/**
 * The frames of a body as they arrive. A body that ends inside a frame is an Internal error;
 * a read that fails (the connection broke) is rethrown as broken(e).
 */
export async function* readFrames(
  body: ReadableStream<Uint8Array>,
  broken: (e: unknown) => unknown,
): AsyncGenerator<Frame> {
  const reader = body.getReader();
  let buffered: Uint8Array = new Uint8Array(0);
  let done = false;
  try {
    for (;;) {
      while (buffered.length >= 5) {
        const length = new DataView(buffered.buffer, buffered.byteOffset).getUint32(1);
        if (buffered.length < 5 + length) break;
        const flags = buffered[0] ?? 0;
        if (flags & compressedFlag) {
          throw new ConnectError(
            "protocol error: a compressed message was not asked for",
            Code.Internal,
          );
        }
        const data = buffered.subarray(5, 5 + length);
        buffered = buffered.subarray(5 + length);
        yield { trailer: (flags & trailerFlag) !== 0, data };
      }
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw broken(e);
      }
      if (chunk.done) break;
      buffered = concat(buffered, chunk.value);
    }
    done = true;
    if (buffered.length > 0) {
      throw new ConnectError("protocol error: the body ended inside a frame", Code.Internal);
    }
  } finally {
    if (!done) reader.cancel().catch(() => {});
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A trailer frame's fields. */
export function parseTrailer(data: Uint8Array): Headers {
  const fields = new Headers();
  for (const line of new TextDecoder().decode(data).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return fields;
}

/**
 * The call's status from the response headers (a trailers-only answer) or the trailer frame:
 * undefined for OK, else etcd's status as a ConnectError, as the grpc protocol gives it.
 */
export function statusError(fields: Headers): ConnectError | undefined {
  const status = fields.get("grpc-status");
  if (status === "0") return undefined;
  const code = Number(status);
  if (status === null || !Number.isInteger(code) || code < 1 || code > 16) {
    return new ConnectError(`protocol error: grpc-status "${status ?? "none"}"`, Code.Internal);
  }
  const error = new ConnectError(decodeMessage(fields.get("grpc-message") ?? ""), code, fields);
  error.isWireError = true;
  return error;
}

/** grpc-message is percent-encoded; a bad escape leaves the text as sent. */
function decodeMessage(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** gRPC's mapping of an HTTP status without a gRPC status (doc/http-grpc-status-mapping.md). */
export function codeFromHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}
