import type { JsonValue } from "@bufbuild/protobuf";
import { fetchFailure } from "../fetch-failure.js";
import {
  bodyExcerpt,
  gatewayStatus,
  notEtcd,
  type ResponseSource,
  statusError,
  unavailable,
} from "./error-mapping.js";
import { parseJson } from "./json-codec.js";

export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

/** What a call over fetch needs from the transport. */
export interface GatewayHttp {
  /** The endpoint (baseUrl), for errors. */
  endpoint: string;
  fetch: FetchFn;
}

/** The call's auth token: the "token" header of the grpc protocols, or an Authorization header. */
export function authToken(header: Headers): string | undefined {
  return header.get("token") ?? header.get("authorization") ?? undefined;
}

/**
 * The headers the gateway gets. etcd's CORS allows only accept, content-type and authorization,
 * so nothing else goes: any other header of the call is dropped here.
 *
 * The body is JSON, but it goes as text/plain: etcd's gateway reads any content type it does
 * not know with its JSON marshaler (grpc-gateway's MIME wildcard), and a POST with only
 * safelisted headers is a "simple" cross-origin request, which a browser sends without a
 * preflight OPTIONS first. etcd's --cors sends no Access-Control-Max-Age, so with
 * application/json every call would cost two round trips. (A token still needs one: it goes in
 * Authorization, which is not safelisted.)
 */
export function gatewayHeaders(header: Headers): Headers {
  const out = new Headers({
    accept: "application/json",
    "content-type": "text/plain;charset=UTF-8",
  });
  const token = authToken(header);
  // The gateway reads the token from Authorization, bare (no "Bearer ").
  if (token !== undefined) out.set("authorization", token);
  return out;
}

/** POSTs a JSON body; a failure to connect is Unavailable (fetchFailure), an abort is left to the caller. */
export async function post(
  http: GatewayHttp,
  url: string,
  header: Headers,
  body: string,
  signal: AbortSignal,
): Promise<Response> {
  try {
    return await http.fetch(url, { method: "POST", headers: gatewayHeaders(header), body, signal });
  } catch (e) {
    if (signal.aborted) throw e;
    throw fetchFailure(url, e);
  }
}

export function responseSource(endpoint: string, url: string, res: Response): ResponseSource {
  return {
    endpoint,
    url,
    status: res.status,
    contentType: res.headers.get("content-type") ?? undefined,
  };
}

/** Every answer of etcd's gateway is JSON. */
export function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/json\s*(;|$)/i.test(contentType);
}

/**
 * Reads a whole answer: the JSON of a 2xx, or throws etcd's status (ConnectError) for an error
 * answer, or ResponseError for anything that is not the gateway's JSON.
 */
export async function readAnswer(
  res: Response,
  signal: AbortSignal,
  source: ResponseSource,
): Promise<JsonValue> {
  let text: string;
  try {
    text = await res.text();
  } catch (e) {
    if (signal.aborted) throw e;
    throw unavailable(`the connection to ${source.url} broke during the response`, e);
  }
  if (!isJson(source.contentType)) {
    const what =
      res.status === 404
        ? `no gateway path ${new URL(source.url).pathname} there (an older etcd, or not etcd)`
        : "not a JSON answer of etcd's gateway";
    throw notEtcd(`${what}: "${bodyExcerpt(text)}"`, source);
  }
  const json = parseJson(text, source);
  if (res.ok) return json;
  const status = gatewayStatus(json);
  if (status) throw statusError(status, res.headers);
  throw notEtcd(`an error answer without a gRPC status: "${bodyExcerpt(text)}"`, source);
}
