import type { DescMessage } from "@bufbuild/protobuf";
import type { UnaryRequest, UnaryResponse } from "@connectrpc/connect";
import { type GatewayHttp, post, readAnswer, responseSource } from "./http-post.js";
import { decodeMessage, encodeRequest } from "./json-codec.js";

/** A unary call: one POST of the request as JSON, one JSON message back. */
export async function fetchUnary<I extends DescMessage, O extends DescMessage>(
  http: GatewayHttp,
  req: UnaryRequest<I, O>,
): Promise<UnaryResponse<I, O>> {
  const body = encodeRequest(req.method.input, req.message);
  const res = await post(http, req.url, req.header, body, req.signal);
  const source = responseSource(http.endpoint, req.url, res);
  const json = await readAnswer(res, req.signal, source);
  return {
    stream: false,
    service: req.service,
    method: req.method,
    header: res.headers,
    trailer: new Headers(),
    message: decodeMessage(req.method.output, json, source),
  };
}
