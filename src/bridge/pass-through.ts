import { ServerResponse } from "node:http";
import { fromBinary, type Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import {
  parseTimeout,
  setTrailerStatus,
  trailerFlag,
  trailerSerialize,
} from "@connectrpc/connect/protocol-grpc-web";
import type { WatchRequest } from "../gen/etcdserverpb/rpc_pb.js";
import type { Incoming, ServedCall } from "./call.js";
import type { BridgedMethod } from "./etcd-methods.js";
import { flagOf, type ResolvedLimits, requestHeadroomBytes } from "./limits.js";
import type { RawStream } from "./raw-stream.js";
import { readFrames } from "./request-body.js";

// Watch over gRPC-Web without Connect's pipeline. gRPC and gRPC-Web frame messages alike (a
// flag byte, a 4-byte length, the protobuf bytes); only the status differs: gRPC sends it as
// HTTP/2 trailers, gRPC-Web as a last frame with flag 0x80. So etcd's bytes go to the browser
// as they come, and the bridge writes only the status frame. Under a put storm, decoding and
// re-encoding each WatchResponse cost the bridge about 30 µs of CPU per event: on a small
// machine, CPU taken from etcd, whose send loop must keep up or it moves the watcher to its
// catch-up path (about 10,000 events/s). Unary calls take the same path: Connect's server and
// client were over 90% of the bridge's CPU per call; skipping them more than doubles its calls/s.

const contentType = "application/grpc-web+proto";

/** Binary gRPC-Web without compression: what the pass-through serves. Others go to Connect. */
export function takesPassThrough(
  method: string | undefined,
  headers: Record<string, string | string[] | undefined>,
): boolean {
  const encoding = headers["grpc-encoding"];
  return (
    method === "POST" &&
    /^application\/grpc-web(?:\+proto)?$/i.test(String(headers["content-type"] ?? "")) &&
    (encoding === undefined || encoding === "identity")
  );
}

export interface PassThroughRequest extends AsyncIterable<Buffer | string> {
  headers: Record<string, string | string[] | undefined>;
}

/** The node:http and node:http2 compatibility responses alike. */
export interface PassThroughResponse {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  readonly writableFinished: boolean;
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: Uint8Array): boolean;
  end(): unknown;
  on(event: "close" | "drain", fn: () => void): unknown;
  once(event: "drain", fn: () => void): unknown;
  off(event: "close" | "drain", fn: () => void): unknown;
}

interface CallEnv {
  limits: ResolvedLimits;
  begin(method: BridgedMethod, incoming: Incoming, input: Message): ServedCall;
  /** The bridge's close(): open calls end as canceled. */
  shutdown: AbortSignal;
}

export interface PassThroughEnv extends CallEnv {
  raw(method: BridgedMethod, body: Uint8Array, call: ServedCall): Promise<RawStream>;
}

export interface UnaryPassThroughEnv extends CallEnv {
  /** etcd's one response message, as etcd framed it (Upstream.rawUnary). */
  unary(
    method: BridgedMethod,
    body: Uint8Array,
    call: ServedCall,
  ): Promise<{ message: Buffer; endpoint: string }>;
}

/** Serves one streaming call (Watch); never rejects. */
export function servePassThrough(
  m: BridgedMethod,
  req: PassThroughRequest,
  res: PassThroughResponse,
  env: PassThroughEnv,
): Promise<void> {
  return serve(m, req, res, env, (framed, call) => forward(m, framed, call, res, env));
}

/** Serves one unary call; never rejects. */
export function serveUnaryPassThrough(
  m: BridgedMethod,
  req: PassThroughRequest,
  res: PassThroughResponse,
  env: UnaryPassThroughEnv,
): Promise<void> {
  return serve(m, req, res, env, (framed, call) => forwardUnary(m, framed, call, res, env));
}

async function serve(
  m: BridgedMethod,
  req: PassThroughRequest,
  res: PassThroughResponse,
  env: CallEnv,
  forwardTo: (framed: Buffer, call: ServedCall) => Promise<void>,
): Promise<void> {
  const left = new AbortController();
  const leave = () => left.abort(new ConnectError("the browser left", Code.Canceled));
  // The response closed while the call was still being served: the browser left. Node 20 marks
  // an HTTP/2 response whose stream the browser reset (RST_STREAM) as writableFinished, so
  // neither that nor `destroyed` tells a reset from an answer; the listener is removed once the
  // call has ended, so any close heard here is the browser's.
  const onClose = () => leave();
  res.on("close", onClose);
  if (env.shutdown.aborted) leave();
  env.shutdown.addEventListener("abort", leave);
  try {
    let request: Awaited<ReturnType<typeof readRequest>>;
    try {
      request = await readRequest(m, req, env.limits);
    } catch (e) {
      // Rejected before the call started, as the router does: answered, not logged.
      finish(res, ConnectError.from(e, Code.InvalidArgument));
      return;
    }
    const token = req.headers.token;
    const incoming = {
      signal: left.signal,
      timeoutMs: request.timeoutMs,
      token: typeof token === "string" ? token : undefined,
    };
    await forwardTo(request.framed, env.begin(m, incoming, request.input));
  } catch (e) {
    finish(
      res,
      new ConnectError("etcd-web-bridge: internal error", Code.Internal, undefined, [], e),
    );
  } finally {
    res.off("close", onClose);
    env.shutdown.removeEventListener("abort", leave);
  }
}

async function forward(
  m: BridgedMethod,
  framed: Buffer,
  call: ServedCall,
  res: PassThroughResponse,
  env: PassThroughEnv,
): Promise<void> {
  let raw: RawStream | undefined;
  try {
    try {
      raw = await env.raw(m, framed, call);
    } catch (e) {
      finish(res, call.fail(e));
      return;
    }
    call.endpoint = raw.endpoint;
    const stream = raw;
    if (!res.destroyed) res.writeHead(200, { "content-type": contentType });
    const status = await new Promise<ConnectError | undefined>((resolve) => {
      // Messages that arrive together leave in one write: one syscall, not one per message.
      const corkable = res instanceof ServerResponse ? res : undefined;
      let corked: NodeJS.Immediate | undefined;
      const uncork = () => {
        if (corked === undefined) return;
        clearImmediate(corked);
        corked = undefined;
        corkable?.uncork();
      };
      let draining = false;
      const resume = () => {
        draining = false;
        stream.resume();
      };
      const data = (chunk: Buffer) => {
        if (res.destroyed || chunk.length === 0) return;
        if (corkable && corked === undefined) {
          corkable.cork();
          corked = setImmediate(uncork);
        }
        if (!res.write(chunk) && !draining) {
          // The browser reads slower than etcd sends: etcd's window stops opening.
          draining = true;
          stream.pause();
          res.once("drain", resume);
        }
      };
      data(stream.first);
      stream.pipe({
        data,
        end(trailers, error) {
          uncork();
          res.off("drain", resume);
          if (error !== undefined || call.deadline.error) {
            resolve(call.fail(error));
            return;
          }
          const etcdStatus = trailers && findTrailerError(trailers);
          resolve(etcdStatus ? call.fail(etcdStatus) : undefined);
        },
      });
    });
    finish(res, status);
  } finally {
    raw?.close();
    call.end();
  }
}

/**
 * A unary call: etcd's whole answer is read first (failover judges every failure before it is
 * complete, as on the router path), then its message goes to the browser as etcd framed it,
 * with the status frame, in one write.
 */
async function forwardUnary(
  m: BridgedMethod,
  framed: Buffer,
  call: ServedCall,
  res: PassThroughResponse,
  env: UnaryPassThroughEnv,
): Promise<void> {
  try {
    let answer: { message: Buffer; endpoint: string };
    try {
      answer = await env.unary(m, framed, call);
    } catch (e) {
      finish(res, call.fail(e));
      return;
    }
    call.endpoint = answer.endpoint;
    if (res.destroyed || res.writableEnded) return;
    const body = Buffer.concat([answer.message, okFrame]);
    res.writeHead(200, { "content-type": contentType, "content-length": String(body.length) });
    res.write(body);
    res.end();
  } finally {
    call.end();
  }
}

/**
 * The request's messages (still framed, as etcd takes them), decoded once to check them. A
 * unary call has one; a Watch body may hold several WatchRequests (each create with its own
 * watch_id), which etcd serves on one stream.
 */
export async function readRequest(
  m: BridgedMethod,
  req: PassThroughRequest,
  limits: ResolvedLimits,
): Promise<{ framed: Buffer; input: Message; creates: number; timeoutMs: number | undefined }> {
  const timeoutHeader = req.headers["grpc-timeout"];
  const timeout = parseTimeout(
    typeof timeoutHeader === "string" ? timeoutHeader : null,
    Number.MAX_SAFE_INTEGER,
  );
  if (timeout.error) throw timeout.error;
  const unary = m.upstream.methodKind === "unary";
  const { body, frames } = await readFrames(
    req,
    unary
      ? {
          maxBytes: limits.maxRequestBytes + requestHeadroomBytes,
          maxFrames: 1,
          bytesOption: `${flagOf("maxRequestBytes")} ${limits.maxRequestBytes}, plus ${requestHeadroomBytes} bytes as etcd allows`,
        }
      : {
          maxBytes: limits.maxWatchBodyBytes,
          maxFrames: Number.POSITIVE_INFINITY,
          bytesOption: flagOf("maxWatchBodyBytes"),
        },
    unary ? "unary" : "Watch",
  );
  let creates = 0;
  let input: Message | undefined;
  for (const f of frames) {
    let message: Message;
    try {
      message = fromBinary(m.upstream.input, body.subarray(f.offset + 5, f.offset + 5 + f.length));
    } catch (e) {
      throw new ConnectError(
        `parse binary: ${e instanceof Error ? e.message : String(e)}`,
        Code.InvalidArgument,
      );
    }
    input ??= message;
    if ((message as WatchRequest).requestUnion?.case === "createRequest") creates++;
  }
  if (creates > limits.maxWatchCreates) {
    throw new ConnectError(
      `etcd-web-bridge: the Watch request holds ${creates} creates; the limit is ${limits.maxWatchCreates} (${flagOf("maxWatchCreates")})`,
      Code.ResourceExhausted,
    );
  }
  // readFrames returns at least one frame.
  return { framed: body, input: input as Message, creates, timeoutMs: timeout.timeoutMs };
}

/** Ends the response with the status frame: etcd's status, or the bridge's. */
function finish(res: PassThroughResponse, status: ConnectError | undefined): void {
  if (res.destroyed || res.writableEnded) return;
  if (!res.headersSent) res.writeHead(200, { "content-type": contentType });
  res.write(statusFrame(status));
  res.end();
}

/** gRPC-Web's last frame: flag 0x80, then the status as HTTP header lines. */
export function statusFrame(status: ConnectError | undefined): Uint8Array {
  const text = trailerSerialize(setTrailerStatus(new Headers(), status));
  const frame = new Uint8Array(5 + text.length);
  frame[0] = trailerFlag;
  new DataView(frame.buffer).setUint32(1, text.length);
  frame.set(text, 5);
  return frame;
}

const okFrame = statusFrame(undefined);
