import {
  type DescMessage,
  fromJson,
  type JsonValue,
  type MessageShape,
  toJsonString,
} from "@bufbuild/protobuf";
import {
  bodyExcerpt,
  gatewayStatus,
  isObject,
  notEtcd,
  type ResponseSource,
  statusError,
} from "./error-mapping.js";

// The gateway marshals with the proto's field names (OrigName), int64 as strings, bytes as
// base64 and enums by name, and leaves out fields at their default (a PUT event has no "type").
// protobuf-es writes the same with useProtoFieldName, and reads both field name forms.

/** A request message as the gateway reads it. */
export function encodeRequest<I extends DescMessage>(schema: I, message: MessageShape<I>): string {
  return toJsonString(schema, message, { useProtoFieldName: true });
}

/** Parses a body or a WebSocket message; throws ResponseError when it is not JSON. */
export function parseJson(text: string, source: ResponseSource): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (e) {
    throw notEtcd(`the body is not JSON: "${bodyExcerpt(text)}"`, source, e);
  }
}

/** A response message from its JSON; throws ResponseError when it does not decode. */
export function decodeMessage<O extends DescMessage>(
  schema: O,
  json: JsonValue,
  source: ResponseSource,
): MessageShape<O> {
  if (!isObject(json)) {
    throw notEtcd(`expected a ${schema.name} object, got ${jsonExcerpt(json)}`, source);
  }
  try {
    return fromJson(schema, json, { ignoreUnknownFields: true });
  } catch (e) {
    throw notEtcd(`the body does not decode as ${schema.name}`, source, e);
  }
}

/**
 * One message of a gateway stream, {"result": message} or {"error": status}. Returns the
 * message, throws the status as a ConnectError, and throws ResponseError for anything else.
 */
export function decodeStreamMessage<O extends DescMessage>(
  schema: O,
  json: JsonValue,
  source: ResponseSource,
): MessageShape<O> {
  if (isObject(json) && json.result !== undefined) {
    return decodeMessage(schema, json.result as JsonValue, source);
  }
  // A stream that fails before its first message answers like a unary call ({"error": "...",
  // "code": n}); later failures come as {"error": {...}}. gatewayStatus reads both.
  const status = gatewayStatus(json);
  if (status) throw statusError(status);
  throw notEtcd(`a stream message with neither "result" nor "error": ${jsonExcerpt(json)}`, source);
}

function jsonExcerpt(json: JsonValue): string {
  return bodyExcerpt(JSON.stringify(json));
}
