import { Code, ConnectError } from "@connectrpc/connect";

// A gRPC-Web request body read with its bounds checked as the bytes arrive: each frame's
// length prefix is judged before its bytes are buffered, so a client that announces 256 MiB is
// answered after 5 bytes, not after 256 MiB.

/** How much one request body may hold. */
export interface BodyLimits {
  /** Bytes of the whole body, frames included. */
  maxBytes: number;
  /** Frames (messages) in the body: 1 for unary calls. */
  maxFrames: number;
  /** Named in the RESOURCE_EXHAUSTED message: the option that raises maxBytes. */
  bytesOption: string;
}

/** One gRPC frame of the body: offset of its 5-byte prefix, and its message length. */
export interface Frame {
  readonly offset: number;
  readonly length: number;
}

/**
 * Reads body to its end, or throws a ConnectError as soon as a bound is crossed:
 * RESOURCE_EXHAUSTED for size, INVALID_ARGUMENT for broken framing or too many messages.
 */
export async function readFrames(
  body: AsyncIterable<Buffer | string>,
  limits: BodyLimits,
  kind: "unary" | "server-streaming" | "Watch",
): Promise<{ body: Buffer; frames: Frame[] }> {
  const chunks: Buffer[] = [];
  const frames: Frame[] = [];
  const header = Buffer.alloc(5);
  let headerBytes = 0;
  let size = 0;
  // Bytes of the current frame's message still to come.
  let rest = 0;
  for await (const raw of body) {
    const chunk = typeof raw === "string" ? Buffer.from(raw) : raw;
    let at = 0;
    while (at < chunk.length) {
      if (rest > 0) {
        const n = Math.min(rest, chunk.length - at);
        rest -= n;
        at += n;
        continue;
      }
      const n = Math.min(5 - headerBytes, chunk.length - at);
      chunk.copy(header, headerBytes, at, at + n);
      headerBytes += n;
      at += n;
      if (headerBytes < 5) break;
      headerBytes = 0;
      const offset = size + at - 5;
      const length = header.readUInt32BE(1);
      if (header[0] !== 0) {
        throw invalid(`protocol error: unexpected message flags ${header[0]}`);
      }
      if (frames.length >= limits.maxFrames) {
        throw invalid(`protocol error: received extra input message for ${kind} method`);
      }
      if (offset + 5 + length > limits.maxBytes) {
        throw tooLarge(limits);
      }
      frames.push({ offset, length });
      rest = length;
    }
    size += chunk.length;
    if (size > limits.maxBytes) throw tooLarge(limits);
    chunks.push(chunk);
  }
  if (frames.length === 0 && headerBytes === 0) {
    throw invalid(`protocol error: missing input message for ${kind} method`);
  }
  if (rest > 0 || headerBytes > 0) throw invalid("protocol error: incomplete envelope");
  return { body: Buffer.concat(chunks, size), frames };
}

function tooLarge(limits: BodyLimits): ConnectError {
  return new ConnectError(
    `etcd-web-bridge: the request is larger than ${limits.maxBytes} bytes (${limits.bytesOption})`,
    Code.ResourceExhausted,
  );
}

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}
