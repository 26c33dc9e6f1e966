import type { DescMethodServerStreaming, DescMethodStreaming } from "@bufbuild/protobuf";

/**
 * The server-streaming form of a bidi method: same service, same path, one request. Browsers'
 * fetch cannot stream request bodies, so connect-web refuses bidi methods; etcd serves the
 * same path to a client that sends one message and half-closes (Watch keeps streaming after
 * that; LeaseKeepAlive answers once).
 */
export function serverStreaming<M extends DescMethodStreaming>(
  method: M,
): DescMethodServerStreaming<M["input"], M["output"]> {
  return { ...method, methodKind: "server_streaming" } as DescMethodServerStreaming<
    M["input"],
    M["output"]
  >;
}
