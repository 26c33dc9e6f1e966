import { type ClientHttp2Stream, constants } from "node:http2";
import { type DescMessage, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { validateResponse, validateTrailer } from "@connectrpc/connect/protocol-grpc";
import { hasCauseCode } from "../internal/causes.js";
import { toHeaders } from "./raw-stream.js";

// A unary call to etcd read as bytes. The answer is judged exactly as connect-node's gRPC client
// judges it (the same errors, codes and causes), since failover (classifyV3) reads those errors
// to decide whether a write may go to another member: a difference here could apply a write
// twice. Only the message is not re-encoded: the bytes etcd sent go to the browser.

/**
 * Sends the request (one gRPC-framed message) on stream and reads etcd's whole answer: its one
 * message as etcd framed it, or the error connect-node's unary call would have thrown. The
 * message is decoded once, to check it, as Connect would. Aborting signal resets the stream.
 */
export function unaryAnswer(
  stream: ClientHttp2Stream,
  body: Uint8Array,
  output: DescMessage,
  onRead: () => void,
  signal: AbortSignal,
): Promise<Buffer> {
  const s = stream;
  return new Promise((resolve, reject) => {
    let settled = false;
    let status = 0;
    let header: Headers | undefined;
    let headerError: ConnectError | undefined;
    const trailer = new Headers();
    const chunks: Buffer[] = [];
    const done = () => {
      settled = true;
      signal.removeEventListener("abort", onAbort);
    };
    // The first error wins, as in connect-node's client (its "sentinel").
    const fail = (e: unknown) => {
      if (settled) return;
      done();
      if (!s.closed) s.close(constants.NGHTTP2_CANCEL);
      reject(e instanceof ConnectError ? e : fromNode(e));
    };
    const onAbort = () => fail(signal.reason);
    if (signal.aborted) {
      fail(signal.reason);
      return;
    }
    signal.addEventListener("abort", onAbort);
    s.on("response", (h) => {
      status = h[":status"] ?? 0;
      header = toHeaders(h);
      try {
        headerError = validateResponse(status, header).headerError;
      } catch (e) {
        fail(e);
      }
    });
    s.on("trailers", (h) => {
      for (const [k, v] of toHeaders(h)) trailer.set(k, v);
    });
    s.on("error", (e) => {
      // connect-node ignores this one once the request is written: etcd answered early.
      if (s.writableEnded && hasCauseCode(e, "ERR_STREAM_WRITE_AFTER_END")) return;
      fail(e);
    });
    s.on("data", (chunk: Buffer) => {
      onRead();
      chunks.push(chunk);
    });
    s.on("close", () => {
      if (settled) return;
      const reset = resetError(s.rstCode);
      if (reset) {
        fail(reset);
        return;
      }
      if (header === undefined) {
        // connect-node would wait for headers that never come, until the attempt's limit.
        fail(
          new ConnectError("protocol error: etcd closed the stream without headers", Code.Internal),
        );
        return;
      }
      try {
        const message = oneMessage(Buffer.concat(chunks), output);
        validateTrailer(trailer, header);
        if (message === undefined) {
          if (headerError) throw headerError;
          throw new ConnectError(
            "protocol error: missing output message for unary method",
            trailer.has("grpc-status") ? Code.Unimplemented : Code.Unknown,
          );
        }
        if (headerError) {
          throw new ConnectError(
            "protocol error: received output message for unary method with error status",
            Code.Unknown,
          );
        }
        done();
        resolve(message);
      } catch (e) {
        fail(e);
      }
    });
    s.end(body);
  });
}

/** The response's messages as connect's envelope reader splits them: at most one, checked. */
function oneMessage(body: Buffer, output: DescMessage): Buffer | undefined {
  let message: Buffer | undefined;
  let at = 0;
  while (body.length - at >= 5) {
    const flags = body[at] ?? 0;
    const length = body.readUInt32BE(at + 1);
    if (body.length - at - 5 < length) break;
    const framed = body.subarray(at, at + 5 + length);
    at += 5 + length;
    if ((flags & 1) === 1) {
      throw new ConnectError(
        "received compressed envelope, but do not know how to decompress",
        Code.Internal,
      );
    }
    try {
      fromBinary(output, framed.subarray(5));
    } catch (e) {
      const m = e instanceof Error ? e.message : String(e);
      throw new ConnectError(`parse binary: ${m}`, Code.Internal);
    }
    if (message !== undefined) {
      throw new ConnectError(
        "protocol error: received extra output message for unary method",
        Code.Unimplemented,
      );
    }
    message = framed;
  }
  if (at < body.length) {
    throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  }
  return message;
}

/** connect-node's code for a stream etcd reset (connectErrorFromH2ResetCode). */
function resetError(rst: number | undefined): ConnectError | undefined {
  const code = resetCodes.get(rst ?? constants.NGHTTP2_NO_ERROR);
  if (code === undefined) return undefined;
  return new ConnectError(`http/2 stream closed with error code ${rst}`, code);
}

const resetCodes = new Map<number, Code>([
  [constants.NGHTTP2_PROTOCOL_ERROR, Code.Internal],
  [constants.NGHTTP2_INTERNAL_ERROR, Code.Internal],
  [constants.NGHTTP2_FLOW_CONTROL_ERROR, Code.Internal],
  [constants.NGHTTP2_SETTINGS_TIMEOUT, Code.Internal],
  [constants.NGHTTP2_FRAME_SIZE_ERROR, Code.Internal],
  [constants.NGHTTP2_COMPRESSION_ERROR, Code.Internal],
  [constants.NGHTTP2_CONNECT_ERROR, Code.Internal],
  [constants.NGHTTP2_REFUSED_STREAM, Code.Unavailable],
  [constants.NGHTTP2_CANCEL, Code.Canceled],
  [constants.NGHTTP2_ENHANCE_YOUR_CALM, Code.ResourceExhausted],
  [constants.NGHTTP2_INADEQUATE_SECURITY, Code.PermissionDenied],
  [constants.NGHTTP2_HTTP_1_1_REQUIRED, Code.PermissionDenied],
]);

/** connect-node's connectErrorFromNodeReason: node's error, kept as the cause. */
export function fromNode(reason: unknown): ConnectError {
  let code = Code.Internal;
  if (hasCauseCode(reason, "ERR_STREAM_WRITE_AFTER_END")) code = Code.Aborted;
  else if (hasCauseCode(reason, "ERR_STREAM_DESTROYED", "ERR_HTTP2_INVALID_STREAM", "ECONNRESET")) {
    code = Code.Aborted;
  } else if (hasCauseCode(reason, "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED")) {
    code = Code.Unavailable;
  }
  const ce = ConnectError.from(reason, code);
  if (ce !== reason) ce.cause = reason;
  return ce;
}
